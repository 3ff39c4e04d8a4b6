/**
 * DELETE and the garbage collector's finalizers, as upstream's deletionFinalizersForGarbageCollection:
 * the propagation policy (or legacy orphanDependents) decides, then a finalizer already on the
 * object, then the resource's default (v1 ReplicationControllers and batch/v1 Jobs orphan).
 */
import { describe, expect, it } from "vitest";
import { newStore } from "./helpers.js";

const cm = (name: string, finalizers?: string[]) => ({ metadata: { name, ...(finalizers ? { finalizers } : {}) } });

describe("garbage collection finalizers on DELETE", () => {
  it("Orphan adds orphan, Foreground adds foregroundDeletion, Background adds nothing and deletes at once", async () => {
    const { store, def } = await newStore();
    const c = def("", "configmaps");
    for (const n of ["o", "f", "b"]) await store.create(c, "default", cm(n));
    expect((await store.delete(c, "default", "o", { propagationPolicy: "Orphan" })).object.metadata.finalizers).toEqual(["orphan"]);
    expect((await store.delete(c, "default", "f", { propagationPolicy: "Foreground" })).object.metadata.finalizers).toEqual(["foregroundDeletion"]);
    expect((await store.delete(c, "default", "b", { propagationPolicy: "Background" })).deleted).toBe(true);
    expect((await store.delete(c, "default", "o", { orphanDependents: true })).object.metadata.finalizers).toEqual(["orphan"]);
  });

  it("a second DELETE with another policy swaps the finalizer; Background on an orphaning object lets it go", async () => {
    const { store, def } = await newStore();
    const c = def("", "configmaps");
    await store.create(c, "default", cm("x", ["example.com/keep"]));
    await store.delete(c, "default", "x", { propagationPolicy: "Foreground" });
    const swapped = await store.delete(c, "default", "x", { propagationPolicy: "Orphan" });
    expect(swapped.object.metadata.finalizers).toEqual(["example.com/keep", "orphan"]);
    const bg = await store.delete(c, "default", "x", { propagationPolicy: "Background" });
    expect(bg.deleted).toBe(false);
    expect(bg.object.metadata.finalizers).toEqual(["example.com/keep"]);

    await store.create(c, "default", cm("y"));
    await store.delete(c, "default", "y", { propagationPolicy: "Orphan" });
    expect((await store.delete(c, "default", "y", { propagationPolicy: "Background" })).deleted).toBe(true);
  });

  it("without a policy a finalizer on the object decides, then the kind's default: v1 ReplicationControllers and batch/v1 Jobs orphan", async () => {
    const { store, def } = await newStore();
    const c = def("", "configmaps");
    await store.create(c, "default", cm("held", ["foregroundDeletion"]));
    expect((await store.delete(c, "default", "held", {})).object.metadata.finalizers).toEqual(["foregroundDeletion"]);
    await store.create(c, "default", cm("plain"));
    expect((await store.delete(c, "default", "plain", {})).deleted).toBe(true);

    const rc = def("", "replicationcontrollers");
    await store.create(rc, "default", { metadata: { name: "rc" }, spec: { selector: { a: "b" }, template: { metadata: { labels: { a: "b" } }, spec: { containers: [{ name: "c", image: "i" }] } } } });
    expect((await store.delete(rc, "default", "rc", {})).object.metadata.finalizers).toEqual(["orphan"]);
    const job = def("batch", "jobs");
    await store.create(job, "default", { metadata: { name: "j" }, spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "i" }] } } } });
    expect((await store.delete(job, "default", "j", {})).object.metadata.finalizers).toEqual(["orphan"]);
    await store.create(job, "default", { metadata: { name: "j2" }, spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "i" }] } } } });
    expect((await store.delete(job, "default", "j2", { propagationPolicy: "Background" })).deleted).toBe(true);
  });

  it("Events take no garbage collection finalizers", async () => {
    const { store, def } = await newStore();
    const ev = def("", "events");
    await store.create(ev, "default", { metadata: { name: "e" }, involvedObject: { kind: "Pod", name: "p", namespace: "default" }, reason: "R", message: "m", type: "Normal" });
    expect((await store.delete(ev, "default", "e", { propagationPolicy: "Orphan" })).deleted).toBe(true);
  });

  it("a pending graceful pod deletion is not changed by a DELETE that does not shorten it", async () => {
    const { store, def } = await newStore();
    const pods = def("", "pods");
    await store.create(pods, "default", { metadata: { name: "p" }, spec: { nodeName: "n", containers: [{ name: "c", image: "i" }] } });
    const first = await store.delete(pods, "default", "p", { propagationPolicy: "Background" });
    expect(first.object.metadata.deletionGracePeriodSeconds).toBe(30);
    const again = await store.delete(pods, "default", "p", { propagationPolicy: "Foreground" });
    expect(again.object.metadata.finalizers).toBeUndefined();
    expect(again.object.metadata.resourceVersion).toBe(first.object.metadata.resourceVersion);
    const shortened = await store.delete(pods, "default", "p", { gracePeriodSeconds: 5, propagationPolicy: "Foreground" });
    expect(shortened.object.metadata.deletionGracePeriodSeconds).toBe(5);
    expect(shortened.object.metadata.finalizers).toEqual(["foregroundDeletion"]);
  });

  it("a namespace being deleted keeps its spec finalizer and takes the orphan finalizer when asked", async () => {
    const { store, def } = await newStore();
    const ns = def("", "namespaces");
    await store.create(ns, undefined, { metadata: { name: "team" } });
    const r = await store.delete(ns, undefined, "team", { propagationPolicy: "Orphan" });
    expect(r.object.metadata.finalizers).toEqual(["orphan"]);
    expect((r.object.spec as { finalizers: string[] }).finalizers).toEqual(["kubernetes"]);
    expect((r.object.status as { phase: string }).phase).toBe("Terminating");
  });
});
