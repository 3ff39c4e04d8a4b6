/**
 * Killing the scheduling leader in the middle of a burst of 1,000 pods: the standby takes the
 * lease within lease duration + retry period, and every pod ends bound exactly once — none lost,
 * none moved to a second node (a pod's nodeName, once set, never changes in the watch). Then an
 * API server is killed under the leader in the middle of another burst: its informers resume on
 * the other API server and every pod is still bound.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Resources, type KubeObject } from "@kubemu/common";
import { eventually, pod, SchedulerHarness } from "./harness.js";

const h = new SchedulerHarness({ etcd: "127.0.123", api: "127.0.124", scheduler: "127.0.125" });
const PODS = 1000;

beforeAll(async () => {
  await h.start();
  // Room for both bursts (1,300 pods) with some to spare.
  for (let i = 0; i < 5; i++) await h.createNode(`node-${i}`, { cpu: "64", memory: "256Gi", pods: "400" });
}, 90_000);

afterAll(async () => {
  await h.stop();
});

describe("scheduler leader killed mid-burst", () => {
  it("loses no pod and binds none twice", async () => {
    const first = await h.leader();
    const rv = (await h.client.list(Resources.pods, { namespace: "default", limit: 1 })).metadata.resourceVersion!;
    const nodeOf = new Map<string, string>();
    const rebinds: string[] = [];
    const stop = new AbortController();
    const watching = (async () => {
      for await (const ev of h.client.watch<KubeObject & { spec: { nodeName?: string } }>(Resources.pods, { namespace: "default", resourceVersion: rv, signal: stop.signal })) {
        if (ev.type !== "ADDED" && ev.type !== "MODIFIED") continue;
        const p = ev.object as KubeObject & { spec: { nodeName?: string } };
        const n = p.spec.nodeName;
        if (!n) continue;
        const before = nodeOf.get(p.metadata.name!);
        if (before !== undefined && before !== n) rebinds.push(`${p.metadata.name}: ${before} -> ${n}`);
        nodeOf.set(p.metadata.name!, n);
      }
    })().catch(() => undefined);

    // Create the burst; kill the leader once about a fifth is bound.
    let created = 0;
    const creating = (async () => {
      const names = Array.from({ length: PODS }, (_, i) => `burst-${i}`);
      let next = 0;
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          while (next < names.length) {
            await h.client.create(Resources.pods, pod(names[next++]!, { cpu: "10m", memory: "16Mi" }));
            created++;
          }
        }),
      );
    })();
    await eventually(async () => nodeOf.size, (n) => n >= PODS / 5, "a fifth of the burst bound", 60_000);
    const killedAt = Date.now();
    await h.kill(first.name);
    const second = await h.leader(15_000, first.name);
    const takeoverMs = Date.now() - killedAt;
    expect(second.name).not.toBe(first.name);
    expect(second.term).toBeGreaterThan(first.term);
    // fast profile: lease 3 s + retry 0.5 s (+ jitter and the status poll).
    expect(takeoverMs).toBeLessThan(3000 + 500 * 1.2 + 1500);
    await creating;
    expect(created).toBe(PODS);
    await eventually(async () => nodeOf.size, (n) => n === PODS, "every pod bound", 120_000);
    stop.abort();
    await watching;
    expect(rebinds).toEqual([]);
    // And the store agrees: every pod is bound, to the node the watch saw.
    const list = await h.client.listAll<KubeObject & { spec: { nodeName?: string } }>(Resources.pods, { namespace: "default" });
    const unbound = list.items.filter((p) => !p.spec.nodeName).map((p) => p.metadata.name);
    expect(unbound).toEqual([]);
    for (const p of list.items) expect(p.spec.nodeName).toBe(nodeOf.get(p.metadata.name!));
    // Bound once: one Scheduled event per pod at most (a second bind would have failed and recorded nothing).
    const events = await h.client.listAll(Resources.events, { namespace: "default" });
    const perPod = new Map<string, number>();
    for (const e of events.items as (KubeObject & { reason: string; involvedObject: { name: string }; count?: number })[]) if (e.reason === "Scheduled") perPod.set(e.involvedObject.name, (perPod.get(e.involvedObject.name) ?? 0) + (e.count ?? 1));
    expect([...perPod.values()].filter((c) => c > 1)).toEqual([]);
  }, 240_000);

  it("keeps scheduling when an API server dies mid-burst (watches resume on the other one)", async () => {
    const names = Array.from({ length: 300 }, (_, i) => `after-api-kill-${i}`);
    let next = 0;
    const creating = Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < names.length) {
          const name = names[next++]!;
          // Writes during the kill may fail over; a create that got no answer is retried by name.
          for (let attempt = 0; ; attempt++) {
            try {
              await h.client.create(Resources.pods, pod(name, { cpu: "10m", memory: "16Mi" }));
              break;
            } catch (e) {
              if ((e as { status?: { reason?: string } }).status?.reason === "AlreadyExists") break;
              if (attempt > 20) throw e;
              await new Promise((r) => setTimeout(r, 100));
            }
          }
        }
      }),
    );
    await new Promise((r) => setTimeout(r, 300));
    await h.kill("apiserver-0");
    await creating;
    const bound = await eventually(
      async () => (await h.client.listAll<KubeObject & { spec: { nodeName?: string } }>(Resources.pods, { namespace: "default" })).items.filter((p) => p.metadata.name!.startsWith("after-api-kill-") && p.spec.nodeName).length,
      (n) => n === names.length,
      "every pod created around the API server kill bound",
      60_000,
    );
    expect(bound).toBe(names.length);
  }, 120_000);
});

