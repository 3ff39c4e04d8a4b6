/** StatefulSet event handlers: which pod events wake which sets (upstream's addPod/updatePod/deletePod). */
import { describe, expect, it } from "vitest";
import { Indexer, silentLogger, standardIndexers } from "@kubemu/common";
import { statefulSetHandlers } from "../../src/controllers/statefulset/controller.js";
import type { PodObject, StatefulSetObject } from "../../src/controllers/statefulset/types.js";
import { NS, newSet } from "./fixture.js";

function setup(sets: StatefulSetObject[]) {
  const ix = new Indexer<StatefulSetObject>(standardIndexers as never);
  for (const s of sets) ix.set(s);
  const added: string[] = [];
  const after: { key: string; ms: number }[] = [];
  const h = statefulSetHandlers(ix, { add: (k) => added.push(k), addAfter: (key, ms) => after.push({ key, ms }) }, silentLogger);
  return { h, added, after };
}

const ownerRef = (set: StatefulSetObject, kind = "StatefulSet") => ({ apiVersion: "apps/v1", kind, name: set.metadata.name!, uid: set.metadata.uid!, controller: true });
const pod = (name: string, over: { owner?: ReturnType<typeof ownerRef>; labels?: Record<string, string>; rv?: string; ready?: boolean; deleting?: boolean } = {}): PodObject =>
  ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: NS, uid: `uid-${name}`, resourceVersion: over.rv ?? "1", labels: over.labels ?? { app: "nginx" }, ...(over.owner ? { ownerReferences: [over.owner] } : {}), ...(over.deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}) },
    spec: { containers: [] },
    status: { phase: "Running", conditions: [{ type: "Ready", status: over.ready ? "True" : "False" }] },
  }) as PodObject;

describe("StatefulSet handlers", () => {
  it("an owned pod wakes its set; a reference to another kind or an older uid wakes nothing", () => {
    const web = newSet();
    const { h, added } = setup([web]);
    h.addPod(pod("web-0", { owner: ownerRef(web) }));
    h.addPod(pod("web-1", { owner: ownerRef(web, "ReplicaSet") }));
    h.addPod(pod("web-2", { owner: { ...ownerRef(web), uid: "older" } }));
    expect(added).toEqual(["default/web"]);
  });

  it("an orphan wakes every set whose selector matches it", () => {
    const other = newSet({ name: "db" });
    other.spec.selector = { matchLabels: { app: "db" } };
    const { h, added } = setup([newSet(), other]);
    h.addPod(pod("web-0"));
    expect(added).toEqual(["default/web"]);
  });

  it("a pod turning Ready under a set with minReadySeconds brings the set back after minReadySeconds + 1 s", () => {
    const web = newSet({ spec: { minReadySeconds: 5 } });
    const { h, added, after } = setup([web]);
    const p = pod("web-0", { owner: ownerRef(web) });
    h.updatePod(p, pod("web-0", { owner: ownerRef(web), rv: "2", ready: true }));
    expect(added).toEqual(["default/web"]);
    expect(after).toEqual([{ key: "default/web", ms: 6000 }]);
  });

  it("skips resyncs, and a released pod wakes its old owner", () => {
    const web = newSet();
    const { h, added } = setup([web]);
    const p = pod("web-0", { owner: ownerRef(web) });
    h.updatePod(p, p);
    expect(added).toEqual([]);
    h.updatePod(p, pod("web-0", { rv: "2", labels: { app: "other" } }));
    expect(added).toEqual(["default/web"]);
  });

  it("a deleted owned pod wakes its set; a deleted orphan nothing", () => {
    const web = newSet();
    const { h, added } = setup([web]);
    h.deletePod(pod("web-0", { owner: ownerRef(web) }));
    h.deletePod(pod("web-9"));
    expect(added).toEqual(["default/web"]);
  });
});
