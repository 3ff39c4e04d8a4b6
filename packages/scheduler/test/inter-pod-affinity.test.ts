import { describe, expect, it } from "vitest";
import type { Affinity, Namespace, Pod, PodAffinityTerm } from "kubernetes-types/core/v1.js";
import { InterPodAffinity } from "../src/plugins/inter-pod-affinity.js";
import { CycleState, handleOf, listersOf, makeNode, makePod, newPodInfo, snapshotOf } from "./algo-fixtures.js";

const AFF = "node(s) didn't match pod affinity rules";
const ANTI = "node(s) didn't match pod anti-affinity rules";
const EXISTING = "node(s) didn't satisfy existing pods anti-affinity rules";

const term = (key: string, values: string[], topologyKey: string, extra: Partial<PodAffinityTerm> = {}): PodAffinityTerm => ({
  labelSelector: { matchExpressions: [{ key, operator: "In", values }] },
  topologyKey,
  ...extra,
});
const affinity = (t: PodAffinityTerm[]): Affinity => ({ podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: t } });
const anti = (t: PodAffinityTerm[]): Affinity => ({ podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: t } });

const nodes = () => [
  makeNode("m1", { labels: { region: "r1", zone: "z11" } }),
  makeNode("m2", { labels: { region: "r1", zone: "z12" } }),
  makeNode("m3", { labels: { region: "r2", zone: "z21" } }),
];

function filter(pod: Pod, existing: Pod[], namespaces: Namespace[] = []) {
  const snapshot = snapshotOf(nodes(), existing);
  const pl = new InterPodAffinity(handleOf(snapshot, listersOf({ namespaces })));
  const pi = newPodInfo(pod);
  const state = new CycleState();
  const pre = pl.preFilter(state, pi).status;
  if (pre !== null) return pre.code;
  return snapshot.nodeInfoList.map((ni) => {
    const s = pl.filter(state, pi, ni);
    return s === null ? "ok" : `${s.code === "Unschedulable" ? "U" : "UU"}: ${s.message()}`;
  });
}

const onNode = (name: string, node: string, labels: Record<string, string>, extra: Parameters<typeof makePod>[1] = {}) => makePod(name, { nodeName: node, labels, ...extra });

describe("InterPodAffinity Filter (upstream's filtering_test cases, condensed)", () => {
  it("a pod without affinity, with no anti-affinity around, skips the plugin", () => {
    expect(filter(makePod("p"), [onNode("e", "m1", { service: "securityscan" })])).toBe("Skip");
  });
  it("required affinity using In matches the existing pod's node (and its region)", () => {
    const pod = makePod("p", { labels: { foo: "bar" }, spec: { affinity: affinity([term("service", ["securityscan", "value2"], "region")]) } });
    expect(filter(pod, [onNode("e", "m1", { service: "securityscan" })])).toEqual(["ok", "ok", `UU: ${AFF}`]);
  });
  it("affinity terms are ANDed and must all match the same pod", () => {
    const pod = makePod("p", { spec: { affinity: affinity([term("service", ["securityscan"], "region"), term("tier", ["db"], "region")]) } });
    expect(filter(pod, [onNode("e1", "m1", { service: "securityscan" }), onNode("e2", "m1", { tier: "db" })])).toEqual([`UU: ${AFF}`, `UU: ${AFF}`, `UU: ${AFF}`]);
    expect(filter(pod, [onNode("e1", "m1", { service: "securityscan", tier: "db" })])).toEqual(["ok", "ok", `UU: ${AFF}`]);
  });
  it("the first pod of a group with affinity to itself may go anywhere with the topology", () => {
    const pod = makePod("p", { labels: { app: "web" }, spec: { affinity: affinity([term("app", ["web"], "zone")]) } });
    expect(filter(pod, [])).toEqual(["ok", "ok", "ok"]);
    const noZone = makePod("p", { labels: { app: "web" }, spec: { affinity: affinity([term("app", ["web"], "rack")]) } });
    expect(filter(noZone, [])).toEqual([`UU: ${AFF}`, `UU: ${AFF}`, `UU: ${AFF}`]);
    // A pod that does not match its own terms cannot bootstrap.
    const other = makePod("p", { labels: { app: "api" }, spec: { affinity: affinity([term("app", ["web"], "zone")]) } });
    expect(filter(other, [])).toEqual([`UU: ${AFF}`, `UU: ${AFF}`, `UU: ${AFF}`]);
  });
  it("matching pods in other namespaces do not count unless the term names them", () => {
    const pod = makePod("p", { spec: { affinity: affinity([term("service", ["s"], "region")]) } });
    const elsewhere = onNode("e", "m1", { service: "s" }, { namespace: "ns2" });
    expect(filter(pod, [elsewhere])).toEqual([`UU: ${AFF}`, `UU: ${AFF}`, `UU: ${AFF}`]);
    const named = makePod("p", { spec: { affinity: affinity([term("service", ["s"], "region", { namespaces: ["ns2"] })]) } });
    expect(filter(named, [elsewhere])).toEqual(["ok", "ok", `UU: ${AFF}`]);
  });
  it("a namespaceSelector selects namespaces by their labels", () => {
    const pod = makePod("p", { spec: { affinity: affinity([term("service", ["s"], "region", { namespaceSelector: { matchLabels: { team: "a" } } })]) } });
    const ns: Namespace[] = [{ metadata: { name: "ns2", labels: { team: "a" } } }, { metadata: { name: "ns3", labels: { team: "b" } } }];
    expect(filter(pod, [onNode("e", "m3", { service: "s" }, { namespace: "ns2" })], ns)).toEqual([`UU: ${AFF}`, `UU: ${AFF}`, "ok"]);
    expect(filter(pod, [onNode("e", "m3", { service: "s" }, { namespace: "ns3" })], ns)).toEqual([`UU: ${AFF}`, `UU: ${AFF}`, `UU: ${AFF}`]);
    const everyNs = makePod("p", { spec: { affinity: affinity([term("service", ["s"], "region", { namespaceSelector: {} })]) } });
    expect(filter(everyNs, [onNode("e", "m3", { service: "s" }, { namespace: "ns3" })], ns)).toEqual([`UU: ${AFF}`, `UU: ${AFF}`, "ok"]);
  });
  it("required anti-affinity keeps the pod out of the matching pod's domain", () => {
    const pod = makePod("p", { spec: { affinity: anti([term("service", ["securityscan"], "zone")]) } });
    expect(filter(pod, [onNode("e", "m1", { service: "securityscan" })])).toEqual([`U: ${ANTI}`, "ok", "ok"]);
    const byRegion = makePod("p", { spec: { affinity: anti([term("service", ["securityscan"], "region")]) } });
    expect(filter(byRegion, [onNode("e", "m1", { service: "securityscan" })])).toEqual([`U: ${ANTI}`, `U: ${ANTI}`, "ok"]);
  });
  it("an existing pod's anti-affinity keeps matching pods out of its domain", () => {
    const existing = onNode("e", "m2", { app: "db" }, { spec: { affinity: anti([term("app", ["web"], "region")]) } });
    expect(filter(makePod("p", { labels: { app: "web" } }), [existing])).toEqual([`U: ${EXISTING}`, `U: ${EXISTING}`, "ok"]);
    expect(filter(makePod("p", { labels: { app: "api" } }), [existing])).toBe("Skip");
  });
  it("affinity is checked before anti-affinity", () => {
    const pod = makePod("p", { labels: { app: "x" }, spec: { affinity: { ...affinity([term("service", ["s"], "region")]), ...anti([term("app", ["y"], "zone")]) } } });
    expect(filter(pod, [onNode("e", "m1", { service: "s" }), onNode("f", "m2", { app: "y" })])).toEqual(["ok", `U: ${ANTI}`, `UU: ${AFF}`]);
  });
  it("RemovePod frees the domain for preemption's dry run", () => {
    const snapshot = snapshotOf(nodes(), [onNode("e", "m1", { service: "s" })]);
    const pl = new InterPodAffinity(handleOf(snapshot));
    const pi = newPodInfo(makePod("p", { spec: { affinity: anti([term("service", ["s"], "zone")]) } }));
    const state = new CycleState();
    pl.preFilter(state, pi);
    const m1 = snapshot.nodeInfoList[0]!;
    expect(pl.filter(state, pi, m1)?.message()).toBe(ANTI);
    const copy = state.clone();
    pl.removePod(copy, pi, m1.pods[0]!, m1);
    expect(pl.filter(copy, pi, m1)).toBeNull();
    expect(pl.filter(state, pi, m1)?.message()).toBe(ANTI);
  });
});

describe("InterPodAffinity Score", () => {
  function score(pod: Pod, existing: Pod[]) {
    const snapshot = snapshotOf(nodes(), existing);
    const pl = new InterPodAffinity(handleOf(snapshot));
    const pi = newPodInfo(pod);
    const state = new CycleState();
    const s = pl.preScore(state, pi, snapshot.nodeInfoList);
    if (s !== null) return s.code;
    const out = snapshot.nodeInfoList.map((n) => pl.score(state, pi, n));
    pl.normalizeScore(state, pi, out);
    return out;
  }
  const preferred = (weight: number, t: PodAffinityTerm) => [{ weight, podAffinityTerm: t }];

  it("preferred affinity favours the region of matching pods (upstream's case)", () => {
    const pod = makePod("p", { spec: { affinity: { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: preferred(5, term("security", ["S1"], "region")) } } } });
    expect(score(pod, [onNode("e", "m1", { security: "S1" })])).toEqual([100, 100, 0]);
  });
  it("preferred anti-affinity pushes away from matching pods", () => {
    const pod = makePod("p", { spec: { affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: preferred(5, term("security", ["S1"], "zone")) } } } });
    expect(score(pod, [onNode("e", "m1", { security: "S1" })])).toEqual([0, 100, 100]);
  });
  it("existing pods' required affinity attracts matching pods with hardPodAffinityWeight 1", () => {
    const existing = onNode("e", "m3", { app: "db" }, { spec: { affinity: affinity([term("app", ["web"], "region")]) } });
    expect(score(makePod("p", { labels: { app: "web" } }), [existing])).toEqual([0, 0, 100]);
  });
  it("skips when no term applies", () => {
    expect(score(makePod("p"), [onNode("e", "m1", { a: "b" })])).toBe("Skip");
  });
});
