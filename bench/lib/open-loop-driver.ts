/**
 * The open-loop load generator of the apiserver benchmark, run as its own process so that nothing
 * else (watchers, result bookkeeping, the parent's GC) shares its event loop:
 *
 *   node --import tsx bench/lib/open-loop-driver.ts '<OpenLoopSpec as JSON>'
 *
 * Creates are due every 1000/rate ms whatever the answers (open loop); each latency is counted
 * from the request's due time, so a late send or a queue in front of the server (coordinated
 * omission) shows up in the numbers. The first `warmupSeconds` of requests are sent but not
 * counted. The result (OpenLoopResult) is written as JSON to `spec.out`. Over https the spec
 * carries the identity (CA + client certificate, or a bearer token); `transport: "wire"` sends
 * the creates as the components do, on one ApiClient (msgpack over wss:// /kubemu/wire).
 *
 * With `lanes`, request i is sent as lane i mod n, each lane on its own client and connections:
 * identities compared this way share one time window, so the machine's load falls on each alike.
 * `ratePerSec` is then the total; each lane's latencies come back in `lanes`.
 */
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { ApiClient, Resources, WIRE_API_PATH, type KubeObject } from "@kubemu/common";
import { KubeHttp, podBody, type KubeHttpCredentials } from "./apiserver-http.js";

/** What the parent asks for. */
export interface OpenLoopSpec {
  /** Base URL, e.g. http://127.0.170.20:40000. */
  url: string;
  /** Namespace of the pods (it must exist). */
  namespace: string;
  ratePerSec: number;
  warmupSeconds: number;
  seconds: number;
  /** Pod name prefix; names are `${prefix}-${seq}`. */
  prefix: string;
  /** Where to write the OpenLoopResult JSON. */
  out: string;
  /** For an https:// url: who the creates are sent as. */
  credentials?: KubeHttpCredentials;
  /** "http" (default): JSON POSTs as kubectl sends them; "wire": ApiClient.create over the wire API. */
  transport?: "http" | "wire";
  /** Several identities in one run, interleaved request by request (`credentials` is then unused). */
  lanes?: { name: string; credentials?: KubeHttpCredentials }[];
}

type Create = (name: string) => Promise<unknown>;

/** The create call of a spec's transport, and how to close it. */
async function creator(spec: OpenLoopSpec, c: KubeHttpCredentials | undefined): Promise<{ create: Create; close(): void }> {
  if (spec.transport === "wire") {
    const u = new URL(spec.url);
    const endpoint = `${u.protocol === "https:" ? "wss" : "ws"}://${u.host}${WIRE_API_PATH}`;
    const client = new ApiClient({ name: "open-loop-driver", endpoints: [endpoint], ...(c ? { tls: { ca: c.ca, ...(c.cert ? { cert: c.cert, key: c.key } : {}) } } : {}) });
    await client.ready(10_000);
    return { create: (name) => client.create(Resources.pods, podBody(name, {}, spec.namespace) as unknown as KubeObject, { namespace: spec.namespace }), close: () => void client.close() };
  }
  // Enough sockets that a burst of slow answers queues at the server, not in this client.
  const http = new KubeHttp(spec.url, 256, c);
  return { create: (name) => http.call("POST", `/api/v1/namespaces/${spec.namespace}/pods`, podBody(name, {}, spec.namespace)), close: () => http.close() };
}

/** Latency percentiles in ms. */
export interface LatencyDist {
  count: number;
  p50ms: number;
  p90ms: number;
  p99ms: number;
  p999ms: number;
  maxms: number;
}

export interface OpenLoopResult {
  ratePerSec: number;
  warmupSeconds: number;
  seconds: number;
  /** Requests due in the measured window. */
  scheduled: number;
  ok: number;
  errors: number;
  firstError?: string;
  achievedPerSec: number;
  /** From due time to the parsed answer. */
  latency: LatencyDist;
  /** From due time to the request actually being handed to http (this driver's own lateness). */
  sendLag: LatencyDist;
  /** This driver's event-loop delay over the measured window (ms). */
  driverLoopDelay: { p50ms: number; p99ms: number; maxms: number };
  /** 1-minute load average at the end of the window. */
  loadavg1m: number;
  /** How many pods were created (measured or not). */
  created: number;
  /** With spec.lanes: each lane's measured latencies (ms, unsorted) and errors. */
  lanes?: Record<string, { latencies: number[]; errors: number; firstError?: string }>;
}

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

/** Nearest-rank percentiles of unsorted samples. */
export function latencyDist(samples: number[]): LatencyDist {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => (s.length === 0 ? NaN : round(s[Math.min(s.length - 1, Math.floor(s.length * p))]!));
  return { count: s.length, p50ms: at(0.5), p90ms: at(0.9), p99ms: at(0.99), p999ms: at(0.999), maxms: round(s[s.length - 1] ?? NaN) };
}

function parseSpec(arg: string | undefined): OpenLoopSpec {
  if (arg === undefined) throw new Error("usage: open-loop-driver.ts '<json spec>'");
  const s = JSON.parse(arg) as Partial<OpenLoopSpec>;
  for (const k of ["url", "namespace", "prefix", "out"] as const) if (typeof s[k] !== "string") throw new Error(`spec.${k} must be a string`);
  for (const k of ["ratePerSec", "warmupSeconds", "seconds"] as const) if (typeof s[k] !== "number" || !(s[k] >= 0)) throw new Error(`spec.${k} must be a number ≥ 0`);
  return s as OpenLoopSpec;
}

/** Runs the schedule; resolves once every request sent has been answered. */
export async function runOpenLoop(spec: OpenLoopSpec): Promise<OpenLoopResult> {
  const laneSpecs = spec.lanes ?? [{ name: "", credentials: spec.credentials }];
  const clients = await Promise.all(laneSpecs.map((l) => creator(spec, l.credentials)));
  const lanes = laneSpecs.map(() => ({ latencies: [] as number[], errors: 0, firstError: undefined as string | undefined }));
  const interval = 1000 / spec.ratePerSec;
  const warm = Math.round(spec.ratePerSec * spec.warmupSeconds);
  const total = warm + Math.round(spec.ratePerSec * spec.seconds);
  const lat: number[] = [];
  const lag: number[] = [];
  let created = 0;
  const inflight: Promise<void>[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const t0 = performance.now() + 20;
  let measuredAt = 0;
  let sent = 0;
  const send = (i: number, due: number) => {
    const name = `${spec.prefix}-${i.toString(36).padStart(5, "0")}`;
    const measured = i >= warm;
    const lane = i % clients.length;
    if (measured) lag.push(performance.now() - due);
    inflight.push(
      clients[lane]!.create(name).then(
        () => {
          created++;
          if (!measured) return;
          const ms = performance.now() - due;
          lat.push(ms);
          lanes[lane]!.latencies.push(ms);
        },
        (e: unknown) => {
          if (!measured) return;
          errors++;
          lanes[lane]!.errors++;
          const msg = e instanceof Error ? e.message : String(e);
          firstError ??= msg;
          lanes[lane]!.firstError ??= msg;
        },
      ),
    );
  };
  try {
    while (sent < total) {
      const now = performance.now();
      while (sent < total && t0 + sent * interval <= now) {
        if (sent === warm) {
          loop.enable();
          measuredAt = now;
        }
        send(sent, t0 + sent * interval);
        sent++;
      }
      const wait = t0 + sent * interval - performance.now();
      // A timer may fire a millisecond late; sleeping a little short keeps sends on time.
      await new Promise((r) => setTimeout(r, Math.max(0, wait - 1)));
    }
    await Promise.all(inflight);
    loop.disable();
    const elapsed = performance.now() - (measuredAt || t0);
    const ns = (v: number) => round(v / 1e6);
    return {
      ratePerSec: spec.ratePerSec,
      warmupSeconds: spec.warmupSeconds,
      seconds: spec.seconds,
      scheduled: total - warm,
      ok: lat.length,
      errors,
      ...(firstError === undefined ? {} : { firstError }),
      achievedPerSec: round((lat.length / elapsed) * 1000, 1),
      latency: latencyDist(lat),
      sendLag: latencyDist(lag),
      driverLoopDelay: { p50ms: ns(loop.percentile(50)), p99ms: ns(loop.percentile(99)), maxms: ns(loop.max) },
      loadavg1m: round(loadavg()[0]!),
      created,
      ...(spec.lanes ? { lanes: Object.fromEntries(spec.lanes.map((l, i) => [l.name, lanes[i]!])) } : {}),
    };
  } finally {
    for (const c of clients) c.close();
  }
}

// Run as a process (not when imported for its types and helpers).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const spec = parseSpec(process.argv[2]);
  runOpenLoop(spec)
    .then((r) => writeFileSync(spec.out, JSON.stringify(r)))
    .catch((e: unknown) => {
      console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
      process.exitCode = 1;
    });
}
