import { FakeClock } from "@kubemu/common";
import type { Pod } from "kubernetes-types/core/v1.js";
import { describe, expect, it } from "vitest";
import { SchedulingQueue, isPodUpdated, prioritySortLess, responsibleForPod, type QueuedPodInfo, type SchedulingQueueOptions } from "../src/queue/scheduling-queue.js";
import { ASSIGNED_POD_DELETE, CSI_NODE_ADD, NODE_ADD, NODE_LABEL, PLUGIN_EVENTS, PV_ADD, pod, tick } from "./queue-helpers.js";

function newQueue(opts: Partial<SchedulingQueueOptions> = {}) {
  const clock = new FakeClock(0);
  const q = new SchedulingQueue({ clock, pluginEvents: PLUGIN_EVENTS, ...opts });
  return { clock, q };
}

/** Pops the head, which must be there now. */
async function popNow(q: SchedulingQueue): Promise<QueuedPodInfo> {
  const info = await q.pop();
  if (info === undefined) throw new Error("queue closed");
  return info;
}

/** Pops a pod and fails it with the given rejecting plugins. */
async function popAndFail(q: SchedulingQueue, ...plugins: string[]): Promise<QueuedPodInfo> {
  const info = await popNow(q);
  const cycle = q.schedulingCycle();
  for (const p of plugins) info.unschedulablePlugins.add(p);
  q.addUnschedulableIfNotPresent(info, cycle);
  return info;
}

const names = (pods: readonly Pod[]) => pods.map((p) => p.metadata!.name).sort();

describe("activeQ order", () => {
  it("pops by priority, highest first, then by the time the pod was queued", async () => {
    const { clock, q } = newQueue();
    q.add(pod("low", { priority: 0 }));
    clock.advance(1);
    q.add(pod("high-1", { priority: 10 }));
    clock.advance(1);
    q.add(pod("mid", { priority: 5 }));
    clock.advance(1);
    q.add(pod("high-2", { priority: 10 }));
    clock.advance(1);
    q.add(pod("none")); // no spec.priority counts as 0, queued after "low"
    const order: string[] = [];
    for (let i = 0; i < 5; i++) order.push((await popNow(q)).pod.metadata!.name!);
    expect(order).toEqual(["high-1", "high-2", "mid", "low", "none"]);
    expect(q.schedulingCycle()).toBe(5);
  });

  it("prioritySortLess compares priority, then timestamp", () => {
    const a = { pod: pod("a", { priority: 1 }), timestamp: 5 } as QueuedPodInfo;
    const b = { pod: pod("b", { priority: 0 }), timestamp: 1 } as QueuedPodInfo;
    const c = { pod: pod("c", { priority: 1 }), timestamp: 6 } as QueuedPodInfo;
    expect(prioritySortLess(a, b)).toBe(true);
    expect(prioritySortLess(b, a)).toBe(false);
    expect(prioritySortLess(a, c)).toBe(true);
    expect(prioritySortLess(c, a)).toBe(false);
  });

  it("an update in activeQ re-sorts the pod", async () => {
    const { q } = newQueue();
    const a = pod("a", { priority: 1 });
    q.add(a);
    q.add(pod("b", { priority: 2 }));
    q.update(a, { ...a, spec: { ...a.spec!, priority: 3 } });
    expect((await popNow(q)).pod.metadata!.name).toBe("a");
  });
});

describe("backoff", () => {
  it("grows 1 s, 2 s, 4 s, 8 s, then stays at the 10 s cap", () => {
    const { q } = newQueue();
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((attempts) => q.backoffDuration({ attempts }))).toEqual([0, 1000, 2000, 4000, 8000, 10000, 10000, 10000]);
  });

  it("takes the initial and max backoff as options", () => {
    const { q } = newQueue({ podInitialBackoffSeconds: 2, podMaxBackoffSeconds: 5 });
    expect([1, 2, 3, 4].map((attempts) => q.backoffDuration({ attempts }))).toEqual([2000, 4000, 5000, 5000]);
    expect(() => newQueue({ podInitialBackoffSeconds: 10, podMaxBackoffSeconds: 5 })).toThrow(/podInitialBackoffSeconds/);
  });

  it("a failed pod waits out each backoff in backoffQ and is flushed to activeQ when it ends", async () => {
    const { clock, q } = newQueue();
    q.run();
    q.add(pod("p"));
    const waits: number[] = [];
    for (let attempt = 1; attempt <= 6; attempt++) {
      // No rejecting plugin (an error): straight to backoffQ.
      const info = await popAndFail(q);
      expect(info.attempts).toBe(attempt);
      const failedAt = clock.now();
      expect(q.locate("p")).toBe("backoff");
      while (q.locate("p") === "backoff") clock.advance(1000);
      expect(q.locate("p")).toBe("active");
      waits.push(clock.now() - failedAt);
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 10000, 10000]);
    q.close();
  });

  it("backoffQ releases pods in the order their backoff ends", async () => {
    const { clock, q } = newQueue();
    q.add(pod("a"));
    q.add(pod("b"));
    const a = await popAndFail(q);
    const b = await popAndFail(q);
    // a fails once more after a retry, so its backoff is 2 s; b's is 1 s.
    clock.advance(1000);
    q.flushBackoffQCompleted();
    expect(q.locate("a")).toBe("active");
    expect(q.locate("b")).toBe("active");
    q.delete(b.pod);
    await popAndFail(q); // a: attempts 2, 2 s
    q.add(pod("b"));
    await popAndFail(q); // b: attempts 1, 1 s
    clock.advance(1000);
    q.flushBackoffQCompleted();
    expect(q.locate("b")).toBe("active");
    expect(q.locate("a")).toBe("backoff");
    clock.advance(1000);
    q.flushBackoffQCompleted();
    expect(q.locate("a")).toBe("active");
    expect(a.attempts).toBe(2);
  });
});

describe("moving unschedulable pods on cluster events", () => {
  it("a pod rejected by NodeResourcesFit moves on Node add and on an assigned pod's delete, not on unrelated events", async () => {
    const { clock, q } = newQueue();
    q.add(pod("p"));
    await popAndFail(q, "NodeResourcesFit");
    expect(q.locate("p")).toBe("unschedulable");

    q.moveAllToActiveOrBackoffQueue(NODE_LABEL); // only NodeAffinity/InterPodAffinity registered it
    q.moveAllToActiveOrBackoffQueue(PV_ADD); // VolumeBinding's event
    q.moveAllToActiveOrBackoffQueue(CSI_NODE_ADD); // nobody's event
    expect(q.locate("p")).toBe("unschedulable");

    // Still within its 1 s backoff: to backoffQ.
    q.moveAllToActiveOrBackoffQueue(NODE_ADD);
    expect(q.locate("p")).toBe("backoff");

    clock.advance(1000);
    q.flushBackoffQCompleted();
    await popAndFail(q, "NodeResourcesFit");
    expect(q.locate("p")).toBe("unschedulable");
    clock.advance(60_000); // long past its 2 s backoff: straight to activeQ
    q.moveAllToActiveOrBackoffQueue(ASSIGNED_POD_DELETE);
    expect(q.locate("p")).toBe("active");
  });

  it("moves only the pods whose rejecting plugins registered the event", async () => {
    const { clock, q } = newQueue();
    for (const n of ["fit", "affinity", "volume"]) q.add(pod(n));
    await popAndFail(q, "NodeResourcesFit");
    await popAndFail(q, "NodeAffinity");
    await popAndFail(q, "VolumeBinding");
    clock.advance(10_000);
    q.moveAllToActiveOrBackoffQueue(NODE_LABEL);
    expect(names(q.podsInActiveQ())).toEqual(["affinity"]);
    q.moveAllToActiveOrBackoffQueue(PV_ADD);
    expect(names(q.podsInActiveQ())).toEqual(["affinity", "volume"]);
    expect(names(q.unschedulablePodList())).toEqual(["fit"]);
  });

  it("a preCheck can keep pods where they are", async () => {
    const { clock, q } = newQueue();
    q.add(pod("a"));
    q.add(pod("b"));
    await popAndFail(q, "NodeResourcesFit");
    await popAndFail(q, "NodeResourcesFit");
    clock.advance(10_000);
    q.moveAllToActiveOrBackoffQueue(NODE_ADD, undefined, undefined, (p) => p.metadata!.name === "b");
    expect(names(q.podsInActiveQ())).toEqual(["b"]);
  });

  it("a pod with no rejecting plugin (an error) goes to backoffQ, never parked", async () => {
    const { q } = newQueue();
    q.add(pod("p"));
    await popAndFail(q);
    expect(q.locate("p")).toBe("backoff");
  });

  it("a plugin that answered Pending moves its pod to activeQ at once, skipping backoff", async () => {
    const { q } = newQueue();
    q.add(pod("p"));
    const info = await popNow(q);
    info.pendingPlugins = new Set(["VolumeBinding"]);
    q.addUnschedulableIfNotPresent(info, q.schedulingCycle());
    expect(q.locate("p")).toBe("unschedulable");
    q.moveAllToActiveOrBackoffQueue(PV_ADD);
    expect(q.locate("p")).toBe("active");
  });

  it("assignedPodAdded moves only pods whose required affinity the new pod matches (or PodTopologySpread's, same namespace)", async () => {
    const { clock, q } = newQueue();
    const withAffinity = pod("wants-db");
    withAffinity.spec!.affinity = {
      podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: "db" } }, topologyKey: "kubernetes.io/hostname" }] },
    };
    q.add(withAffinity);
    q.add(pod("spread"));
    q.add(pod("spread-other-ns", { namespace: "other" }));
    q.add(pod("fit"));
    await popAndFail(q, "InterPodAffinity");
    await popAndFail(q, "PodTopologySpread");
    await popAndFail(q, "PodTopologySpread");
    await popAndFail(q, "NodeResourcesFit");
    clock.advance(10_000);

    q.assignedPodAdded(pod("web", { labels: { app: "web" }, nodeName: "n1" }));
    expect(names(q.podsInActiveQ())).toEqual(["spread"]);
    q.assignedPodAdded(pod("db", { labels: { app: "db" }, nodeName: "n1" }));
    expect(names(q.podsInActiveQ())).toEqual(["spread", "wants-db"]);
    expect(names(q.unschedulablePodList())).toEqual(["fit", "spread-other-ns"]);

    // A scale-down of an assigned pod's requests may help NodeResourcesFit's pods.
    const old = pod("db", { labels: { app: "db" }, nodeName: "n1" });
    q.assignedPodUpdated(old, old, { resource: "AssignedPod", actionType: "UpdatePodScaleDown" });
    expect(q.locate("fit")).toBe("active");
  });

  it("pods left in unschedulablePods longer than 5 minutes are flushed back (checked every 30 s)", async () => {
    const { clock, q } = newQueue();
    q.run();
    q.add(pod("p"));
    await popAndFail(q, "NodeResourcesFit");
    clock.advance(300_000);
    expect(q.locate("p")).toBe("unschedulable"); // exactly 5 min is not longer than 5 min
    clock.advance(29_999);
    expect(q.locate("p")).toBe("unschedulable");
    clock.advance(1);
    expect(q.locate("p")).toBe("active");
    q.close();
  });

  it("the unschedulable timeout is an option", async () => {
    const { clock, q } = newQueue({ podMaxInUnschedulablePodsDurationMs: 45_000 });
    q.run();
    q.add(pod("p"));
    await popAndFail(q, "NodeResourcesFit");
    clock.advance(30_000);
    expect(q.locate("p")).toBe("unschedulable");
    clock.advance(30_000);
    expect(q.locate("p")).toBe("active");
    q.close();
  });
});

describe("moveRequestCycle", () => {
  it("a pod that fails after a move request during its cycle goes to backoffQ, so the event is not lost", async () => {
    const { q } = newQueue();
    q.add(pod("p"));
    const info = await popNow(q);
    const cycle = q.schedulingCycle();
    // While p is being scheduled, a node is added…
    q.moveAllToActiveOrBackoffQueue(NODE_ADD);
    // …then p fails for lack of resources: the new node might fit it.
    info.unschedulablePlugins.add("NodeResourcesFit");
    q.addUnschedulableIfNotPresent(info, cycle);
    expect(q.locate("p")).toBe("backoff");
  });

  it("a move request before the pod's cycle started does not count", async () => {
    const { q } = newQueue();
    q.add(pod("p"));
    q.moveAllToActiveOrBackoffQueue(NODE_ADD);
    await popAndFail(q, "NodeResourcesFit");
    expect(q.locate("p")).toBe("unschedulable");
  });

  it("an event no plugin registered is no move request", async () => {
    const { q } = newQueue();
    q.add(pod("p"));
    const info = await popNow(q);
    const cycle = q.schedulingCycle();
    q.moveAllToActiveOrBackoffQueue(CSI_NODE_ADD);
    info.unschedulablePlugins.add("NodeResourcesFit");
    q.addUnschedulableIfNotPresent(info, cycle);
    expect(q.locate("p")).toBe("unschedulable");
  });

  it("a move request during a later pod's cycle counts for an earlier pod still in flight", async () => {
    const { q } = newQueue();
    q.add(pod("a"));
    q.add(pod("b"));
    const a = await popNow(q);
    const aCycle = q.schedulingCycle();
    const b = await popNow(q);
    const bCycle = q.schedulingCycle();
    q.moveAllToActiveOrBackoffQueue(NODE_ADD);
    a.unschedulablePlugins.add("NodeResourcesFit");
    b.unschedulablePlugins.add("NodeResourcesFit");
    q.addUnschedulableIfNotPresent(a, aCycle);
    q.addUnschedulableIfNotPresent(b, bCycle);
    expect(q.locate("a")).toBe("backoff");
    expect(q.locate("b")).toBe("backoff");
  });

  it("activate() of a pod in flight is a move request for it", async () => {
    const { q } = newQueue();
    q.add(pod("p"));
    const info = await popNow(q);
    const cycle = q.schedulingCycle();
    q.activate([info.pod]);
    info.unschedulablePlugins.add("NodeResourcesFit");
    q.addUnschedulableIfNotPresent(info, cycle);
    expect(q.locate("p")).toBe("backoff");
  });
});

describe("pop", () => {
  it("waits until a pod is added, then resumes with it", async () => {
    const { q } = newQueue();
    let got: QueuedPodInfo | undefined;
    const p = q.pop().then((i) => (got = i));
    await tick();
    expect(got).toBeUndefined();
    q.add(pod("p"));
    await p;
    expect(got?.pod.metadata?.name).toBe("p");
    expect(q.locate("p")).toBe("inFlight");
  });

  it("a waiting pop gets the highest-priority pod of a batch moved at once", async () => {
    const { clock, q } = newQueue();
    q.add(pod("low", { priority: 1 }));
    q.add(pod("high", { priority: 9 }));
    await popAndFail(q, "NodeResourcesFit");
    await popAndFail(q, "NodeResourcesFit");
    clock.advance(10_000);
    const p = q.pop();
    q.moveAllToActiveOrBackoffQueue(NODE_ADD);
    expect((await p)?.pod.metadata?.name).toBe("high");
  });

  it("waiting pops are served in the order they were made", async () => {
    const { q } = newQueue();
    const first = q.pop();
    const second = q.pop();
    q.add(pod("a", { priority: 1 }));
    q.add(pod("b", { priority: 2 }));
    expect((await first)?.pod.metadata?.name).toBe("a");
    expect((await second)?.pod.metadata?.name).toBe("b");
  });

  it("resolves undefined when the queue closes, and at once afterwards", async () => {
    const { q } = newQueue();
    const p = q.pop();
    q.close();
    expect(await p).toBeUndefined();
    q.add(pod("p"));
    expect(await q.pop()).toBeUndefined();
  });

  it("rejects with the signal's reason when aborted, and the pod goes to the next pop", async () => {
    const { q } = newQueue();
    const ac = new AbortController();
    const aborted = q.pop(ac.signal);
    ac.abort(new Error("stop"));
    await expect(aborted).rejects.toThrow("stop");
    q.add(pod("p"));
    expect(q.locate("p")).toBe("active");
    expect((await q.pop())?.pod.metadata?.name).toBe("p");
  });
});

describe("delete", () => {
  it("removes a pod from activeQ, backoffQ and unschedulablePods", async () => {
    const { q } = newQueue();
    for (const n of ["to-backoff", "to-unsched", "stays-active"]) q.add(pod(n));
    await popAndFail(q); // an error: backoffQ
    await popAndFail(q, "NodeResourcesFit");
    expect(q.locate("to-backoff")).toBe("backoff");
    expect(q.locate("to-unsched")).toBe("unschedulable");
    expect(q.locate("stays-active")).toBe("active");
    q.delete(pod("to-backoff"));
    expect(q.pendingPods()).toEqual({ active: 1, backoff: 0, unschedulable: 1, gated: 0 });
    q.delete(pod("to-unsched"));
    expect(q.pendingPods()).toEqual({ active: 1, backoff: 0, unschedulable: 0, gated: 0 });
    q.delete(pod("stays-active"));
    expect(q.pendingPods()).toEqual({ active: 0, backoff: 0, unschedulable: 0, gated: 0 });
    expect(q.pendingPodList()).toEqual([]);
  });

  it("a pod deleted while in flight does not come back when its attempt fails", async () => {
    const { q } = newQueue();
    q.add(pod("p"));
    const info = await popNow(q);
    q.delete(info.pod);
    expect(q.locate("p")).toBeUndefined();
    info.unschedulablePlugins.add("NodeResourcesFit");
    q.addUnschedulableIfNotPresent(info, q.schedulingCycle());
    expect(q.locate("p")).toBeUndefined();
    expect(q.inFlightCount()).toBe(0);
  });
});

describe("update", () => {
  it("a spec or label change moves an unschedulable pod; a status-only change does not", async () => {
    const { clock, q } = newQueue();
    const p = pod("p");
    q.add(p);
    await popAndFail(q, "NodeResourcesFit");
    clock.advance(10_000);
    const statusOnly: Pod = { ...p, metadata: { ...p.metadata, resourceVersion: "99" }, status: { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False" }] } };
    q.update(p, statusOnly);
    expect(q.locate("p")).toBe("unschedulable");
    const relabeled: Pod = { ...statusOnly, metadata: { ...statusOnly.metadata, labels: { tier: "x" } } };
    q.update(statusOnly, relabeled);
    expect(q.locate("p")).toBe("active");
    expect(q.get("p")?.pod.metadata?.labels).toEqual({ tier: "x" });
  });

  it("an update of a pod still backing off moves it to backoffQ", async () => {
    const { q } = newQueue();
    const p = pod("p");
    q.add(p);
    await popAndFail(q, "NodeResourcesFit");
    q.update(p, { ...p, spec: { ...p.spec!, nodeSelector: { disk: "ssd" } } });
    expect(q.locate("p")).toBe("backoff");
  });

  it("an update while in flight is remembered: the failed pod comes back with the new object, to backoffQ", async () => {
    const { q } = newQueue();
    const p = pod("p");
    q.add(p);
    const info = await popNow(q);
    const cycle = q.schedulingCycle();
    const newer: Pod = { ...p, metadata: { ...p.metadata, labels: { a: "b" } } };
    q.update(p, newer);
    expect(q.locate("p")).toBe("inFlight");
    expect(q.pendingPods().active).toBe(0);
    info.unschedulablePlugins.add("NodeResourcesFit");
    q.addUnschedulableIfNotPresent(info, cycle);
    expect(q.locate("p")).toBe("backoff");
    expect(q.get("p")?.pod.metadata?.labels).toEqual({ a: "b" });
  });

  it("an unknown pod is added to activeQ; add of a known pod updates it", () => {
    const { q } = newQueue();
    const p = pod("p");
    q.update(p, p);
    expect(q.locate("p")).toBe("active");
    q.add({ ...p, metadata: { ...p.metadata, labels: { v: "2" } } });
    expect(q.pendingPods().active).toBe(1);
    expect(q.get("p")?.pod.metadata?.labels).toEqual({ v: "2" });
  });

  it("isPodUpdated ignores resourceVersion, generation, managedFields, finalizers and status", () => {
    const p = pod("p");
    expect(isPodUpdated(p, { ...p, metadata: { ...p.metadata, resourceVersion: "x", generation: 3, finalizers: ["f"] }, status: { phase: "Pending" } })).toBe(false);
    expect(isPodUpdated(p, { ...p, metadata: { ...p.metadata, annotations: { a: "b" } } })).toBe(true);
  });
});

describe("activate, gating, nominated pods, responsibility", () => {
  it("activate moves pods from unschedulablePods and backoffQ to activeQ at once", async () => {
    const { q } = newQueue();
    q.add(pod("u"));
    q.add(pod("b"));
    await popAndFail(q, "NodeResourcesFit");
    await popAndFail(q);
    expect(q.locate("u")).toBe("unschedulable");
    expect(q.locate("b")).toBe("backoff");
    q.activate([pod("u"), pod("b"), pod("unknown")]);
    expect(names(q.podsInActiveQ())).toEqual(["b", "u"]);
  });

  it("a PreEnqueue plugin gates pods: kept out of activeQ, counted as gated, released when the gate goes", () => {
    const gates = { name: "SchedulingGates", preEnqueue: (p: Pod) => (p.spec?.schedulingGates?.length ?? 0) === 0 };
    const { q } = newQueue({ preEnqueuePlugins: [gates] });
    const p = pod("p");
    p.spec!.schedulingGates = [{ name: "wait" }];
    q.add(p);
    expect(q.locate("p")).toBe("gated");
    expect(q.pendingPods()).toEqual({ active: 0, backoff: 0, unschedulable: 0, gated: 1 });
    q.moveAllToActiveOrBackoffQueue(NODE_ADD);
    expect(q.locate("p")).toBe("gated");
    const ungated: Pod = { ...p, spec: { ...p.spec!, schedulingGates: [] } };
    q.update(p, ungated);
    expect(q.locate("p")).toBe("active");
    expect(q.get("p")?.initialAttemptTimestamp).toBe(0);
  });

  it("records nominations per node, keeps the in-memory one across updates that carry none, and forgets on delete", () => {
    const bound = new Set<string>();
    const { q } = newQueue({ podLookup: (_ns, name) => (bound.has(name) ? pod(name, { nodeName: "x" }) : pod(name)) });
    const p = pod("p", { priority: 5 });
    q.add(p);
    q.addNominatedPod(p, { mode: "override", nominatedNodeName: "n1" });
    expect(q.nominatedPodsForNode("n1").map((i) => i.pod.metadata?.name)).toEqual(["p"]);
    const p2: Pod = { ...p, metadata: { ...p.metadata, labels: { l: "1" } } };
    q.update(p, p2);
    expect(q.nominatedPodsForNode("n1").map((i) => i.pod.metadata?.labels)).toEqual([{ l: "1" }]);
    q.addNominatedPod(p2, { mode: "override", nominatedNodeName: "n2" });
    expect(q.nominatedPodsForNode("n1")).toEqual([]);
    expect(q.nominatedPodsForNode("n2")).toHaveLength(1);
    q.delete(p2);
    expect(q.nominatedPodsForNode("n2")).toEqual([]);
    // A pod with status.nominatedNodeName is nominated when added; a bound pod is refused.
    const withStatus = { ...pod("s"), status: { nominatedNodeName: "n3" } };
    q.add(withStatus);
    expect(q.nominatedPodsForNode("n3")).toHaveLength(1);
    bound.add("b");
    q.addNominatedPod(pod("b"), { mode: "override", nominatedNodeName: "n3" });
    expect(q.nominatedPodsForNode("n3")).toHaveLength(1);
  });

  it("responsibleForPod accepts default-scheduler and an empty name", () => {
    expect(responsibleForPod(pod("a"))).toBe(true);
    expect(responsibleForPod(pod("b", { schedulerName: "default-scheduler" }))).toBe(true);
    expect(responsibleForPod(pod("c", { schedulerName: "my-scheduler" }))).toBe(false);
    expect(responsibleForPod(pod("c", { schedulerName: "my-scheduler" }), ["my-scheduler"])).toBe(true);
  });

  it("addUnschedulableIfNotPresent refuses a pod already queued", async () => {
    const { q } = newQueue();
    q.add(pod("p"));
    const info = await popNow(q);
    q.add(pod("p")); // informer noise while in flight: remembered, not queued twice
    q.addUnschedulableIfNotPresent(info, q.schedulingCycle());
    expect(() => q.addUnschedulableIfNotPresent(info, q.schedulingCycle())).toThrow(/already present in the backoff queue/);
  });

  it("reports incoming pods per sub-queue and event", async () => {
    const seen: string[] = [];
    const { clock, q } = newQueue({ onIncomingPod: (queue, event) => seen.push(`${queue}:${event}`) });
    q.add(pod("p"));
    await popAndFail(q, "NodeResourcesFit");
    q.moveAllToActiveOrBackoffQueue(NODE_ADD);
    clock.advance(1000);
    q.flushBackoffQCompleted();
    expect(seen).toEqual(["active:UnscheduledPodAdd", "unschedulable:ScheduleAttemptFailure", "backoff:NodeAdd", "active:BackoffComplete"]);
  });
});
