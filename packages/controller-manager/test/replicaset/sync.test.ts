import { describe, expect, it } from "vitest";
import { newConflict, Resources } from "@kubemu/common";
import { REPLICATION_CONTROLLER, type ReplicaOwner } from "../../src/controllers/replicaset/kind.js";
import type { PodObject } from "../../src/controller/pod-control.js";
import { Fixture, T0, forbidden, iso, pod, replicaSet, replicationController } from "./fixture.js";

describe("ReplicaSet sync: scaling up", () => {
  it("creates the missing pods from the template, owned by the ReplicaSet, with SuccessfulCreate events", async () => {
    const rs = replicaSet("web", 3);
    const f = new Fixture([rs]);
    await f.sync.sync("default/web");
    const creates = f.podWrites("create");
    expect(creates).toHaveLength(3);
    for (const c of creates) {
      const p = c.object as PodObject;
      expect(p.metadata.generateName).toBe("web-");
      expect(p.metadata.labels).toEqual({ app: "web" });
      expect(p.metadata.ownerReferences).toEqual([{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: "uid-web", controller: true, blockOwnerDeletion: true }]);
      expect(p.spec?.containers[0]?.image).toBe("nginx");
    }
    const names = f.fake.objects<PodObject>(Resources.pods).map((p) => p.metadata.name);
    expect(f.recorder.lines().sort()).toEqual(names.map((n) => `Normal SuccessfulCreate Created pod: ${n}`).sort());
    expect(f.expectations.get("default/web")).toEqual({ add: 3, del: 0 });
  });

  it("creates in slow-start batches (1, 2, 4, ...) and stops after the batch with a failure", async () => {
    const f = new Fixture([replicaSet("web", 10)]);
    let creates = 0;
    // The 4th create fails: batches 1 and 2 pass, the batch of 4 holding it finishes, nothing more is tried.
    f.fake.react((a) => (a.verb === "create" && a.resource === "pods" && ++creates === 4 ? forbidden("pods is forbidden: exceeded quota") : undefined));
    await expect(f.sync.sync("default/web")).rejects.toThrow("exceeded quota");
    expect(f.podWrites("create")).toHaveLength(7);
    expect(f.fake.objects(Resources.pods)).toHaveLength(6);
    // The 4 creates never made (1 failed, 3 skipped) are no longer expected.
    expect(f.expectations.get("default/web")).toEqual({ add: 6, del: 0 });
  });

  it("creates at most burstReplicas (500) per sync", async () => {
    const f = new Fixture([replicaSet("big", 600)]);
    await f.sync.sync("default/big");
    expect(f.podWrites("create")).toHaveLength(500);
    expect(f.expectations.get("default/big")).toEqual({ add: 500, del: 0 });
  });

  it("does not create twice while its creates are not yet observed (expectations)", async () => {
    const f = new Fixture([replicaSet("web", 2)]);
    await f.sync.sync("default/web");
    expect(f.podWrites("create")).toHaveLength(2);
    // The informer has not shown the pods yet: a second sync must not create them again.
    await f.sync.sync("default/web");
    expect(f.podWrites("create")).toHaveLength(2);
    f.observeCreates();
    expect(f.expectations.satisfied("default/web")).toBe(true);
    await f.sync.sync("default/web");
    expect(f.podWrites("create")).toHaveLength(2);
    expect(f.lastStatus()?.replicas).toBe(2);
  });

  it("syncs again once expectations expire even if a create was never observed", async () => {
    const f = new Fixture([replicaSet("web", 1)]);
    await f.sync.sync("default/web");
    // The created pod vanished before the informer saw it (and no event arrived).
    f.fake.clearActions();
    for (const p of f.fake.objects<PodObject>(Resources.pods)) await f.fake.delete(Resources.pods, "default", p.metadata.name!);
    f.refresh();
    f.fake.clearActions();
    await f.sync.sync("default/web");
    expect(f.podWrites("create")).toHaveLength(0);
    f.clock.advance(5 * 60_000 + 1);
    await f.sync.sync("default/web");
    expect(f.podWrites("create")).toHaveLength(1);
  });

  it("replaces pods that are being deleted or finished: they do not count", async () => {
    const rs = replicaSet("web", 2);
    const f = new Fixture([rs], [pod("web-a", { owner: rs, node: "n1", readySince: T0 - 60_000 }), pod("web-b", { owner: rs, deleting: true }), pod("web-c", { owner: rs, phase: "Succeeded" })]);
    await f.sync.sync("default/web");
    expect(f.podWrites("create")).toHaveLength(1);
    expect(f.podWrites("delete")).toHaveLength(0);
    expect(f.lastStatus()?.replicas).toBe(1);
  });

  it("a ReplicaSet being deleted creates nothing but still reports status", async () => {
    const rs = replicaSet("web", 3, { deleting: true });
    const f = new Fixture([rs], [pod("web-a", { owner: rs })]);
    await f.sync.sync("default/web");
    expect(f.podWrites("create")).toHaveLength(0);
    expect(f.lastStatus()).toMatchObject({ replicas: 1, observedGeneration: 1 });
  });

  it("does nothing for a ReplicaSet that is gone, and forgets its expectations", async () => {
    const f = new Fixture([]);
    f.expectations.expectCreations("default/gone", 2);
    await f.sync.sync("default/gone");
    expect(f.fake.writes()).toHaveLength(0);
    expect(f.expectations.get("default/gone")).toBeUndefined();
  });

  it("leaves a ReplicaSet with an invalid selector alone (no retry)", async () => {
    const rs = replicaSet("bad", 2, { selector: { matchExpressions: [{ key: "app", operator: "Near", values: ["x"] }] } });
    const f = new Fixture([rs]);
    await f.sync.sync("default/bad");
    expect(f.fake.writes()).toHaveLength(0);
  });
});

describe("ReplicaSet sync: scaling down", () => {
  it("deletes the pods upstream would: unassigned, then pending, then not ready, then the newest ready", async () => {
    const rs = replicaSet("web", 2);
    const pods = [
      pod("old-ready", { owner: rs, node: "n1", readySince: T0 - 3_600_000, created: T0 - 7_200_000 }),
      pod("unassigned", { owner: rs, phase: "Pending" }),
      pod("new-ready", { owner: rs, node: "n2", readySince: T0 - 10_000, created: T0 - 20_000 }),
      pod("not-ready", { owner: rs, node: "n3", notReady: true }),
      pod("pending", { owner: rs, node: "n1", phase: "Pending" }),
    ];
    const f = new Fixture([rs], pods);
    await f.sync.sync("default/web");
    expect(f.podWrites("delete").map((a) => a.name).sort()).toEqual(["not-ready", "pending", "unassigned"]);
    expect(f.recorder.lines().sort()).toEqual(["Normal SuccessfulDelete Deleted pod: not-ready", "Normal SuccessfulDelete Deleted pod: pending", "Normal SuccessfulDelete Deleted pod: unassigned"]);
    expect(f.expectations.expectedDeletions("default/web")).toEqual(new Set(["default/not-ready", "default/pending", "default/unassigned"]));
    // The next scale-down takes the newer of the two ready pods.
    const f2 = new Fixture([replicaSet("web", 1)], [pods[0]!, pods[2]!]);
    await f2.sync.sync("default/web");
    expect(f2.podWrites("delete").map((a) => a.name)).toEqual(["new-ready"]);
  });

  it("honours controller.kubernetes.io/pod-deletion-cost", async () => {
    const rs = replicaSet("web", 1);
    const f = new Fixture([rs], [pod("dear-new", { owner: rs, node: "n", readySince: T0 - 5_000, cost: "100" }), pod("cheap-old", { owner: rs, node: "n", readySince: T0 - 3_600_000, cost: "-1" })]);
    await f.sync.sync("default/web");
    expect(f.podWrites("delete").map((a) => a.name)).toEqual(["cheap-old"]);
  });

  it("prefers pods on nodes crowded with the same owner's pods (related ReplicaSets of one Deployment)", async () => {
    const a = replicaSet("web-a", 1, { owner: "dep-uid", templateLabels: { app: "web", h: "a" }, selector: { matchLabels: { app: "web", h: "a" } } });
    const b = replicaSet("web-b", 2, { owner: "dep-uid", templateLabels: { app: "web", h: "b" }, selector: { matchLabels: { app: "web", h: "b" } } });
    const ready = T0 - 3_600_000;
    const pods = [pod("a-1", { owner: a, node: "lonely", readySince: ready }), pod("a-2", { owner: a, node: "crowded", readySince: ready }), pod("b-1", { owner: b, node: "crowded", readySince: ready }), pod("b-2", { owner: b, node: "crowded", readySince: ready })];
    const f = new Fixture([a, b], pods);
    await f.sync.sync("default/web-a");
    expect(f.podWrites("delete").map((x) => x.name)).toEqual(["a-2"]);
  });

  it("tracks deletions by pod key: a graceful delete seen twice (update, then delete) counts once", async () => {
    const rs = replicaSet("web", 0);
    const p = pod("web-a", { owner: rs, node: "n" });
    const f = new Fixture([rs], [p]);
    await f.sync.sync("default/web");
    expect(f.expectations.satisfied("default/web")).toBe(false);
    const terminating = { ...p, metadata: { ...p.metadata, deletionTimestamp: iso(T0), resourceVersion: "2" } } as PodObject;
    f.handlers.updatePod(p, terminating);
    expect(f.expectations.satisfied("default/web")).toBe(true);
    f.handlers.deletePod(terminating);
    expect(f.expectations.get("default/web")).toEqual({ add: 0, del: 0 });
  });

  it("a pod already gone when deleted is not waited for; another failure is FailedDelete and a ReplicaFailure", async () => {
    const rs = replicaSet("web", 0);
    const f = new Fixture([rs], [pod("web-a", { owner: rs }), pod("web-b", { owner: rs })]);
    await f.fake.delete(Resources.pods, "default", "web-a");
    f.fake.react((a) => (a.verb === "delete" && a.name === "web-b" ? forbidden('pods "web-b" is forbidden: no') : undefined));
    await expect(f.sync.sync("default/web")).rejects.toThrow('unable to delete pods: pods "web-b" is forbidden: no');
    expect(f.expectations.satisfied("default/web")).toBe(true);
    expect(f.recorder.lines()).toEqual(['Warning FailedDelete Error deleting: pods "web-b" is forbidden: no']);
    expect(f.lastStatus()?.conditions).toEqual([{ type: "ReplicaFailure", status: "True", lastTransitionTime: iso(T0), reason: "FailedDelete", message: 'unable to delete pods: pods "web-b" is forbidden: no' }]);
  });
});

describe("ReplicaSet sync: adoption and release", () => {
  it("adopts a matching orphan instead of creating a pod", async () => {
    const rs = replicaSet("web", 1);
    const f = new Fixture([rs], [pod("stray", { labels: { app: "web" } })]);
    await f.sync.sync("default/web");
    expect(f.podWrites("create")).toHaveLength(0);
    const patch = f.podWrites("patch")[0]!;
    expect(patch.patchType).toBe("strategic");
    expect(patch.patch).toEqual({ metadata: { ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: "uid-web", controller: true, blockOwnerDeletion: true }], uid: "uid-stray" } });
    expect(f.lastStatus()?.replicas).toBe(1);
  });

  it("releases a pod whose labels stopped matching and creates a replacement", async () => {
    const rs = replicaSet("web", 1);
    const f = new Fixture([rs], [pod("web-a", { owner: rs, labels: { app: "foo" } })]);
    await f.sync.sync("default/web");
    expect(f.podWrites("patch")[0]!.patch).toEqual({ metadata: { ownerReferences: [{ $patch: "delete", uid: "uid-web" }], uid: "uid-web-a" } });
    expect(f.fake.objects<PodObject>(Resources.pods).find((p) => p.metadata.name === "web-a")!.metadata.ownerReferences).toEqual([]);
    expect(f.podWrites("create")).toHaveLength(1);
  });

  it("never touches a pod another controller owns, and does not adopt while being deleted", async () => {
    const rs = replicaSet("web", 1, { deleting: true });
    const other = replicaSet("other", 1);
    const f = new Fixture([rs, other], [pod("theirs", { owner: other, labels: { app: "web" } }), pod("stray", { labels: { app: "web" } })]);
    await f.sync.sync("default/web");
    expect(f.podWrites("patch")).toHaveLength(0);
    expect(f.lastStatus()?.replicas).toBe(0);
  });

  it("refuses to adopt when a fresh read shows the ReplicaSet is being deleted", async () => {
    const rs = replicaSet("web", 1);
    const f = new Fixture([rs], [pod("stray", { labels: { app: "web" } })]);
    const fresh = (await f.fake.get<ReplicaOwner>(Resources.replicaSets, "default", "web")) as ReplicaOwner;
    await f.fake.update(Resources.replicaSets, { ...fresh, metadata: { ...fresh.metadata, deletionTimestamp: iso(T0) } });
    await expect(f.sync.sync("default/web")).rejects.toThrow("has just been deleted");
    expect(f.podWrites("patch")).toHaveLength(0);
    expect(f.podWrites("create")).toHaveLength(0);
  });
});

describe("ReplicaSet sync: status", () => {
  it("counts replicas, fully labeled, ready and available pods, and records the generation", async () => {
    const rs = replicaSet("web", 3, { generation: 4, templateLabels: { app: "web", tier: "front" } });
    const pods = [
      pod("a", { owner: rs, node: "n", readySince: T0 - 60_000, labels: { app: "web", tier: "front" } }),
      pod("b", { owner: rs, node: "n", readySince: T0 - 60_000, labels: { app: "web" } }),
      pod("c", { owner: rs, node: "n", notReady: true, labels: { app: "web", tier: "front", extra: "x" } }),
    ];
    const f = new Fixture([rs], pods);
    await f.sync.sync("default/web");
    expect(f.lastStatus()).toEqual({ replicas: 3, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 2, observedGeneration: 4 });
    expect(f.statusWrites()[0]!.subresource).toBe("status");
  });

  it("does not write an unchanged status", async () => {
    const rs = replicaSet("web", 1, { status: { replicas: 1, fullyLabeledReplicas: 1, readyReplicas: 1, availableReplicas: 1, observedGeneration: 1 } });
    const f = new Fixture([rs], [pod("a", { owner: rs, node: "n", readySince: T0 - 60_000 })]);
    await f.sync.sync("default/web");
    expect(f.fake.writes()).toHaveLength(0);
  });

  it("counts a pod available only after minReadySeconds, and asks to be synced again then", async () => {
    const rs = replicaSet("web", 2, { minReadySeconds: 10 });
    const f = new Fixture([rs], [pod("a", { owner: rs, node: "n", readySince: T0 - 3_000 }), pod("b", { owner: rs, node: "n", readySince: T0 - 60_000 })]);
    await f.sync.sync("default/web");
    expect(f.lastStatus()).toMatchObject({ replicas: 2, readyReplicas: 2, availableReplicas: 1 });
    expect(f.requeues).toEqual([{ key: "default/web", ms: 10_000 }]);
    f.refresh();
    f.clock.advance(10_000);
    await f.sync.sync("default/web");
    expect(f.lastStatus()).toMatchObject({ readyReplicas: 2, availableReplicas: 2 });
    expect(f.requeues).toHaveLength(1);
  });

  it("retries a conflicting status write once on a fresh read", async () => {
    const rs = replicaSet("web", 0);
    const f = new Fixture([rs]);
    let failures = 0;
    f.fake.react((a) => (a.verb === "update-status" && failures++ === 0 ? newConflict({ group: "apps", resource: "replicasets" }, "web", "the object has been modified") : undefined));
    await f.sync.sync("default/web");
    expect(f.fake.actions.filter((a) => a.verb === "update-status" || (a.verb === "get" && a.resource === "replicasets")).map((a) => a.verb)).toEqual(["update-status", "get", "update-status"]);
    expect(f.fake.objects<ReplicaOwner>(Resources.replicaSets)[0]!.status).toEqual({ replicas: 0, observedGeneration: 1 });
  });

  it("gives up after the retry and returns the error (the queue backs off)", async () => {
    const f = new Fixture([replicaSet("web", 0)]);
    f.fake.failOn("update-status", "replicasets", newConflict({ group: "apps", resource: "replicasets" }, "web", "the object has been modified"));
    await expect(f.sync.sync("default/web")).rejects.toThrow("the object has been modified");
    expect(f.statusWrites()).toHaveLength(2);
  });
});

describe("ReplicaSet sync: create failures", () => {
  it("records FailedCreate, sets ReplicaFailure, throws for backoff, and clears the condition once creates work", async () => {
    const rs = replicaSet("web", 3);
    const f = new Fixture([rs]);
    const quota = 'pods "web-x" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2';
    let failing = true;
    f.fake.react((a) => (failing && a.verb === "create" && a.resource === "pods" ? forbidden(quota) : undefined));
    await expect(f.sync.sync("default/web")).rejects.toThrow(quota);
    // Slow start: one request, not three.
    expect(f.podWrites("create")).toHaveLength(1);
    expect(f.recorder.lines()).toEqual([`Warning FailedCreate Error creating: ${quota}`]);
    expect(f.lastStatus()?.conditions).toEqual([{ type: "ReplicaFailure", status: "True", lastTransitionTime: iso(T0), reason: "FailedCreate", message: quota }]);
    expect(f.expectations.satisfied("default/web")).toBe(true);

    // The condition is kept as it is while the failure goes on (same reason), then removed.
    f.refresh();
    f.clock.advance(5_000);
    await expect(f.sync.sync("default/web")).rejects.toThrow(quota);
    expect(f.fake.objects<ReplicaOwner>(Resources.replicaSets)[0]!.status?.conditions?.[0]?.lastTransitionTime).toBe(iso(T0));
    failing = false;
    f.refresh();
    await f.sync.sync("default/web");
    expect(f.fake.objects<ReplicaOwner>(Resources.replicaSets)[0]!.status?.conditions).toBeUndefined();
    expect(f.fake.objects(Resources.pods)).toHaveLength(3);
  });

  it("counts creates refused by a terminating namespace as done, without events", async () => {
    const f = new Fixture([replicaSet("web", 2)]);
    const terminating = forbidden("unable to create new content in namespace default because it is being terminated");
    terminating.status.details = { causes: [{ reason: "NamespaceTerminating", message: "namespace default is being terminated", field: "metadata.namespace" }] };
    f.fake.failOn("create", "pods", terminating);
    await f.sync.sync("default/web");
    expect(f.podWrites("create")).toHaveLength(2);
    expect(f.recorder.events).toHaveLength(0);
  });
});

describe("ReplicationController sync", () => {
  it("uses the label-map selector and owns its pods as a v1 ReplicationController", async () => {
    const rc = replicationController("kubia", 3);
    const f = new Fixture([rc], [pod("kubia-old", { owner: rc, node: "n", readySince: T0 - 60_000 }), pod("stray", { labels: { app: "kubia", extra: "1" } })], REPLICATION_CONTROLLER);
    await f.sync.sync("default/kubia");
    expect(f.podWrites("patch")[0]!.patch).toMatchObject({ metadata: { ownerReferences: [{ apiVersion: "v1", kind: "ReplicationController", name: "kubia", uid: "uid-kubia", controller: true, blockOwnerDeletion: true }] } });
    const creates = f.podWrites("create");
    expect(creates).toHaveLength(1);
    expect((creates[0]!.object as PodObject).metadata.ownerReferences?.[0]).toMatchObject({ apiVersion: "v1", kind: "ReplicationController" });
    expect(f.statusWrites()[0]!.resource).toBe("replicationcontrollers");
    expect(f.lastStatus()).toMatchObject({ replicas: 2, readyReplicas: 1, observedGeneration: 1 });
  });

  it("scales down like a ReplicaSet", async () => {
    const rc = replicationController("kubia", 1);
    const f = new Fixture([rc], [pod("a", { owner: rc, node: "n", readySince: T0 - 60_000 }), pod("b", { owner: rc, node: "n", notReady: true })], REPLICATION_CONTROLLER);
    await f.sync.sync("default/kubia");
    expect(f.podWrites("delete").map((a) => a.name)).toEqual(["b"]);
  });
});
