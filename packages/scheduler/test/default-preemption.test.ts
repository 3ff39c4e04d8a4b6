import { describe, expect, it } from "vitest";
import type { Pod } from "kubernetes-types/core/v1.js";
import type { PodDisruptionBudget } from "kubernetes-types/policy/v1.js";
import { SeededRng } from "@kubemu/common";
import { NodeToStatus, Status, newDefaultProfile, newPodInfo } from "@kubemu/scheduler";
import { filterPodsWithPDBViolation } from "../src/plugins/default-preemption.js";
import { CycleState, listersOf, makeNode, makePod, snapshotOf, type ListerData } from "./algo-fixtures.js";

const NOW = Date.parse("2024-06-01T00:00:00Z");

function profile(nodes = [makeNode("n1", { cpu: "2" })], pods: Pod[] = [], data: ListerData = {}) {
  const snapshot = snapshotOf(nodes, pods);
  const p = newDefaultProfile({ listers: listersOf(data), rng: new SeededRng(1), now: () => NOW });
  p.framework.handle.snapshot = snapshot;
  return { ...p, snapshot };
}

function preFiltered(fw: ReturnType<typeof profile>["framework"], pod: Pod) {
  const state = new CycleState();
  const pi = newPodInfo(pod);
  fw.runPreFilterPlugins(state, pi);
  return { state, pi };
}

describe("DefaultPreemption.selectVictimsOnNode", () => {
  it("reports no victims when nothing on the node has a lower priority", () => {
    const p = profile(undefined, [makePod("a", { nodeName: "n1", priority: 5, cpu: "2" })]);
    const { state, pi } = preFiltered(p.framework, makePod("vip", { priority: 5, cpu: "1" }));
    const r = p.preemption.selectVictimsOnNode(state, pi, p.snapshot.get("n1")!.clone(), []);
    expect(r.status?.message()).toBe("No preemption victims found for incoming pod");
    expect(r.status?.code).toBe("UnschedulableAndUnresolvable");
  });

  it("returns the filter's status when even an empty node would not fit", () => {
    const p = profile(undefined, [makePod("a", { nodeName: "n1", priority: 0, cpu: "1" })]);
    const { state, pi } = preFiltered(p.framework, makePod("vip", { priority: 5, cpu: "3" }));
    expect(p.preemption.selectVictimsOnNode(state, pi, p.snapshot.get("n1")!.clone(), []).status?.message()).toBe("Insufficient cpu");
  });

  it("keeps the most important pods (priority, then the earlier start) and leaves the snapshot alone", () => {
    const pods = [
      makePod("young", { nodeName: "n1", priority: 1, cpu: "1", status: { startTime: "2024-05-01T00:00:00Z" } }),
      makePod("old", { nodeName: "n1", priority: 1, cpu: "1", status: { startTime: "2024-01-01T00:00:00Z" } }),
    ];
    const p = profile(undefined, pods);
    const { state, pi } = preFiltered(p.framework, makePod("vip", { priority: 5, cpu: "1" }));
    const r = p.preemption.selectVictimsOnNode(state, pi, p.snapshot.get("n1")!.clone(), []);
    expect(r.status).toBeNull();
    expect(r.victims.map((v) => v.pod.metadata!.name)).toEqual(["young"]);
    expect(p.snapshot.get("n1")!.pods).toHaveLength(2);
  });

  it("reprieves PDB-protected pods first and counts the violations it cannot avoid", () => {
    const pdb: PodDisruptionBudget = { metadata: { name: "b", namespace: "default" }, spec: { selector: { matchLabels: { app: "db" } } }, status: { disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2, expectedPods: 2 } };
    const pods = [makePod("db1", { nodeName: "n1", priority: 1, cpu: "1", labels: { app: "db" } }), makePod("web", { nodeName: "n1", priority: 3, cpu: "1" })];
    const p = profile(undefined, pods);
    const { state, pi } = preFiltered(p.framework, makePod("vip", { priority: 5, cpu: "1" }));
    const r = p.preemption.selectVictimsOnNode(state, pi, p.snapshot.get("n1")!.clone(), [pdb]);
    // db1 is tried first (it violates the PDB) and fits back; web, though more important, goes.
    expect(r.victims.map((v) => v.pod.metadata!.name)).toEqual(["web"]);
    expect(r.numPDBViolations).toBe(0);
    const both = p.preemption.selectVictimsOnNode(state.clone(), newPodInfo(makePod("vip", { priority: 5, cpu: "2" })), p.snapshot.get("n1")!.clone(), [pdb]);
    expect(both.victims.map((v) => v.pod.metadata!.name)).toEqual(["web", "db1"]);
    expect(both.numPDBViolations).toBe(1);
  });
});

describe("filterPodsWithPDBViolation", () => {
  const pdb = (allowed: number, disrupted: Record<string, string> = {}, selector: PodDisruptionBudget["spec"] = { selector: { matchLabels: { app: "x" } } }): PodDisruptionBudget => ({
    metadata: { name: "b", namespace: "default" },
    spec: selector,
    status: { disruptionsAllowed: allowed, disruptedPods: disrupted, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 },
  });
  const pods = ["a", "b", "c"].map((n) => newPodInfo(makePod(n, { labels: { app: "x" } })));
  const names = (r: ReturnType<typeof filterPodsWithPDBViolation>) => [r.violating.map((p) => p.pod.metadata!.name), r.nonViolating.map((p) => p.pod.metadata!.name)];

  it("spends the allowed disruptions in order", () => {
    expect(names(filterPodsWithPDBViolation(pods, [pdb(1)]))).toEqual([["b", "c"], ["a"]]);
  });
  it("does not count pods already being disrupted", () => {
    expect(names(filterPodsWithPDBViolation(pods, [pdb(1, { a: "2024-01-01T00:00:00Z" })]))).toEqual([["c"], ["a", "b"]]);
  });
  it("ignores PDBs in other namespaces and empty selectors", () => {
    expect(names(filterPodsWithPDBViolation(pods, [{ ...pdb(0), metadata: { name: "b", namespace: "other" } }]))).toEqual([[], ["a", "b", "c"]]);
    expect(names(filterPodsWithPDBViolation(pods, [pdb(0, {}, { selector: {} })]))).toEqual([[], ["a", "b", "c"]]);
  });
});

describe("DefaultPreemption eligibility", () => {
  it("waits while a victim of its earlier preemption is still terminating on the nominated node", () => {
    const made = makePod("victim", { nodeName: "n1", priority: 0, cpu: "2", status: { conditions: [{ type: "DisruptionTarget", status: "True", reason: "PreemptionByScheduler" }] } });
    const terminating = { ...made, metadata: { ...made.metadata, deletionTimestamp: "2024-06-01T00:00:00Z" } };
    const p = profile(undefined, [terminating]);
    const pod = makePod("vip", { priority: 5, cpu: "1", status: { nominatedNodeName: "n1" } });
    const { state, pi } = preFiltered(p.framework, pod);
    const statuses = new NodeToStatus();
    statuses.set("n1", new Status("Unschedulable", ["Insufficient cpu"]));
    const out = p.preemption.postFilter(state, pi, statuses);
    expect(out.status.message()).toBe("preemption: not eligible due to a terminating pod on the nominated node.");
    // An unresolvable nominated node lets it preempt again.
    statuses.set("n1", new Status("UnschedulableAndUnresolvable", ["node(s) were unschedulable"]));
    expect(p.preemption.postFilter(state, pi, statuses).status.message()).not.toContain("terminating");
  });
});
