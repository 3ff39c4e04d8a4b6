import { describe, expect, it } from "vitest";
import type { Pod, TopologySpreadConstraint } from "kubernetes-types/core/v1.js";
import type { ReplicaSet } from "kubernetes-types/apps/v1.js";
import { PodTopologySpread } from "../src/plugins/pod-topology-spread.js";
import { CycleState, handleOf, listersOf, makeNode, makePod, newPodInfo, snapshotOf, type ListerData } from "./algo-fixtures.js";

const zoneNodes = () => [
  makeNode("node-a", { labels: { zone: "zone1" } }),
  makeNode("node-b", { labels: { zone: "zone1" } }),
  makeNode("node-x", { labels: { zone: "zone2" } }),
  makeNode("node-y", { labels: { zone: "zone2" } }),
];

const constraint = (topologyKey: string, maxSkew: number, extra: Partial<TopologySpreadConstraint> = {}): TopologySpreadConstraint => ({
  maxSkew,
  topologyKey,
  whenUnsatisfiable: "DoNotSchedule",
  labelSelector: { matchExpressions: [{ key: "foo", operator: "Exists" }] },
  ...extra,
});

/** `counts` matching pods (label foo) per node, in node order. */
function existing(counts: number[], nodes = zoneNodes(), ns = "default"): Pod[] {
  const out: Pod[] = [];
  counts.forEach((n, i) => {
    for (let k = 0; k < n; k++) out.push(makePod(`e-${i}-${k}`, { nodeName: nodes[i]!.metadata!.name!, labels: { foo: "" }, namespace: ns }));
  });
  return out;
}

function filter(pod: Pod, pods: Pod[], nodes = zoneNodes(), data: ListerData = {}) {
  const snapshot = snapshotOf(nodes, pods);
  const pl = new PodTopologySpread(handleOf(snapshot, listersOf(data)));
  const pi = newPodInfo(pod);
  const state = new CycleState();
  const pre = pl.preFilter(state, pi).status;
  if (pre !== null) return pre.code;
  return snapshot.nodeInfoList.map((ni) => {
    const s = pl.filter(state, pi, ni);
    return s === null ? "ok" : s.message();
  });
}

const NOT_MATCH = "node(s) didn't match pod topology spread constraints";
const MISSING = "node(s) didn't match pod topology spread constraints (missing required label)";
const incoming = (constraints: TopologySpreadConstraint[], extra: Parameters<typeof makePod>[1] = {}) => makePod("p", { labels: { foo: "" }, spec: { topologySpreadConstraints: constraints }, ...extra });

describe("PodTopologySpread Filter (upstream's filtering_test cases)", () => {
  it("no existing pods: every node fits", () => {
    expect(filter(incoming([constraint("zone", 1)]), [])).toEqual(["ok", "ok", "ok", "ok"]);
  });
  it("pods spread across zones as 3/3: all nodes fit", () => {
    expect(filter(incoming([constraint("zone", 1)]), existing([1, 2, 2, 1]))).toEqual(["ok", "ok", "ok", "ok"]);
  });
  it("pods spread across zones as 1/2: only zone1 fits", () => {
    expect(filter(incoming([constraint("zone", 1)]), existing([1, 0, 1, 1]))).toEqual(["ok", "ok", NOT_MATCH, NOT_MATCH]);
  });
  it("existing pods in another namespace do not count", () => {
    expect(filter(incoming([constraint("zone", 1)]), existing([0, 0, 3, 3], zoneNodes(), "other"))).toEqual(["ok", "ok", "ok", "ok"]);
  });
  it("an incoming pod that does not match itself adds nothing", () => {
    expect(filter(incoming([constraint("zone", 1)], { labels: { bar: "" } }), existing([1, 0, 2, 0]))).toEqual(["ok", "ok", "ok", "ok"]);
  });
  it("pods spread across nodes as 2/1/0/3: only node-x fits", () => {
    expect(filter(incoming([constraint("kubernetes.io/hostname", 1)]), existing([2, 1, 0, 3]))).toEqual([NOT_MATCH, NOT_MATCH, "ok", NOT_MATCH]);
  });
  it("pods spread across nodes as 2/1/0/3, maxSkew 2: node-b and node-x fit", () => {
    expect(filter(incoming([constraint("kubernetes.io/hostname", 2)]), existing([2, 1, 0, 3]))).toEqual([NOT_MATCH, "ok", "ok", NOT_MATCH]);
  });
  it("a node without the topology label is unresolvable", () => {
    const nodes = zoneNodes();
    delete nodes[1]!.metadata!.labels!["zone"];
    expect(filter(incoming([constraint("zone", 1)]), existing([1, 1, 1, 1], nodes), nodes)).toEqual(["ok", MISSING, NOT_MATCH, NOT_MATCH]);
    expect(filter(incoming([constraint("rack", 1)]), [])).toEqual([MISSING, MISSING, MISSING, MISSING]);
  });
  it("two constraints must both hold", () => {
    // zone: zone1 3, zone2 1 → zone2 only; hostname: node-x 0 or node-y 1, min 0 → node-x.
    expect(filter(incoming([constraint("zone", 1), constraint("kubernetes.io/hostname", 1)]), existing([2, 1, 0, 1]))).toEqual([NOT_MATCH, NOT_MATCH, "ok", NOT_MATCH]);
  });
  it("minDomains above the domain count makes the global minimum 0", () => {
    // zones 1/1; with minDomains 3 the minimum is 0, so 1 + 1 - 0 > 1 everywhere.
    expect(filter(incoming([constraint("zone", 1, { minDomains: 3 })]), existing([1, 0, 1, 0]))).toEqual([NOT_MATCH, NOT_MATCH, NOT_MATCH, NOT_MATCH]);
    expect(filter(incoming([constraint("zone", 1, { minDomains: 2 })]), existing([1, 0, 1, 0]))).toEqual(["ok", "ok", "ok", "ok"]);
  });
  it("nodeAffinityPolicy Honor (default) leaves nodes the pod cannot use out of the counts; Ignore counts them", () => {
    const nodes = zoneNodes();
    nodes[2]!.metadata!.labels!["disk"] = "ssd";
    nodes[3]!.metadata!.labels!["disk"] = "ssd";
    nodes[0]!.metadata!.labels!["disk"] = "ssd";
    // zone1 has 3 pods (2 on node-b, which the pod's selector excludes), zone2 has 1.
    const pods = existing([1, 2, 1, 0], nodes);
    const honor = filter(incoming([constraint("zone", 1)], { spec: { nodeSelector: { disk: "ssd" }, topologySpreadConstraints: [constraint("zone", 1)] } }), pods, nodes);
    expect(honor).toEqual(["ok", "ok", "ok", "ok"]);
    const ignore = filter(incoming([], { spec: { nodeSelector: { disk: "ssd" }, topologySpreadConstraints: [constraint("zone", 1, { nodeAffinityPolicy: "Ignore" })] } }), pods, nodes);
    expect(ignore).toEqual([NOT_MATCH, NOT_MATCH, "ok", "ok"]);
  });
  it("matchLabelKeys narrows the selector to the pod's values", () => {
    const pods = [
      makePod("old1", { nodeName: "node-a", labels: { foo: "", rev: "1" } }),
      makePod("old2", { nodeName: "node-a", labels: { foo: "", rev: "1" } }),
    ];
    const c = constraint("kubernetes.io/hostname", 1, { matchLabelKeys: ["rev"] });
    const pod = makePod("p", { labels: { foo: "", rev: "2" }, spec: { topologySpreadConstraints: [c] } });
    expect(filter(pod, pods)).toEqual(["ok", "ok", "ok", "ok"]);
  });
  it("PreFilter skips pods without DoNotSchedule constraints", () => {
    expect(filter(incoming([constraint("zone", 1, { whenUnsatisfiable: "ScheduleAnyway" })]), [])).toBe("Skip");
  });
  it("AddPod/RemovePod keep the counts in step (preemption's dry runs)", () => {
    const snapshot = snapshotOf(zoneNodes(), existing([1, 0, 0, 0]));
    const pl = new PodTopologySpread(handleOf(snapshot));
    const pi = newPodInfo(incoming([constraint("kubernetes.io/hostname", 1)]));
    const state = new CycleState();
    pl.preFilter(state, pi);
    const [a, b] = snapshot.nodeInfoList;
    expect(pl.filter(state, pi, a!)?.message()).toBe(NOT_MATCH);
    const removed = state.clone();
    pl.removePod(removed, pi, a!.pods[0]!, a!);
    expect(pl.filter(removed, pi, a!)).toBeNull();
    const added = state.clone();
    pl.addPod(added, pi, newPodInfo(makePod("n", { labels: { foo: "" } })), b!);
    expect(pl.filter(added, pi, b!)?.message()).toBe(NOT_MATCH);
    expect(pl.filter(state, pi, b!)).toBeNull();
  });
});

function scores(pod: Pod, pods: Pod[], nodes = zoneNodes(), data: ListerData = {}, filtered?: string[]) {
  const snapshot = snapshotOf(nodes, pods);
  const pl = new PodTopologySpread(handleOf(snapshot, listersOf(data)));
  const pi = newPodInfo(pod);
  const state = new CycleState();
  const feasible = snapshot.nodeInfoList.filter((n) => filtered === undefined || filtered.includes(n.name));
  const s = pl.preScore(state, pi, feasible);
  if (s !== null) return s.code;
  const out = feasible.map((n) => pl.score(state, pi, n));
  pl.normalizeScore(state, pi, out, feasible);
  return out;
}

describe("PodTopologySpread Score (upstream's scoring_test cases)", () => {
  const soft = (key: string, maxSkew: number) => constraint(key, maxSkew, { whenUnsatisfiable: "ScheduleAnyway" });
  it("one constraint on node, all 4 nodes are candidates", () => {
    expect(scores(incoming([soft("kubernetes.io/hostname", 1)]), existing([2, 1, 0, 3]))).toEqual([20, 60, 100, 0]);
  });
  it("one constraint on zone", () => {
    // zone1 3 pods, zone2 2 pods: weight log(4) → round(3·1.386) = 4, round(2·1.386) = 3 → 100·(4+3-x)/4.
    expect(scores(incoming([soft("zone", 1)]), existing([1, 2, 2, 0]))).toEqual([75, 75, 100, 100]);
  });
  it("nodes without the topology label get 0 when the constraint is the pod's own", () => {
    const nodes = zoneNodes();
    delete nodes[3]!.metadata!.labels!["zone"];
    expect(scores(incoming([soft("zone", 1)]), existing([1, 0, 0, 0], nodes), nodes)).toEqual([0, 0, 100, 0]);
  });
  it("skips pods without soft constraints and without a default selector", () => {
    expect(scores(makePod("p", { labels: { app: "web" } }), [])).toBe("Skip");
  });

  it("system default constraints spread a ReplicaSet's pods by hostname and zone", () => {
    const rs: ReplicaSet = { metadata: { name: "web-123", namespace: "default" }, spec: { selector: { matchLabels: { app: "web" } }, template: {} } };
    const owner = { apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-123" };
    const Z = "topology.kubernetes.io/zone";
    const nodes = [makeNode("node-a", { labels: { [Z]: "z1" } }), makeNode("node-b", { labels: { [Z]: "z1" } }), makeNode("node-x", { labels: { [Z]: "z2" } }), makeNode("node-y", { labels: { [Z]: "z2" } })];
    const pods = [makePod("w1", { nodeName: "node-a", labels: { app: "web" }, owner }), makePod("w2", { nodeName: "node-a", labels: { app: "web" }, owner }), makePod("w3", { nodeName: "node-x", labels: { app: "web" }, owner })];
    const s = scores(makePod("p", { labels: { app: "web" }, owner }), pods, nodes, { replicaSets: [rs] });
    expect(Array.isArray(s)).toBe(true);
    const [a, b, x, y] = s as number[];
    // hostname weight log 6, zone weight log 4: raw a 12, b 9, x 9, y 7 → 100·(19 - raw)/12.
    expect([a, b, x, y]).toEqual([58, 83, 83, 100]);
    // Without the zone label only hostname spreading applies (system defaults do not require every key).
    const hostOnly = scores(makePod("p", { labels: { app: "web" }, owner }), pods.map((p) => ({ ...p })), zoneNodes(), { replicaSets: [rs] });
    expect(hostOnly).toEqual([33, 100, 66, 100]);
  });
  it("system defaults also follow Services selecting the pod, and ignore pods other selectors pick", () => {
    const svc = { metadata: { name: "svc", namespace: "default" }, spec: { selector: { app: "db" } } };
    const pods = [makePod("d1", { nodeName: "node-b", labels: { app: "db" } }), makePod("x1", { nodeName: "node-x", labels: { app: "other" } })];
    const s = scores(makePod("p", { labels: { app: "db" } }), pods, zoneNodes(), { services: [svc] }) as number[];
    expect(s[1]).toBe(Math.min(...s));
    expect(s[2]).toBe(100);
  });

  it("a long-lived plugin (with its cross-cycle counts) scores exactly as a fresh one, cycle after cycle", () => {
    const Z = "topology.kubernetes.io/zone";
    const rs: ReplicaSet = { metadata: { name: "web-1", namespace: "default" }, spec: { selector: { matchLabels: { app: "web" } }, template: {} } };
    const owner = { apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-1" };
    const nodes = Array.from({ length: 7 }, (_, i) => makeNode(`n${i}`, { labels: i === 6 ? {} : { [Z]: `z${i % 3}` } }));
    const snapshot = snapshotOf(nodes);
    const data = listersOf({ replicaSets: [rs] });
    const longLived = new PodTopologySpread(handleOf(snapshot, data));
    const soft = [constraint(Z, 1, { whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: { app: "web" } } })];
    const hard = [constraint(Z, 2, { labelSelector: { matchLabels: { app: "web" } } })];
    for (let round = 0; round < 30; round++) {
      const variants = [makePod(`d${round}`, { labels: { app: "web" }, owner }), makePod(`s${round}`, { labels: { app: "web" }, spec: { topologySpreadConstraints: soft } }), makePod(`h${round}`, { labels: { app: "web" }, spec: { topologySpreadConstraints: hard } })];
      for (const pod of variants) {
        const results = [longLived, new PodTopologySpread(handleOf(snapshot, data))].map((pl) => {
          const pi = newPodInfo(pod);
          const state = new CycleState();
          const pre = pl.preFilter(state, pi).status;
          const filters = pre === null ? snapshot.nodeInfoList.map((n) => pl.filter(state, pi, n)?.message() ?? "ok") : pre.code;
          const ps = pl.preScore(state, pi, snapshot.nodeInfoList);
          const sc = ps === null ? snapshot.nodeInfoList.map((n) => pl.score(state, pi, n)) : ps.code;
          return { filters, sc };
        });
        expect(results[0]).toEqual(results[1]);
      }
      // Place one replica, and now and then remove one, so counts move between cycles.
      const target = snapshot.nodeInfoList[(round * 5) % 7]!;
      target.addPod(makePod(`w${round}`, { labels: { app: "web" }, owner, nodeName: target.name }));
      if (round % 4 === 3) {
        const victim = snapshot.nodeInfoList[round % 7]!;
        if (victim.pods.length > 0) victim.removePod(victim.pods[0]!.pod);
      }
    }
  });
});
