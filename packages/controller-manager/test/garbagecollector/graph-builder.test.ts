/** The graph builder alone: nodes, virtual owners, identity checks, and what each event queues. */
import { describe, expect, it } from "vitest";
import { Resources, silentLogger, type KubeObject } from "@kubemu/common";
import { GraphBuilder, type GraphEvent } from "../../src/controllers/garbagecollector/graph-builder.js";
import { ReferenceCache } from "../../src/controllers/garbagecollector/reference-cache.js";
import { FakeRecorder } from "../fake-client.js";
import { obj, ownerRef } from "./harness.js";

const { pods, replicaSets, configMaps } = Resources;

function builder() {
  const deletes: string[] = [];
  const orphans: string[] = [];
  const recorder = new FakeRecorder();
  const absentOwners = new ReferenceCache();
  const b = new GraphBuilder({ attemptToDelete: (uid) => deletes.push(uid), attemptToOrphan: (uid) => orphans.push(uid), absentOwners, recorder, logger: silentLogger });
  return { b, deletes, orphans, recorder, absentOwners };
}

const ev = (type: GraphEvent["type"], o: KubeObject, oldObj?: KubeObject): GraphEvent => ({ type, obj: o, ...(oldObj ? { oldObj } : {}), apiVersion: o.apiVersion!, kind: o.kind! });
const bump = (o: KubeObject, meta: Partial<KubeObject["metadata"]>): KubeObject => ({ ...o, metadata: { ...o.metadata, resourceVersion: String(Number(o.metadata.resourceVersion) + 1), ...meta } });

describe("graph builder", () => {
  it("links dependents to owners; an owner not seen yet is a virtual node queued for verification, then observed", () => {
    const { b, deletes } = builder();
    const rs = obj(replicaSets, "web");
    const pod = obj(pods, "web-a", { owners: [ownerRef(replicaSets, rs, { block: true })] });
    b.process(ev("add", pod));
    const virtual = b.graph.get("uid-web")!;
    expect(virtual.virtual).toBe(true);
    expect(virtual.identity).toEqual({ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: "uid-web", namespace: "default" });
    expect(deletes).toEqual(["uid-web"]);
    b.process(ev("add", rs));
    const observed = b.graph.get("uid-web")!;
    expect(observed.virtual).toBe(false);
    expect([...observed.dependents].map((d) => d.identity.name)).toEqual(["web-a"]);
    expect(observed.blockingDependents().map((d) => d.identity.name)).toEqual(["web-a"]);
  });

  it("an owner's delete queues its dependents and remembers it as absent; a dependent's delete unlinks it", () => {
    const { b, deletes, absentOwners } = builder();
    const rs = obj(replicaSets, "web");
    const pod = obj(pods, "web-a", { owners: [ownerRef(replicaSets, rs)] });
    b.process(ev("add", rs));
    b.process(ev("add", pod));
    deletes.length = 0;
    b.process(ev("delete", rs));
    expect(deletes).toEqual(["uid-web-a"]);
    expect(absentOwners.has({ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: "uid-web", namespace: "default" })).toBe(true);
    expect(b.graph.get("uid-web")).toBeUndefined();
    b.process(ev("delete", pod));
    expect(b.graph.size).toBe(0);
  });

  it("orphan and foreground deletions starting are queued once; foreground marks the node and queues its dependents", () => {
    const { b, deletes, orphans } = builder();
    const rs = obj(replicaSets, "web");
    const pod = obj(pods, "web-a", { owners: [ownerRef(replicaSets, rs, { block: true })] });
    b.process(ev("add", rs));
    b.process(ev("add", pod));
    deletes.length = 0;
    const orphaning = bump(rs, { deletionTimestamp: "2026-01-01T00:00:00Z", finalizers: ["orphan"] });
    b.process(ev("update", orphaning, rs));
    b.process(ev("update", bump(orphaning, {}), orphaning));
    expect(orphans).toEqual(["uid-web"]);

    const rs2 = obj(replicaSets, "api");
    const pod2 = obj(pods, "api-a", { owners: [ownerRef(replicaSets, rs2, { block: true })] });
    b.process(ev("add", rs2));
    b.process(ev("add", pod2));
    deletes.length = 0;
    b.process(ev("update", bump(rs2, { deletionTimestamp: "2026-01-01T00:00:00Z", finalizers: ["foregroundDeletion"] }), rs2));
    expect(b.graph.get("uid-api")!.deletingDependents).toBe(true);
    expect(deletes).toEqual(["uid-api-a", "uid-api"]);
    // The dependent going wakes the owner waiting for it.
    deletes.length = 0;
    b.process(ev("delete", pod2));
    expect(deletes).toEqual(["uid-api"]);
  });

  it("a blocking reference removed or unblocked queues the owner it blocked", () => {
    const { b, deletes } = builder();
    const rs = obj(replicaSets, "web");
    const pod = obj(pods, "web-a", { owners: [ownerRef(replicaSets, rs, { block: true })] });
    b.process(ev("add", rs));
    b.process(ev("add", pod));
    deletes.length = 0;
    const unblocked = bump(pod, { ownerReferences: [{ ...ownerRef(replicaSets, rs), blockOwnerDeletion: false }] });
    b.process(ev("update", unblocked, pod));
    expect(deletes).toEqual(["uid-web"]);
    expect(b.graph.get("uid-web")!.blockingDependents()).toEqual([]);
    deletes.length = 0;
    b.process(ev("update", bump(unblocked, { ownerReferences: [] }), unblocked));
    expect(deletes).toEqual([]);
    expect(b.graph.get("uid-web")!.dependents.size).toBe(0);
  });

  it("a dependent naming an observed namespaced owner from another namespace gets OwnerRefInvalidNamespace and is queued", () => {
    const { b, deletes, recorder } = builder();
    const owner = obj(configMaps, "owner", { namespace: "ns1" });
    b.process(ev("add", owner));
    b.process(ev("add", obj(configMaps, "child", { namespace: "ns2", owners: [ownerRef(configMaps, owner)] })));
    expect(deletes).toEqual(["uid-child"]);
    expect(recorder.events).toEqual([
      { object: "ns2/child", type: "Warning", reason: "OwnerRefInvalidNamespace", message: 'ownerRef [v1/ConfigMap, namespace: ns2, name: owner, uid: uid-owner] does not exist in namespace "ns2"' },
    ]);
  });

  it("the bad child first, then its owner observed in another namespace: the child is re-checked and the event recorded", () => {
    const { b, deletes, recorder } = builder();
    const owner = obj(configMaps, "owner", { namespace: "ns1" });
    b.process(ev("add", obj(configMaps, "child", { namespace: "ns2", owners: [ownerRef(configMaps, owner)] })));
    deletes.length = 0;
    b.process(ev("add", owner));
    expect(deletes).toEqual(["uid-child"]);
    expect(recorder.events.map((e) => e.reason)).toEqual(["OwnerRefInvalidNamespace"]);
    expect(b.graph.get("uid-owner")!.identity.namespace).toBe("ns1");
  });

  it("a virtual delete of a virtual node named otherwise by other dependents keeps it under their identity", () => {
    const { b, deletes } = builder();
    const a = obj(pods, "a", { owners: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "x", uid: "uid-x" }] });
    const c = obj(pods, "c", { owners: [{ apiVersion: "apps/v1", kind: "StatefulSet", name: "x", uid: "uid-x" }] });
    b.process(ev("add", a));
    b.process(ev("add", c));
    deletes.length = 0;
    b.enqueueVirtualDeleteEvent({ apiVersion: "apps/v1", kind: "ReplicaSet", name: "x", uid: "uid-x", namespace: "default" });
    const n = b.graph.get("uid-x")!;
    expect(n.identity.kind).toBe("StatefulSet");
    expect(deletes).toEqual(["uid-a", "uid-x"]);
  });
});
