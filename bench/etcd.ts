/**
 * The replicated store benchmark: kubemu-etcd side by side with real etcd 3.4 in the same run.
 * Both are 3 members on their own loopback IPs with temp data dirs on the same disk and fsync on
 * (etcd's default; kubemu fsyncs its WAL before acknowledging). Measured per store:
 * - puts of 256-byte values to random keys at concurrency 1, 16, 64, 256 (closed loop: each
 *   worker has one request in flight);
 * - linearizable gets at concurrency 64;
 * - watch latency: a watcher on a follower, sequential puts on the leader, time from the put's
 *   ack (and from its send) to the event reaching the watcher;
 * - the leader's WAL fsyncs during each put row (mean duration, puts per fsync), from /metrics;
 * - leader failover: SIGKILL the leader under a c=16 put load, time to the first successful put
 *   sent after the kill (several trials; the killed member is restarted between trials).
 * Rows alternate between the stores in several short rounds so load from other processes on
 * this shared machine hits both alike.
 *
 *   npm run bench -- etcd [--seconds 3] [--only kubemu|etcd] [--profile fast|realistic]
 *                         [--failover-trials 3] [--cpu-prof DIR]
 *
 * --cpu-prof DIR writes a V8 CPU profile of each kubemu member into DIR (at the graceful stop;
 * a member killed by the failover trials writes none, so combine it with --failover-trials 0).
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SeededRng } from "@kubemu/common";
import { summarizeProfile, type ProfileSummary } from "./lib/cpuprofile.js";
import { EtcdStore, etcdBinary } from "./lib/etcd-store.js";
import { KubemuStore } from "./lib/kubemu-store.js";
import { closedLoop, percentile, summarize, type Sample, type Stats } from "./lib/load.js";
import { killAllChildren, sleep } from "./lib/procs.js";
import type { StoreUnderTest } from "./lib/store.js";

interface Options {
  seconds: number;
  only?: "kubemu" | "etcd";
  profile: "fast" | "realistic";
  failoverTrials: number;
  cpuProfDir?: string;
}

function parseOptions(args: string[]): Options {
  const o: Options = { seconds: 3, profile: "fast", failoverTrials: 3 };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    const value = args[i + 1];
    const need = () => {
      if (value === undefined) throw new Error(`${flag} needs a value`);
      i++;
      return value;
    };
    if (flag === "--seconds") {
      o.seconds = Number(need());
      if (!(o.seconds > 0 && o.seconds <= 600)) throw new Error("--seconds takes a number of seconds from 0 to 600");
    } else if (flag === "--only") {
      const v = need();
      if (v !== "kubemu" && v !== "etcd") throw new Error("--only takes kubemu or etcd");
      o.only = v;
    } else if (flag === "--profile") {
      const v = need();
      if (v !== "fast" && v !== "realistic") throw new Error("--profile takes fast or realistic");
      o.profile = v;
    } else if (flag === "--failover-trials") {
      o.failoverTrials = Number(need());
      if (!Number.isInteger(o.failoverTrials) || o.failoverTrials < 0 || o.failoverTrials > 20) throw new Error("--failover-trials takes 0 to 20");
    } else if (flag === "--cpu-prof") {
      o.cpuProfDir = resolve(need());
    } else {
      throw new Error(`unknown flag ${flag} (see the header of bench/etcd.ts)`);
    }
  }
  return o;
}

const VALUE = "v".repeat(256);
const KEYSPACE = 100_000;
const ROUNDS = 2;
const WARMUP_MS = 300;
const FAILOVER_REQUEST_TIMEOUT_MS = 1000;

/** One measured figure of every store, by store label. */
interface Row {
  measurement: string;
  unit: "ops/s" | "ms" | "puts";
  values: Record<string, number>;
  /** kubemu / etcd, when both ran. */
  ratio?: number;
}

/** Runs `measure` for every store in ROUNDS alternating rounds and merges each store's samples. */
async function alternate(stores: StoreUnderTest[], measure: (s: StoreUnderTest) => Promise<Sample>): Promise<Map<string, Stats>> {
  const samples = new Map<string, Sample[]>(stores.map((s) => [s.label, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? stores : [...stores].reverse();
    for (const s of order) samples.get(s.label)!.push(await measure(s));
  }
  return new Map([...samples].map(([label, parts]) => [label, summarize(parts)]));
}

function randomKeys(seed: number): () => string {
  const rng = new SeededRng(seed);
  return () => `/bench/k${String(rng.int(KEYSPACE)).padStart(6, "0")}`;
}

/** The leader's WAL fsyncs during the put rows, by store label and concurrency. */
const fsyncs = new Map<string, { count: number; seconds: number; puts: number }>();

async function loadRow(s: StoreUnderTest, kind: "put" | "get", concurrency: number, ms: number, seed: number): Promise<Sample> {
  const client = await s.client(concurrency);
  const key = randomKeys(seed);
  const leader = await s.leader();
  const before = await s.walFsync(leader);
  let puts = 0;
  try {
    const sample = await closedLoop(() => (kind === "put" ? client.put(key(), VALUE).then(() => void puts++) : client.get(key())), concurrency, ms, WARMUP_MS);
    if (kind === "put") {
      const after = await s.walFsync(leader);
      const k = `${s.label} c=${concurrency}`;
      const acc = fsyncs.get(k) ?? { count: 0, seconds: 0, puts: 0 };
      fsyncs.set(k, { count: acc.count + after.count - before.count, seconds: acc.seconds + after.seconds - before.seconds, puts: acc.puts + puts });
    }
    return sample;
  } finally {
    await client.close();
  }
}

/** Sequential puts on the leader, each timed until a watcher on a follower sees it. */
async function watchLatency(s: StoreUnderTest, count: number): Promise<{ fromAck: number[]; fromSend: number[] }> {
  const seen = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const cancel = await s.watch("/watch-bench/", (key, value) => {
    seen.set(`${key}=${value}`, performance.now());
    waiters.get(`${key}=${value}`)?.();
  });
  const client = await s.client(1);
  const fromAck: number[] = [];
  const fromSend: number[] = [];
  try {
    for (let i = 0; i < count + 20; i++) {
      const id = `/watch-bench/k${i % 50}=${s.label}-${i}`;
      const [key, value] = id.split("=") as [string, string];
      const arrived = new Promise<void>((r) => (seen.has(id) ? r() : waiters.set(id, r)));
      const t0 = performance.now();
      await client.put(key, value);
      const acked = performance.now();
      const timeout = sleep(5000).then(() => "timeout" as const);
      if ((await Promise.race([arrived, timeout])) === "timeout") throw new Error(`${s.label}: watch event for ${id} did not arrive within 5 s`);
      waiters.delete(id);
      if (i < 20) continue; // warm-up
      const at = seen.get(id)!;
      fromAck.push(Math.max(0, at - acked));
      fromSend.push(at - t0);
      seen.delete(id);
    }
  } finally {
    cancel();
    await client.close();
  }
  return { fromAck, fromSend };
}

/**
 * SIGKILL the leader under a c=16 put load; ms until the first put sent after the kill succeeds.
 * Requests time out after FAILOVER_REQUEST_TIMEOUT_MS and are retried (on the next member for
 * etcd), as a tuned client would: a put a follower forwarded to the dead leader is otherwise
 * answered only at etcd's own request timeout (7 s).
 */
async function failoverTrial(s: StoreUnderTest, seed: number): Promise<{ firstWriteMs: number; electedMs: number }> {
  const concurrency = 16;
  const client = await s.client(concurrency, FAILOVER_REQUEST_TIMEOUT_MS);
  const key = randomKeys(seed);
  let killAt = Infinity;
  let firstOk = Infinity;
  let stop = false;
  const worker = async () => {
    while (!stop) {
      const t0 = performance.now();
      try {
        await client.put(key(), VALUE);
        if (t0 > killAt && firstOk === Infinity) firstOk = performance.now();
      } catch {
        await sleep(10);
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  try {
    await sleep(1000);
    const leader = await s.leader();
    killAt = performance.now();
    await s.kill(leader);
    // The survivors agree on a new leader (polled every 50 ms, so up to ~50 ms late).
    const elected = s.leader(20_000).then(() => performance.now() - killAt);
    const deadline = killAt + 20_000;
    while (firstOk === Infinity && performance.now() < deadline) await sleep(5);
    stop = true;
    await Promise.all(workers);
    if (firstOk === Infinity) throw new Error(`${s.label}: no write succeeded within 20 s of killing the leader`);
    const electedMs = await elected;
    await s.restart(leader);
    return { firstWriteMs: firstOk - killAt, electedMs };
  } finally {
    stop = true;
    await client.close();
  }
}

function makeRow(measurement: string, unit: Row["unit"], values: Record<string, number>): Row {
  const k = values["kubemu"];
  const e = values["etcd"];
  return { measurement, unit, values, ...(k !== undefined && e !== undefined && e > 0 ? { ratio: Math.round((k / e) * 100) / 100 } : {}) };
}

function renderTable(rows: Row[], labels: string[]): string {
  const head = ["measurement", "unit", ...labels, ...(labels.length === 2 ? ["ratio kubemu/etcd"] : [])];
  const body = rows.map((r) => [r.measurement, r.unit, ...labels.map((l) => (r.values[l] === undefined ? "-" : String(r.values[l]))), ...(labels.length === 2 ? [r.ratio === undefined ? "-" : r.ratio.toFixed(2)] : [])]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

export async function run(args: string[]): Promise<void> {
  const o = parseOptions(args);
  const ms = (o.seconds * 1000) / ROUNDS;
  const notes: string[] = [];
  const stores: StoreUnderTest[] = [];
  if (o.only !== "etcd") {
    if (o.cpuProfDir) mkdirSync(o.cpuProfDir, { recursive: true });
    stores.push(new KubemuStore({ subnet: "127.0.160", profile: o.profile, ...(o.cpuProfDir ? { cpuProfDir: o.cpuProfDir } : {}) }));
  }
  if (o.only !== "kubemu") {
    if (existsSync(etcdBinary)) stores.push(new EtcdStore({ subnet: "127.0.161" }));
    else notes.push(`real etcd comparison SKIPPED: ${etcdBinary} is not installed (Debian package etcd-server)`);
  }
  if (stores.length === 0) throw new Error("nothing to benchmark");
  const labels = stores.map((s) => s.label);
  const loadBefore = loadavg().map((l) => Math.round(l * 100) / 100);
  const rows: Row[] = [];
  const failovers: Record<string, number[]> = {};
  const elections: Record<string, number[]> = {};
  const progress = (m: string) => process.stderr.write(`[etcd bench] ${m}\n`);
  try {
    for (const s of stores) {
      progress(`starting ${s.label}`);
      await s.start();
    }
    let seed = 1;
    for (const c of [1, 16, 64, 256]) {
      progress(`puts at concurrency ${c}`);
      const st = await alternate(stores, (s) => loadRow(s, "put", c, ms, seed++));
      rows.push(makeRow(`put c=${c} throughput`, "ops/s", Object.fromEntries([...st].map(([l, x]) => [l, x.opsPerSec]))));
      rows.push(makeRow(`put c=${c} p50`, "ms", Object.fromEntries([...st].map(([l, x]) => [l, x.p50ms]))));
      rows.push(makeRow(`put c=${c} p99`, "ms", Object.fromEntries([...st].map(([l, x]) => [l, x.p99ms]))));
      const fs = (l: string) => fsyncs.get(`${l} c=${c}`)!;
      rows.push(makeRow(`put c=${c} leader WAL fsync mean`, "ms", Object.fromEntries(labels.map((l) => [l, Math.round((fs(l).seconds / Math.max(1, fs(l).count)) * 1e5) / 100]))));
      rows.push(makeRow(`put c=${c} puts per leader fsync`, "puts", Object.fromEntries(labels.map((l) => [l, Math.round((fs(l).puts / Math.max(1, fs(l).count)) * 10) / 10]))));
      for (const [l, x] of st) if (x.errors > 0) notes.push(`${l}: ${x.errors} failed puts at c=${c}`);
    }
    progress("linearizable gets at concurrency 64");
    const gets = await alternate(stores, (s) => loadRow(s, "get", 64, ms, seed++));
    rows.push(makeRow("get c=64 throughput", "ops/s", Object.fromEntries([...gets].map(([l, x]) => [l, x.opsPerSec]))));
    rows.push(makeRow("get c=64 p50", "ms", Object.fromEntries([...gets].map(([l, x]) => [l, x.p50ms]))));
    rows.push(makeRow("get c=64 p99", "ms", Object.fromEntries([...gets].map(([l, x]) => [l, x.p99ms]))));

    progress("watch latency");
    const watch: Record<string, { fromAck: number[]; fromSend: number[] }> = {};
    for (const s of stores) watch[s.label] = await watchLatency(s, 300);
    const pct = (xs: number[], p: number) => Math.round(percentile([...xs].sort((a, b) => a - b), p) * 100) / 100;
    rows.push(makeRow("watch put-ack→event p50", "ms", Object.fromEntries(labels.map((l) => [l, pct(watch[l]!.fromAck, 0.5)]))));
    rows.push(makeRow("watch put-ack→event p99", "ms", Object.fromEntries(labels.map((l) => [l, pct(watch[l]!.fromAck, 0.99)]))));
    rows.push(makeRow("watch put-send→event p50", "ms", Object.fromEntries(labels.map((l) => [l, pct(watch[l]!.fromSend, 0.5)]))));

    for (const s of stores) {
      failovers[s.label] = [];
      elections[s.label] = [];
      for (let t = 0; t < o.failoverTrials; t++) {
        progress(`${s.label} failover trial ${t + 1}/${o.failoverTrials}`);
        const f = await failoverTrial(s, seed++);
        failovers[s.label]!.push(Math.round(f.firstWriteMs));
        elections[s.label]!.push(Math.round(f.electedMs));
      }
    }
    if (o.failoverTrials > 0) {
      const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      rows.push(makeRow("failover: kill leader→first write, median", "ms", Object.fromEntries(labels.map((l) => [l, med(failovers[l]!)]))));
      rows.push(makeRow("failover: kill leader→first write, max", "ms", Object.fromEntries(labels.map((l) => [l, Math.max(...failovers[l]!)]))));
      rows.push(makeRow("failover: kill leader→new leader seen, median", "ms", Object.fromEntries(labels.map((l) => [l, med(elections[l]!)]))));
    }
  } finally {
    for (const s of stores) await s.stop().catch((e: unknown) => progress(`stopping ${s.label}: ${e instanceof Error ? e.message : String(e)}`));
    killAllChildren();
  }

  const goals = labels.length === 2 ? checkGoals(rows, o.profile) : [];
  const profiles = o.cpuProfDir ? readProfiles(o.cpuProfDir) : undefined;
  const result = {
    benchmark: "etcd",
    date: new Date().toISOString(),
    node: process.version,
    setup: {
      members: "3 per store, each on its own 127.0.x IP (kubemu 127.0.160.x, etcd 127.0.161.x), temp data dirs on the same disk, fsync on",
      kubemu: `kubemu-etcd (packages/etcd-raft/dist/server/main.js), --profile ${o.profile}; client: ${stores.find((s) => s.label === "kubemu")?.clientDescription ?? "-"}`,
      etcd: labels.includes("etcd") ? `${etcdBinary} v3.4 with its default timing (heartbeat 100 ms, election 1000 ms); client: ${stores.find((s) => s.label === "etcd")?.clientDescription ?? "-"}` : "skipped",
      fairness:
        "etcd is driven through its HTTP/JSON gateway (JSON + base64, translated to gRPC inside etcd), not native gRPC, so it pays extra encoding per request; kubemu uses its native msgpack-over-WebSocket client. Both load generators run in this one node process, so client CPU is shared alike. etcd's default election timeout is 2x kubemu's fast profile, which favours kubemu in failover. The fsync rows read each store's own etcd_disk_wal_fsync_duration_seconds from the leader: etcd times the fdatasync syscall alone, kubemu the whole awaited WAL append (write + fdatasync through libuv's thread pool, plus event-loop delay).",
      failover: `c=16 put load, SIGKILL of the leader, time to the first successful put sent after the kill; client request timeout ${FAILOVER_REQUEST_TIMEOUT_MS} ms then retry (etcd: on the next member); the killed member is restarted and caught up between trials`,
      load: `closed loop; 256-byte values; random keys from a ${KEYSPACE}-key space; ${ROUNDS} alternating rounds of ${ms} ms per store per row after ${WARMUP_MS} ms warm-up; writes and reads go to the leader; watch on a follower`,
    },
    secondsPerRow: o.seconds,
    loadAverageBefore: loadBefore,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    rows,
    failoverTrialsMs: failovers,
    electionTrialsMs: elections,
    goals,
    notes,
    ...(profiles ? { cpuProfiles: profiles } : {}),
  };
  console.log(`load average before/after: ${loadBefore.join(" ")} / ${result.loadAverage.join(" ")} (2 cores shared with other work: absolute numbers swing; compare the ratios)`);
  console.log(`stores: ${labels.join(", ")}; etcd via ${labels.includes("etcd") ? "v3 HTTP/JSON gateway (not gRPC: see fairness note)" : "-"}`);
  console.log(renderTable(rows, labels));
  for (const g of goals) console.log(`goal: ${g.goal}: ${g.met ? "met" : "MISSED"} (${g.detail})`);
  console.log(`fairness: ${result.setup.fairness}`);
  for (const n of notes) console.log(`note: ${n}`);
  if (profiles) printProfiles(profiles);
  const dir = fileURLToPath(new URL("./results/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}etcd.json`, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`BENCH etcd ${JSON.stringify(result)}`);
}

/** Summaries of every member's CPU profile in dir, busiest first. */
function readProfiles(dir: string): Record<string, ProfileSummary> {
  const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
  const out = files.map((f) => [f.replace(/\.cpuprofile$/, ""), summarizeProfile(join(dir, f))] as const);
  return Object.fromEntries(out.sort((a, b) => b[1].busyMs - a[1].busyMs));
}

function printProfiles(profiles: Record<string, ProfileSummary>): void {
  for (const [member, p] of Object.entries(profiles)) {
    console.log(`\nCPU profile ${member}: ${p.busyMs} ms busy, ${p.idlePct}% idle`);
    console.log("  self%  total%  function (by self time)");
    for (const f of p.bySelf) console.log(`  ${f.selfPct.toFixed(1).padStart(5)}  ${f.totalPct.toFixed(1).padStart(6)}  ${f.fn}`);
    console.log("  self%  total%  function (by inclusive time)");
    for (const f of p.byTotal) console.log(`  ${f.selfPct.toFixed(1).padStart(5)}  ${f.totalPct.toFixed(1).padStart(6)}  ${f.fn}`);
  }
}

interface Goal {
  goal: string;
  met: boolean;
  detail: string;
}

function checkGoals(rows: Row[], profile: string): Goal[] {
  const get = (m: string) => rows.find((r) => r.measurement === m);
  const goals: Goal[] = [];
  for (const c of [16, 64, 256]) {
    const t = get(`put c=${c} throughput`);
    const p = get(`put c=${c} p99`);
    if (t?.ratio !== undefined) goals.push({ goal: `put throughput at c=${c} >= 1.0x etcd`, met: t.ratio >= 1, detail: `${t.ratio.toFixed(2)}x` });
    if (p?.ratio !== undefined) goals.push({ goal: `put p99 at c=${c} <= 1.5x etcd`, met: p.ratio <= 1.5, detail: `${p.ratio.toFixed(2)}x` });
  }
  const f = get("failover: kill leader→first write, max");
  if (f?.values["kubemu"] !== undefined) goals.push({ goal: `failover <= 1 s (profile ${profile})`, met: f.values["kubemu"] <= 1000, detail: `max ${f.values["kubemu"]} ms` });
  return goals;
}
