import { describe, expect, it } from "vitest";
import type { Pod } from "kubernetes-types/core/v1.js";
import type { ReplicaSet } from "kubernetes-types/apps/v1.js";
import { SeededRng } from "@kubemu/common";
import { numFeasibleNodesToFind, SchedulingAlgorithm, newPodInfo, type ScheduleOutcome, type PodInfo } from "@kubemu/scheduler";
import { listersOf, makeNode, makePod, snapshotOf, type ListerData, type TestSnapshot } from "./algo-fixtures.js";

function algorithm(seed = 1, data: ListerData = {}, extra: { nominated?: Map<string, PodInfo[]>; percentage?: number } = {}) {
  return new SchedulingAlgorithm({
    listers: listersOf(data),
    rng: new SeededRng(seed),
    now: () => Date.parse("2024-06-01T00:00:00Z"),
    ...(extra.nominated ? { nominator: { nominatedPodsForNode: (n: string) => extra.nominated!.get(n) ?? [] } } : {}),
    ...(extra.percentage !== undefined ? { percentageOfNodesToScore: extra.percentage } : {}),
  });
}

/** Places the pod on the chosen node of the snapshot (what the cache's assume does). */
function place(snapshot: TestSnapshot, pod: Pod, out: ScheduleOutcome): string {
  if (out.kind !== "Scheduled") throw new Error(`not scheduled: ${out.message}`);
  snapshot.get(out.nodeName)!.addPod({ ...pod, spec: { ...pod.spec!, nodeName: out.nodeName } });
  return out.nodeName;
}

describe("FailedScheduling messages (upstream's FitError.Error)", () => {
  it("counts reasons per node, sorted, with preemption's verdict appended", () => {
    const nodes = [
      makeNode("node1", { cpu: "4", taints: [{ key: "node.kubernetes.io/not-ready", effect: "NoSchedule" }] }),
      makeNode("node2", { cpu: "1" }),
      makeNode("node3", { cpu: "1" }),
    ];
    const snapshot = snapshotOf(nodes, [makePod("a", { nodeName: "node2", cpu: "500m" }), makePod("b", { nodeName: "node3", cpu: "500m" })]);
    const out = algorithm().schedule(makePod("big", { cpu: "2" }), snapshot);
    expect(out.kind).toBe("Unschedulable");
    expect(out.kind === "Unschedulable" && out.message).toBe(
      "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 2 Insufficient cpu. " +
        "preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.",
    );
    if (out.kind === "Unschedulable") {
      expect([...out.unschedulablePlugins].sort()).toEqual(["NodeResourcesFit", "TaintToleration"]);
      expect(out.nominatedNodeName).toBe("");
      expect(out.victims).toEqual([]);
    }
  });

  it("'3 No preemption victims found' when every node is merely short of resources", () => {
    const snapshot = snapshotOf([makeNode("n1", { cpu: "1" }), makeNode("n2", { cpu: "1" }), makeNode("n3", { cpu: "1" })]);
    const out = algorithm().schedule(makePod("big", { cpu: "2" }), snapshot);
    expect(out.kind === "Unschedulable" && out.message).toBe(
      "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.",
    );
  });

  it("sorts the histogram as strings and keeps every reason of a node", () => {
    const nodes = Array.from({ length: 12 }, (_, i) => makeNode(`n${i}`, { cpu: "1", memory: i < 10 ? "1Gi" : "8Gi", unschedulable: i === 11 }));
    const out = algorithm().schedule(makePod("p", { cpu: "2", memory: "2Gi" }), snapshotOf(nodes));
    // "10 …" sorts before "11 …" and after "1 …": upstream sorts the strings, not the counts.
    expect(out.kind === "Unschedulable" && out.message.split(" preemption")[0]).toBe("0/12 nodes are available: 1 node(s) were unschedulable, 10 Insufficient memory, 11 Insufficient cpu.");
  });

  it("reports a PreFilter rejection once, not per node", () => {
    const data: ListerData = { pvcs: [{ metadata: { name: "data", namespace: "default" }, spec: { storageClassName: "fast" } }], storageClasses: [{ metadata: { name: "fast" }, provisioner: "x", volumeBindingMode: "Immediate" }] };
    const pod = makePod("p", { spec: { volumes: [{ name: "v", persistentVolumeClaim: { claimName: "data" } }] } });
    const out = algorithm(1, data).schedule(pod, snapshotOf([makeNode("a"), makeNode("b"), makeNode("c")]));
    expect(out.kind === "Unschedulable" && out.message).toBe(
      "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
    );
    expect(out.kind === "Unschedulable" && [...out.unschedulablePlugins]).toEqual(["VolumeBinding"]);
  });

  it("a pod with preemptionPolicy Never does not preempt", () => {
    const out = algorithm().schedule(makePod("p", { cpu: "2", spec: { preemptionPolicy: "Never" } }), snapshotOf([makeNode("a", { cpu: "1" })]));
    expect(out.kind === "Unschedulable" && out.message).toBe("0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.");
  });

  it("no nodes at all", () => {
    const out = algorithm().schedule(makePod("p"), snapshotOf([]));
    expect(out).toMatchObject({ kind: "Unschedulable", message: "no nodes available to schedule pods", code: "UnschedulableAndUnresolvable" });
  });

  it("nodes a PreFilter ruled out are counted under its name", () => {
    const pod = makePod("p", { spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: ["a"] }] }] } } } } });
    const out = algorithm().schedule(pod, snapshotOf([makeNode("a", { unschedulable: true }), makeNode("b"), makeNode("c")]));
    expect(out.kind === "Unschedulable" && out.message.split(" preemption")[0]).toBe("0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) didn't satisfy plugin(s) [NodeAffinity].");
  });
});

describe("placement", () => {
  it("spreads a Deployment's pods evenly over 3 nodes", () => {
    const rs: ReplicaSet = { metadata: { name: "web-5d4f", namespace: "default" }, spec: { selector: { matchLabels: { app: "web", "pod-template-hash": "5d4f" } }, template: {} } };
    const snapshot = snapshotOf([makeNode("kubemu"), makeNode("kubemu-m02"), makeNode("kubemu-m03")]);
    const algo = algorithm(7, { replicaSets: [rs] });
    const counts = new Map<string, number>();
    for (let i = 0; i < 9; i++) {
      const pod = makePod(`web-5d4f-${i}`, { cpu: "100m", memory: "64Mi", labels: { app: "web", "pod-template-hash": "5d4f" }, owner: { apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-5d4f" } });
      const node = place(snapshot, pod, algo.schedule(pod, snapshot));
      counts.set(node, (counts.get(node) ?? 0) + 1);
    }
    expect([...counts.values()]).toEqual([3, 3, 3]);
  });

  it("breaks ties at random with the injected Rng: every tied node wins about as often, a seed replays", () => {
    const nodes = [makeNode("a"), makeNode("b"), makeNode("c"), makeNode("d")];
    const run = (seed: number, n: number) => {
      const algo = algorithm(seed);
      const snapshot = snapshotOf(nodes);
      const picks: string[] = [];
      for (let i = 0; i < n; i++) {
        const o = algo.schedule(makePod(`p${i}`, { cpu: "100m" }), snapshot);
        picks.push(o.kind === "Scheduled" ? o.nodeName : "");
      }
      return picks;
    };
    const picks = run(2024, 800);
    const counts = new Map<string, number>();
    for (const p of picks) counts.set(p, (counts.get(p) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual(["a", "b", "c", "d"]);
    for (const n of counts.values()) expect(n).toBeGreaterThan(150);
    expect(run(99, 50)).toEqual(run(99, 50));
    expect(run(99, 50)).not.toEqual(run(100, 50));
  });

  it("prefers the emptier node (LeastAllocated + BalancedAllocation)", () => {
    const snapshot = snapshotOf([makeNode("busy", { cpu: "4", memory: "8Gi" }), makeNode("idle", { cpu: "4", memory: "8Gi" })], [makePod("x", { nodeName: "busy", cpu: "3", memory: "6Gi" })]);
    for (let seed = 0; seed < 5; seed++) expect(algorithm(seed).schedule(makePod("p", { cpu: "500m", memory: "512Mi" }), snapshot)).toMatchObject({ kind: "Scheduled", nodeName: "idle" });
  });

  it("avoids PreferNoSchedule taints (weight 3) when resources are equal", () => {
    const snapshot = snapshotOf([makeNode("tainted", { taints: [{ key: "k", value: "v", effect: "PreferNoSchedule" }] }), makeNode("clean")]);
    for (let seed = 0; seed < 5; seed++) expect(algorithm(seed).schedule(makePod("p", { cpu: "100m" }), snapshot)).toMatchObject({ nodeName: "clean" });
  });

  it("a single feasible node is taken without scoring", () => {
    const snapshot = snapshotOf([makeNode("a", { cpu: "1" }), makeNode("b", { cpu: "8" })]);
    expect(algorithm().schedule(makePod("p", { cpu: "4" }), snapshot)).toMatchObject({ kind: "Scheduled", nodeName: "b", feasibleNodes: 1, evaluatedNodes: 2 });
  });

  it("tries the nominated node first", () => {
    const snapshot = snapshotOf([makeNode("a", { cpu: "8" }), makeNode("b", { cpu: "1" })]);
    const pod = makePod("p", { cpu: "500m", status: { nominatedNodeName: "b" } });
    expect(algorithm().schedule(pod, snapshot)).toMatchObject({ kind: "Scheduled", nodeName: "b", evaluatedNodes: 1 });
  });

  it("keeps room for higher-priority pods nominated to a node", () => {
    const snapshot = snapshotOf([makeNode("a", { cpu: "2" }), makeNode("b", { cpu: "2" })]);
    const nominated = new Map([["a", [newPodInfo(makePod("vip", { cpu: "1500m", priority: 100 }))]]]);
    for (let seed = 0; seed < 5; seed++) expect(algorithm(seed, {}, { nominated }).schedule(makePod("p", { cpu: "1", priority: 1 }), snapshot)).toMatchObject({ nodeName: "b" });
    // A higher-priority pod ignores a lower-priority nomination.
    const low = new Map([["a", [newPodInfo(makePod("low", { cpu: "1500m", priority: 0 }))]], ["b", [newPodInfo(makePod("low2", { cpu: "1500m", priority: 0 }))]]]);
    expect(algorithm(1, {}, { nominated: low }).schedule(makePod("p", { cpu: "1", priority: 10 }), snapshot).kind).toBe("Scheduled");
  });

  it("returns the volume decisions for the chosen node", () => {
    const data: ListerData = {
      pvcs: [{ metadata: { name: "data", namespace: "default" }, spec: { storageClassName: "standard", accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } }],
      storageClasses: [{ metadata: { name: "standard" }, provisioner: "rancher.io/local-path", volumeBindingMode: "WaitForFirstConsumer" }],
    };
    const pod = makePod("p", { spec: { volumes: [{ name: "v", persistentVolumeClaim: { claimName: "data" } }] } });
    const out = algorithm(1, data).schedule(pod, snapshotOf([makeNode("only")]));
    expect(out).toMatchObject({ kind: "Scheduled", nodeName: "only", volumes: { bindings: [], provisions: [{ claimNamespace: "default", claimName: "data", selectedNode: "only" }] } });
    expect(algorithm(1).schedule(makePod("q"), snapshotOf([makeNode("only")]))).toMatchObject({ volumes: undefined });
  });
});

describe("numFeasibleNodesToFind (upstream's formula)", () => {
  it.each([
    [0, 10, 10],
    [0, 99, 99],
    [0, 100, 100],
    [0, 200, 100],
    [0, 1000, 420],
    [0, 5000, 500],
    [0, 6000, 300],
    [0, 10000, 500],
    [30, 1000, 300],
    [5, 1000, 100],
  ])("percentage %d of %d nodes → %d", (pct, nodes, want) => {
    expect(numFeasibleNodesToFind(pct, nodes)).toBe(want);
  });

  it("evaluates only enough nodes and rotates the start index across cycles", () => {
    const nodes = Array.from({ length: 300 }, (_, i) => makeNode(`n${String(i).padStart(3, "0")}`));
    const snapshot = snapshotOf(nodes);
    const algo = algorithm(3);
    // 300 nodes: 50 - 2 = 48% = 144 nodes per cycle.
    const windows: number[][] = [];
    for (let k = 0; k < 3; k++) {
      const out = algo.schedule(makePod(`p${k}`), snapshot);
      expect(out).toMatchObject({ kind: "Scheduled", evaluatedNodes: 144, feasibleNodes: 144 });
      windows.push([Number((out as { nodeName: string }).nodeName.slice(1))]);
    }
    const [first, second, third] = windows.map((w) => w[0]!);
    expect(first).toBeLessThan(144);
    expect(second).toBeGreaterThanOrEqual(144);
    expect(second).toBeLessThan(288);
    // The third window wraps: 288..299 and 0..131.
    expect(third! >= 288 || third! < 132).toBe(true);
  });
});

describe("preemption", () => {
  const prio = (name: string, node: string, priority: number, cpu: string, startTime?: string) =>
    makePod(name, { nodeName: node, priority, cpu, ...(startTime ? { status: { startTime } } : {}) });

  function victims(out: ScheduleOutcome): string[] {
    if (out.kind !== "Unschedulable") throw new Error(`expected Unschedulable, got ${out.kind}`);
    return out.victims.map((p) => p.metadata!.name!);
  }

  it("evicts the fewest lower-priority pods, reprieving the most important first", () => {
    const snapshot = snapshotOf([makeNode("n1", { cpu: "2" })], [prio("low", "n1", 1, "1"), prio("mid", "n1", 2, "1")]);
    const out = algorithm().schedule(makePod("vip", { cpu: "1", priority: 10 }), snapshot);
    expect(victims(out)).toEqual(["low"]);
    expect(out).toMatchObject({ nominatedNodeName: "n1", message: "0/1 nodes are available: 1 Insufficient cpu." });
  });

  it("never evicts pods of equal or higher priority", () => {
    const snapshot = snapshotOf([makeNode("n1", { cpu: "2" })], [prio("same", "n1", 10, "1"), prio("low", "n1", 1, "500m")]);
    const out = algorithm().schedule(makePod("vip", { cpu: "1500m", priority: 10 }), snapshot);
    expect(out.kind === "Unschedulable" && out.message).toBe("0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Insufficient cpu.");
    expect(victims(out)).toEqual([]);
  });

  it("picks the node whose highest victim priority is lowest", () => {
    const snapshot = snapshotOf([makeNode("n1", { cpu: "1" }), makeNode("n2", { cpu: "1" })], [prio("p5", "n1", 5, "1"), prio("p1", "n2", 1, "1")]);
    expect(victims(algorithm().schedule(makePod("vip", { cpu: "1", priority: 10 }), snapshot))).toEqual(["p1"]);
  });

  it("then the smallest sum of priorities, then the fewest victims", () => {
    const sum = snapshotOf([makeNode("n1", { cpu: "2" }), makeNode("n2", { cpu: "2" })], [prio("a3", "n1", 3, "1"), prio("b3", "n1", 3, "1"), prio("c3", "n2", 3, "1"), prio("d1", "n2", 1, "1")]);
    expect(victims(algorithm().schedule(makePod("vip", { cpu: "2", priority: 10 }), sum)).sort()).toEqual(["c3", "d1"]);
    const fewest = snapshotOf([makeNode("n1", { cpu: "2" }), makeNode("n2", { cpu: "2" })], [prio("a", "n1", 1, "1"), prio("b", "n1", 1, "1"), prio("c", "n2", 1, "2")]);
    expect(victims(algorithm().schedule(makePod("vip", { cpu: "2", priority: 10 }), fewest))).toEqual(["c"]);
  });

  it("then the node whose highest-priority victims started last", () => {
    const snapshot = snapshotOf([makeNode("n1", { cpu: "1" }), makeNode("n2", { cpu: "1" })], [
      prio("old", "n1", 1, "1", "2024-01-01T00:00:00Z"),
      prio("young", "n2", 1, "1", "2024-05-01T00:00:00Z"),
    ]);
    expect(victims(algorithm().schedule(makePod("vip", { cpu: "1", priority: 10 }), snapshot))).toEqual(["young"]);
  });

  it("prefers nodes where no PodDisruptionBudget is violated", () => {
    const pdbs = [{ metadata: { name: "pdb", namespace: "default" }, spec: { selector: { matchLabels: { app: "guarded" } } }, status: { disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1, expectedPods: 1 } }];
    const guarded = makePod("guarded", { nodeName: "n1", priority: 0, cpu: "1", labels: { app: "guarded" } });
    const snapshot = snapshotOf([makeNode("n1", { cpu: "1" }), makeNode("n2", { cpu: "1" })], [guarded, prio("high", "n2", 5, "1")]);
    expect(victims(algorithm(1, { pdbs: pdbs as never }).schedule(makePod("vip", { cpu: "1", priority: 10 }), snapshot))).toEqual(["high"]);
  });

  it("clears the nominations of lower-priority pods nominated to the chosen node", () => {
    const snapshot = snapshotOf([makeNode("n1", { cpu: "1" })], [prio("low", "n1", 1, "1")]);
    const nominatedLow = newPodInfo(makePod("waiting", { cpu: "100m", priority: 2 }));
    const out = algorithm(1, {}, { nominated: new Map([["n1", [nominatedLow]]]) }).schedule(makePod("vip", { cpu: "1", priority: 10 }), snapshot);
    expect(victims(out)).toEqual(["low"]);
    expect(out.kind === "Unschedulable" && out.clearNominationOf.map((p) => p.metadata!.name)).toEqual(["waiting"]);
  });

  it("removes an anti-affinity victim so the pod fits", () => {
    const antiPod = makePod("vip", {
      priority: 10,
      spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { app: "noisy" } } }] } } },
    });
    const snapshot = snapshotOf([makeNode("n1")], [makePod("noisy", { nodeName: "n1", priority: 1, labels: { app: "noisy" } }), makePod("quiet", { nodeName: "n1", priority: 1 })]);
    const out = algorithm().schedule(antiPod, snapshot);
    expect(out.kind === "Unschedulable" && out.message).toBe("0/1 nodes are available: 1 node(s) didn't match pod anti-affinity rules.");
    expect(victims(out)).toEqual(["noisy"]);
  });
});
