/**
 * `npm run bench -- kubelet`: pod startup latency and density on real kubelets (issue 12).
 *
 * Real processes on private loopback addresses (lib/node-cluster.ts): 3 kubemu-etcd, 2
 * kubemu-apiserver, 1 kubemu-scheduler, 1 kubemu-controller-manager on 127.1.150.x, and 3
 * kubemu-kubelets (nodes 127.1.151.N, pods 127.250.N.0/24), all --profile fast. Rows:
 *   burst-30   30 registry.k8s.io/pause pods created at once, scheduled on the 3 nodes;
 *   burst-100  100 such pods created at once, scheduled on the 3 nodes;
 *   density    100 such pods on ONE node (spec.nodeName set, so no scheduler in the path).
 * Per pod, create→Running (status.phase) and create→Ready (the Ready condition True), from the
 * moment the bench sends the create to the arrival of the watch event that shows it, as the
 * bench's own informer sees it; p50/p99/max (nearest rank: for 30 pods p99 is the slowest).
 * Where the time goes: create → bound (spec.nodeName seen) → the kubelet's first status
 * (status.hostIP seen) → Running; and each kubelet's CPU and event-loop delay over the row (its
 * /metrics), with the machine's load average, since a kubelet starved of CPU waits in the run
 * queue rather than in its own code.
 * Each row's pods are deleted, and gone from the API, before the next row starts.
 *
 * Density: the node's kubelet process, before the 100 pods (idle, after the earlier rows' pods
 * are gone) and after (all Ready, then a settle pause): VmRSS from /proc/<pid>/status, CPU seconds
 * (utime+stime from /proc/<pid>/stat), and CPU per second over a quiet window in each state.
 * The pods' own processes are found by their uid in a bwrap's command line (the pod's directory
 * is in its arguments) plus every descendant; their VmRSS is summed (counts shared pages, such as
 * sh's text, once per process) and their Pss too (/proc/<pid>/smaps_rollup, shared pages split).
 * Per-pod kubelet overhead = ΔVmRSS / 100.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { ApiClient, Resources, type KubeObject } from "@kubemu/common";
import { ClusterWatch, condition, podReady, type Listers } from "./lib/cluster-watch.js";
import { NodeCluster } from "./lib/node-cluster.js";
import { MetricsWindow, type ProcWindow } from "./lib/proc-metrics.js";
import { sleep } from "./lib/procs.js";

const NODES = ["kubemu", "kubemu-m02", "kubemu-m03"];
const DENSITY_NODE = "kubemu-m03";
const NAMESPACE = "default";
const IMAGE = "registry.k8s.io/pause:3.10";
const PROFILE = "fast" as const;
const GOALS = { burst30P99RunningMs: 1000, kubeletRssPerPodMiB: 2, upstreamSloP99Ms: 5000 };
const SETTLE_MS = 10_000;
const CPU_WINDOW_MS = 10_000;
const TIMEOUT_MS = 240_000;

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

interface Latency {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

function summarize(xs: number[]): Latency {
  const s = [...xs].sort((a, b) => a - b);
  const rank = (q: number) => s[Math.max(0, Math.ceil(q * s.length) - 1)]!;
  return { p50Ms: round(rank(0.5), 0), p99Ms: round(rank(0.99), 0), maxMs: round(s[s.length - 1]!, 0), meanMs: round(s.reduce((a, b) => a + b, 0) / s.length, 0) };
}

function pausePod(name: string, row: string, nodeName?: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: NAMESPACE, labels: { bench: "kubelet", row } },
    spec: {
      ...(nodeName ? { nodeName } : {}),
      terminationGracePeriodSeconds: 1,
      containers: [{ name: "pause", image: IMAGE }],
    },
  };
}

// ---- /proc readers (Linux) ----

const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

function statusKb(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function pssKb(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
    return m ? Number(m[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** utime+stime of a process, seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command (which may hold spaces) start after the last ')'.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** pid → parent pid, for every process visible now. */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      out.set(Number(d), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** Host pids whose command line mentions s (a container's bwrap carries its pod's uid). */
function pidsMentioning(s: string): number[] {
  try {
    return execFileSync("pgrep", ["-f", s], { encoding: "utf8" }).split("\n").filter(Boolean).map(Number).filter((p) => p !== process.pid);
  } catch {
    return [];
  }
}

/** The processes of the given pods: the matching bwraps and all their descendants. */
function podProcesses(uids: string[]): { pods: number; processes: number; vmRssMiB: number; pssMiB: number } {
  const ppid = parents();
  const children = new Map<number, number[]>();
  for (const [pid, parent] of ppid) children.set(parent, [...(children.get(parent) ?? []), pid]);
  const all = new Set<number>();
  let found = 0;
  for (const uid of uids) {
    const roots = pidsMentioning(uid);
    if (roots.length > 0) found++;
    const stack = [...roots];
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (all.has(p)) continue;
      all.add(p);
      stack.push(...(children.get(p) ?? []));
    }
  }
  let rss = 0;
  let pss = 0;
  for (const p of all) {
    rss += statusKb(p, "VmRSS");
    pss += pssKb(p);
  }
  return { pods: found, processes: all.size, vmRssMiB: round(rss / 1024), pssMiB: round(pss / 1024) };
}

// ---- rows ----

interface Row {
  row: string;
  pods: number;
  nodes: Record<string, number>;
  createToRunning: Latency;
  createToReady: Latency;
  /** Where the time went: create → bound (spec.nodeName seen; 0 when set at create) → the kubelet's first status (status.hostIP seen) → Running. */
  createToBound: Latency;
  createToKubeletStatus: Latency;
  /** Create of the first pod to the last one Ready. */
  allReadyMs: number;
  /** The kubelets' CPU seconds from the first create to the last Ready, summed over the nodes. */
  kubeletCpuSeconds: number;
  /** Each kubelet over the row, from its /metrics: CPU share of a core, GC, event-loop delay. */
  kubelets: ProcWindow[];
  /** The machine's 1-minute load average when the row started (2 cores, shared). */
  loadavg1m: number;
}

/** Every pod uid the bench created, to look for processes left behind. */
const allUids = new Set<string>();

const rowPods = (l: Listers, row: string) => l.pods.list({ namespace: NAMESPACE }).filter((p) => p.metadata.labels?.["row"] === row);

async function burst(cluster: NodeCluster, client: ApiClient, w: ClusterWatch, row: string, count: number, nodeName?: string): Promise<Row> {
  const l = w.listers;
  const kubeletPids = [...cluster.kubelets.values()].map((c) => c.pid);
  const loadavg1m = round(loadavg()[0]!);
  const metrics = await MetricsWindow.start(NODES.map((n) => ({ name: n, url: `http://${cluster.nodeIp(n)}:10250` })));
  const cpu0 = kubeletPids.reduce((a, p) => a + cpuSeconds(p), 0);
  const names = Array.from({ length: count }, (_, i) => `${row}-${String(i).padStart(3, "0")}`);
  const t00 = performance.now();
  const timings = await Promise.all(
    names.map(async (name) => {
      const pod = () => l.pods.get(NAMESPACE, name);
      const bound = w.within(`${name} bound`, TIMEOUT_MS, () => !!pod()?.spec.nodeName);
      const kubeletStatus = w.within(`${name} status from its kubelet`, TIMEOUT_MS, () => !!(pod()?.status as { hostIP?: string } | undefined)?.hostIP);
      const running = w.within(`${name} Running`, TIMEOUT_MS, () => pod()?.status?.phase === "Running");
      const ready = w.within(`${name} Ready`, TIMEOUT_MS, () => { const p = pod(); return !!p && podReady(p); });
      const t0 = performance.now();
      await client.create(Resources.pods, pausePod(name, row, nodeName));
      return { bound: (await bound) - t0, kubeletStatus: (await kubeletStatus) - t0, running: (await running) - t0, ready: (await ready) - t0, readyAt: await ready };
    }),
  );
  const cpu1 = kubeletPids.reduce((a, p) => a + cpuSeconds(p), 0);
  const kubelets = await metrics.end();
  for (const p of rowPods(l, row)) allUids.add(p.metadata.uid!);
  const nodes: Record<string, number> = {};
  for (const p of rowPods(l, row)) nodes[p.spec.nodeName ?? "?"] = (nodes[p.spec.nodeName ?? "?"] ?? 0) + 1;
  const r: Row = {
    row,
    pods: count,
    nodes,
    createToRunning: summarize(timings.map((t) => t.running)),
    createToReady: summarize(timings.map((t) => t.ready)),
    createToBound: summarize(timings.map((t) => Math.max(0, t.bound))),
    createToKubeletStatus: summarize(timings.map((t) => t.kubeletStatus)),
    allReadyMs: round(Math.max(...timings.map((t) => t.readyAt)) - t00, 0),
    kubeletCpuSeconds: round(cpu1 - cpu0),
    kubelets,
    loadavg1m,
  };
  console.log(`  ${row}: ${count} pods Ready in ${(r.allReadyMs / 1000).toFixed(2)} s; Running p50 ${r.createToRunning.p50Ms} p99 ${r.createToRunning.p99Ms} max ${r.createToRunning.maxMs} ms`);
  return r;
}

async function removeRow(client: ApiClient, w: ClusterWatch, row: string): Promise<number> {
  const t0 = performance.now();
  await client.deleteCollection(Resources.pods, { namespace: NAMESPACE, labelSelector: `row=${row}` });
  await w.within(`${row}'s pods gone`, TIMEOUT_MS, (l) => rowPods(l, row).length === 0);
  return round(performance.now() - t0, 0);
}

interface KubeletSample {
  vmRssMiB: number;
  cpuSeconds: number;
  /** CPU seconds per second over CPU_WINDOW_MS of no API activity from the bench. */
  cpuPerSecond: number;
}

async function sampleKubelet(pid: number): Promise<KubeletSample> {
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  await sleep(CPU_WINDOW_MS);
  const c1 = cpuSeconds(pid);
  return { vmRssMiB: round(statusKb(pid, "VmRSS") / 1024), cpuSeconds: round(c1), cpuPerSecond: round((c1 - c0) / ((performance.now() - t0) / 1000), 3) };
}

function printTable(rows: Row[]): void {
  const cols: [string, (r: Row) => string][] = [
    ["row", (r) => r.row],
    ["pods", (r) => String(r.pods)],
    ["Running p50", (r) => String(r.createToRunning.p50Ms)],
    ["p99", (r) => String(r.createToRunning.p99Ms)],
    ["max", (r) => String(r.createToRunning.maxMs)],
    ["Ready p50", (r) => String(r.createToReady.p50Ms)],
    ["p99", (r) => String(r.createToReady.p99Ms)],
    ["max", (r) => String(r.createToReady.maxMs)],
    ["bound p50", (r) => String(r.createToBound.p50Ms)],
    ["p99", (r) => String(r.createToBound.p99Ms)],
    ["1st status p50", (r) => String(r.createToKubeletStatus.p50Ms)],
    ["p99", (r) => String(r.createToKubeletStatus.p99Ms)],
    ["all Ready", (r) => String(r.allReadyMs)],
    ["kubelet CPU s", (r) => r.kubeletCpuSeconds.toFixed(2)],
    ["kubelet loop p99/max", (r) => `${Math.max(...r.kubelets.map((k) => k.loopDelayP99ms))}/${Math.max(...r.kubelets.map((k) => k.loopDelayMaxms))}`],
    ["load", (r) => r.loadavg1m.toFixed(1)],
    ["nodes", (r) => Object.values(r.nodes).join("/")],
  ];
  const table = [cols.map(([h]) => h), ...rows.map((r) => cols.map(([, f]) => f(r)))];
  const widths = cols.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  console.log("  ms from the create (as the bench's watch sees it)");
  for (const row of table) console.log("  " + row.map((c, i) => c.padStart(widths[i]!)).join("  "));
}

/**
 * Options: `--subnet 127.1.150 --node-subnet 127.1.151 --pod-prefix 127.250` (the addresses, so a
 * run can use a range nobody else holds) and `--only burst-30` (that row alone, printed and not
 * written to results/: for before/after comparisons of one change).
 */
function parseArgs(args: string[]): { subnet: string; nodeSubnet: string; podPrefix: string; only: string | undefined } {
  const o = { subnet: "127.1.150", nodeSubnet: "127.1.151", podPrefix: "127.250", only: undefined as string | undefined };
  const flags: Record<string, "subnet" | "nodeSubnet" | "podPrefix" | "only"> = { "--subnet": "subnet", "--node-subnet": "nodeSubnet", "--pod-prefix": "podPrefix", "--only": "only" };
  for (let i = 0; i < args.length; i += 2) {
    const key = flags[args[i]!];
    const value = args[i + 1];
    if (!key || value === undefined) throw new Error(`kubelet takes --subnet, --node-subnet, --pod-prefix and --only <row> (got ${args.join(" ")})`);
    o[key] = value;
  }
  if (o.only !== undefined && !["burst-30", "burst-100"].includes(o.only)) throw new Error(`--only takes burst-30 or burst-100 (got ${o.only})`);
  return o;
}

export async function run(args: string[]): Promise<void> {
  const opts = parseArgs(args);
  const result: Record<string, unknown> = { name: "kubelet", date: new Date().toISOString(), loadavgAtStart: loadavg().map((x) => round(x)) };
  const cluster = new NodeCluster({ subnet: opts.subnet, nodeSubnet: opts.nodeSubnet, podPrefix: opts.podPrefix, nodes: NODES, profile: PROFILE });
  let client: ApiClient | undefined;
  let watch: ClusterWatch | undefined;
  try {
    await cluster.start();
    client = new ApiClient({ name: "bench", endpoints: cluster.api.apiservers.map((u) => `${u.replace(/^http/, "ws")}/kubemu/wire`) });
    const w = (watch = new ClusterWatch(client, NAMESPACE));
    await w.start();
    await w.within("3 Ready nodes", 60_000, (l) => NODES.every((n) => condition(l.nodes.get(undefined, n), "Ready")?.status === "True"));
    // The default ServiceAccount must exist before pods can be created in the namespace.
    for (let i = 0; ; i++) {
      try {
        await client.get(Resources.serviceAccounts, NAMESPACE, "default");
        break;
      } catch (e) {
        if (i > 300) throw e;
        await sleep(200);
      }
    }

    const rows: Row[] = [];
    const deletes: Record<string, number> = {};
    if (opts.only !== undefined) {
      const count = opts.only === "burst-30" ? 30 : 100;
      rows.push(await burst(cluster, client, w, opts.only, count));
      deletes[opts.only] = await removeRow(client, w, opts.only);
      printTable(rows);
      console.log(`BENCH kubelet-${opts.only} ${JSON.stringify({ rows, deleteAndGoneMs: deletes, loadavgAtEnd: loadavg().map((x) => round(x)) })}`);
      return;
    }
    rows.push(await burst(cluster, client, w, "burst-30", 30));
    deletes["burst-30"] = await removeRow(client, w, "burst-30");
    rows.push(await burst(cluster, client, w, "burst-100", 100));
    deletes["burst-100"] = await removeRow(client, w, "burst-100");

    // Density on one node: its kubelet idle, then with 100 pods.
    const kubeletPid = cluster.kubelets.get(DENSITY_NODE)!.pid;
    await sleep(SETTLE_MS);
    // The earlier rows' containers must be gone, or they would count in the "before".
    const leftover = podProcesses([...allUids]).processes;
    const before = await sampleKubelet(kubeletPid);
    const density = await burst(cluster, client, w, "density", 100, DENSITY_NODE);
    rows.push(density);
    await sleep(SETTLE_MS);
    const after = await sampleKubelet(kubeletPid);
    const uids = rowPods(w.listers, "density").map((p) => p.metadata.uid!);
    const podProcs = podProcesses(uids);
    printTable(rows);

    const deltaRssMiB = round(after.vmRssMiB - before.vmRssMiB);
    const perPodMiB = round(deltaRssMiB / 100, 3);
    const burst30 = rows[0]!;
    const met = {
      burst30P99Running: burst30.createToRunning.p99Ms <= GOALS.burst30P99RunningMs,
      kubeletRssPerPod: perPodMiB <= GOALS.kubeletRssPerPodMiB,
      upstreamSloAllRows: rows.every((r) => r.createToRunning.p99Ms <= GOALS.upstreamSloP99Ms),
    };
    console.log(`  density on ${DENSITY_NODE}: kubelet VmRSS ${before.vmRssMiB} → ${after.vmRssMiB} MiB (Δ ${deltaRssMiB} MiB, ${perPodMiB} MiB/pod); CPU ${before.cpuSeconds} → ${after.cpuSeconds} s total, idle ${before.cpuPerSecond} → ${after.cpuPerSecond} CPU-s/s with 100 pods`);
    console.log(`  the pods' own processes: ${podProcs.processes} processes for ${podProcs.pods} pods, VmRSS sum ${podProcs.vmRssMiB} MiB, Pss sum ${podProcs.pssMiB} MiB`);
    console.log(`  goals: burst-30 p99 create→Running ≤ ${GOALS.burst30P99RunningMs} ms: ${met.burst30P99Running ? "met" : "NOT met"} (${burst30.createToRunning.p99Ms} ms); kubelet ≤ ${GOALS.kubeletRssPerPodMiB} MB RSS/pod: ${met.kubeletRssPerPod ? "met" : "NOT met"} (${perPodMiB} MiB); upstream SLO p99 ≤ 5 s: ${met.upstreamSloAllRows ? "met" : "NOT met"} on every row`);
    Object.assign(result, {
      cluster: { etcd: 3, apiservers: 2, schedulers: 1, controllerManagers: "1 (--controllers *)", kubelets: NODES.length, profile: PROFILE, addresses: `control plane ${opts.subnet}.x, nodes ${opts.nodeSubnet}.N, pods ${opts.podPrefix}.N.0/24`, image: IMAGE },
      measured: "per pod: from sending the create to the watch event showing status.phase Running / condition Ready True; p99 nearest rank (for 30 pods = max); rows created all at once (concurrent creates)",
      rows,
      deleteAndGoneMs: deletes,
      density: {
        node: DENSITY_NODE,
        pods: 100,
        kubeletBefore: before,
        kubeletAfter: after,
        kubeletDeltaVmRssMiB: deltaRssMiB,
        kubeletOverheadPerPodMiB: perPodMiB,
        kubeletCpuSecondsDuringRamp: density.kubeletCpuSeconds,
        podProcesses: { ...podProcs, leftoverBeforeDensity: leftover, how: "pgrep -f <pod uid> (the bwrap of each container) plus all descendants; VmRSS summed (shared pages counted per process), Pss from smaps_rollup" },
        note: `before: ${SETTLE_MS / 1000} s after the earlier rows' pods were gone, then a ${CPU_WINDOW_MS / 1000} s CPU window; after: all 100 Ready, ${SETTLE_MS / 1000} s settle, then a ${CPU_WINDOW_MS / 1000} s CPU window; VmRSS read at the end of each window (a single reading; V8's heap moves with GC)`,
      },
      goals: GOALS,
      goalsMet: met,
      loadavgAtEnd: loadavg().map((x) => round(x)),
    });
  } catch (e) {
    console.error(cluster.tails(25));
    throw e;
  } finally {
    await watch?.close().catch(() => undefined);
    await client?.close().catch(() => undefined);
    await cluster.stop();
  }
  result["podProcessesLeftAfterStop"] = podProcesses([...allUids]).processes;
  mkdirSync(fileURLToPath(new URL("./results/", import.meta.url)), { recursive: true });
  writeFileSync(fileURLToPath(new URL("./results/kubelet.json", import.meta.url)), JSON.stringify(result, null, 2) + "\n");
  console.log(`BENCH kubelet ${JSON.stringify(result)}`);
}
