import { describe, expect, it } from "vitest";
import type { Affinity, NodeSelectorRequirement } from "kubernetes-types/core/v1.js";
import { NodeInfo } from "@kubemu/scheduler";
import { NodeAffinity } from "../src/plugins/node-affinity.js";
import { CycleState, makeNode, makePod, newPodInfo } from "./algo-fixtures.js";

const pl = new NodeAffinity();
const MISMATCH = "node(s) didn't match Pod's node affinity/selector";

function filter(spec: { nodeSelector?: Record<string, string>; affinity?: Affinity }, labels: Record<string, string>, nodeName = "node1") {
  const pi = newPodInfo(makePod("p", { spec }));
  const state = new CycleState();
  const pre = pl.preFilter(state, pi);
  if (pre.status?.code === "Skip") return { pre, status: null };
  if (pre.status !== null) return { pre, status: pre.status };
  return { pre, status: pl.filter(state, pi, new NodeInfo(makeNode(nodeName, { labels }))) };
}

const required = (...terms: { matchExpressions?: NodeSelectorRequirement[]; matchFields?: NodeSelectorRequirement[] }[]): Affinity => ({
  nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } },
});

describe("NodeAffinity Filter (upstream's table, condensed)", () => {
  it.each([
    ["no selector or affinity: skipped", {}, {}, null],
    ["nodeSelector matches", { nodeSelector: { foo: "bar" } }, { foo: "bar" }, null],
    ["nodeSelector does not match", { nodeSelector: { foo: "bar" } }, { foo: "baz" }, MISMATCH],
    ["nodeSelector key missing", { nodeSelector: { foo: "bar" } }, {}, MISMATCH],
    ["In matches", { affinity: required({ matchExpressions: [{ key: "foo", operator: "In", values: ["bar", "value2"] }] }) }, { foo: "bar" }, null],
    ["In does not match", { affinity: required({ matchExpressions: [{ key: "foo", operator: "In", values: ["value1", "value2"] }] }) }, { foo: "bar" }, MISMATCH],
    ["NotIn admits a missing label", { affinity: required({ matchExpressions: [{ key: "foo", operator: "NotIn", values: ["bar"] }] }) }, {}, null],
    ["Exists", { affinity: required({ matchExpressions: [{ key: "foo", operator: "Exists" }] }) }, { foo: "x" }, null],
    ["DoesNotExist", { affinity: required({ matchExpressions: [{ key: "foo", operator: "DoesNotExist" }] }) }, { foo: "x" }, MISMATCH],
    ["Gt compares integers", { affinity: required({ matchExpressions: [{ key: "kernel", operator: "Gt", values: ["5"] }] }) }, { kernel: "6" }, null],
    ["Gt with a non-integer label never matches", { affinity: required({ matchExpressions: [{ key: "kernel", operator: "Gt", values: ["5"] }] }) }, { kernel: "6.1" }, MISMATCH],
    ["Lt", { affinity: required({ matchExpressions: [{ key: "kernel", operator: "Lt", values: ["5"] }] }) }, { kernel: "6" }, MISMATCH],
    ["expressions of a term are ANDed", { affinity: required({ matchExpressions: [{ key: "foo", operator: "In", values: ["bar"] }, { key: "zone", operator: "Exists" }] }) }, { foo: "bar" }, MISMATCH],
    ["terms are ORed", { affinity: required({ matchExpressions: [{ key: "a", operator: "Exists" }] }, { matchExpressions: [{ key: "foo", operator: "Exists" }] }) }, { foo: "bar" }, null],
    ["an empty term selects nothing", { affinity: required({}) }, { foo: "bar" }, MISMATCH],
    ["no terms select nothing", { affinity: required() }, { foo: "bar" }, MISMATCH],
    ["an invalid term is ignored, the valid one still matches", { affinity: required({ matchExpressions: [{ key: "foo", operator: "Gt", values: ["x"] }] }, { matchExpressions: [{ key: "foo", operator: "Exists" }] }) }, { foo: "1" }, null],
    ["nodeSelector and affinity must both match", { nodeSelector: { a: "b" }, affinity: required({ matchExpressions: [{ key: "foo", operator: "Exists" }] }) }, { foo: "bar" }, MISMATCH],
    ["matchFields on metadata.name", { affinity: required({ matchFields: [{ key: "metadata.name", operator: "In", values: ["node1"] }] }) }, {}, null],
    ["matchFields on another name", { affinity: required({ matchFields: [{ key: "metadata.name", operator: "In", values: ["node2"] }] }) }, {}, MISMATCH],
  ] as const)("%s", (_n, spec, labels, want) => {
    const { status } = filter(spec as never, labels);
    expect(status?.message() ?? null).toBe(want);
    if (status) expect(status.code).toBe("UnschedulableAndUnresolvable");
  });

  it("PreFilter narrows to the nodes every term names, and reports conflicting names", () => {
    const names = filter({ affinity: required({ matchFields: [{ key: "metadata.name", operator: "In", values: ["a", "b"] }] }, { matchFields: [{ key: "metadata.name", operator: "In", values: ["c"] }] }) }, {});
    expect([...(names.pre.result?.nodeNames ?? [])].sort()).toEqual(["a", "b", "c"]);
    const anyTerm = filter({ affinity: required({ matchFields: [{ key: "metadata.name", operator: "In", values: ["a"] }] }, { matchExpressions: [{ key: "x", operator: "Exists" }] }) }, {});
    expect(anyTerm.pre.result).toBeUndefined();
    const conflict = filter({ affinity: required({ matchFields: [{ key: "metadata.name", operator: "In", values: ["a"] }, { key: "metadata.name", operator: "In", values: ["b"] }] }) }, {});
    expect(conflict.status?.code).toBe("UnschedulableAndUnresolvable");
    expect(conflict.status?.message()).toBe("pod affinity terms conflict");
  });
});

describe("NodeAffinity Score", () => {
  it("sums the weights of matching preferred terms and normalizes to the best node (upstream's case)", () => {
    const affinity: Affinity = {
      nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 2, preference: { matchExpressions: [{ key: "foo", operator: "In", values: ["bar"] }] } },
          { weight: 4, preference: { matchExpressions: [{ key: "key", operator: "In", values: ["value"] }] } },
          {
            weight: 5,
            preference: {
              matchExpressions: [
                { key: "foo", operator: "In", values: ["bar"] },
                { key: "key", operator: "In", values: ["value"] },
                { key: "az", operator: "In", values: ["az1"] },
              ],
            },
          },
        ],
      },
    };
    const pi = newPodInfo(makePod("p", { spec: { affinity } }));
    const state = new CycleState();
    expect(pl.preScore(state, pi)).toBeNull();
    const nodes = [makeNode("m1", { labels: { foo: "bar" } }), makeNode("m5", { labels: { foo: "bar", key: "value", az: "az1" } }), makeNode("m2", { labels: { key: "value" } })].map((n) => new NodeInfo(n));
    const scores = nodes.map((n) => pl.score(state, pi, n));
    expect(scores).toEqual([2, 11, 4]);
    pl.normalizeScore(state, pi, scores);
    expect(scores).toEqual([18, 100, 36]);
  });

  it("skips pods without preferred terms", () => {
    expect(pl.preScore(new CycleState(), newPodInfo(makePod("p")))?.code).toBe("Skip");
  });
});
