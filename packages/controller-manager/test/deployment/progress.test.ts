import { describe, expect, it } from "vitest";
import { Resources } from "@kubemu/common";
import type { ReplicaSet } from "../../src/controllers/deployment/types.js";
import { deployment, World } from "./world.js";

const progressing = (w: World) => w.deployment().status?.conditions?.find((c) => c.type === "Progressing");

describe("progressDeadlineSeconds", () => {
  it("a rollout whose new pods never become available times out with ProgressDeadlineExceeded, after a requeue at the deadline", async () => {
    const w = new World();
    await w.add(Resources.deployments, deployment("web", { replicas: 2, progressDeadlineSeconds: 30 }));
    await w.converge();
    const oldName = w.replicaSets()[0]!.metadata.name!;
    await w.edit("web", (d) => (d.spec.template.spec!.containers[0]!.image = "nginx:broken"));
    const onlyOld = (rs: ReplicaSet) => (rs.metadata.name === oldName ? (rs.spec.replicas ?? 1) : 0);
    await w.converge(10, onlyOld);
    const newName = w.replicaSets().find((rs) => rs.metadata.name !== oldName)!.metadata.name!;
    expect(progressing(w)).toMatchObject({ status: "True", reason: "ReplicaSetUpdated", message: `ReplicaSet "${newName}" is progressing.` });

    // Nothing moves: the sync asks to be woken when the deadline (plus a second) has passed.
    w.queue.after.length = 0;
    await w.sync();
    const lastUpdate = Date.parse(progressing(w)!.lastUpdateTime!);
    expect(w.queue.after).toEqual([{ key: "default/web", ms: lastUpdate + 30_000 - w.clock.now() + 1000 }]);

    w.clock.advance(31_000);
    await w.sync();
    expect(progressing(w)).toMatchObject({ status: "False", reason: "ProgressDeadlineExceeded", message: `ReplicaSet "${newName}" has timed out progressing.` });
    // Timed out: no more progress checks, and pausing does not overwrite the verdict.
    w.queue.after.length = 0;
    await w.sync();
    expect(w.queue.after).toEqual([]);
    await w.edit("web", (d) => (d.spec.paused = true));
    await w.sync();
    expect(progressing(w)?.reason).toBe("ProgressDeadlineExceeded");
  });

  it("under a second left, the check is requeued rate-limited at once", async () => {
    const w = new World();
    await w.add(Resources.deployments, deployment("web", { replicas: 1, progressDeadlineSeconds: 10 }));
    await w.sync();
    await w.settle(() => 0);
    await w.sync();
    w.clock.advance(9_500);
    await w.sync();
    expect(w.queue.rateLimited).toContain("default/web");
  });

  it("progress moves lastUpdateTime but keeps lastTransitionTime", async () => {
    const w = new World();
    await w.add(Resources.deployments, deployment("web", { replicas: 4 }));
    await w.sync();
    const created = progressing(w)!;
    w.clock.advance(5_000);
    await w.settle((rs) => ((rs.spec.replicas ?? 1) > 2 ? 2 : 0));
    await w.sync();
    const moved = progressing(w)!;
    expect(moved.reason).toBe("ReplicaSetUpdated");
    expect(moved.lastTransitionTime).toBe(created.lastTransitionTime);
    expect(Date.parse(moved.lastUpdateTime!)).toBe(Date.parse(created.lastUpdateTime!) + 5_000);
  });

  it("without a deadline there is no Progressing condition at all", async () => {
    const w = new World();
    await w.add(Resources.deployments, deployment("web", { progressDeadlineSeconds: undefined }));
    await w.converge();
    expect(w.deployment().status?.conditions?.map((c) => c.type)).toEqual(["Available"]);
  });

  it("a ReplicaSet's ReplicaFailure condition becomes the Deployment's", async () => {
    const w = new World();
    await w.add(Resources.deployments, deployment("web", { replicas: 1 }));
    await w.sync();
    const rs = w.replicaSets()[0]!;
    await w.client.updateStatus(Resources.replicaSets, { ...rs, status: { replicas: 0, conditions: [{ type: "ReplicaFailure", status: "True", reason: "FailedCreate", message: 'pods "web-x" is forbidden: exceeded quota', lastTransitionTime: "2026-03-01T10:00:00Z" }] } });
    await w.sync();
    expect(w.deployment().status?.conditions?.find((c) => c.type === "ReplicaFailure")).toMatchObject({ status: "True", reason: "FailedCreate", message: 'pods "web-x" is forbidden: exceeded quota' });
  });
});
