/** Closed-loop load and latency statistics shared by the store benchmarks. */

export interface Stats {
  ops: number;
  opsPerSec: number;
  p50ms: number;
  p99ms: number;
  errors: number;
}

/** Percentile of sorted samples (nearest rank). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

/** Summarizes latencies (ms) collected over elapsedMs. */
export function stats(lat: number[], elapsedMs: number, errors: number): Stats {
  const sorted = [...lat].sort((a, b) => a - b);
  return { ops: lat.length, opsPerSec: Math.round((lat.length / elapsedMs) * 1000), p50ms: round(percentile(sorted, 0.5), 2), p99ms: round(percentile(sorted, 0.99), 2), errors };
}

/**
 * Runs `concurrency` workers, each calling op() in a loop (one request in flight per worker),
 * for warmupMs unrecorded and then ms recorded. A failed op counts as an error, not a sample.
 */
export async function closedLoop(op: (worker: number) => Promise<void | string>, concurrency: number, ms: number, warmupMs: number): Promise<Sample> {
  const lat: number[] = [];
  const byLabel: Record<string, number[]> = {};
  let errors = 0;
  let measuring = false;
  let stopAt = Infinity;
  const worker = async (w: number) => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= stopAt) return;
      let label: void | string;
      try {
        label = await op(w);
      } catch {
        if (measuring) errors++;
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      const t1 = performance.now();
      if (measuring && t0 >= measureStart && t1 <= stopAt) {
        lat.push(t1 - t0);
        if (typeof label === "string") (byLabel[label] ??= []).push(t1 - t0);
      }
    }
  };
  let measureStart = Infinity;
  const workers = Array.from({ length: concurrency }, (_, w) => worker(w));
  await new Promise((r) => setTimeout(r, warmupMs));
  measuring = true;
  measureStart = performance.now();
  stopAt = measureStart + ms;
  await Promise.all(workers);
  return { lat, ms, errors, ...(Object.keys(byLabel).length ? { byLabel } : {}) };
}

/** Raw samples of one measured round. */
export interface Sample {
  /** Latencies in ms of the ops that started and finished inside the window. */
  lat: number[];
  /** Window length in ms. */
  ms: number;
  errors: number;
  /** Where op named what it did (by returning a string): the latencies by that name. */
  byLabel?: Record<string, number[]>;
}

/** Summarizes the samples of several rounds as one. */
export function summarize(parts: Sample[]): Stats {
  return stats(parts.flatMap((p) => p.lat), parts.reduce((s, p) => s + p.ms, 0), parts.reduce((s, p) => s + p.errors, 0));
}
