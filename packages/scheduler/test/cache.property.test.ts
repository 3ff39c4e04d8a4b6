import { FakeClock } from "@kubemu/common";
import fc from "fast-check";
import type { Node, Pod } from "kubernetes-types/core/v1.js";
import { describe, expect, it } from "vitest";
import { SchedulerCache } from "../src/cache/cache.js";
import { CacheSnapshot } from "../src/cache/snapshot.js";
import { NodeInfo } from "../src/framework/node-info.js";
import { boundPod, node, onNode } from "./cache-helpers.js";

const NODE_NAMES = ["n0", "n1", "n2", "n3", "n4", "n5"];
const ZONES = [undefined, "za", "zb", "zc"];
const TTL = 10_000;

type Cmd =
  | { t: "addNode"; n: number; zone: number; cpu: number }
  | { t: "removeNode"; n: number }
  | { t: "addPod"; n: number; cpu: number; flags: number }
  | { t: "assume"; n: number; cpu: number; flags: number }
  | { t: "confirm"; which: number; moveTo: number | null }
  | { t: "updatePod"; which: number; cpu: number }
  | { t: "removePod"; which: number; tombstone: boolean }
  | { t: "finishBinding"; which: number }
  | { t: "forget"; which: number }
  | { t: "advance"; ms: number }
  | { t: "cleanup" }
  | { t: "snapshot" };

const n = fc.integer({ min: 0, max: NODE_NAMES.length - 1 });
const cpu = fc.integer({ min: 0, max: 4000 });
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({ t: fc.constant("addNode" as const), n, zone: fc.integer({ min: 0, max: ZONES.length - 1 }), cpu: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ t: fc.constant("removeNode" as const), n }),
  fc.record({ t: fc.constant("addPod" as const), n, cpu, flags: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ t: fc.constant("assume" as const), n, cpu, flags: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ t: fc.constant("confirm" as const), which: fc.nat(), moveTo: fc.option(n) }),
  fc.record({ t: fc.constant("updatePod" as const), which: fc.nat(), cpu }),
  fc.record({ t: fc.constant("removePod" as const), which: fc.nat(), tombstone: fc.boolean() }),
  fc.record({ t: fc.constant("finishBinding" as const), which: fc.nat() }),
  fc.record({ t: fc.constant("forget" as const), which: fc.nat() }),
  fc.record({ t: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 15_000 }) }),
  fc.constant({ t: "cleanup" as const }),
  fc.constant({ t: "snapshot" as const }),
);

interface ModelPod {
  pod: Pod;
  assumed: boolean;
  deadline?: number;
}

/** What a NodeInfo must hold, recomputed from its node and pods. */
function fromScratch(nodeObj: Node | undefined, pods: readonly Pod[]): NodeInfo {
  const info = nodeObj !== undefined ? new NodeInfo(nodeObj) : new NodeInfo();
  for (const p of pods) info.addPod(p);
  return info;
}

function summary(info: NodeInfo) {
  return {
    node: info.node,
    pods: info.pods.map((p) => p.uid).sort(),
    withAffinity: info.podsWithAffinity.map((p) => p.uid).sort(),
    withAnti: info.podsWithRequiredAntiAffinity.map((p) => p.uid).sort(),
    requested: { ...info.requested, scalar: [...info.requested.scalar].sort() },
    nonZero: { cpu: info.nonZeroRequested.milliCPU, mem: info.nonZeroRequested.memory },
    // A ghost (node removed, pods left) keeps its last allocatable, as upstream; it is never in a snapshot.
    allocatable: info.node === undefined ? null : { ...info.allocatable, scalar: [...info.allocatable.scalar].sort() },
    ports: info.usedPorts.entries().map((e) => `${e.hostIP}/${e.protocol}/${e.hostPort}`).sort(),
    pvc: [...info.pvcRefCounts].sort(),
  };
}

function snapshotSummary(s: CacheSnapshot) {
  return {
    order: s.nodeInfoList.map((i) => i.name),
    nodes: s.nodeInfoList.map(summary),
    affinity: s.havePodsWithAffinityNodeInfoList.map((i) => i.name),
    anti: s.havePodsWithRequiredAntiAffinityNodeInfoList.map((i) => i.name),
    map: [...s.nodeInfoMap.keys()].sort(),
  };
}

describe("scheduler cache invariants", () => {
  it("every NodeInfo equals one rebuilt from its pods, and the incremental snapshot equals a fresh one", () => {
    fc.assert(
      fc.property(fc.array(cmd, { minLength: 20, maxLength: 120 }), (cmds) => {
        const clock = new FakeClock(0);
        const cache = new SchedulerCache({ clock, assumedPodTtlMs: TTL });
        const snapshot = new CacheSnapshot();
        const nodes = new Map<string, Node>();
        const pods = new Map<string, ModelPod>();
        let uid = 0;
        const pick = <T>(xs: readonly T[], i: number): T | undefined => (xs.length === 0 ? undefined : xs[i % xs.length]);
        // Host ports are unique per pod: NodeInfo keeps ports as a set (as upstream), so two pods on one node
        // with the same port — which NodePorts never lets the scheduler place — would share one entry.
        const makePod = (nodeName: string, milli: number, flags: number) =>
          boundPod(`p${uid++}`, nodeName, { cpu: `${milli}m`, memory: `${milli}Mi`, affinity: (flags & 1) !== 0, antiAffinity: (flags & 2) !== 0, ...((flags & 4) !== 0 ? { hostPort: 8000 + uid } : {}) });

        for (const c of cmds) {
          switch (c.t) {
            case "addNode": {
              const name = NODE_NAMES[c.n]!;
              const zone = ZONES[c.zone];
              const obj = node(name, { cpu: String(c.cpu), ...(zone !== undefined ? { zone, region: "r" } : {}) });
              const old = nodes.get(name);
              if (old !== undefined) cache.updateNode(old, obj);
              else cache.addNode(obj);
              nodes.set(name, obj);
              break;
            }
            case "removeNode": {
              const obj = nodes.get(NODE_NAMES[c.n]!);
              if (obj === undefined) {
                expect(() => cache.removeNode(node(NODE_NAMES[c.n]!))).toThrow();
                break;
              }
              cache.removeNode(obj);
              nodes.delete(NODE_NAMES[c.n]!);
              break;
            }
            case "addPod": {
              const p = makePod(NODE_NAMES[c.n]!, c.cpu, c.flags);
              cache.addPod(p);
              pods.set(p.metadata!.uid!, { pod: p, assumed: false });
              break;
            }
            case "assume": {
              const p = makePod(NODE_NAMES[c.n]!, c.cpu, c.flags);
              cache.assumePod(p);
              pods.set(p.metadata!.uid!, { pod: p, assumed: true });
              break;
            }
            case "confirm": {
              const m = pick([...pods.values()].filter((x) => x.assumed), c.which);
              if (m === undefined) break;
              const observed = c.moveTo === null ? m.pod : onNode(m.pod, NODE_NAMES[c.moveTo]!);
              cache.addPod(observed);
              pods.set(observed.metadata!.uid!, { pod: observed, assumed: false });
              break;
            }
            case "updatePod": {
              const m = pick([...pods.values()].filter((x) => !x.assumed), c.which);
              if (m === undefined) break;
              const updated = boundPod(m.pod.metadata!.name!, m.pod.spec!.nodeName!, { cpu: `${c.cpu}m`, uid: m.pod.metadata!.uid! });
              cache.updatePod(m.pod, updated);
              pods.set(updated.metadata!.uid!, { pod: updated, assumed: false });
              break;
            }
            case "removePod": {
              const m = pick([...pods.values()], c.which);
              if (m === undefined) break;
              cache.removePod(c.tombstone ? onNode(m.pod, "") : m.pod);
              pods.delete(m.pod.metadata!.uid!);
              break;
            }
            case "finishBinding": {
              const m = pick([...pods.values()].filter((x) => x.assumed), c.which);
              if (m === undefined) break;
              cache.finishBinding(m.pod);
              m.deadline = clock.now() + TTL;
              break;
            }
            case "forget": {
              const m = pick([...pods.values()], c.which);
              if (m === undefined) break;
              if (m.assumed) {
                cache.forgetPod(m.pod);
                pods.delete(m.pod.metadata!.uid!);
              } else {
                expect(() => cache.forgetPod(m.pod)).toThrow(/not assumed/);
              }
              break;
            }
            case "advance":
              clock.advance(c.ms);
              break;
            case "cleanup": {
              const expired = cache.cleanupExpiredAssumedPods().map((p) => p.metadata!.uid!).sort();
              const expected = [...pods.values()].filter((m) => m.assumed && m.deadline !== undefined && clock.now() > m.deadline).map((m) => m.pod.metadata!.uid!).sort();
              expect(expired).toEqual(expected);
              for (const e of expired) pods.delete(e);
              break;
            }
            case "snapshot": {
              cache.updateSnapshot(snapshot);
              const fresh = new CacheSnapshot();
              cache.updateSnapshot(fresh);
              expect(snapshotSummary(snapshot)).toEqual(snapshotSummary(fresh));
              break;
            }
          }

          // Every NodeInfo (ghosts included) equals a rebuild from the model's node and pods.
          const dump = cache.dump();
          const expectedNames = new Set<string>([...nodes.keys(), ...[...pods.values()].map((m) => m.pod.spec!.nodeName!)]);
          expect([...dump.nodes.keys()].sort()).toEqual([...expectedNames].sort());
          for (const [name, info] of dump.nodes) {
            const podsHere = [...pods.values()].filter((m) => m.pod.spec!.nodeName === name).map((m) => m.pod);
            expect(summary(info)).toEqual(summary(fromScratch(nodes.get(name), podsHere)));
          }
          expect([...dump.assumedPods].sort()).toEqual([...pods.values()].filter((m) => m.assumed).map((m) => m.pod.metadata!.uid!).sort());
          expect(cache.podCount()).toBe(pods.size);
        }

        // Finally the incremental snapshot equals a fresh one and shows exactly the nodes with a Node object.
        cache.updateSnapshot(snapshot);
        const fresh = new CacheSnapshot();
        cache.updateSnapshot(fresh);
        expect(snapshotSummary(snapshot)).toEqual(snapshotSummary(fresh));
        expect(snapshot.nodeInfoList.map((i) => i.name).sort()).toEqual([...nodes.keys()].sort());
      }),
      { numRuns: 300 },
    );
  });
});
