import { FakeClock } from "@kubemu/common";
import fc from "fast-check";
import type { Pod } from "kubernetes-types/core/v1.js";
import { describe, expect, it } from "vitest";
import type { ClusterEvent } from "../src/framework/events.js";
import { SchedulingQueue, type QueuedPodInfo } from "../src/queue/scheduling-queue.js";
import { PLUGIN_EVENTS, pod } from "./queue-helpers.js";

const EVENTS: ClusterEvent[] = [
  { resource: "Node", actionType: "Add" },
  { resource: "Node", actionType: "UpdateNodeLabel" },
  { resource: "AssignedPod", actionType: "Delete" },
  { resource: "PersistentVolume", actionType: "Add" },
  { resource: "CSINode", actionType: "Add" },
];
const PLUGINS = ["NodeResourcesFit", "NodeAffinity", "VolumeBinding", "InterPodAffinity", "PodTopologySpread"];

type Cmd =
  | { t: "add"; priority: number }
  | { t: "update"; which: number; label: boolean }
  | { t: "delete"; which: number }
  | { t: "pop" }
  | { t: "fail"; which: number; plugins: number[] }
  | { t: "succeed"; which: number }
  | { t: "move"; event: number }
  | { t: "assigned"; label: number }
  | { t: "activate"; which: number }
  | { t: "advance"; ms: number };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({ t: fc.constant("add" as const), priority: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ t: fc.constant("update" as const), which: fc.nat(), label: fc.boolean() }),
  fc.record({ t: fc.constant("delete" as const), which: fc.nat() }),
  fc.constant({ t: "pop" as const }),
  fc.constant({ t: "pop" as const }),
  fc.record({ t: fc.constant("fail" as const), which: fc.nat(), plugins: fc.array(fc.integer({ min: 0, max: PLUGINS.length - 1 }), { maxLength: 2 }) }),
  fc.record({ t: fc.constant("succeed" as const), which: fc.nat() }),
  fc.record({ t: fc.constant("move" as const), event: fc.integer({ min: 0, max: EVENTS.length - 1 }) }),
  fc.record({ t: fc.constant("assigned" as const), label: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ t: fc.constant("activate" as const), which: fc.nat() }),
  fc.record({ t: fc.constant("advance" as const), ms: fc.oneof(fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: 20_000, max: 400_000 })) }),
);

describe("scheduling queue invariants", () => {
  it("every live pod is in exactly one place; pop never returns a deleted pod or a pod already in flight", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 30, maxLength: 150 }), async (cmds) => {
        const clock = new FakeClock(0);
        const q = new SchedulingQueue({ clock, pluginEvents: PLUGIN_EVENTS });
        q.run();
        const live = new Map<string, Pod>(); // pending pods that exist (not deleted, not bound)
        const inFlight = new Map<string, { info: QueuedPodInfo; cycle: number }>(); // popped, not yet returned
        let next = 0;
        const pick = <T>(xs: readonly T[], i: number): T | undefined => (xs.length === 0 ? undefined : xs[i % xs.length]);

        for (const c of cmds) {
          switch (c.t) {
            case "add": {
              const p = pod(`p${next++}`, { priority: c.priority, labels: { app: `a${next % 3}` } });
              if (next % 4 === 0) {
                p.spec!.affinity = { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: "a1" } }, topologyKey: "zone" }] } };
              }
              live.set(p.metadata!.uid!, p);
              q.add(p);
              break;
            }
            case "update": {
              const old = pick([...live.values()], c.which);
              if (old === undefined) break;
              const updated: Pod = c.label
                ? { ...old, metadata: { ...old.metadata, labels: { ...old.metadata?.labels, v: String(next++) } } }
                : { ...old, metadata: { ...old.metadata, resourceVersion: String(next++) }, status: { phase: "Pending" } };
              live.set(old.metadata!.uid!, updated);
              q.update(old, updated);
              break;
            }
            case "delete": {
              const p = pick([...live.values()], c.which);
              if (p === undefined) break;
              live.delete(p.metadata!.uid!);
              q.delete(p);
              break;
            }
            case "pop": {
              if (q.pendingPods().active === 0) break;
              const activeBefore = q.podsInActiveQ();
              const info = await q.pop();
              expect(info).toBeDefined();
              const uid = info!.pod.metadata!.uid!;
              expect(live.has(uid), `popped deleted pod ${uid}`).toBe(true);
              expect(inFlight.has(uid), `popped ${uid} twice`).toBe(false);
              const maxPriority = Math.max(...activeBefore.map((p) => p.spec?.priority ?? 0));
              expect(info!.pod.spec?.priority ?? 0).toBe(maxPriority);
              // The queue hands out the newest object it has seen.
              expect(info!.pod).toBe(live.get(uid));
              inFlight.set(uid, { info: info!, cycle: q.schedulingCycle() });
              break;
            }
            case "fail": {
              const f = pick([...inFlight.values()], c.which);
              if (f === undefined) break;
              inFlight.delete(f.info.pod.metadata!.uid!);
              for (const i of c.plugins) f.info.unschedulablePlugins.add(PLUGINS[i]!);
              q.addUnschedulableIfNotPresent(f.info, f.cycle);
              break;
            }
            case "succeed": {
              const f = pick([...inFlight.values()], c.which);
              if (f === undefined) break;
              const uid = f.info.pod.metadata!.uid!;
              inFlight.delete(uid);
              q.done(uid);
              // Bound: the unscheduled-pod informer no longer matches it, which is a delete for the queue.
              const p = live.get(uid);
              if (p !== undefined) {
                live.delete(uid);
                q.delete(p);
              }
              break;
            }
            case "move":
              q.moveAllToActiveOrBackoffQueue(EVENTS[c.event]!);
              break;
            case "assigned":
              q.assignedPodAdded(pod(`bound${next++}`, { labels: { app: `a${c.label}` }, nodeName: "n" }));
              break;
            case "activate": {
              const p = pick([...live.values()], c.which);
              if (p !== undefined) q.activate([p]);
              break;
            }
            case "advance":
              clock.advance(c.ms);
              break;
          }

          // Invariant: each live pod in exactly one place; deleted pods nowhere.
          const counts = q.pendingPods();
          let pending = 0;
          for (const [uid] of live) {
            const where = q.locate(uid);
            expect(where, `pod ${uid} lost`).toBeDefined();
            if (inFlight.has(uid)) expect(where).toBe("inFlight");
            else {
              expect(where).not.toBe("inFlight");
              pending++;
            }
          }
          expect(counts.active + counts.backoff + counts.unschedulable + counts.gated).toBe(pending);
          expect(q.inFlightCount()).toBe(inFlight.size);
          for (const p of q.pendingPodList()) expect(live.has(p.metadata!.uid!)).toBe(true);
        }
        q.close();
      }),
      { numRuns: 300 },
    );
  });

  it("no pod waits in unschedulablePods for ever: with time, every pod returns to activeQ", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(fc.integer({ min: 0, max: PLUGINS.length - 1 }), { maxLength: 2 }), { minLength: 1, maxLength: 20 }), async (failures) => {
        const clock = new FakeClock(0);
        const q = new SchedulingQueue({ clock, pluginEvents: PLUGIN_EVENTS });
        q.run();
        failures.forEach((_, i) => q.add(pod(`p${i}`)));
        for (const plugins of failures) {
          const info = (await q.pop())!;
          const cycle = q.schedulingCycle();
          for (const i of plugins) info.unschedulablePlugins.add(PLUGINS[i]!);
          q.addUnschedulableIfNotPresent(info, cycle);
        }
        clock.advance(330_000);
        expect(q.pendingPods()).toEqual({ active: failures.length, backoff: 0, unschedulable: 0, gated: 0 });
        q.close();
      }),
      { numRuns: 50 },
    );
  });
});
