import { describe, expect, it } from "vitest";
import { Resources } from "@kubemu/common";
import { scaledValueFromIntOrPercent as scaledValue } from "../../src/controller/int-or-percent.js";
import { maxSurge, maxUnavailable, resolveFenceposts } from "../../src/controllers/deployment/replicas.js";
import type { ReplicaSet } from "../../src/controllers/deployment/types.js";
import { deployment, World } from "./world.js";

describe("maxSurge / maxUnavailable", () => {
  it.each([
    // desired, maxSurge, maxUnavailable → surge, unavailable
    [10, "25%", "25%", 3, 2],
    [3, "25%", "25%", 1, 0],
    [1, "25%", "25%", 1, 0],
    [4, "50%", "50%", 2, 2],
    [10, 3, 2, 3, 2],
    [5, 0, 0, 0, 1],
    [2, "0%", "1%", 0, 1],
    [1, "0%", "25%", 0, 1],
    [7, "10%", "10%", 1, 0],
    [0, "25%", "25%", 0, 1],
  ] as const)("%s replicas, surge %s, unavailable %s → %s, %s (surge rounds up, unavailable down, never both 0)", (desired, s, u, surge, unavailable) => {
    expect(resolveFenceposts(s, u, desired)).toEqual({ surge, unavailable });
  });

  it("maxUnavailable is at most spec.replicas and 0 for Recreate or 0 replicas; maxSurge is 0 for Recreate", () => {
    const d = deployment("web", { replicas: 2, strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 5 } } });
    expect(maxUnavailable(d)).toBe(2);
    expect(maxSurge(d)).toBe(1);
    const r = deployment("web", { strategy: { type: "Recreate" } });
    expect([maxSurge(r), maxUnavailable(r)]).toEqual([0, 0]);
    expect(maxUnavailable(deployment("web", { replicas: 0 }))).toBe(0);
  });

  it("refuses what is neither an int nor a percent, in upstream's words", () => {
    expect(() => scaledValue("3", 10, true)).toThrow("invalid value for IntOrString: invalid type: string is not a percentage");
    expect(() => scaledValue("x%", 10, true)).toThrow('invalid value for IntOrString: invalid value "x%"');
  });
});

/** Sum over ReplicaSets of the pods still available once each has shrunk to its spec (the RS controller deletes unavailable pods first). */
const availableAfter = (rss: ReplicaSet[]) => rss.reduce((n, rs) => n + Math.min(rs.spec.replicas ?? 1, rs.status?.availableReplicas ?? 0), 0);
const total = (rss: ReplicaSet[]) => rss.reduce((n, rs) => n + (rs.spec.replicas ?? 1), 0);

async function rolledOut(replicas: number, maxSurgeV: number | string, maxUnavailableV: number | string): Promise<World> {
  const w = new World();
  await w.add(Resources.deployments, deployment("web", { replicas, strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: maxSurgeV, maxUnavailable: maxUnavailableV } } }));
  await w.converge();
  return w;
}

describe("a rolling update", () => {
  it("10 replicas, maxSurge 3, maxUnavailable 2: new 3 / old 8, then new 5, and stuck there while the new pods never become available", async () => {
    const w = await rolledOut(10, 3, 2);
    const [old] = w.replicaSets();
    expect(w.sizes()).toEqual({ [old!.metadata.name!]: 10 });
    w.recorder.events.length = 0;
    await w.edit("web", (d) => (d.spec.template.spec!.containers[0]!.image = "nginx:2.0"));

    const noneOfTheNewAvailable = (rs: ReplicaSet) => (rs.metadata.name === old!.metadata.name ? (rs.spec.replicas ?? 1) : 0);
    await w.sync();
    const fresh = w.replicaSets().find((rs) => rs.metadata.name !== old!.metadata.name)!;
    expect(w.sizes()).toEqual({ [old!.metadata.name!]: 8, [fresh.metadata.name!]: 3 });
    expect(w.events()).toEqual([`Normal ScalingReplicaSet Scaled up replica set ${fresh.metadata.name} from 0 to 3`, `Normal ScalingReplicaSet Scaled down replica set ${old!.metadata.name} from 10 to 8`]);
    expect(fresh.metadata.annotations?.["deployment.kubernetes.io/revision"]).toBe("2");
    expect(w.deployment().metadata.annotations?.["deployment.kubernetes.io/revision"]).toBe("2");

    await w.settle(noneOfTheNewAvailable);
    await w.sync();
    expect(w.sizes()).toEqual({ [old!.metadata.name!]: 8, [fresh.metadata.name!]: 5 });
    // 13 pods, 8 must stay available, 5 new ones unavailable: nothing more to scale down.
    for (let i = 0; i < 3; i++) {
      await w.settle(noneOfTheNewAvailable);
      await w.syncQuietly();
    }
    expect(w.sizes()).toEqual({ [old!.metadata.name!]: 8, [fresh.metadata.name!]: 5 });
  });

  it.each([
    [10, 3, 2],
    [10, "25%", "25%"],
    [5, 0, 1],
    [5, 1, 0],
    [3, "50%", 0],
    [1, 0, 1],
  ] as const)("%s replicas, surge %s, unavailable %s: never more than replicas+surge pods nor fewer than replicas-unavailable available, and it completes", async (replicas, s, u) => {
    const w = await rolledOut(replicas, s, u);
    await w.edit("web", (d) => (d.spec.template.spec!.containers[0]!.image = "nginx:2.0"));
    const limits = resolveFenceposts(s, u, replicas);
    const newName = () => w.replicaSets().find((rs) => rs.spec.template?.spec?.containers[0]?.image === "nginx:2.0")?.metadata.name;
    for (let round = 0; round < 40; round++) {
      await w.syncQuietly();
      const rss = w.replicaSets();
      expect(total(rss)).toBeLessThanOrEqual(replicas + limits.surge);
      expect(availableAfter(rss)).toBeGreaterThanOrEqual(replicas - limits.unavailable);
      // New pods become available one round after they are asked for.
      await w.settle();
    }
    expect(w.sizes()).toMatchObject({ [newName()!]: replicas });
    expect(total(w.replicaSets())).toBe(replicas);
    const st = w.deployment().status!;
    expect(st).toMatchObject({ replicas, updatedReplicas: replicas, availableReplicas: replicas });
    expect(st.conditions?.find((c) => c.type === "Progressing")?.reason).toBe("NewReplicaSetAvailable");
  });

  it("scales old ReplicaSets' unhealthy replicas away first", async () => {
    const w = await rolledOut(4, 1, 1);
    const [old] = w.replicaSets();
    await w.edit("web", (d) => (d.spec.template.spec!.containers[0]!.image = "nginx:2.0"));
    // Two of the old pods went bad before the rollout's first step.
    await w.settle((rs) => (rs.metadata.name === old!.metadata.name ? 2 : 0));
    w.recorder.events.length = 0;
    await w.sync();
    const fresh = w.replicaSets().find((rs) => rs.metadata.name !== old!.metadata.name)!;
    // New gets 1 (surge); maxScaledDown = 5 - 3 - 1 = 1, taken from the unhealthy ones.
    expect(w.sizes()).toEqual({ [old!.metadata.name!]: 3, [fresh.metadata.name!]: 1 });
    expect(w.events()).toContain(`Normal ScalingReplicaSet Scaled down replica set ${old!.metadata.name} from 4 to 3`);
  });
});
