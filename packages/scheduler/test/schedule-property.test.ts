/**
 * Properties of the algorithm over random clusters, checked against a plain oracle written from
 * the rules (not from the plugins): every placement satisfies cordons, taints, node selectors,
 * host ports and resources, placing pods one after another never overcommits a node, and a pod
 * the algorithm calls unschedulable really fits no node.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { Node, Pod, Taint } from "kubernetes-types/core/v1.js";
import { SeededRng } from "@kubemu/common";
import { SchedulingAlgorithm } from "@kubemu/scheduler";
import { listersOf, makeNode, makePod, snapshotOf } from "./algo-fixtures.js";

interface NodeSpec {
  milliCPU: number;
  memMi: number;
  maxPods: number;
  zone: string;
  taint: "none" | "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

interface PodSpec {
  milliCPU: number;
  memMi: number;
  tolerate: boolean;
  zone: string | undefined;
  hostPort: number | undefined;
}

const nodeArb: fc.Arbitrary<NodeSpec> = fc.record({
  milliCPU: fc.integer({ min: 500, max: 4000 }),
  memMi: fc.integer({ min: 512, max: 4096 }),
  maxPods: fc.integer({ min: 1, max: 6 }),
  zone: fc.constantFrom("a", "b", "c"),
  taint: fc.constantFrom("none", "none", "NoSchedule", "PreferNoSchedule", "NoExecute"),
});

const podArb: fc.Arbitrary<PodSpec> = fc.record({
  milliCPU: fc.integer({ min: 0, max: 1500 }),
  memMi: fc.integer({ min: 0, max: 1500 }),
  tolerate: fc.boolean(),
  zone: fc.option(fc.constantFrom("a", "b", "c"), { nil: undefined }),
  hostPort: fc.option(fc.constantFrom(80, 443), { nil: undefined }),
});

const TAINT_KEY = "dedicated";

function buildNode(i: number, s: NodeSpec, cordoned: boolean): Node {
  const taints: Taint[] = s.taint === "none" ? [] : [{ key: TAINT_KEY, value: "x", effect: s.taint }];
  return makeNode(`n${i}`, { cpu: `${s.milliCPU}m`, memory: `${s.memMi}Mi`, pods: s.maxPods, labels: { zone: s.zone }, taints, unschedulable: cordoned });
}

function buildPod(i: number, s: PodSpec): Pod {
  return makePod(`p${i}`, {
    ...(s.milliCPU > 0 ? { cpu: `${s.milliCPU}m` } : {}),
    ...(s.memMi > 0 ? { memory: `${s.memMi}Mi` } : {}),
    ...(s.tolerate ? { tolerations: [{ key: TAINT_KEY, operator: "Exists" }] } : {}),
    ...(s.hostPort ? { containers: [{ name: "c", image: "x", ports: [{ containerPort: s.hostPort, hostPort: s.hostPort }], resources: { requests: { ...(s.milliCPU > 0 ? { cpu: `${s.milliCPU}m` } : {}), ...(s.memMi > 0 ? { memory: `${s.memMi}Mi` } : {}) } } }] } : {}),
    spec: s.zone ? { nodeSelector: { zone: s.zone } } : {},
  });
}

/** The oracle's view of a node. */
interface Placed {
  spec: NodeSpec;
  cordoned: boolean;
  cpu: number;
  memMi: number;
  pods: number;
  ports: Set<number>;
}

function oracleFits(n: Placed, p: PodSpec): boolean {
  if (n.cordoned) return false;
  if ((n.spec.taint === "NoSchedule" || n.spec.taint === "NoExecute") && !p.tolerate) return false;
  if (p.zone !== undefined && p.zone !== n.spec.zone) return false;
  if (p.hostPort !== undefined && n.ports.has(p.hostPort)) return false;
  if (n.pods + 1 > n.spec.maxPods) return false;
  if (p.milliCPU > 0 && n.cpu + p.milliCPU > n.spec.milliCPU) return false;
  if (p.memMi > 0 && n.memMi + p.memMi > n.spec.memMi) return false;
  return true;
}

describe("the algorithm over random clusters", () => {
  it("places pods only where they fit, never overcommits, and calls unschedulable only pods that fit nowhere", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(nodeArb, fc.boolean()), { minLength: 1, maxLength: 8 }),
        fc.array(podArb, { minLength: 1, maxLength: 40 }),
        fc.integer(),
        (nodeSpecs, podSpecs, seed) => {
          const nodes = nodeSpecs.map(([s, c], i) => buildNode(i, s, c && i % 3 === 0));
          const placed: Placed[] = nodeSpecs.map(([s, c], i) => ({ spec: s, cordoned: c && i % 3 === 0, cpu: 0, memMi: 0, pods: 0, ports: new Set() }));
          const snapshot = snapshotOf(nodes);
          const algo = new SchedulingAlgorithm({ listers: listersOf(), rng: new SeededRng(seed), now: () => 0 });
          podSpecs.forEach((ps, i) => {
            const pod = buildPod(i, ps);
            const out = algo.schedule(pod, snapshot);
            if (out.kind === "Error") throw out.error;
            if (out.kind === "Unschedulable") {
              // Preemption never finds victims here (all priorities are 0).
              expect(out.victims).toEqual([]);
              expect(placed.some((n) => oracleFits(n, ps))).toBe(false);
              return;
            }
            const idx = Number(out.nodeName.slice(1));
            const n = placed[idx]!;
            expect(oracleFits(n, ps)).toBe(true);
            n.cpu += ps.milliCPU;
            n.memMi += ps.memMi;
            n.pods++;
            if (ps.hostPort !== undefined) n.ports.add(ps.hostPort);
            snapshot.get(out.nodeName)!.addPod({ ...pod, spec: { ...pod.spec!, nodeName: out.nodeName } });
            const ni = snapshot.get(out.nodeName)!;
            expect(ni.requested.milliCPU).toBeLessThanOrEqual(ni.allocatable.milliCPU);
            expect(ni.requested.memory).toBeLessThanOrEqual(ni.allocatable.memory);
            expect(ni.pods.length).toBeLessThanOrEqual(ni.allocatable.allowedPodNumber);
          });
        },
      ),
      { numRuns: 150 },
    );
  });
});
