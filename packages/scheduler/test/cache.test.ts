import { FakeClock } from "@kubemu/common";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SchedulerCache } from "../src/cache/cache.js";
import { NodeTree, zoneKeyOf } from "../src/cache/node-tree.js";
import { CacheSnapshot } from "../src/cache/snapshot.js";
import { NodeInfo } from "../src/framework/node-info.js";
import { boundPod, node, onNode } from "./cache-helpers.js";

function newCache(ttlMs?: number) {
  const clock = new FakeClock(0);
  const cache = new SchedulerCache({ clock, ...(ttlMs !== undefined ? { assumedPodTtlMs: ttlMs } : {}) });
  return { clock, cache };
}

function snapshotOf(cache: SchedulerCache): CacheSnapshot {
  const s = new CacheSnapshot();
  cache.updateSnapshot(s);
  return s;
}

const cpuOn = (s: CacheSnapshot, name: string) => s.get(name)?.requested.milliCPU;

afterEach(() => vi.restoreAllMocks());

describe("assumed pods", () => {
  it("an assumed pod's requests show in the next snapshot at once; forgetting it frees them", () => {
    const { cache } = newCache();
    cache.addNode(node("n1"));
    const p = boundPod("p", "n1", { cpu: "1500m", memory: "1Gi", hostPort: 8080 });
    cache.assumePod(p);
    const s = snapshotOf(cache);
    expect(cpuOn(s, "n1")).toBe(1500);
    expect(s.get("n1")?.requested.memory).toBe(1024 ** 3);
    expect(s.get("n1")?.pods.map((pi) => pi.uid)).toEqual(["p"]);
    expect(s.get("n1")?.usedPorts.checkConflict("0.0.0.0", "TCP", 8080)).toBe(true);
    expect(cache.isAssumedPod(p)).toBe(true);

    cache.forgetPod(p);
    cache.updateSnapshot(s);
    expect(cpuOn(s, "n1")).toBe(0);
    expect(s.get("n1")?.pods).toEqual([]);
    expect(s.get("n1")?.usedPorts.checkConflict("0.0.0.0", "TCP", 8080)).toBe(false);
    expect(cache.getPod(p)).toBeUndefined();
    expect(cache.podCount()).toBe(0);
  });

  it("the informer's add confirms an assumed pod: counted once, no longer assumed, never expires", () => {
    const { clock, cache } = newCache(30_000);
    cache.addNode(node("n1"));
    const p = boundPod("p", "n1", { cpu: "1" });
    cache.assumePod(p);
    cache.finishBinding(p);
    const observed = { ...p, metadata: { ...p.metadata, resourceVersion: "7" }, status: { phase: "Pending" as const } };
    cache.addPod(observed);
    expect(cache.isAssumedPod(p)).toBe(false);
    expect(cache.getPod(p)).toBe(observed);
    expect(cpuOn(snapshotOf(cache), "n1")).toBe(1000);
    clock.advance(60_000);
    expect(cache.cleanupExpiredAssumedPods()).toEqual([]);
    expect(cache.podCount()).toBe(1);
    expect(() => cache.addPod(observed)).toThrow(/already in added state/);
    expect(() => cache.forgetPod(observed)).toThrow(/not assumed/);
  });

  it("if the informer reports the pod on another node than assumed, the observed node wins", () => {
    const { cache } = newCache();
    cache.addNode(node("n1"));
    cache.addNode(node("n2"));
    const p = boundPod("p", "n1", { cpu: "1" });
    cache.assumePod(p);
    cache.addPod(onNode(p, "n2"));
    const s = snapshotOf(cache);
    expect(cpuOn(s, "n1")).toBe(0);
    expect(cpuOn(s, "n2")).toBe(1000);
    expect(cache.isAssumedPod(p)).toBe(false);
  });

  it("with a TTL, an assumed pod whose binding finished expires when never confirmed; one still binding does not", () => {
    const { clock, cache } = newCache(30_000);
    cache.addNode(node("n1"));
    const bound = boundPod("bound", "n1", { cpu: "1" });
    const binding = boundPod("binding", "n1", { cpu: "1" });
    cache.assumePod(bound);
    cache.assumePod(binding);
    clock.advance(5_000);
    cache.finishBinding(bound); // deadline = 35 s
    clock.advance(30_000);
    expect(cache.cleanupExpiredAssumedPods()).toEqual([]); // at the deadline, not past it
    clock.advance(1);
    expect(cache.cleanupExpiredAssumedPods().map((p) => p.metadata?.name)).toEqual(["bound"]);
    expect(cpuOn(snapshotOf(cache), "n1")).toBe(1000);
    expect(cache.isAssumedPod(binding)).toBe(true);
    clock.advance(3_600_000);
    expect(cache.cleanupExpiredAssumedPods()).toEqual([]);
  });

  it("the default TTL is 0: assumed pods never expire (upstream's durationToExpireAssumedPod)", () => {
    const { clock, cache } = newCache();
    cache.addNode(node("n1"));
    const p = boundPod("p", "n1", { cpu: "1" });
    cache.assumePod(p);
    cache.finishBinding(p);
    clock.advance(24 * 3_600_000);
    expect(cache.cleanupExpiredAssumedPods()).toEqual([]);
    expect(cache.isAssumedPod(p)).toBe(true);
    expect(() => new SchedulerCache({ clock, assumedPodTtlMs: -1 })).toThrow(/assumedPodTtlMs/);
  });

  it("a pod deleted while assumed is removed cleanly, and a later forget is a no-op", () => {
    const { cache } = newCache();
    cache.addNode(node("n1"));
    const p = boundPod("p", "n1", { cpu: "1" });
    cache.assumePod(p);
    cache.removePod(p);
    expect(cache.podCount()).toBe(0);
    expect(cache.isAssumedPod(p)).toBe(false);
    cache.forgetPod(p);
    expect(cpuOn(snapshotOf(cache), "n1")).toBe(0);
    // Assuming it again works (it is gone from the cache).
    cache.assumePod(p);
    expect(() => cache.assumePod(p)).toThrow(/can't be assumed/);
  });

  it("refuses to forget a pod on another node than it was assumed on, or to assume a pod with no node", () => {
    const { cache } = newCache();
    cache.addNode(node("n1"));
    const p = boundPod("p", "n1");
    cache.assumePod(p);
    expect(() => cache.forgetPod(onNode(p, "n2"))).toThrow(/was assumed on n1 but assigned to n2/);
    expect(() => cache.assumePod(onNode(boundPod("q", "n1"), ""))).toThrow(/no spec.nodeName/);
  });
});

describe("pods and nodes from the informer", () => {
  it("a pod update moves its resources", () => {
    const { cache } = newCache();
    cache.addNode(node("n1"));
    const p = boundPod("p", "n1", { cpu: "1" });
    cache.addPod(p);
    cache.updatePod(p, boundPod("p", "n1", { cpu: "2500m" }));
    expect(cpuOn(snapshotOf(cache), "n1")).toBe(2500);
    expect(() => cache.updatePod(p, onNode(p, "n2"))).toThrow(/corrupted/);
    expect(() => cache.updatePod(boundPod("ghost", "n1"), boundPod("ghost", "n1"))).toThrow(/not added/);
  });

  it("a pod seen before its node is kept, and counts once the node arrives", () => {
    const { cache } = newCache();
    cache.addPod(boundPod("p", "late", { cpu: "1" }));
    const s = snapshotOf(cache);
    expect(s.nodeInfoList).toEqual([]);
    cache.addNode(node("late"));
    cache.updateSnapshot(s);
    expect(cpuOn(s, "late")).toBe(1000);
  });

  it("a node removed while pods are on it stays as a ghost, out of snapshots, until its pods are gone", () => {
    const { cache } = newCache();
    cache.addNode(node("n1"));
    cache.addNode(node("n2"));
    const p = boundPod("p", "n1", { cpu: "1" });
    cache.addPod(p);
    const s = snapshotOf(cache);
    expect(s.nodeInfoList.map((n) => n.name)).toEqual(["n1", "n2"]);

    cache.removeNode(node("n1"));
    expect(cache.nodeCount()).toBe(2);
    expect(cache.dump().nodes.get("n1")?.node).toBeUndefined();
    cache.updateSnapshot(s);
    expect(s.nodeInfoList.map((n) => n.name)).toEqual(["n2"]);
    expect(s.get("n1")).toBeUndefined();

    cache.removePod({ ...p, spec: { ...p.spec!, nodeName: "" } }); // a tombstone without nodeName works
    expect(cache.nodeCount()).toBe(1);
    expect(cache.podCount()).toBe(0);
    expect(() => cache.removeNode(node("n1"))).toThrow(/not found/);
    expect(() => cache.removePod(p)).toThrow(/not found/);
  });

  it("a ghost node that comes back keeps its pods", () => {
    const { cache } = newCache();
    cache.addNode(node("n1"));
    cache.addPod(boundPod("p", "n1", { cpu: "1" }));
    const s = snapshotOf(cache);
    cache.removeNode(node("n1"));
    cache.updateSnapshot(s);
    expect(s.nodeInfoList).toEqual([]);
    cache.addNode(node("n1", { cpu: "8" }));
    cache.updateSnapshot(s);
    expect(cpuOn(s, "n1")).toBe(1000);
    expect(s.get("n1")?.allocatable.milliCPU).toBe(8000);
  });

  it("dump, nodeCount, podCount and size report nodes and assumed pods", () => {
    const { cache } = newCache();
    cache.addNode(node("n1"));
    cache.addPod(boundPod("a", "n1"));
    cache.assumePod(boundPod("b", "n1"));
    const d = cache.dump();
    expect([...d.nodes.keys()]).toEqual(["n1"]);
    expect(d.nodes.get("n1")?.pods.map((p) => p.uid).sort()).toEqual(["a", "b"]);
    expect([...d.assumedPods]).toEqual(["b"]);
    expect(cache.nodeCount()).toBe(1);
    expect(cache.podCount()).toBe(2);
    expect(cache.size()).toEqual({ assumedPods: 1, pods: 2, nodes: 1 });
  });
});

describe("incremental snapshot", () => {
  it("clones only the NodeInfos that changed since the last update, keeping the objects the lists hold", () => {
    const { cache } = newCache();
    for (let i = 0; i < 10; i++) cache.addNode(node(`n${i}`));
    const clone = vi.spyOn(NodeInfo.prototype, "clone");
    const s = snapshotOf(cache);
    expect(clone).toHaveBeenCalledTimes(10);
    const before = s.nodeInfoList.slice();

    clone.mockClear();
    cache.updateSnapshot(s);
    expect(clone).toHaveBeenCalledTimes(0);

    cache.addPod(boundPod("p", "n3", { cpu: "1" }));
    cache.assumePod(boundPod("q", "n7", { cpu: "2" }));
    cache.updateSnapshot(s);
    expect(clone).toHaveBeenCalledTimes(2);
    expect(s.nodeInfoList).toEqual(before);
    s.nodeInfoList.forEach((n, i) => expect(n).toBe(before[i]));
    expect(cpuOn(s, "n3")).toBe(1000);
    expect(cpuOn(s, "n7")).toBe(2000);

    clone.mockClear();
    cache.updateNode(node("n5"), node("n5", { cpu: "16" }));
    cache.updateSnapshot(s);
    expect(clone).toHaveBeenCalledTimes(1);
    expect(s.get("n5")?.allocatable.milliCPU).toBe(16000);
  });

  it("a snapshot is a copy: later cache changes do not show until the next update", () => {
    const { cache } = newCache();
    cache.addNode(node("n1"));
    const s = snapshotOf(cache);
    cache.addPod(boundPod("p", "n1", { cpu: "1" }));
    expect(cpuOn(s, "n1")).toBe(0);
    cache.updateSnapshot(s);
    expect(cpuOn(s, "n1")).toBe(1000);
  });

  it("keeps the affinity lists in step as nodes gain and lose pods with affinity", () => {
    const { cache } = newCache();
    cache.addNode(node("n1"));
    cache.addNode(node("n2"));
    const s = snapshotOf(cache);
    expect(s.havePodsWithAffinityNodeInfoList).toEqual([]);
    const anti = boundPod("anti", "n2", { antiAffinity: true });
    const aff = boundPod("aff", "n1", { affinity: true });
    cache.addPod(anti);
    cache.addPod(aff);
    cache.updateSnapshot(s);
    expect(s.havePodsWithAffinityNodeInfoList.map((n) => n.name)).toEqual(["n1", "n2"]);
    expect(s.havePodsWithRequiredAntiAffinityNodeInfoList.map((n) => n.name)).toEqual(["n2"]);
    cache.removePod(anti);
    cache.updateSnapshot(s);
    expect(s.havePodsWithAffinityNodeInfoList.map((n) => n.name)).toEqual(["n1"]);
    expect(s.havePodsWithRequiredAntiAffinityNodeInfoList).toEqual([]);
  });
});

describe("zone order", () => {
  it("interleaves nodes of different zones, zones in the order they appeared", () => {
    const { cache } = newCache();
    const add = (name: string, zone?: string) => cache.addNode(node(name, zone !== undefined ? { zone, region: "r" } : {}));
    add("a1", "a");
    add("a2", "a");
    add("b1", "b");
    add("a3", "a");
    add("c1", "c");
    add("b2", "b");
    add("none1");
    add("none2");
    const s = snapshotOf(cache);
    expect(s.nodeInfoList.map((n) => n.name)).toEqual(["a1", "b1", "c1", "none1", "a2", "b2", "none2", "a3"]);
  });

  it("a node whose zone changes moves in the order; removing the last node of a zone drops the zone", () => {
    const { cache } = newCache();
    cache.addNode(node("a1", { zone: "a" }));
    cache.addNode(node("a2", { zone: "a" }));
    cache.addNode(node("b1", { zone: "b" }));
    const s = snapshotOf(cache);
    expect(s.nodeInfoList.map((n) => n.name)).toEqual(["a1", "b1", "a2"]);
    cache.updateNode(node("a1", { zone: "a" }), node("a1", { zone: "b" }));
    cache.updateSnapshot(s);
    expect(s.nodeInfoList.map((n) => n.name)).toEqual(["a2", "b1", "a1"]);
    cache.removeNode(node("a2", { zone: "a" }));
    cache.updateSnapshot(s);
    expect(s.nodeInfoList.map((n) => n.name)).toEqual(["b1", "a1"]);
  });

  it("zoneKeyOf joins region and zone, falling back to the beta labels", () => {
    expect(zoneKeyOf(node("x"))).toBe("");
    expect(zoneKeyOf(node("x", { zone: "z", region: "r" }))).toBe("r:\x00:z");
    expect(zoneKeyOf(node("x", { labels: { "failure-domain.beta.kubernetes.io/zone": "bz" } }))).toBe(":\x00:bz");
    const t = new NodeTree();
    t.addNode(node("x"));
    t.addNode(node("x"));
    expect(t.numNodes).toBe(1);
    expect(t.removeNode(node("y"))).toBe(false);
  });
});
