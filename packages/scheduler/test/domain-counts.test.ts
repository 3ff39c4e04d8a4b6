import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { NodeInfo } from "@kubemu/scheduler";
import { DomainCounts } from "../src/plugins/helper/domain-counts.js";
import { makeNode, makePod } from "./algo-fixtures.js";

const Z = "topology.kubernetes.io/zone";
const countApp = (ni: NodeInfo) => ni.pods.filter((p) => p.pod.metadata?.labels?.["app"] === "web").length;

/** The counts recomputed from scratch, as upstream does every cycle. */
function bruteForce(list: NodeInfo[], requireAll: boolean, keys: string[]) {
  const totals = new Map<string, number>();
  for (const ni of list) {
    const labels = ni.node?.metadata?.labels ?? {};
    if (ni.node === undefined) continue;
    if (requireAll && keys.some((k) => labels[k] === undefined)) continue;
    const v = requireAll ? labels[Z]! : (labels[Z] ?? "");
    totals.set(v, (totals.get(v) ?? 0) + countApp(ni));
  }
  return totals;
}

type Op = { kind: "add"; node: number; web: boolean } | { kind: "remove"; node: number } | { kind: "relabel"; node: number; zone: string | undefined } | { kind: "replace"; node: number } | { kind: "drop" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("add" as const), node: fc.nat(5), web: fc.boolean() }),
  fc.record({ kind: fc.constant("remove" as const), node: fc.nat(5) }),
  fc.record({ kind: fc.constant("relabel" as const), node: fc.nat(5), zone: fc.option(fc.constantFrom("a", "b", "c"), { nil: undefined }) }),
  fc.record({ kind: fc.constant("replace" as const), node: fc.nat(5) }),
  fc.record({ kind: fc.constant("drop" as const) }),
);

describe("DomainCounts", () => {
  it("stays equal to a full recount through pod adds/removes, relabels, NodeInfo replacements and node removals", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), fc.boolean(), (ops, requireAll) => {
        const keys = requireAll ? [Z, "kubernetes.io/hostname"] : [];
        let list = Array.from({ length: 6 }, (_, i) => new NodeInfo(makeNode(`n${i}`, { labels: { [Z]: "abc"[i % 3]! } })));
        const dc = new DomainCounts(Z, keys, requireAll);
        let k = 0;
        for (const op of ops) {
          const ni = list[op.kind === "drop" ? 0 : op.node % Math.max(1, list.length)];
          if (op.kind === "add" && ni) ni.addPod(makePod(`p${k++}`, { labels: { app: op.web ? "web" : "db" } }));
          if (op.kind === "remove" && ni && ni.pods.length > 0) ni.removePod(ni.pods[0]!.pod);
          if (op.kind === "relabel" && ni?.node) {
            const labels = { ...ni.node.metadata!.labels! };
            if (op.zone === undefined) delete labels[Z];
            else labels[Z] = op.zone;
            ni.setNode({ ...ni.node, metadata: { ...ni.node.metadata, labels } });
          }
          // The cache may hand the snapshot a copy of a changed NodeInfo.
          if (op.kind === "replace" && ni) list = list.map((x) => (x === ni ? ni.clone() : x));
          if (op.kind === "drop" && list.length > 1) list = list.slice(1);
          dc.sync(list, countApp);
          expect(new Map([...dc.totals].filter(([, n]) => n !== 0))).toEqual(new Map([...bruteForce(list, requireAll, keys)].filter(([, n]) => n !== 0)));
          // Every domain with an eligible node exists, even with no matching pod.
          expect([...dc.domainNodes.keys()].sort()).toEqual([...bruteForce(list, requireAll, keys).keys()].sort());
        }
      }),
      { numRuns: 300 },
    );
  });
});
