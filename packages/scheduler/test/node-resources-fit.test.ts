import { describe, expect, it } from "vitest";
import { NodeInfo } from "@kubemu/scheduler";
import { NodeResourcesFit, fitsRequest, leastRequestedScore } from "../src/plugins/node-resources-fit.js";
import { CycleState, makeNode, makePod, newPodInfo } from "./algo-fixtures.js";

const c = (name: string, requests: Record<string, string>, restartPolicy?: string) => ({ name, image: "x", resources: { requests }, ...(restartPolicy ? { restartPolicy } : {}) });

/** A node with cpu 10 / memory 20 / pods 32 / example.com/aaa 5 / hugepages 5, and the given used pods. */
function node(used: Record<string, string>[] = [], o: { pods?: number } = {}): NodeInfo {
  const ni = new NodeInfo(makeNode("n", { cpu: "10m", memory: "20", pods: o.pods ?? 32, extra: { "example.com/aaa": "5", "hugepages-2Mi": "5" }, ephemeral: "20" }));
  used.forEach((r, i) => ni.addPod(makePod(`used${i}`, { requests: r })));
  return ni;
}

function filter(pod: ReturnType<typeof makePod>, ni: NodeInfo, opts = {}) {
  const pl = new NodeResourcesFit(opts);
  const state = new CycleState();
  const pi = newPodInfo(pod);
  pl.preFilter();
  return pl.filter(state, pi, ni);
}

describe("NodeResourcesFit Filter (upstream's fit_test cases)", () => {
  it.each([
    ["no resources requested always fits", {}, [{ cpu: "10m", memory: "20" }], []],
    ["too many resources fails", { cpu: "1m", memory: "1" }, [{ cpu: "10m", memory: "20" }], ["Insufficient cpu", "Insufficient memory"]],
    ["too many cpu only", { cpu: "1m", memory: "1" }, [{ cpu: "10m", memory: "5" }], ["Insufficient cpu"]],
    ["equal edge case fits", { cpu: "5m", memory: "4" }, [{ cpu: "5m", memory: "16" }], []],
    ["extended resource fits", { "example.com/aaa": "1" }, [], []],
    ["extended resource capacity enforced", { "example.com/aaa": "6" }, [], ["Insufficient example.com/aaa"]],
    ["extended resource allocatable enforced with used", { "example.com/aaa": "3" }, [{ "example.com/aaa": "3" }], ["Insufficient example.com/aaa"]],
    ["an unknown extended resource is insufficient", { "example.com/bbb": "1" }, [], ["Insufficient example.com/bbb"]],
    ["hugepages enforced", { "hugepages-2Mi": "6" }, [], ["Insufficient hugepages-2Mi"]],
    ["ephemeral-storage enforced", { "ephemeral-storage": "25" }, [], ["Insufficient ephemeral-storage"]],
  ] as const)("%s", (_n, req, used, want) => {
    const s = filter(makePod("p", { requests: { ...req } }), node(used.map((u) => ({ ...u }))));
    expect(s?.reasons ?? []).toEqual(want);
    if (s) expect(s.code).toBe("Unschedulable");
  });

  it("counts the init containers' maximum, not their sum", () => {
    const pod = makePod("p", { initContainers: [c("i1", { cpu: "3m" }), c("i2", { cpu: "2m" })], containers: [c("c", { cpu: "1m" })] });
    expect(filter(pod, node([{ cpu: "7m" }]))).toBeNull();
    expect(filter(pod, node([{ cpu: "8m" }]))?.reasons).toEqual(["Insufficient cpu"]);
  });

  it("counts restartable init containers alongside the containers", () => {
    const pod = makePod("p", { initContainers: [c("s", { cpu: "2m" }, "Always")], containers: [c("c", { cpu: "2m" })] });
    expect(filter(pod, node([{ cpu: "6m" }]))).toBeNull();
    expect(filter(pod, node([{ cpu: "7m" }]))?.reasons).toEqual(["Insufficient cpu"]);
  });

  it("counts the overhead", () => {
    const pod = makePod("p", { cpu: "1m", spec: { overhead: { cpu: "3m" } } });
    expect(filter(pod, node([{ cpu: "6m" }]))).toBeNull();
    expect(filter(pod, node([{ cpu: "7m" }]))?.reasons).toEqual(["Insufficient cpu"]);
  });

  it("rejects a node at its pod limit with 'Too many pods', whatever the request", () => {
    expect(filter(makePod("p"), node([{}], { pods: 1 }))?.reasons).toEqual(["Too many pods"]);
    expect(filter(makePod("p", { cpu: "20m" }), node([{}], { pods: 1 }))?.reasons).toEqual(["Too many pods", "Insufficient cpu"]);
  });

  it("skips ignored extended resources and resource groups", () => {
    const pod = makePod("p", { requests: { "example.com/aaa": "10", "foo.com/bar": "1" } });
    expect(filter(pod, node(), { ignoredResources: ["example.com/aaa"] })?.reasons).toEqual(["Insufficient foo.com/bar"]);
    expect(filter(pod, node(), { ignoredResourceGroups: ["example.com", "foo.com"] })).toBeNull();
  });

  it("reports what was requested, used and available", () => {
    const r = fitsRequest(newPodInfo(makePod("p", { cpu: "4m" })).requests, node([{ cpu: "8m" }]));
    expect(r).toEqual([{ resourceName: "cpu", reason: "Insufficient cpu", requested: 4, used: 8, capacity: 10 }]);
  });
});

describe("NodeResourcesFit Score (LeastAllocated)", () => {
  const pl = new NodeResourcesFit();
  const score = (pod: ReturnType<typeof makePod>, nodes: NodeInfo[]) => {
    const pi = newPodInfo(pod);
    const state = new CycleState();
    pl.preScore();
    return nodes.map((n) => pl.score(state, pi, n));
  };

  it("nothing scheduled, resources requested, differently sized nodes (upstream's case)", () => {
    const nodes = [new NodeInfo(makeNode("n1", { cpu: "4000m", memory: "10000" })), new NodeInfo(makeNode("n2", { cpu: "6000m", memory: "10000" }))];
    expect(score(makePod("p", { cpu: "3000m", memory: "5000" }), nodes)).toEqual([37, 50]);
  });

  it("resources requested with pods scheduled with resources (upstream's case)", () => {
    const n1 = new NodeInfo(makeNode("n1", { cpu: "10000m", memory: "20000" }));
    n1.addPod(makePod("a", { cpu: "3000m", memory: "0" }));
    n1.addPod(makePod("b", { cpu: "3000m", memory: "5000" }));
    const n2 = new NodeInfo(makeNode("n2", { cpu: "10000m", memory: "50000" }));
    n2.addPod(makePod("c", { cpu: "3000m", memory: "5000" }));
    n2.addPod(makePod("d", { cpu: "3000m", memory: "0" }));
    // cpu (10000-9000)/10000 = 10, memory (20000-10000)/20000 = 50 → 30; n2: 10, (50000-10000)/50000 = 80 → 45.
    expect(score(makePod("p", { cpu: "3000m", memory: "5000" }), [n1, n2])).toEqual([30, 45]);
  });

  it("uses the non-zero defaults for pods without requests", () => {
    const n = new NodeInfo(makeNode("n", { cpu: "1000m", memory: String(2000 * 1024 * 1024) }));
    // 100m of 1000m → 90; 200Mi of 2000Mi → 90.
    expect(score(makePod("p"), [n])).toEqual([90]);
  });

  it("leastRequestedScore clamps and integer-divides", () => {
    expect(leastRequestedScore(0, 0)).toBe(0);
    expect(leastRequestedScore(11, 10)).toBe(0);
    expect(leastRequestedScore(1, 3)).toBe(66);
  });
});
