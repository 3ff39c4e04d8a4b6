import { describe, expect, it } from "vitest";
import { Resources } from "@kubemu/common";
import type { PodObject, ReplicaSet } from "../../src/controllers/deployment/types.js";
import { deployment, World } from "./world.js";

/** A pod of `rs` in `phase`, as the ReplicaSet controller would have made it. */
function podOf(rs: ReplicaSet, name: string, phase: string): PodObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", uid: `uid-${name}`, labels: { ...(rs.spec.template?.metadata?.labels ?? {}) }, ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: rs.metadata.name!, uid: rs.metadata.uid!, controller: true }] },
    spec: { containers: [{ name: "app", image: "nginx:1.0" }] },
    status: { phase },
  };
}

describe("the Recreate strategy", () => {
  it("scales the old ReplicaSet to 0, waits while old pods run, then creates the new one at full size", async () => {
    const w = new World();
    await w.add(Resources.deployments, deployment("web", { replicas: 3, strategy: { type: "Recreate" } }));
    await w.converge();
    const [old] = w.replicaSets();
    expect(w.sizes()).toEqual({ [old!.metadata.name!]: 3 });
    for (const n of ["a", "b", "c"]) await w.add(Resources.pods, podOf(old!, `web-${n}`, "Running"));

    w.recorder.events.length = 0;
    await w.edit("web", (d) => (d.spec.template.spec!.containers[0]!.image = "nginx:2.0"));
    await w.sync();
    // Down first; the new ReplicaSet does not exist yet.
    expect(w.sizes()).toEqual({ [old!.metadata.name!]: 0 });
    expect(w.events()).toEqual([`Normal ScalingReplicaSet Scaled down replica set ${old!.metadata.name} from 3 to 0`]);

    // The ReplicaSet reports 0, but two pods are still running (terminating): still waiting.
    await w.settle();
    await w.client.delete(Resources.pods, "default", "web-a");
    await w.sync();
    expect(w.replicaSets()).toHaveLength(1);

    // Finished pods do not count.
    await w.client.delete(Resources.pods, "default", "web-b");
    const c = w.client.objects<PodObject>(Resources.pods)[0]!;
    await w.client.updateStatus(Resources.pods, { ...c, status: { phase: "Succeeded" } });
    await w.sync();
    const fresh = w.replicaSets().find((rs) => rs.metadata.name !== old!.metadata.name)!;
    expect(w.sizes()).toEqual({ [old!.metadata.name!]: 0, [fresh.metadata.name!]: 3 });
    expect(w.events()).toContain(`Normal ScalingReplicaSet Scaled up replica set ${fresh.metadata.name} from 0 to 3`);
    expect(fresh.metadata.annotations).toMatchObject({ "deployment.kubernetes.io/revision": "2", "deployment.kubernetes.io/desired-replicas": "3", "deployment.kubernetes.io/max-replicas": "3" });

    await w.converge();
    const st = w.deployment().status!;
    expect(st).toMatchObject({ replicas: 3, updatedReplicas: 3, availableReplicas: 3 });
    expect(st.conditions?.find((cond) => cond.type === "Progressing")).toMatchObject({ reason: "NewReplicaSetAvailable", message: `ReplicaSet "${fresh.metadata.name}" has successfully progressed.` });
  });

  it("an Unknown-phase pod of the old ReplicaSet still blocks the new one", async () => {
    const w = new World();
    await w.add(Resources.deployments, deployment("web", { replicas: 2, strategy: { type: "Recreate" } }));
    await w.converge();
    const [old] = w.replicaSets();
    await w.add(Resources.pods, podOf(old!, "web-x", "Unknown"));
    await w.edit("web", (d) => (d.spec.template.spec!.containers[0]!.image = "nginx:2.0"));
    await w.sync();
    await w.settle();
    await w.sync();
    expect(w.replicaSets()).toHaveLength(1);
  });
});
