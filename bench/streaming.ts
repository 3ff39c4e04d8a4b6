/**
 * `npm run bench -- streaming`: the streaming paths through the API server to a kubelet (issue 13).
 *
 * Real processes on private loopback addresses (lib/node-cluster.ts): 3 kubemu-etcd, 2
 * kubemu-apiserver, a scheduler and a controller-manager on 127.1.209.x, one kubemu-kubelet (node
 * 127.1.205.1, pods 127.234.1.0/24), --profile fast; plain HTTP between them (as the kubelet e2e).
 *
 * exec: `kubectl exec <pod> -- true` wall time, sequential, beside `kubectl version --client`
 *   (kubectl's own start: the Go binary, flags, kubeconfig) — the difference is what the exec costs
 *   kubectl beyond starting; and the same exec driven over the WebSocket protocol directly
 *   (v5.channel.k8s.io, from the upgrade request to the final Status) through the API server and
 *   straight to the kubelet's /exec, so the proxy hop's share shows.
 * logs -f: a container prints `date +%s%N` every 20 ms; each line's latency is the reader's clock
 *   when the line arrives minus the time in it (same host clock), for `kubectl logs -f`, a plain
 *   follow GET on the API server and one on the kubelet, all reading at once.
 * port-forward: 100 MB from a pod's HTTP server (python3 -m http.server) fetched directly from
 *   the pod IP and through `kubectl port-forward`, taking turns; MB/s each and the ratio.
 * Goals (issue 13): exec p50 ≤ 100 ms with kubectl's start excluded, logs -f p99 ≤ 50 ms,
 * port-forward ≥ 0.5× direct.
 * Options: --execs 30, --ws-execs 100, --logs-seconds 10, --transfers 3.
 */
import { execFile, spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";
import { NodeCluster } from "./lib/node-cluster.js";
import { sleep } from "./lib/procs.js";

const SUBNET = "127.1.209";
const NODE_SUBNET = "127.1.205";
const POD_PREFIX = "127.234";
const NODE = "kubemu";
const GOALS = { execP50Ms: 100, logsFollowP99Ms: 50, portForwardRatio: 0.5 };
const TRANSFER_BYTES = 100_000_000;

const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;
/**
 * The wall clock the container's `date +%s%N` stamps read (CLOCK_REALTIME), in ms. Not
 * performance.timeOrigin + now(): that runs on the monotonic clock and drifts from the wall clock
 * when the host's time is stepped (this VM's was, by ~26 s, which made every latency negative).
 */
const wallMs = () => Date.now();

interface Latency {
  n: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function summarize(xs: number[]): Latency {
  const s = [...xs].sort((a, b) => a - b);
  const rank = (q: number) => s[Math.max(0, Math.ceil(q * s.length) - 1)] ?? NaN;
  return { n: s.length, p50Ms: round(rank(0.5)), p99Ms: round(rank(0.99)), maxMs: round(s[s.length - 1] ?? NaN) };
}

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : fallback;
}

class Kubectl {
  constructor(
    private readonly kubeconfig: string,
    private readonly cacheDir: string,
  ) {}

  env(): NodeJS.ProcessEnv {
    return { ...process.env, KUBECONFIG: this.kubeconfig };
  }

  run(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = execFile("kubectl", ["--cache-dir", this.cacheDir, ...args], { env: this.env(), timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) || 1 : 0, stdout, stderr }),
      );
      if (input !== undefined) child.stdin!.end(input);
    });
  }

  async ok(args: string[], input?: string): Promise<string> {
    const r = await this.run(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  }

  spawn(args: string[]) {
    return spawn("kubectl", ["--cache-dir", this.cacheDir, ...args], { env: this.env(), stdio: ["ignore", "pipe", "pipe"] });
  }
}

/** One exec over the v5 channel protocol: from the upgrade request to the final Status (channel 3). */
function wsExec(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const ws = new WebSocket(url, ["v5.channel.k8s.io"]);
    ws.on("message", (data: Buffer) => {
      if (data[0] !== 3) return;
      const took = performance.now() - start;
      const status = JSON.parse(data.subarray(1).toString()) as { status?: string };
      ws.close();
      if (status.status === "Success") resolve(took);
      else reject(new Error(`exec failed: ${data.subarray(1).toString()}`));
    });
    ws.on("error", reject);
  });
}

/** Follows a log stream for durationMs; each line is a `date +%s%N` stamp: returns its latencies. */
function followLatencies(open: (onLine: (line: string) => void) => () => void, durationMs: number): Promise<number[]> {
  const out: number[] = [];
  const stop = open((line) => {
    const ns = /^\d{16,}$/.test(line.trim()) ? Number(BigInt(line.trim()) / 1000n) / 1000 : NaN;
    if (Number.isFinite(ns)) out.push(wallMs() - ns);
  });
  return sleep(durationMs).then(() => {
    stop();
    return out;
  });
}

function lineSplitter(onLine: (l: string) => void): (chunk: Buffer) => void {
  let buf = "";
  return (chunk) => {
    buf += chunk.toString();
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  };
}

function httpFollow(url: string): (onLine: (l: string) => void) => () => void {
  return (onLine) => {
    const req = httpRequest(url, (res) => res.on("data", lineSplitter(onLine)));
    req.on("error", () => undefined);
    req.end();
    return () => req.destroy();
  };
}

/** The processes on the port-forward path, by the command lines the bench starts them with. */
const ROLES: [string, RegExp][] = [
  ["kubelet", /kubelet\/dist\/main\.js/],
  ["apiservers", /apiserver\/dist\/main\.js/],
  ["apiserver-lb", /apiserver-lb\/main\.js/],
  ["pod (python3 http.server)", /http\.server 8080/],
];

/** CPU seconds (user + system) so far of each role's processes, kubectl port-forward (its pid) and this process (the downloading client). */
function cpuByRole(kubectlPid: number | undefined): Record<string, number> {
  const tick = 100; // USER_HZ on Linux
  const cpuOf = (pid: number) => {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      return (Number(f[11]) + Number(f[12])) / tick;
    } catch {
      return 0;
    }
  };
  const out: Record<string, number> = { "kubectl port-forward": kubectlPid ? cpuOf(kubectlPid) : 0, "client (this process)": cpuOf(process.pid) };
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number)) {
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
    } catch {
      continue;
    }
    const role = ROLES.find(([, re]) => re.test(cmd))?.[0];
    if (role) out[role] = (out[role] ?? 0) + cpuOf(pid);
  }
  return out;
}

/** Bytes/s of one GET of url (the whole body read and dropped). */
function download(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let bytes = 0;
    const req = httpRequest(url, { agent: false }, (res) => {
      res.on("data", (d: Buffer) => (bytes += d.length));
      res.on("end", () => (bytes === TRANSFER_BYTES ? resolve(bytes / ((performance.now() - start) / 1000)) : reject(new Error(`got ${bytes} of ${TRANSFER_BYTES} bytes from ${url}`))));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

async function waitFor<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 500)}`);
    await sleep(250);
  }
}

async function timeRuns(n: number, fn: () => Promise<void>): Promise<number[]> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    xs.push(performance.now() - t);
  }
  return xs;
}

export async function run(args: string[]): Promise<void> {
  const execs = option(args, "execs", 30);
  const wsExecs = option(args, "ws-execs", 100);
  const logsSeconds = option(args, "logs-seconds", 10);
  const transfers = option(args, "transfers", 3);
  const loadBefore = loadavg();
  const cluster = new NodeCluster({ subnet: SUBNET, nodeSubnet: NODE_SUBNET, podPrefix: POD_PREFIX, nodes: [NODE], profile: "fast" });
  const result: Record<string, unknown> = { cpus: availableParallelism(), loadAvgBefore: loadBefore.map((x) => round(x, 2)), goals: GOALS };
  try {
    await cluster.start();
    const api = cluster.api.apiservers[0]!;
    const kubeconfig = join(cluster.root, "kubeconfig");
    writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: bench\n  cluster:\n    server: ${api}\ncontexts:\n- name: bench\n  context:\n    cluster: bench\n    user: bench\ncurrent-context: bench\nusers:\n- name: bench\n  user: {}\n`,
    );
    const kubectl = new Kubectl(kubeconfig, join(cluster.root, "kubectl-cache"));
    const pod = (name: string, container: Record<string, unknown>) => ({ apiVersion: "v1", kind: "Pod", metadata: { name }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: "busybox", ...container }] } });
    await kubectl.ok(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: [
      pod("target", { command: ["sleep", "3600"] }),
      pod("ticker", { command: ["sh", "-c", "while :; do date +%s%N; sleep 0.02; done"] }),
      pod("web", { command: ["sh", "-c", `head -c ${TRANSFER_BYTES} /dev/zero > /tmp/blob && exec python3 -m http.server 8080 --bind "$POD_IP" --directory /tmp`], env: [{ name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }], ports: [{ containerPort: 8080 }] }),
    ] }));
    for (const p of ["target", "ticker", "web"]) await waitFor(() => kubectl.run(["get", "pod", p, "-o", "jsonpath={.status.phase}"]), (r) => r.stdout === "Running", `${p} Running`);

    // ---- exec ----
    await kubectl.ok(["exec", "target", "--", "true"]); // warms kubectl's discovery cache
    const version = summarize(await timeRuns(execs, async () => void (await kubectl.ok(["version", "--client"]))));
    const kExec = summarize(await timeRuns(execs, async () => void (await kubectl.ok(["exec", "target", "--", "true"]))));
    const execQuery = "command=true&stdout=true&stderr=true";
    const viaApi = summarize(await timeRuns(wsExecs, async () => void (await wsExec(`${api.replace(/^http/, "ws")}/api/v1/namespaces/default/pods/target/exec?${execQuery}`))));
    const kubeletUrl = `ws://${cluster.nodeIp(NODE)}:10250`;
    const direct = summarize(await timeRuns(wsExecs, async () => void (await wsExec(`${kubeletUrl}/exec/default/target/c?${execQuery}`))));
    result.exec = {
      kubectlExec: kExec,
      kubectlVersionClient: version,
      kubectlExecMinusStartP50Ms: round(kExec.p50Ms - version.p50Ms),
      webSocketViaApiserver: viaApi,
      webSocketToKubelet: direct,
    };
    console.log(`exec (ms)                       n    p50    p99    max`);
    for (const [name, l] of [["kubectl exec -- true", kExec], ["kubectl version --client", version], ["WS exec via API server", viaApi], ["WS exec to the kubelet", direct]] as const)
      console.log(`  ${name.padEnd(28)} ${String(l.n).padStart(4)} ${String(l.p50Ms).padStart(6)} ${String(l.p99Ms).padStart(6)} ${String(l.maxMs).padStart(6)}`);
    console.log(`  kubectl exec minus kubectl's start, p50: ${round(kExec.p50Ms - version.p50Ms)} ms (goal ≤ ${GOALS.execP50Ms})`);

    // ---- logs -f ----
    const duration = logsSeconds * 1000;
    const viaKubectl = followLatencies((onLine) => {
      const child = kubectl.spawn(["logs", "-f", "ticker", "--tail=0"]);
      child.stdout.on("data", lineSplitter(onLine));
      return () => child.kill("SIGKILL");
    }, duration);
    const viaApiLogs = followLatencies(httpFollow(`${api}/api/v1/namespaces/default/pods/ticker/log?follow=true&tailLines=0`), duration);
    const viaKubeletLogs = followLatencies(httpFollow(`http://${cluster.nodeIp(NODE)}:10250/containerLogs/default/ticker/c?follow=true&tailLines=0`), duration);
    const [lk, la, ll] = await Promise.all([viaKubectl, viaApiLogs, viaKubeletLogs]);
    // The first second is the readers catching up with their start; it is left out.
    const steady = (xs: number[]) => summarize(xs.slice(Math.min(xs.length, Math.round(1000 / 20))));
    result.logsFollow = { kubectl: steady(lk), apiserverGet: steady(la), kubeletGet: steady(ll), linePeriodMs: 20 };
    console.log(`logs -f line latency (ms)       n    p50    p99    max`);
    for (const [name, xs] of [["kubectl logs -f", lk], ["GET log?follow via API", la], ["GET containerLogs (kubelet)", ll]] as const) {
      const l = steady(xs);
      console.log(`  ${name.padEnd(28)} ${String(l.n).padStart(4)} ${String(l.p50Ms).padStart(6)} ${String(l.p99Ms).padStart(6)} ${String(l.maxMs).padStart(6)}`);
    }

    // ---- port-forward ----
    const podIp = (await kubectl.ok(["get", "pod", "web", "-o", "jsonpath={.status.podIP}"])).trim();
    await waitFor(() => download(`http://${podIp}:8080/blob`).then(() => true, () => false), (ok) => ok, "the web pod serving its blob");
    const pf = kubectl.spawn(["port-forward", "pod/web", ":8080"]);
    let pfOut = "";
    pf.stdout.on("data", (d: Buffer) => (pfOut += d.toString()));
    pf.stderr.on("data", (d: Buffer) => (pfOut += d.toString()));
    try {
      const port = await waitFor(async () => /Forwarding from 127\.0\.0\.1:(\d+)/.exec(pfOut)?.[1] ?? (pf.exitCode !== null ? "exited" : ""), (p) => p !== "", "kubectl port-forward to listen", 30_000);
      if (port === "exited") throw new Error(`kubectl port-forward exited: ${pfOut.trim()}`);
      const directRates: number[] = [];
      const forwardedRates: number[] = [];
      const cpu: Record<"direct" | "forwarded", Record<string, number>> = { direct: {}, forwarded: {} };
      const measured = async (path: keyof typeof cpu, url: string) => {
        const before = cpuByRole(pf.pid);
        const rate = await download(url);
        const after = cpuByRole(pf.pid);
        for (const [role, t] of Object.entries(after)) cpu[path][role] = (cpu[path][role] ?? 0) + t - (before[role] ?? 0);
        return rate;
      };
      for (let i = 0; i < transfers; i++) {
        directRates.push(await measured("direct", `http://${podIp}:8080/blob`));
        forwardedRates.push(await measured("forwarded", `http://127.0.0.1:${port}/blob`));
      }
      const mbps = (xs: number[]) => round(xs.reduce((a, b) => a + b, 0) / xs.length / 1e6);
      const perGB = (c: Record<string, number>) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, round(v / ((transfers * TRANSFER_BYTES) / 1e9), 2)]));
      result.portForward = {
        bytes: TRANSFER_BYTES,
        transfers,
        directMBps: mbps(directRates),
        portForwardMBps: mbps(forwardedRates),
        ratio: round(mbps(forwardedRates) / mbps(directRates), 2),
        cpuSecondsPerGB: { direct: perGB(cpu.direct), forwarded: perGB(cpu.forwarded) },
      };
      console.log(`port-forward: ${mbps(forwardedRates)} MB/s vs ${mbps(directRates)} MB/s direct (${round(mbps(forwardedRates) / mbps(directRates), 2)}×, goal ≥ ${GOALS.portForwardRatio})`);
      console.log(`  CPU seconds per GB moved, forwarded: ${JSON.stringify(perGB(cpu.forwarded))}; direct: ${JSON.stringify(perGB(cpu.direct))}`);
    } catch (e) {
      result.portForward = { notMeasured: e instanceof Error ? e.message.slice(0, 300) : String(e) };
      console.log(`port-forward not measured: ${String((result.portForward as { notMeasured: string }).notMeasured)}`);
    } finally {
      pf.kill("SIGKILL");
    }
  } catch (e) {
    console.error(cluster.tails());
    throw e;
  } finally {
    result.loadAvgAfter = loadavg().map((x) => round(x, 2));
    await cluster.stop();
  }
  const dir = fileURLToPath(new URL("./results/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "streaming.json"), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`BENCH streaming ${JSON.stringify(result)}`);
}
