import { describe, expect, it } from "vitest";
import type { PodObject } from "../../src/controller/pod-control.js";
import { REPLICATION_CONTROLLER } from "../../src/controllers/replicaset/kind.js";
import { Fixture, T0, iso, pod, replicaSet, replicationController } from "./fixture.js";

const bump = (p: PodObject, over: Partial<PodObject["metadata"]> = {}, status?: PodObject["status"]): PodObject =>
  ({ ...p, metadata: { ...p.metadata, resourceVersion: String(Number(p.metadata.resourceVersion ?? "1") + 1), ...over }, ...(status ? { status } : {}) }) as PodObject;

describe("ReplicaSet handlers (pod events → keys and expectations)", () => {
  it("a new owned pod is an observed creation of its ReplicaSet", () => {
    const rs = replicaSet("web", 1);
    const f = new Fixture([rs]);
    f.expectations.expectCreations("default/web", 1);
    f.handlers.addPod(pod("web-a", { owner: rs }));
    expect(f.expectations.satisfied("default/web")).toBe(true);
    expect(f.added).toEqual(["default/web"]);
  });

  it("ignores a controller reference to another kind, or to an older object of the same name", () => {
    const rs = replicaSet("web", 1);
    const f = new Fixture([rs]);
    f.expectations.expectCreations("default/web", 1);
    f.handlers.addPod(pod("a", { owner: rs, ownerKind: "StatefulSet" }));
    f.handlers.addPod(pod("b", { owner: { ...rs, metadata: { ...rs.metadata, uid: "older" } } }));
    expect(f.added).toEqual([]);
    expect(f.expectations.satisfied("default/web")).toBe(false);
  });

  it("an orphan wakes every ReplicaSet whose selector matches it, but not one with an empty selector", () => {
    const f = new Fixture([replicaSet("web", 1), replicaSet("any", 1, { selector: {} }), replicaSet("api", 1)]);
    f.handlers.addPod(pod("stray", { labels: { app: "web" } }));
    expect(f.added).toEqual(["default/web"]);
  });

  it("a pod first seen already terminating counts as a deletion", () => {
    const rs = replicaSet("web", 1);
    const f = new Fixture([rs]);
    f.expectations.expectDeletionsOf("default/web", ["default/web-a"]);
    f.handlers.addPod(pod("web-a", { owner: rs, deleting: true }));
    expect(f.expectations.satisfied("default/web")).toBe(true);
  });

  it("relabeling an owned pod wakes its ReplicaSet (which then releases it)", () => {
    const rs = replicaSet("web", 1);
    const f = new Fixture([rs, replicaSet("foo", 1)]);
    const p = pod("web-a", { owner: rs });
    f.handlers.updatePod(p, bump(p, { labels: { app: "foo" } }));
    expect(f.added).toEqual(["default/web"]);
  });

  it("a released pod (controller reference removed) wakes the old owner and the owners that now match", () => {
    const rs = replicaSet("web", 1);
    const f = new Fixture([rs, replicaSet("foo", 1)]);
    const p = pod("web-a", { owner: rs, labels: { app: "foo" } });
    f.handlers.updatePod(p, bump(p, { ownerReferences: [] }));
    expect(f.added).toEqual(["default/web", "default/foo"]);
  });

  it("skips resyncs (same resourceVersion)", () => {
    const rs = replicaSet("web", 1);
    const f = new Fixture([rs]);
    const p = pod("web-a", { owner: rs });
    f.handlers.updatePod(p, p);
    expect(f.added).toEqual([]);
  });

  it("a pod turning ready requeues after minReadySeconds + 1 s", () => {
    const rs = replicaSet("web", 1, { minReadySeconds: 5 });
    const f = new Fixture([rs]);
    const p = pod("web-a", { owner: rs, node: "n", notReady: true });
    f.handlers.updatePod(p, bump(p, {}, { phase: "Running", conditions: [{ type: "Ready", status: "True", lastTransitionTime: iso(T0) }] }));
    expect(f.added).toEqual(["default/web"]);
    expect(f.requeues).toEqual([{ key: "default/web", ms: 6_000 }]);
  });

  it("a graceful delete counts as the deletion at once; a later delete event does not count again", () => {
    const rs = replicaSet("web", 1);
    const f = new Fixture([rs]);
    const p = pod("web-a", { owner: rs });
    const q = pod("web-b", { owner: rs });
    f.expectations.expectDeletionsOf("default/web", ["default/web-a", "default/web-b"]);
    const terminating = bump(p, { deletionTimestamp: iso(T0) });
    f.handlers.updatePod(p, terminating);
    f.handlers.deletePod(terminating);
    expect(f.expectations.get("default/web")).toEqual({ add: 0, del: 1 });
    f.handlers.deletePod(q);
    expect(f.expectations.satisfied("default/web")).toBe(true);
  });

  it("the RC controller resolves only ReplicationController references", () => {
    const rc = replicationController("kubia", 1);
    const f = new Fixture([rc], [], REPLICATION_CONTROLLER);
    f.expectations.expectCreations("default/kubia", 1);
    f.handlers.addPod(pod("kubia-a", { owner: rc }));
    f.handlers.addPod(pod("stray", { labels: { app: "kubia" } }));
    expect(f.added).toEqual(["default/kubia", "default/kubia"]);
    expect(f.expectations.satisfied("default/kubia")).toBe(true);
  });
});
