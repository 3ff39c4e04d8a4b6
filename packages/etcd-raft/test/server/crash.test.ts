/**
 * Crash recovery with real processes: SIGKILL a follower, and separately the leader, in the
 * middle of a write burst; restart it on the same data dir; every acknowledged write must be
 * on every member afterwards, and all members must reach the same MVCC hash.
 */
import { afterEach, describe, expect, it } from "vitest";
import { EtcdClient } from "../../src/index.js";
import { TestCluster } from "./cluster.js";

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString());

/** Writes distinct keys from `concurrency` loops until stopped; returns the acknowledged ones. */
function writeBurst(c: EtcdClient, prefix: string, concurrency: number) {
  const acked = new Map<string, string>();
  let failed = 0;
  let stop = false;
  let n = 0;
  const loops = Array.from({ length: concurrency }, async () => {
    while (!stop) {
      const key = `${prefix}/${String(n++).padStart(6, "0")}`;
      const value = `v-${key}`;
      try {
        await c.put(key, value);
        acked.set(key, value);
      } catch {
        failed++; // ambiguous (e.g. the connection died mid-request): not acknowledged, not checked
      }
    }
  });
  return {
    acked,
    failed: () => failed,
    stop: async () => {
      stop = true;
      await Promise.all(loops);
    },
  };
}

async function checkEveryMemberHas(cluster: TestCluster, acked: Map<string, string>, prefix: string): Promise<void> {
  for (const name of cluster.running.keys()) {
    const c = cluster.client([name]);
    const r = await c.range({ key: `${prefix}/`, rangeEnd: `${prefix}0`, serializable: true });
    const got = new Map(r.kvs.map((kv) => [text(kv.key)!, text(kv.value)!]));
    const missing = [...acked.keys()].filter((k) => got.get(k) !== acked.get(k));
    expect(missing, `${name} lost acknowledged writes`).toEqual([]);
    await c.close();
  }
}

describe("crash recovery", () => {
  let cluster: TestCluster;

  afterEach(async () => {
    await cluster.cleanup();
  });

  for (const victim of ["follower", "leader"] as const) {
    it(`SIGKILL of the ${victim} mid-burst loses no acknowledged write`, async () => {
      cluster = await new TestCluster({ subnet: victim === "follower" ? "127.0.78" : "127.0.79", size: 3 }).init();
      cluster.startAll();
      const leader = await cluster.waitForLeader();
      const target = victim === "leader" ? leader : cluster.specs.find((s) => s.name !== leader)!.name;
      const c = cluster.client();
      const burst = writeBurst(c, `/crash-${victim}`, 16);
      await new Promise((r) => setTimeout(r, 700));
      const before = burst.acked.size;
      await cluster.kill(target, "SIGKILL");
      await new Promise((r) => setTimeout(r, victim === "leader" ? 1500 : 700));
      cluster.start(cluster.specs.find((s) => s.name === target)!);
      await new Promise((r) => setTimeout(r, 700));
      await burst.stop();
      expect(before).toBeGreaterThan(20);
      expect(burst.acked.size).toBeGreaterThan(before);
      await cluster.waitForLeader();
      const { revision } = await cluster.waitConverged();
      console.log(`${victim}: acked ${burst.acked.size} (before kill ${before}), failed ${burst.failed()}, revision ${revision}`);
      expect(revision).toBeGreaterThanOrEqual(burst.acked.size + 1);
      await checkEveryMemberHas(cluster, burst.acked, `/crash-${victim}`);
    }, 40_000);
  }
});
