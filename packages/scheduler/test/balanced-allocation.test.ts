import { describe, expect, it } from "vitest";
import { NodeInfo } from "@kubemu/scheduler";
import { BalancedAllocation, balancedResourceScore } from "../src/plugins/balanced-allocation.js";
import { CycleState, makeNode, makePod, newPodInfo } from "./algo-fixtures.js";

const pl = new BalancedAllocation();

describe("NodeResourcesBalancedAllocation", () => {
  it("scores (1 - |cpuFraction - memFraction| / 2) × 100 with the pod added (upstream's case)", () => {
    // node1 4000m/10000: cpu 3000/4000 = 0.75, memory 5000/10000 = 0.5 → std 0.125 → 87.
    // node2 6000m/10000: cpu 0.5, memory 0.5 → 100.
    const pi = newPodInfo(makePod("p", { cpu: "3000m", memory: "5000" }));
    const state = new CycleState();
    expect(pl.preScore(state, pi)).toBeNull();
    const nodes = [new NodeInfo(makeNode("n1", { cpu: "4000m", memory: "10000" })), new NodeInfo(makeNode("n2", { cpu: "6000m", memory: "10000" }))];
    expect(nodes.map((n) => pl.score(state, pi, n))).toEqual([87, 100]);
  });

  it("counts existing pods' actual requests (not the non-zero defaults)", () => {
    const n = new NodeInfo(makeNode("n", { cpu: "4000m", memory: "10000" }));
    n.addPod(makePod("a", { cpu: "1000m", memory: "0" }));
    n.addPod(makePod("b"));
    const pi = newPodInfo(makePod("p", { cpu: "1000m", memory: "5000" }));
    // cpu 2000/4000 = 0.5, memory 5000/10000 = 0.5.
    expect(pl.score(new CycleState(), pi, n)).toBe(100);
  });

  it("caps fractions at 1 and skips best-effort pods", () => {
    expect(balancedResourceScore([20, 5], [10, 10])).toBe(75);
    expect(balancedResourceScore([1, 2, 3], [0, 4, 4])).toBe(87);
    expect(balancedResourceScore([1, 1, 3], [4, 4, 4])).toBe(76);
    expect(pl.preScore(new CycleState(), newPodInfo(makePod("p")))?.code).toBe("Skip");
  });
});
