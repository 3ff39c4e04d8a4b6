/**
 * Quick throughput probe (not a test): starts a 3-member cluster on 127.0.82.x, runs `puts`
 * writes, then as many linearizable gets, at the given concurrency through EtcdClient, and
 * prints ops/s and latency percentiles.
 * Usage: npx tsx packages/etcd-raft/test/server/bench-put.ts [concurrency=64] [puts=3000]
 */
import { TestCluster } from "./cluster.js";

const concurrency = Number(process.argv[2] ?? 64);
const total = Number(process.argv[3] ?? 3000);
function report(what: string, lat: number[], secs: number): void {
  lat.sort((a, b) => a - b);
  const p = (q: number) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))]!.toFixed(1);
  console.log(`${total} ${what} at concurrency ${concurrency}: ${(total / secs).toFixed(0)}/s; latency p50 ${p(0.5)} ms, p99 ${p(0.99)} ms`);
}

const cluster = await new TestCluster({ subnet: "127.0.82", size: 3 }).init();
try {
  cluster.startAll();
  await cluster.waitForLeader();
  const c = cluster.client();
  await c.put("/warm", "x");
  const lat: number[] = [];
  let next = 0;
  const value = "x".repeat(256);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const s = performance.now();
        await c.put(`/bench/${i}`, value);
        lat.push(performance.now() - s);
      }
    }),
  );
  report("puts", lat, (performance.now() - t0) / 1000);
  const rlat: number[] = [];
  next = 0;
  const t1 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const s = performance.now();
        await c.get(`/bench/${i}`);
        rlat.push(performance.now() - s);
      }
    }),
  );
  report("linearizable gets", rlat, (performance.now() - t1) / 1000);
  const body = await (await fetch(`${cluster.specs[0]!.controlUrl}/metrics`)).text();
  console.log(body.split("\n").filter((l) => /fsync_duration_seconds_(sum|count)|proposals_committed/.test(l)).join("\n"));
} finally {
  await cluster.cleanup();
}
