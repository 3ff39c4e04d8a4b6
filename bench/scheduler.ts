/**
 * `npm run bench -- scheduler`: kube-scheduler's scheduler_perf SchedulingBasic shape against the
 * real store and API servers. Per row: a fresh cluster (3 kubemu-etcd + 2 kubemu-apiserver), N
 * Node objects (no kubelets: capacity and Ready written by the benchmark, 3 zones), M pending
 * pause pods created first, then one kubemu-scheduler process is started and the time until
 * every pod is bound is measured (pods/s = M / (last bind − first bind), as scheduler_perf's
 * SchedulingThroughput counts; also from process start). Plus the algorithm alone on the same
 * inputs (no API), and single-pod create → bound latency on an idle 3-node cluster.
 *
 * Options: --rows 1000x10000,5000x10000 (default both), --latency-pods 200, --cpu-prof <dir>
 * (profiles the scheduler; hot functions are printed), --skip-algorithm, --skip-latency.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ApiClient, Resources, type KubeObject } from "@kubemu/common";
import { ApiCluster } from "./lib/apiserver-cluster.js";
import { summarizeProfile } from "./lib/cpuprofile.js";
import { MetricsWindow, type ProcWindow } from "./lib/proc-metrics.js";
import { canBind } from "./lib/net.js";
import { sleep, spawnChild, stopChild, type Child } from "./lib/procs.js";
import { percentile } from "./lib/load.js";
import { pool } from "./lib/pool.js";
import { benchAlgorithm } from "./scheduler-algorithm.js";

const schedulerJs = fileURLToPath(new URL("../packages/scheduler/dist/main.js", import.meta.url));
const SUBNET = "127.0.181";
const ZONES = ["zone-a", "zone-b", "zone-c"];
const CREATE_CONCURRENCY = 64;

interface Options {
  rows: [number, number][];
  latencyPods: number;
  cpuProfDir: string | undefined;
  skipAlgorithm: boolean;
  skipLatency: boolean;
}

function parseOptions(args: string[]): Options {
  const o: Options = { rows: [[1000, 10_000], [5000, 10_000]], latencyPods: 200, cpuProfDir: undefined, skipAlgorithm: false, skipLatency: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--rows") o.rows = next().split(",").map((r) => r.split("x").map(Number) as [number, number]);
    else if (a === "--latency-pods") o.latencyPods = Number(next());
    else if (a === "--cpu-prof") o.cpuProfDir = next();
    else if (a === "--skip-algorithm") o.skipAlgorithm = true;
    else if (a === "--skip-latency") o.skipLatency = true;
    else throw new Error(`unknown option ${a}`);
  }
  for (const [n, m] of o.rows) if (!(n > 0 && m > 0)) throw new Error(`--rows: bad row ${n}x${m}`);
  return o;
}

const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

function nodeObject(i: number): KubeObject {
  const name = `node-${String(i).padStart(5, "0")}`;
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "topology.kubernetes.io/zone": ZONES[i % ZONES.length]! } },
    spec: {},
    status: {
      capacity: { cpu: "32", memory: "256Gi", pods: "110", "ephemeral-storage": "100Gi" },
      allocatable: { cpu: "32", memory: "256Gi", pods: "110", "ephemeral-storage": "100Gi" },
      conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status", lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"), lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z") }],
    },
  };
}

function podObject(name: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels: { app: "bench" } },
    spec: { containers: [{ name: "pause", image: "registry.k8s.io/pause:3.10", resources: { requests: { cpu: "100m", memory: "500Mi" } } }] },
  };
}

async function createNodes(client: ApiClient, n: number): Promise<void> {
  await pool(
    Array.from({ length: n }, (_, i) => i),
    CREATE_CONCURRENCY,
    async (i) => {
      const node = nodeObject(i);
      const created = await client.create(Resources.nodes, node);
      // Status from a create may be reset by the server, as for a kubelet's registration: write it through status.
      if (!(created.status as { allocatable?: unknown } | undefined)?.allocatable) await client.updateStatus(Resources.nodes, { ...created, status: node.status });
    },
  );
}

async function createPods(client: ApiClient, names: string[]): Promise<void> {
  await pool(names, CREATE_CONCURRENCY, async (name) => void (await client.create(Resources.pods, podObject(name))));
}

/** Watches pods from rv and reports when each gets a node. */
function watchBinds(client: ApiClient, rv: string, signal: AbortSignal): { bound: Map<string, number>; added: Map<string, number>; waitFor(count: number, timeoutMs: number): Promise<void> } {
  const bound = new Map<string, number>();
  const added = new Map<string, number>();
  let waiter: { count: number; resolve: () => void } | undefined;
  void (async () => {
    for await (const ev of client.watch(Resources.pods, { namespace: "default", resourceVersion: rv, signal })) {
      if (ev.type !== "ADDED" && ev.type !== "MODIFIED") continue;
      const pod = ev.object as KubeObject & { spec?: { nodeName?: string } };
      if (ev.type === "ADDED" && !added.has(pod.metadata.name!)) added.set(pod.metadata.name!, performance.now());
      if (pod.spec?.nodeName && !bound.has(pod.metadata.name!)) {
        bound.set(pod.metadata.name!, performance.now());
        if (waiter && bound.size >= waiter.count) waiter.resolve();
      }
    }
  })().catch(() => undefined);
  return {
    bound,
    added,
    waitFor: (count, timeoutMs) =>
      new Promise<void>((resolve, reject) => {
        if (bound.size >= count) return resolve();
        const t = setTimeout(() => reject(new Error(`only ${bound.size}/${count} pods bound after ${timeoutMs} ms`)), timeoutMs);
        waiter = { count, resolve: () => (clearTimeout(t), resolve()) };
      }),
  };
}

async function freePort(ip: string, from: number): Promise<number> {
  for (let p = from; p < from + 200; p++) if (await canBind(ip, p)) return p;
  throw new Error(`no free port on ${ip}`);
}

async function startScheduler(cluster: ApiCluster, root: string, cpuProfDir: string | undefined): Promise<{ child: Child; url: string }> {
  const ip = `${SUBNET}.30`;
  const port = await freePort(ip, 10259);
  const flags = cpuProfDir ? ["--cpu-prof", "--cpu-prof-dir", cpuProfDir, "--cpu-prof-name", `scheduler-${Date.now()}.cpuprofile`] : [];
  const child = spawnChild("scheduler-0", process.execPath, [
    ...flags, schedulerJs, "--name", "scheduler-0", "--bind-address", ip, "--port", String(port),
    "--apiserver-urls", cluster.apiservers.join(","), "--profile", "fast", "--log-level", "warn",
  ], join(root, "scheduler-0.out"));
  const url = `http://${ip}:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.proc.exitCode !== null) throw new Error(`scheduler exited (log ${join(root, "scheduler-0.out")})`);
    try {
      const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(500) });
      await r.text();
      if (r.ok) return { child, url };
    } catch {
      /* not up yet */
    }
    await sleep(50);
  }
  throw new Error("scheduler did not answer /healthz");
}

async function metricValue(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) if (line.startsWith(name + " ") || line.startsWith(name + "{")) sum += Number(line.split(" ").pop());
  return sum;
}

interface RowResult {
  nodes: number;
  pods: number;
  podsPerSecond: number;
  podsPerSecondFromStart: number;
  secondsToAllBound: number;
  setupSeconds: { nodes: number; pods: number };
  processes: ProcWindow[];
  scheduler: { algorithmSecondsTotal: number; attemptSecondsTotal: number; attempts: number };
  hotFunctions?: { fn: string; selfPct: number }[];
}

async function endToEndRow(nodes: number, pods: number, o: Options): Promise<RowResult> {
  const cluster = new ApiCluster({ subnet: SUBNET, profile: "fast" });
  const signal = new AbortController();
  let sched: { child: Child; url: string } | undefined;
  const client = () => new ApiClient({ name: "bench", endpoints: cluster.apiservers.map((u) => `${u.replace(/^http/, "ws")}/kubemu/wire`) });
  let c: ApiClient | undefined;
  try {
    await cluster.start();
    c = client();
    let t = performance.now();
    await createNodes(c, nodes);
    const nodesSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    const names = Array.from({ length: pods }, (_, i) => `pod-${String(i).padStart(6, "0")}`);
    await createPods(c, names);
    const podsSeconds = (performance.now() - t) / 1000;
    console.log(`  ${nodes} nodes in ${round(nodesSeconds)} s, ${pods} pending pods in ${round(podsSeconds)} s`);
    const rv = (await c.list(Resources.pods, { namespace: "default", limit: 1 })).metadata.resourceVersion!;
    const binds = watchBinds(c, rv, signal.signal);
    const targets = [...cluster.apiservers.map((u, i) => ({ name: `apiserver-${i}`, url: u })), ...cluster.etcdControls.map((u, i) => ({ name: `etcd-${i}`, url: u }))];
    const started = performance.now();
    sched = await startScheduler(cluster, cluster.root, o.cpuProfDir);
    const window = await MetricsWindow.start([{ name: "scheduler-0", url: sched.url }, ...targets]);
    await binds.waitFor(pods, 600_000);
    const processes = await window.end();
    const times = [...binds.bound.values()].sort((a, b) => a - b);
    const span = (times[times.length - 1]! - times[0]!) / 1000;
    const result: RowResult = {
      nodes,
      pods,
      podsPerSecond: round(pods / span),
      podsPerSecondFromStart: round(pods / ((times[times.length - 1]! - started) / 1000)),
      secondsToAllBound: round((times[times.length - 1]! - started) / 1000, 2),
      setupSeconds: { nodes: round(nodesSeconds), pods: round(podsSeconds) },
      processes,
      scheduler: {
        algorithmSecondsTotal: round(await metricValue(sched.url, "scheduler_scheduling_algorithm_duration_seconds_sum"), 2),
        attemptSecondsTotal: round(await metricValue(sched.url, "scheduler_scheduling_attempt_duration_seconds_sum"), 2),
        attempts: await metricValue(sched.url, "scheduler_schedule_attempts_total"),
      },
    };
    await stopChild(sched.child, "SIGTERM", 5000);
    sched = undefined;
    if (o.cpuProfDir) {
      const file = readdirSync(o.cpuProfDir).filter((f) => f.startsWith("scheduler-")).sort().pop();
      if (file) result.hotFunctions = summarizeProfile(join(o.cpuProfDir, file), 12).bySelf.map((h) => ({ fn: h.fn, selfPct: h.selfPct }));
    }
    return result;
  } finally {
    signal.abort();
    if (sched) await stopChild(sched.child, "SIGKILL", 1000);
    await c?.close();
    await cluster.stop();
  }
}

interface Latency {
  p50ms: number;
  p99ms: number;
  maxms: number;
  samples: number;
  /** Where it goes, p50 of each leg: the create's answer, create → ADDED seen by a watcher, ADDED → bound seen. */
  legsP50ms: { createAck: number; toAdded: number; addedToBound: number };
}

async function singlePodLatency(count: number, o: Options): Promise<Latency> {
  const cluster = new ApiCluster({ subnet: SUBNET, profile: "fast" });
  const signal = new AbortController();
  let sched: { child: Child; url: string } | undefined;
  let c: ApiClient | undefined;
  try {
    await cluster.start();
    c = new ApiClient({ name: "bench", endpoints: cluster.apiservers.map((u) => `${u.replace(/^http/, "ws")}/kubemu/wire`) });
    await createNodes(c, 3);
    sched = await startScheduler(cluster, cluster.root, undefined);
    const rv = (await c.list(Resources.pods, { namespace: "default", limit: 1 })).metadata.resourceVersion!;
    const binds = watchBinds(c, rv, signal.signal);
    // Warm up (and let the scheduler win its lease).
    await c.create(Resources.pods, podObject("warmup"));
    await binds.waitFor(1, 30_000);
    const lat: number[] = [];
    const ack: number[] = [];
    const toAdded: number[] = [];
    const addedToBound: number[] = [];
    for (let i = 0; i < count; i++) {
      const name = `lat-${i}`;
      const t0 = performance.now();
      await c.create(Resources.pods, podObject(name));
      ack.push(performance.now() - t0);
      await binds.waitFor(i + 2, 10_000);
      const b = binds.bound.get(name)!;
      const a = binds.added.get(name) ?? b;
      lat.push(b - t0);
      toAdded.push(a - t0);
      addedToBound.push(b - a);
      await sleep(20);
    }
    const p50 = (xs: number[]) => round(percentile([...xs].sort((x, y) => x - y), 0.5), 2);
    lat.sort((a, b) => a - b);
    void o;
    return { p50ms: round(percentile(lat, 0.5), 2), p99ms: round(percentile(lat, 0.99), 2), maxms: round(lat[lat.length - 1]!, 2), samples: lat.length, legsP50ms: { createAck: p50(ack), toAdded: p50(toAdded), addedToBound: p50(addedToBound) } };
  } finally {
    signal.abort();
    if (sched) await stopChild(sched.child, "SIGTERM", 5000);
    await c?.close();
    await cluster.stop();
  }
}

export async function run(args: string[]): Promise<void> {
  const o = parseOptions(args);
  if (!existsSync(schedulerJs)) throw new Error(`${schedulerJs} is missing: run "npx tsc -b" first`);
  if (o.cpuProfDir) mkdirSync(o.cpuProfDir, { recursive: true });
  const result: Record<string, unknown> = { name: "scheduler", date: new Date().toISOString(), loadavg1mAtStart: round(loadavg()[0]!, 2) };
  const algorithm: ReturnType<typeof benchAlgorithm>[] = [];
  if (!o.skipAlgorithm) {
    for (const [nodes, pods] of o.rows) {
      // The same inputs as the end-to-end rows: bare pods (no owner, so no default spreading) asking 100m / 500Mi.
      const r = benchAlgorithm({ nodes, pods, replicaSets: 0, requests: { cpu: "100m", memory: "500Mi" } });
      algorithm.push(r);
      console.log(`algorithm alone ${nodes} nodes × ${pods} pods: ${JSON.stringify(r)}`);
    }
  }
  result.algorithm = algorithm;
  const rows: RowResult[] = [];
  for (const [nodes, pods] of o.rows) {
    console.log(`end to end: ${nodes} nodes × ${pods} pods`);
    const r = await endToEndRow(nodes, pods, o);
    rows.push(r);
    console.log(`  ${r.podsPerSecond} pods/s (first → last bind), ${r.podsPerSecondFromStart} pods/s from scheduler start; all bound ${r.secondsToAllBound} s after start`);
    for (const p of r.processes) console.log(`    ${p.name.padEnd(12)} cpu ${p.cpuCores} cores, gc ${p.gcPct}%, loop p99 ${p.loopDelayP99ms} ms`);
    console.log(`    scheduler: algorithm ${r.scheduler.algorithmSecondsTotal} s, attempts ${r.scheduler.attempts} taking ${r.scheduler.attemptSecondsTotal} s in total (binds included)`);
    if (r.hotFunctions) for (const h of r.hotFunctions) console.log(`      ${String(h.selfPct).padStart(5)}%  ${h.fn}`);
  }
  result.endToEnd = rows;
  if (!o.skipLatency) {
    const lat = await singlePodLatency(o.latencyPods, o);
    result.singlePodLatency = lat;
    console.log(`single pod create → bound on an idle 3-node cluster: p50 ${lat.p50ms} ms, p99 ${lat.p99ms} ms, max ${lat.maxms} ms (${lat.samples} pods)`);
    console.log(`  legs (p50): create answered ${lat.legsP50ms.createAck} ms, ADDED seen ${lat.legsP50ms.toAdded} ms, ADDED → bound seen ${lat.legsP50ms.addedToBound} ms`);
  }
  result.goal = { podsPerSecondAt1000x10000: 700, singlePodP99ms: 20, anchor: "kube-scheduler CI floor: 680 pods/s at 5,000 nodes (SchedulingBasic) on a large machine" };
  result.loadavg1mAtEnd = round(loadavg()[0]!, 2);
  mkdirSync(fileURLToPath(new URL("./results/", import.meta.url)), { recursive: true });
  writeFileSync(fileURLToPath(new URL("./results/scheduler.json", import.meta.url)), JSON.stringify(result, null, 2) + "\n");
  console.log(`BENCH scheduler ${JSON.stringify(result)}`);
}
