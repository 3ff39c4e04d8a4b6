/** The endpoint controllers' shared event handlers: pod events → Service keys, slice events → Service keys after a delay. */
import { describe, expect, it } from "vitest";
import { DeletedFinalStateUnknown, Indexer, standardIndexers, type EventHandler, type KubeObject, type SharedInformer, type WorkQueue } from "@kubemu/common";
import { enqueueServicesOfPods, enqueueServicesOfSlices } from "../../src/controllers/endpoint-util/handlers.js";
import type { PodObject, ServiceObject } from "../../src/controllers/endpoint-util/pods.js";
import { EndpointSliceTracker, MANAGED_BY_LABEL, SERVICE_NAME_LABEL, serviceKeyOfSlice } from "../../src/controllers/endpoint-util/slice-tracker.js";
import { pod, service } from "./fixtures.js";

/** An informer that only keeps the handler registered on it, and a queue that records keys. */
function bench<T extends KubeObject>() {
  let handler: EventHandler<T> | undefined;
  let resync: boolean | undefined;
  const informer = {
    addEventHandler: (h: EventHandler<T>, opts: { resync?: boolean } = {}) => {
      handler = h;
      resync = opts.resync;
      return { remove: () => (handler = undefined) };
    },
  } as unknown as SharedInformer<T>;
  const added: string[] = [];
  const after: { key: string; ms: number }[] = [];
  const queue = { add: (k: string) => void added.push(k), addAfter: (key: string, ms: number) => void after.push({ key, ms }) } as unknown as WorkQueue<string>;
  return { informer, queue, added, after, on: () => handler!, resync: () => resync };
}

describe("enqueueServicesOfPods", () => {
  const services = new Indexer<ServiceObject>(standardIndexers);
  services.set(service("web"));
  services.set(service("api", { selector: { tier: "api" } }));

  it("queues the Services a pod is in on add and delete (tombstones too), and on updates that change its endpoints", () => {
    const b = bench<PodObject>();
    enqueueServicesOfPods(b.informer, services, b.queue);
    b.on().onAdd!(pod("p1"), false);
    expect(b.added).toEqual(["default/web"]);
    const p1 = pod("p1");
    // A resync (same resourceVersion) and a change Endpoints do not show queue nothing.
    b.on().onUpdate!(p1, p1);
    b.on().onUpdate!(p1, { ...p1, metadata: { ...p1.metadata, resourceVersion: "2", annotations: { a: "b" } } });
    expect(b.added).toEqual(["default/web"]);
    const notReady = pod("p1", { ready: false });
    notReady.metadata.resourceVersion = "3";
    b.on().onUpdate!(p1, notReady);
    expect(b.added).toEqual(["default/web", "default/web"]);
    b.on().onDelete!(new DeletedFinalStateUnknown("default/p2", pod("p2", { labels: { tier: "api" } })));
    expect(b.added).toEqual(["default/web", "default/web", "default/api"]);
  });
});

describe("enqueueServicesOfSlices", () => {
  const slice = (name: string, o: { svc?: string; managedBy?: string; rv?: string } = {}): KubeObject => ({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name, namespace: "default", uid: `uid-${name}`, resourceVersion: o.rv ?? "5", labels: { [SERVICE_NAME_LABEL]: o.svc ?? "web", [MANAGED_BY_LABEL]: o.managedBy ?? "ours" } },
  });

  it("queues the Service after the delay for others' changes to its managed slices, never for its own writes, without resyncs", () => {
    const tracker = new EndpointSliceTracker(serviceKeyOfSlice);
    const b = bench<KubeObject>();
    enqueueServicesOfSlices(b.informer, { tracker, managedBy: "ours", delayMs: 1000 }, b.queue);
    expect(b.resync()).toBe(false);
    const mine = slice("web-a");
    tracker.update(mine);
    b.on().onAdd!(mine, false);
    b.on().onAdd!(slice("other", { managedBy: "someone-else" }), false);
    expect(b.after).toEqual([]);
    // Someone edits our slice (a newer version than we wrote).
    b.on().onUpdate!(mine, slice("web-a", { rv: "9" }));
    expect(b.after).toEqual([{ key: "default/web", ms: 1000 }]);
    // A slice handed over to another manager, or relabelled to another Service.
    b.on().onUpdate!(slice("web-b", { rv: "9" }), slice("web-b", { managedBy: "someone-else", rv: "10" }));
    b.on().onUpdate!(slice("web-c"), slice("web-c", { svc: "api", rv: "6" }));
    expect(b.after.map((a) => a.key)).toEqual(["default/web", "default/web", "default/api", "default/web"]);
  });

  it("a tracked slice deleted by someone else queues its Service; an expected deletion does not", () => {
    const tracker = new EndpointSliceTracker(serviceKeyOfSlice);
    const b = bench<KubeObject>();
    enqueueServicesOfSlices(b.informer, { tracker, managedBy: "ours", delayMs: 1000 }, b.queue);
    const gone = slice("web-a");
    const expected = slice("web-b");
    tracker.update(gone);
    tracker.expectDeletion(expected);
    b.on().onDelete!(new DeletedFinalStateUnknown("default/web-a", gone));
    b.on().onDelete!(expected);
    b.on().onDelete!(slice("never-tracked"));
    expect(b.after).toEqual([{ key: "default/web", ms: 1000 }]);
  });
});
