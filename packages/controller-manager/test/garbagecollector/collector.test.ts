/**
 * The collector over a FakeClient with the API server's deletion semantics: the three propagation
 * policies, dangling owners (absent, uid mismatch, some owners remaining), cluster-scoped owners,
 * owners in another namespace, custom resources, and the live read that keeps an existing owner's
 * dependents alive whatever the graph says.
 */
import { describe, expect, it } from "vitest";
import { Resources, StatusError, newStatus, type KubeObject } from "@kubemu/common";
import { GcHarness, obj, ownerRef, widgetCrd, widgets } from "./harness.js";

const { pods, replicaSets, deployments, configMaps, clusterRoles } = Resources;

/** An RS with two pods it controls (blockOwnerDeletion, as the ReplicaSet controller writes them). */
function rsWithPods(): { rs: KubeObject; objects: { resource: typeof pods; objects: KubeObject[] }[] } {
  const rs = obj(replicaSets, "web");
  const owners = [ownerRef(replicaSets, rs, { controller: true, block: true })];
  return { rs, objects: [{ resource: replicaSets, objects: [rs] }, { resource: pods, objects: [obj(pods, "web-a", { owners }), obj(pods, "web-b", { owners })] }] };
}

describe("garbage collector: propagation policies", () => {
  it("Background: once the owner is gone its dependents are deleted (background, uid-preconditioned)", async () => {
    const { objects } = rsWithPods();
    const h = new GcHarness(objects);
    await h.settle();
    expect(h.names(pods)).toEqual(["web-a", "web-b"]);
    await h.fake.delete(replicaSets, "default", "web", { propagationPolicy: "Background" });
    h.fake.clearActions();
    await h.settle();
    expect(h.names(pods)).toEqual([]);
    const deletes = h.fake.writes().filter((a) => a.verb === "delete");
    expect(deletes.map((a) => [a.name, a.options])).toEqual([
      ["web-a", { preconditions: { uid: "uid-web-a", resourceVersion: "1" }, propagationPolicy: "Background" }],
      ["web-b", { preconditions: { uid: "uid-web-b", resourceVersion: "1" }, propagationPolicy: "Background" }],
    ]);
    // Each dependent was read live before its delete; the owner's absence came from its observed
    // delete, remembered by uid (a uid never comes back), as upstream's absent-owner cache.
    expect(h.fake.actions.filter((a) => a.verb === "get" && a.resource === "pods").map((a) => a.name)).toEqual(["web-a", "web-b"]);
    expect(h.absentOwners.size).toBe(1);
  });

  it("Orphan: the owner's references are removed from its dependents, then its orphan finalizer, and the owner goes", async () => {
    const { objects } = rsWithPods();
    const h = new GcHarness(objects);
    await h.settle();
    const marked = await h.fake.delete(replicaSets, "default", "web", { propagationPolicy: "Orphan" });
    expect(marked.metadata.finalizers).toEqual(["orphan"]);
    h.fake.clearActions();
    await h.settle();
    expect(h.names(replicaSets)).toEqual([]);
    expect(h.names(pods)).toEqual(["web-a", "web-b"]);
    for (const p of h.fake.objects(pods)) expect(p.metadata.ownerReferences ?? []).toEqual([]);
    const patches = h.fake.writes().map((a) => [a.verb, a.resource, a.name, a.patchType, a.patch]);
    expect(patches).toEqual([
      ["patch", "pods", "web-a", "strategic", { metadata: { ownerReferences: [{ $patch: "delete", uid: "uid-web" }], uid: "uid-web-a" } }],
      ["patch", "pods", "web-b", "strategic", { metadata: { ownerReferences: [{ $patch: "delete", uid: "uid-web" }], uid: "uid-web-b" } }],
      ["patch", "replicasets", "web", "merge", { metadata: { resourceVersion: marked.metadata.resourceVersion, finalizers: null } }],
    ]);
  });

  it("Foreground: blocking dependents are deleted first, the owner's foregroundDeletion finalizer comes off last", async () => {
    const { objects } = rsWithPods();
    const h = new GcHarness(objects);
    await h.settle();
    await h.fake.delete(replicaSets, "default", "web", { propagationPolicy: "Foreground" });
    h.observe();
    expect(h.builder.graph.get("uid-web")!.deletingDependents).toBe(true);
    h.fake.clearActions();
    await h.settle();
    expect(h.names(pods)).toEqual([]);
    expect(h.names(replicaSets)).toEqual([]);
    const order = h.fake.writes().map((a) => `${a.verb} ${a.resource}/${a.name}`);
    expect(order).toEqual(["delete pods/web-a", "delete pods/web-b", "patch replicasets/web"]);
  });

  it("Foreground waits for a blocking dependent held by its own finalizer, and not for a non-blocking one", async () => {
    const rs = obj(replicaSets, "web");
    const h = new GcHarness([
      { resource: replicaSets, objects: [rs] },
      {
        resource: pods,
        objects: [obj(pods, "held", { owners: [ownerRef(replicaSets, rs, { block: true })], finalizers: ["example.com/hold"] }), obj(pods, "loose", { owners: [ownerRef(replicaSets, rs)] })],
      },
    ]);
    await h.settle();
    await h.fake.delete(replicaSets, "default", "web", { propagationPolicy: "Foreground" });
    await h.settle();
    // The held pod is terminating, so the owner still waits; the non-blocking one is not waited for.
    expect(h.get(pods, "held")!.metadata.deletionTimestamp).toBeDefined();
    expect(h.names(replicaSets)).toEqual(["web"]);
    await h.fake.patch(pods, "default", "held", "merge", { metadata: { finalizers: null } });
    await h.settle();
    expect(h.names(replicaSets)).toEqual([]);
    // With the owner gone, the remaining dependent is collected too.
    expect(h.names(pods)).toEqual([]);
  });

  it("Foreground through two levels: a dependent with dependents of its own is deleted in the foreground too", async () => {
    const d = obj(deployments, "app");
    const rs = obj(replicaSets, "app-1", { owners: [ownerRef(deployments, d, { controller: true, block: true })] });
    const h = new GcHarness([
      { resource: deployments, objects: [d] },
      { resource: replicaSets, objects: [rs] },
      { resource: pods, objects: [obj(pods, "app-1-a", { owners: [ownerRef(replicaSets, rs, { controller: true, block: true })] })] },
    ]);
    await h.settle();
    await h.fake.delete(deployments, "default", "app", { propagationPolicy: "Foreground" });
    h.fake.clearActions();
    await h.settle();
    expect([h.names(deployments), h.names(replicaSets), h.names(pods)]).toEqual([[], [], []]);
    const rsDelete = h.fake.writes().find((a) => a.verb === "delete" && a.resource === "replicasets");
    expect((rsDelete!.options as { propagationPolicy: string }).propagationPolicy).toBe("Foreground");
  });
});

describe("garbage collector: dangling owners", () => {
  it("an object whose only owner never existed is deleted", async () => {
    const h = new GcHarness([{ resource: pods, objects: [obj(pods, "stray", { owners: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "ghost", uid: "uid-ghost" }] })] }]);
    await h.settle();
    expect(h.names(pods)).toEqual([]);
    // The virtual owner node went once its absence was confirmed.
    expect(h.builder.graph.get("uid-ghost")).toBeUndefined();
  });

  it("a uid mismatch is an absent owner: the same-name successor does not keep the dependent", async () => {
    const h = new GcHarness([
      { resource: replicaSets, objects: [obj(replicaSets, "web", { uid: "uid-new" })] },
      { resource: pods, objects: [obj(pods, "old-pod", { owners: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: "uid-old" }] })] },
    ]);
    await h.settle();
    expect(h.names(pods)).toEqual([]);
    expect(h.names(replicaSets)).toEqual(["web"]);
    // Read live: the name exists, the uid is another one.
    expect(h.fake.actions.some((a) => a.verb === "get" && a.resource === "replicasets" && a.name === "web")).toBe(true);
  });

  it("with some owners remaining, the references to the missing ones are patched away and the object lives", async () => {
    const rs = obj(replicaSets, "web");
    const h = new GcHarness([
      { resource: replicaSets, objects: [rs] },
      { resource: pods, objects: [obj(pods, "shared", { owners: [ownerRef(replicaSets, rs), { apiVersion: "apps/v1", kind: "ReplicaSet", name: "gone", uid: "uid-gone" }] })] },
    ]);
    await h.settle();
    expect(h.names(pods)).toEqual(["shared"]);
    expect(h.get(pods, "shared")!.metadata.ownerReferences!.map((r) => r.uid)).toEqual(["uid-web"]);
  });

  it("an owner the graph has not seen yet but the API has is never collected on the graph's word", async () => {
    const h = new GcHarness(
      [
        { resource: replicaSets, objects: [obj(replicaSets, "web")] },
        { resource: pods, objects: [obj(pods, "web-a", { owners: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: "uid-web" }] })] },
      ],
      [Resources.pods], // replicasets are not monitored: the owner stays virtual
    );
    await h.settle(5);
    expect(h.names(pods)).toEqual(["web-a"]);
    expect(h.log).toContain("delete uid-web → requeue");
    expect(h.fake.writes()).toEqual([]);
  });

  it("an owner kind no served resource has is retried, never taken as absent", async () => {
    const h = new GcHarness([{ resource: pods, objects: [obj(pods, "p", { owners: [{ apiVersion: "example.com/v9", kind: "Gadget", name: "g", uid: "uid-g" }] })] }]);
    await h.settle(4);
    expect(h.names(pods)).toEqual(["p"]);
    expect(h.log.filter((l) => l.startsWith("delete uid-g")).every((l) => l.endsWith("requeue"))).toBe(true);
  });
});

describe("garbage collector: scopes and namespaces", () => {
  it("a cluster-scoped owner keeps namespaced dependents in any namespace; once it goes they are collected", async () => {
    const role = obj(clusterRoles, "viewer");
    const h = new GcHarness([
      { resource: clusterRoles, objects: [role] },
      { resource: configMaps, objects: [obj(configMaps, "a", { namespace: "ns1", owners: [ownerRef(clusterRoles, role)] }), obj(configMaps, "b", { namespace: "ns2", owners: [ownerRef(clusterRoles, role)] })] },
    ]);
    await h.settle();
    expect(h.names(configMaps)).toEqual(["a", "b"]);
    await h.fake.delete(clusterRoles, undefined, "viewer");
    await h.settle();
    expect(h.names(configMaps)).toEqual([]);
  });

  it("a reference to a namespaced owner in another namespace is absent, with a Warning OwnerRefInvalidNamespace", async () => {
    const owner = obj(configMaps, "owner", { namespace: "ns1" });
    const h = new GcHarness([
      { resource: configMaps, objects: [owner, obj(configMaps, "child", { namespace: "ns2", owners: [ownerRef(configMaps, owner)] })] },
    ]);
    await h.settle();
    expect(h.names(configMaps)).toEqual(["owner"]);
    expect(h.recorder.lines()).toContain('Warning OwnerRefInvalidNamespace ownerRef [v1/ConfigMap, namespace: ns2, name: owner, uid: uid-owner] does not exist in namespace "ns2"');
  });

  it("a cluster-scoped object naming a namespaced owner is left alone (it can never resolve)", async () => {
    const h = new GcHarness([{ resource: clusterRoles, objects: [obj(clusterRoles, "odd", { owners: [{ apiVersion: "v1", kind: "ConfigMap", name: "cm", uid: "uid-cm" }] })] }]);
    await h.settle();
    expect(h.names(clusterRoles)).toEqual(["odd"]);
  });
});

describe("garbage collector: custom resources", () => {
  it("a Widget owning a ConfigMap: the ConfigMap is collected once the Widget goes", async () => {
    const w = obj(widgets, "w1");
    const h = new GcHarness([{ resource: widgets, objects: [w] }, { resource: configMaps, objects: [obj(configMaps, "w1-config", { owners: [ownerRef(widgets, w, { controller: true, block: true })] })] }], [widgets, configMaps], [widgetCrd]);
    await h.settle();
    expect(h.names(configMaps)).toEqual(["w1-config"]);
    await h.fake.delete(widgets, "default", "w1");
    await h.settle();
    expect(h.names(configMaps)).toEqual([]);
  });

  it("orphaning a custom resource's dependent falls back to a JSON merge patch when strategic merge is refused (415)", async () => {
    const owner = obj(configMaps, "owner");
    const h = new GcHarness([{ resource: configMaps, objects: [owner] }, { resource: widgets, objects: [obj(widgets, "w1", { owners: [ownerRef(configMaps, owner)] })] }], [widgets, configMaps], [widgetCrd]);
    h.fake.react((a) => (a.verb === "patch" && a.resource === "widgets" && a.patchType === "strategic" ? new StatusError(newStatus("UnsupportedMediaType", "the body of the request was in an unknown format", undefined, 415)) : undefined));
    await h.settle();
    await h.fake.delete(configMaps, "default", "owner", { propagationPolicy: "Orphan" });
    await h.settle();
    expect(h.names(configMaps)).toEqual([]);
    expect(h.get(widgets, "w1")!.metadata.ownerReferences ?? []).toEqual([]);
    const merge = h.fake.writes().find((a) => a.verb === "patch" && a.resource === "widgets" && a.patchType === "merge");
    expect(merge!.patch).toEqual({ metadata: { resourceVersion: "1", ownerReferences: null } });
  });
});
