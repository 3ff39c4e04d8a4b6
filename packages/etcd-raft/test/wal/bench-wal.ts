/**
 * WAL micro-benchmark (run by hand, not in CI):
 *   npx tsx packages/etcd-raft/test/wal/bench-wal.ts [seconds=3] [dir=os.tmpdir()]
 * Appends 256-byte entries, one entry per append call, from 1 and 64 concurrent writers
 * (each writer awaits its own append before issuing the next), and prints appends/s, fsyncs
 * and latency percentiles. Group commit is what makes concurrency 64 cheap.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Wal, readWal } from "../../src/wal/index.js";

const seconds = Number(process.argv[2] ?? 3);
const baseDir = process.argv[3] ?? tmpdir();

async function bench(concurrency: number): Promise<void> {
  const dir = await mkdtemp(join(baseDir, "kubemu-wal-bench-"));
  try {
    const wal = await Wal.create(dir, { memberId: "bench", clusterId: "bench" });
    const data = new Uint8Array(256).fill(7);
    let next = 1;
    const latencies: number[] = [];
    const deadline = performance.now() + seconds * 1000;
    const started = performance.now();
    const writer = async (): Promise<void> => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        const index = next++;
        await wal.append({ term: 1, vote: 1, commit: index - 1 }, [{ index, term: 1, type: 0, data }]);
        latencies.push(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, writer));
    const elapsed = (performance.now() - started) / 1000;
    const s = wal.stats;
    await wal.close();
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => (latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0).toFixed(2);
    console.log(
      `concurrency ${String(concurrency).padStart(2)}: ${(s.appends / elapsed).toFixed(0).padStart(7)} appends/s, ` +
        `${(s.fsyncs / elapsed).toFixed(0).padStart(5)} fsyncs/s, ${(s.appends / Math.max(1, s.batches)).toFixed(1).padStart(5)} appends/batch, ` +
        `${(s.bytesWritten / elapsed / 1024 / 1024).toFixed(2)} MiB/s, latency p50 ${pct(0.5)} ms p99 ${pct(0.99)} ms`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes `count` entries in large batches, then times a full recovery read. */
async function benchRecovery(count: number): Promise<void> {
  const dir = await mkdtemp(join(baseDir, "kubemu-wal-bench-"));
  try {
    const wal = await Wal.create(dir, { memberId: "bench", clusterId: "bench" });
    const data = new Uint8Array(256).fill(7);
    for (let i = 1; i <= count; i += 1000) {
      const batch = Array.from({ length: Math.min(1000, count - i + 1) }, (_, k) => ({ index: i + k, term: 1, type: 0, data }));
      await wal.append({ term: 1, vote: 1, commit: i - 1 }, batch);
    }
    const bytes = wal.stats.bytesWritten;
    await wal.close();
    const t0 = performance.now();
    const state = await readWal(dir);
    const ms = performance.now() - t0;
    if (state.entries.length !== count) throw new Error(`recovered ${state.entries.length} of ${count} entries`);
    console.log(`recovery: ${count} entries (${(bytes / 1024 / 1024).toFixed(1)} MiB) read in ${ms.toFixed(0)} ms = ${((count / ms) * 1000).toFixed(0)} entries/s`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(`WAL bench: 256-byte entries, ${seconds}s per case, dir ${baseDir}`);
for (const c of [1, 64]) await bench(c);
await benchRecovery(200_000);
