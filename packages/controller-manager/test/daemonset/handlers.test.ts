/** The DaemonSet controller's event handlers: which events become which keys, and expectations. */
import { describe, expect, it } from "vitest";
import { FakeClock, Indexer, Resources, silentLogger, standardIndexers, type EventHandler, type KubeObject, type ResourceRef, type WorkQueue } from "@kubemu/common";
import type { ControllerContext } from "../../src/controller/context.js";
import type { ControllerExpectations } from "../../src/controller/expectations.js";
import type { PodObject } from "../../src/controller/pod-control.js";
import { DaemonSetController } from "../../src/controllers/daemonset/controller.js";
import type { DaemonSetObject } from "../../src/controllers/daemonset/daemon-pod.js";
import { FakeClient, FakeRecorder } from "../fake-client.js";
import { daemonSet, node } from "./fixtures.js";

/** Informers that are just an indexer plus the handlers registered on them. */
class Bench {
  readonly clock = new FakeClock(Date.parse("2026-01-01T00:00:00Z"));
  readonly indexers = new Map<string, Indexer<KubeObject>>();
  readonly handlers = new Map<string, EventHandler<KubeObject>[]>();
  readonly added: string[] = [];
  readonly delayed: { key: string; ms: number }[] = [];
  readonly controller: DaemonSetController;

  constructor(objects: { ref: ResourceRef; items: KubeObject[] }[]) {
    const informerFor = (ref: ResourceRef) => {
      let ix = this.indexers.get(ref.resource);
      if (!ix) this.indexers.set(ref.resource, (ix = new Indexer<KubeObject>(standardIndexers)));
      return {
        lister: ix,
        addEventHandler: (h: EventHandler<KubeObject>) => {
          this.handlers.set(ref.resource, [...(this.handlers.get(ref.resource) ?? []), h]);
          return { remove() {} };
        },
      };
    };
    for (const { ref, items } of objects) for (const o of items) informerFor(ref).lister.set(o);
    const ctx = {
      client: new FakeClient(),
      informers: { informerFor },
      recorder: () => new FakeRecorder(),
      clock: this.clock,
      logger: silentLogger,
    } as unknown as ControllerContext;
    this.controller = new DaemonSetController(ctx);
    const queue = { add: (k: string) => this.added.push(k), addAfter: (key: string, ms: number) => this.delayed.push({ key, ms }) } as unknown as WorkQueue<string>;
    this.controller.register(queue);
  }

  get expectations(): ControllerExpectations {
    return (this.controller as unknown as { expectations: ControllerExpectations }).expectations;
  }

  on(resource: string): EventHandler<KubeObject> {
    return this.handlers.get(resource)![0]!;
  }
}

function daemonPod(name: string, ds: DaemonSetObject | undefined, over: { nodeName?: string; labels?: Record<string, string>; ready?: boolean; rv?: string; deleting?: boolean } = {}): PodObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      resourceVersion: over.rv ?? "1",
      labels: over.labels ?? { app: "ssd-monitor" },
      ...(ds ? { ownerReferences: [{ apiVersion: "apps/v1", kind: "DaemonSet", name: ds.metadata.name!, uid: ds.metadata.uid!, controller: true }] } : {}),
      ...(over.deleting ? { deletionTimestamp: "2026-01-01T00:00:01Z" } : {}),
    },
    spec: { containers: [{ name: "main", image: "x" }], ...(over.nodeName ? { nodeName: over.nodeName } : {}) },
    status: over.ready ? { phase: "Running", conditions: [{ type: "Ready", status: "True" }] } : { phase: "Pending" },
  } as PodObject;
}

const KEY = "default/ssd-monitor";

describe("DaemonSet handlers", () => {
  it("an owned pod added is an observed creation; one seen terminating an observed deletion; an orphan wakes the DaemonSets selecting it", () => {
    const ds = daemonSet();
    const b = new Bench([{ ref: Resources.daemonSets, items: [ds] }]);
    b.expectations.set(KEY, 1, 1);
    b.on("pods").onAdd!(daemonPod("a", ds), false);
    expect(b.expectations.get(KEY)).toEqual({ add: 0, del: 1 });
    b.on("pods").onAdd!(daemonPod("b", ds, { deleting: true }), false);
    expect(b.expectations.satisfied(KEY)).toBe(true);
    b.added.length = 0;
    b.on("pods").onAdd!(daemonPod("stray", undefined), false);
    b.on("pods").onAdd!(daemonPod("other", undefined, { labels: { app: "web" } }), false);
    expect(b.added).toEqual([KEY]);
  });

  it("a pod of another DaemonSet with the same name (other uid) is not ours", () => {
    const ds = daemonSet();
    const b = new Bench([{ ref: Resources.daemonSets, items: [ds] }]);
    b.expectations.set(KEY, 1, 0);
    b.on("pods").onAdd!(daemonPod("a", { ...ds, metadata: { ...ds.metadata, uid: "older" } } as DaemonSetObject), false);
    expect(b.expectations.satisfied(KEY)).toBe(false);
    expect(b.added).toEqual([]);
  });

  it("a pod turning ready requeues after minReadySeconds + 1 s; resyncs are skipped", () => {
    const ds = daemonSet({ minReadySeconds: 10 });
    const b = new Bench([{ ref: Resources.daemonSets, items: [ds] }]);
    const p = daemonPod("a", ds, { nodeName: "kubemu" });
    b.on("pods").onUpdate!(p, p);
    expect(b.added).toEqual([]);
    b.on("pods").onUpdate!(p, daemonPod("a", ds, { nodeName: "kubemu", ready: true, rv: "2" }));
    expect(b.added).toEqual([KEY]);
    expect(b.delayed).toEqual([{ key: KEY, ms: 11_000 }]);
  });

  it("a node label change wakes a DaemonSet only when its pod there should now come or go", () => {
    const ds = daemonSet({ nodeSelector: { disk: "ssd" } });
    const n = node("kubemu-m02");
    const b = new Bench([
      { ref: Resources.daemonSets, items: [ds] },
      { ref: Resources.nodes, items: [n] },
    ]);
    const h = b.on("nodes");
    // Conditions only: ignored.
    h.onUpdate!(n, { ...n, status: { conditions: [{ type: "Ready", status: "False" }] } } as KubeObject);
    // A label the selector does not care about.
    h.onUpdate!(n, node("kubemu-m02", { labels: { zone: "a" } }));
    expect(b.added).toEqual([]);
    const labelled = node("kubemu-m02", { labels: { disk: "ssd" } });
    h.onUpdate!(n, labelled);
    expect(b.added).toEqual([KEY]);
    // The pod is there now (bound); removing the label wakes the DaemonSet to delete it.
    b.indexers.get("pods")!.set(daemonPod("a", ds, { nodeName: "kubemu-m02" }));
    b.added.length = 0;
    h.onUpdate!(labelled, node("kubemu-m02"));
    expect(b.added).toEqual([KEY]);
  });

  it("a new node wakes the DaemonSets that should run there; a deleted one those that counted it", () => {
    const ssd = daemonSet({ nodeSelector: { disk: "ssd" } });
    const all = { ...daemonSet(), metadata: { ...daemonSet().metadata, name: "all", uid: "uid-all" } } as DaemonSetObject;
    const b = new Bench([{ ref: Resources.daemonSets, items: [ssd, all] }]);
    b.on("nodes").onAdd!(node("kubemu-m03"), false);
    expect(b.added).toEqual(["default/all"]);
    b.added.length = 0;
    b.on("nodes").onDelete!(node("kubemu-m03", { labels: { disk: "ssd" } }));
    expect(b.added.sort()).toEqual(["default/all", KEY]);
  });

  it("a DaemonSet re-created under its name (uid changed) starts with clean expectations", () => {
    const ds = daemonSet();
    const b = new Bench([{ ref: Resources.daemonSets, items: [ds] }]);
    b.expectations.set(KEY, 3, 0);
    b.on("daemonsets").onUpdate!(ds, { ...ds, metadata: { ...ds.metadata, uid: "uid-new" } } as KubeObject);
    expect(b.expectations.get(KEY)).toBeUndefined();
    expect(b.added).toEqual([KEY, KEY]);
  });
});
