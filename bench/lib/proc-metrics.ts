/**
 * Per-process health over a measured window, read from each server's Prometheus /metrics (the
 * prom-client default metrics every kubemu server exports): CPU seconds, GC pause time, and the
 * event-loop delay. prom-client resets its event-loop histogram on every scrape, so scraping once
 * right before a window and once right after gives the delay within that window.
 */

/** One process over one window. */
export interface ProcWindow {
  name: string;
  /** CPU time used in the window, as a share of one core (1 = a whole core). */
  cpuCores: number;
  /** GC pause time in the window, ms, and as a share of the window. */
  gcMs: number;
  gcPct: number;
  /** Event-loop delay within the window (ms): p50/p99 and the worst. */
  loopDelayP50ms: number;
  loopDelayP99ms: number;
  loopDelayMaxms: number;
  /** apiserver only: request duration as the server measured it (all requests of the window). */
  requests?: { count: number; meanMs: number; p99LeMs: number };
  /** etcd only: WAL fsyncs in the window, their mean duration and p99 bucket bound (ms). */
  walFsync?: { count: number; meanMs: number; p99LeMs: number };
  /** etcd only: whether this member was the leader at the end. */
  leader?: boolean;
}

type Sample = Map<string, number>;

/**
 * Sums every series of each metric name from Prometheus text, labels dropped except a histogram
 * bucket's `le` (kept as `name{le}`, e.g. `x_bucket{0.05}`).
 */
export function parseMetrics(text: string): Sample {
  const out: Sample = new Map();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const le = m[2] ? /le="([^"]+)"/.exec(m[2]) : null;
    const key = le ? `${m[1]!}{${le[1]!}}` : m[1]!;
    const v = Number(m[3]);
    if (Number.isFinite(v)) out.set(key, (out.get(key) ?? 0) + v);
  }
  return out;
}

/** Histogram `name` over a window: mean and the upper bound of the bucket holding p99 (ms). */
function histogramWindow(a: Sample, b: Sample, name: string): { count: number; meanMs: number; p99LeMs: number } | undefined {
  const delta = (k: string) => (a.get(k) ?? 0) - (b.get(k) ?? 0);
  const count = delta(`${name}_count`);
  if (count <= 0) return undefined;
  const bounds = [...a.keys()]
    .filter((k) => k.startsWith(`${name}_bucket{`))
    .map((k) => k.slice(name.length + 8, -1))
    .filter((le) => le !== "+Inf")
    .map(Number)
    .sort((x, y) => x - y);
  const p99 = bounds.find((le) => delta(`${name}_bucket{${le}}`) >= 0.99 * count) ?? Infinity;
  return { count, meanMs: r2((delta(`${name}_sum`) * 1000) / count), p99LeMs: p99 * 1000 };
}

async function scrape(url: string): Promise<Sample> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`${url}/metrics: ${res.status}`);
  return parseMetrics(await res.text());
}

const r2 = (n: number) => Math.round(n * 100) / 100;

/** Scrapes a set of named processes at the start of a window; `end()` scrapes again and summarizes. */
export class MetricsWindow {
  private constructor(
    private readonly targets: { name: string; url: string }[],
    private readonly before: Sample[],
    private readonly startedAt: number,
  ) {}

  static async start(targets: { name: string; url: string }[]): Promise<MetricsWindow> {
    const before = await Promise.all(targets.map((t) => scrape(t.url)));
    return new MetricsWindow(targets, before, performance.now());
  }

  async end(): Promise<ProcWindow[]> {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const after = await Promise.all(this.targets.map((t) => scrape(t.url)));
    return this.targets.map((t, i) => {
      const a = after[i]!;
      const b = this.before[i]!;
      const delta = (k: string) => (a.get(k) ?? 0) - (b.get(k) ?? 0);
      const gcMs = delta("nodejs_gc_duration_seconds_sum") * 1000;
      const w: ProcWindow = {
        name: t.name,
        cpuCores: r2(delta("process_cpu_seconds_total") / seconds),
        gcMs: Math.round(gcMs),
        gcPct: r2((gcMs / (seconds * 1000)) * 100),
        loopDelayP50ms: r2((a.get("nodejs_eventloop_lag_p50_seconds") ?? NaN) * 1000),
        loopDelayP99ms: r2((a.get("nodejs_eventloop_lag_p99_seconds") ?? NaN) * 1000),
        loopDelayMaxms: r2((a.get("nodejs_eventloop_lag_max_seconds") ?? NaN) * 1000),
      };
      const requests = histogramWindow(a, b, "apiserver_request_duration_seconds");
      if (requests) w.requests = requests;
      if (a.has("etcd_server_is_leader")) {
        const fsync = histogramWindow(a, b, "etcd_disk_wal_fsync_duration_seconds");
        if (fsync) w.walFsync = fsync;
        w.leader = a.get("etcd_server_is_leader") === 1;
      }
      return w;
    });
  }
}
