import { describe, expect, it } from "vitest";
import type { Taint, Toleration } from "kubernetes-types/core/v1.js";
import { NodeInfo } from "@kubemu/scheduler";
import { TaintToleration } from "../src/plugins/taint-toleration.js";
import { CycleState, makeNode, makePod, newPodInfo } from "./algo-fixtures.js";

const pl = new TaintToleration();

describe("TaintToleration Filter", () => {
  const cases: [string, Taint[], Toleration[] | undefined, string | null][] = [
    ["a pod without tolerations on an untainted node", [], undefined, null],
    ["a pod without tolerations on a tainted node", [{ key: "dedicated", value: "user1", effect: "NoSchedule" }], undefined, "node(s) had untolerated taint {dedicated: user1}"],
    ["an Equal toleration with the taint's value", [{ key: "dedicated", value: "user1", effect: "NoSchedule" }], [{ key: "dedicated", value: "user1", effect: "NoSchedule" }], null],
    ["an Equal toleration with another value", [{ key: "dedicated", value: "user1", effect: "NoSchedule" }], [{ key: "dedicated", operator: "Equal", value: "user2", effect: "NoSchedule" }], "node(s) had untolerated taint {dedicated: user1}"],
    ["an Exists toleration ignores the value", [{ key: "foo", value: "bar", effect: "NoSchedule" }], [{ key: "foo", operator: "Exists", effect: "NoSchedule" }], null],
    ["an empty effect tolerates every effect", [{ key: "foo", value: "bar", effect: "NoExecute" }], [{ key: "foo", value: "bar" }], null],
    ["PreferNoSchedule taints do not filter", [{ key: "foo", value: "bar", effect: "PreferNoSchedule" }], undefined, null],
    ["the not-ready taint prints with an empty value", [{ key: "node.kubernetes.io/not-ready", effect: "NoSchedule" }], undefined, "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"],
    ["the first untolerated taint is reported", [{ key: "a", value: "1", effect: "NoSchedule" }, { key: "b", value: "2", effect: "NoExecute" }], [{ key: "a", operator: "Exists" }], "node(s) had untolerated taint {b: 2}"],
  ];
  it.each(cases)("%s", (_n, taints, tolerations, want) => {
    const s = pl.filter(new CycleState(), newPodInfo(makePod("p", tolerations ? { tolerations } : {})), new NodeInfo(makeNode("n", { taints })));
    expect(s?.message() ?? null).toBe(want);
    if (s) expect(s.code).toBe("UnschedulableAndUnresolvable");
  });
});

describe("TaintToleration Score", () => {
  const score = (tolerations: Toleration[], nodes: Taint[][]) => {
    const state = new CycleState();
    const pi = newPodInfo(makePod("p", { tolerations }));
    const infos = nodes.map((t, i) => new NodeInfo(makeNode(`n${i}`, { taints: t })));
    pl.preScore(state, pi);
    const scores = infos.map((ni) => pl.score(state, pi, ni));
    pl.normalizeScore(state, pi, scores);
    return scores;
  };

  it("counts untolerated PreferNoSchedule taints and reverses: fewer is better (upstream's cases)", () => {
    expect(
      score(
        [{ key: "foo", operator: "Equal", value: "bar", effect: "PreferNoSchedule" }],
        [[{ key: "foo", value: "bar", effect: "PreferNoSchedule" }], [{ key: "foo", value: "blah", effect: "PreferNoSchedule" }]],
      ),
    ).toEqual([100, 0]);
    expect(
      score(
        [],
        [[], [{ key: "cpu-type", value: "arm64", effect: "PreferNoSchedule" }], [{ key: "cpu-type", value: "arm64", effect: "PreferNoSchedule" }, { key: "disk-type", value: "ssd", effect: "PreferNoSchedule" }]],
      ),
    ).toEqual([100, 50, 0]);
    // NoSchedule taints do not count for scoring.
    expect(score([], [[{ key: "a", value: "b", effect: "NoSchedule" }], []])).toEqual([100, 100]);
  });
});
