import { describe, expect, it } from "vitest";
import { Resources } from "@kubemu/common";
import { getProportion } from "../../src/controllers/deployment/replicas.js";
import type { ReplicaSet } from "../../src/controllers/deployment/types.js";
import { deployment, World } from "./world.js";

/** A Deployment of 10 (maxSurge 3, maxUnavailable 2) stopped mid-rollout at old 8 / new 5: the new pods never become available. */
async function midRollout(): Promise<{ w: World; oldName: string; newName: string }> {
  const w = new World();
  await w.add(Resources.deployments, deployment("web", { replicas: 10, strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 3, maxUnavailable: 2 } } }));
  await w.converge();
  const oldName = w.replicaSets()[0]!.metadata.name!;
  await w.edit("web", (d) => (d.spec.template.spec!.containers[0]!.image = "nginx:2.0"));
  const onlyOld = (rs: ReplicaSet) => (rs.metadata.name === oldName ? (rs.spec.replicas ?? 1) : 0);
  await w.converge(10, onlyOld);
  const newName = w.replicaSets().find((rs) => rs.metadata.name !== oldName)!.metadata.name!;
  expect(w.sizes()).toEqual({ [oldName]: 8, [newName]: 5 });
  w.recorder.events.length = 0;
  return { w, oldName, newName };
}

describe("proportional scaling", () => {
  it("scaling 10 → 15 mid-rollout gives 3 to the old ReplicaSet and 2 to the new one (the documented example)", async () => {
    const { w, oldName, newName } = await midRollout();
    await w.edit("web", (d) => (d.spec.replicas = 15));
    await w.sync();
    expect(w.sizes()).toEqual({ [oldName]: 11, [newName]: 7 });
    expect(w.events()).toEqual([`Normal ScalingReplicaSet Scaled up replica set ${oldName} from 8 to 11`, `Normal ScalingReplicaSet Scaled up replica set ${newName} from 5 to 7`]);
    for (const rs of w.replicaSets()) expect(rs.metadata.annotations).toMatchObject({ "deployment.kubernetes.io/desired-replicas": "15", "deployment.kubernetes.io/max-replicas": "18" });
  });

  it("scaling down mid-rollout takes from both, the larger first, and the leftover from the largest", async () => {
    const { w, oldName, newName } = await midRollout();
    await w.edit("web", (d) => (d.spec.replicas = 5));
    await w.sync();
    // allowed 5+3 = 8, 13 now: -5 split 8*8/13 → 5 (-3) and 5*8/13 → 3 (-2).
    expect(w.sizes()).toEqual({ [oldName]: 5, [newName]: 3 });
    expect(w.events()).toEqual([`Normal ScalingReplicaSet Scaled down replica set ${oldName} from 8 to 5`, `Normal ScalingReplicaSet Scaled down replica set ${newName} from 5 to 3`]);
  });

  it("scaling to 0 empties every ReplicaSet", async () => {
    const { w, oldName, newName } = await midRollout();
    await w.edit("web", (d) => (d.spec.replicas = 0));
    await w.sync();
    expect(w.sizes()).toEqual({ [oldName]: 0, [newName]: 0 });
  });

  it("one active ReplicaSet simply takes the new size", async () => {
    const w = new World();
    await w.add(Resources.deployments, deployment("web", { replicas: 3 }));
    await w.converge();
    w.recorder.events.length = 0;
    await w.edit("web", (d) => (d.spec.replicas = 5));
    await w.sync();
    const name = w.replicaSets()[0]!.metadata.name!;
    expect(w.sizes()).toEqual({ [name]: 5 });
    expect(w.events()).toEqual([`Normal ScalingReplicaSet Scaled up replica set ${name} from 3 to 5`]);
  });

  it("getProportion never hands out more than is left", () => {
    const d = deployment("web", { replicas: 15, strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 3, maxUnavailable: 2 } } });
    const rs: ReplicaSet = { metadata: { name: "a", annotations: { "deployment.kubernetes.io/max-replicas": "13" } }, spec: { replicas: 8, selector: {} } };
    expect(getProportion(rs, d, 5, 0)).toBe(3);
    expect(getProportion(rs, d, 5, 4)).toBe(1);
    expect(getProportion(rs, d, 5, 5)).toBe(0);
    expect(getProportion({ ...rs, spec: { replicas: 0, selector: {} } }, d, 5, 0)).toBe(0);
  });
});

describe("pause and resume", () => {
  it("a paused Deployment does not roll out a new template, still scales, and says DeploymentPaused / DeploymentResumed", async () => {
    const w = new World();
    await w.add(Resources.deployments, deployment("web", { replicas: 3 }));
    await w.converge();
    const name = w.replicaSets()[0]!.metadata.name!;
    await w.edit("web", (d) => (d.spec.paused = true));
    await w.sync();
    expect(w.deployment().status?.conditions?.find((c) => c.type === "Progressing")).toMatchObject({ status: "Unknown", reason: "DeploymentPaused", message: "Deployment is paused" });

    await w.edit("web", (d) => (d.spec.template.spec!.containers[0]!.image = "nginx:2.0"));
    await w.converge();
    expect(w.replicaSets().map((r) => r.metadata.name)).toEqual([name]);
    expect(w.deployment().status?.observedGeneration).toBe(3);

    await w.edit("web", (d) => (d.spec.replicas = 4));
    await w.sync();
    expect(w.sizes()).toEqual({ [name]: 4 });

    await w.edit("web", (d) => (d.spec.paused = false));
    await w.sync();
    expect(w.replicaSets()).toHaveLength(2);
    const cond = w.deployment().status?.conditions?.find((c) => c.type === "Progressing");
    expect(cond?.reason === "DeploymentResumed" || cond?.reason === "NewReplicaSetCreated").toBe(true);
    await w.converge();
    const fresh = w.replicaSets().find((r) => r.metadata.name !== name)!;
    expect(w.sizes()).toEqual({ [name]: 0, [fresh.metadata.name!]: 4 });
    expect(w.deployment().status?.conditions?.find((c) => c.type === "Progressing")?.reason).toBe("NewReplicaSetAvailable");
  });

  it("resuming records DeploymentResumed before the rollout goes on", async () => {
    const w = new World();
    await w.add(Resources.deployments, deployment("web", { paused: true }));
    await w.sync();
    expect(w.replicaSets()).toEqual([]);
    await w.edit("web", (d) => (d.spec.paused = false));
    const before = w.client.actions.length;
    await w.sync();
    const firstStatusWrite = w.client.actions.slice(before).find((a) => a.verb === "update-status");
    const conditions = (firstStatusWrite?.object as { status?: { conditions?: { type: string; status: string; reason?: string }[] } }).status?.conditions;
    expect(conditions?.find((c) => c.type === "Progressing")).toMatchObject({ status: "Unknown", reason: "DeploymentResumed" });
    expect(w.replicaSets()).toHaveLength(1);
  });
});
