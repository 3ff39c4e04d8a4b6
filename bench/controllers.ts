/**
 * `npm run bench -- controllers`: the workload controllers against the real store and API servers
 * (3 kubemu-etcd + 2 kubemu-apiserver + 1 kubemu-controller-manager running the deployment,
 * replicaset and job controllers). No kubelets: a "node agent" inside the benchmark binds every
 * new pod to one of 10 Node objects and writes its status (Running+Ready, or Succeeded for Job
 * pods), and finishes deletions (a bound pod's delete waits for its kubelet).
 *
 * Rows: a Deployment scaled 0 → 3,000 (time until 3,000 pod objects exist: pod creates/s); a
 * rolling update of a 1,000-replica Deployment whose pods are Ready (time from the template
 * change until the rollout is complete as `kubectl rollout status` judges it); 500 Jobs of one
 * completion (time from the first create until all are Complete).
 *
 * Reference: kube-controller-manager's client is limited to 20 QPS by default (--kube-api-qps),
 * so upstream creates ~20 pods/s from one ReplicaSet; KWOK documents 20 pods/s too.
 *
 * Options: --replicas 3000, --rollout 1000, --jobs 500.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ApiClient, Resources, isConflict, isNotFound, type KubeObject } from "@kubemu/common";
import { ApiCluster } from "./lib/apiserver-cluster.js";
import { MetricsWindow, type ProcWindow } from "./lib/proc-metrics.js";
import { sleep, spawnChild, stopChild, type Child } from "./lib/procs.js";
import { pool } from "./lib/pool.js";

const managerJs = fileURLToPath(new URL("../packages/controller-manager/dist/main.js", import.meta.url));
const SUBNET = "127.0.182";
const NODES = 10;

interface Options {
  replicas: number;
  rollout: number;
  jobs: number;
}

function parseOptions(args: string[]): Options {
  const o: Options = { replicas: 3000, rollout: 1000, jobs: 500 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const v = Number(args[++i]);
    if (!(v > 0)) throw new Error(`${a} needs a positive number`);
    if (a === "--replicas") o.replicas = v;
    else if (a === "--rollout") o.rollout = v;
    else if (a === "--jobs") o.jobs = v;
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;
const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

type Pod = KubeObject & { spec: { nodeName?: string; containers: { name: string; image: string }[] }; status?: { phase?: string } };
type Deployment = KubeObject & { spec: { replicas: number; template: { spec: { containers: { name: string; image: string }[] } } }; status?: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; availableReplicas?: number } };
type Job = KubeObject & { status?: { conditions?: { type: string; status: string }[] } };

function nodeObject(i: number): KubeObject {
  const name = `node-${i}`;
  const resources = { cpu: "1000", memory: "4000Gi", pods: "2000", "ephemeral-storage": "100Gi" };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux" } },
    spec: {},
    status: { capacity: resources, allocatable: resources, conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status", lastHeartbeatTime: now(), lastTransitionTime: now() }] },
  };
}

function deployment(name: string, replicas: number): Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "default" },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "pause", image: "registry.k8s.io/pause:3.10" }] } },
    } as Deployment["spec"],
  };
}

function job(name: string): KubeObject {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: "default" },
    spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "work", image: "busybox", command: ["true"] }] } } },
  };
}

/**
 * Plays every node's kubelet for the benchmark: binds new pods round-robin, writes their status
 * (Succeeded for Job pods, Running+Ready otherwise) and completes deletions of bound pods.
 */
class NodeAgent {
  private readonly stop = new AbortController();
  private readonly handled = new Set<string>();
  private readonly queue: (() => Promise<void>)[] = [];
  private workers: Promise<void>[] = [];
  private next = 0;
  added = 0;
  readonly addedAt: number[] = [];

  constructor(private readonly client: ApiClient) {}

  async start(): Promise<void> {
    const rv = (await this.client.list(Resources.pods, { namespace: "default", limit: 1 })).metadata.resourceVersion!;
    void (async () => {
      for await (const ev of this.client.watch<Pod>(Resources.pods, { namespace: "default", resourceVersion: rv, signal: this.stop.signal })) {
        if (ev.type !== "ADDED" && ev.type !== "MODIFIED") continue;
        const pod = ev.object as Pod;
        const name = pod.metadata.name!;
        if (ev.type === "ADDED") {
          this.added++;
          this.addedAt.push(performance.now());
        }
        if (pod.metadata.deletionTimestamp) {
          if (!this.handled.has(`del/${name}`)) {
            this.handled.add(`del/${name}`);
            this.queue.push(() => this.finishDelete(pod));
          }
        } else if (!this.handled.has(name)) {
          this.handled.add(name);
          this.queue.push(() => this.run(pod));
        }
      }
    })().catch(() => undefined);
    this.workers = Array.from({ length: 48 }, () => this.work());
  }

  private async work(): Promise<void> {
    while (!this.stop.signal.aborted) {
      const task = this.queue.shift();
      if (!task) {
        await sleep(5);
        continue;
      }
      await task().catch((e: unknown) => {
        if (!isNotFound(e) && !isConflict(e)) console.error(`  node agent: ${e instanceof Error ? e.message : String(e)}`);
      });
    }
  }

  private async run(pod: Pod): Promise<void> {
    const ns = pod.metadata.namespace!;
    const name = pod.metadata.name!;
    if (!pod.spec.nodeName) await this.client.bind(ns, name, `node-${this.next++ % NODES}`, { uid: pod.metadata.uid! });
    const fresh = await this.client.get<Pod>(Resources.pods, ns, name);
    const isJob = !!pod.metadata.labels?.["job-name"];
    const t = now();
    const cond = (type: string, status: string) => ({ type, status, lastProbeTime: null, lastTransitionTime: t });
    const status = isJob
      ? {
          phase: "Succeeded",
          conditions: [cond("Ready", "False"), cond("ContainersReady", "False"), cond("Initialized", "True"), cond("PodScheduled", "True")],
          startTime: t,
          containerStatuses: fresh.spec.containers.map((c) => ({ name: c.name, image: c.image, imageID: "", ready: false, started: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: "Completed", startedAt: t, finishedAt: t } } })),
        }
      : {
          phase: "Running",
          conditions: [cond("Ready", "True"), cond("ContainersReady", "True"), cond("Initialized", "True"), cond("PodScheduled", "True")],
          startTime: t,
          containerStatuses: fresh.spec.containers.map((c) => ({ name: c.name, image: c.image, imageID: "", ready: true, started: true, restartCount: 0, state: { running: { startedAt: t } } })),
        };
    await this.client.updateStatus(Resources.pods, { ...fresh, status });
  }

  private async finishDelete(pod: Pod): Promise<void> {
    await this.client.delete(Resources.pods, pod.metadata.namespace!, pod.metadata.name!, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid! } });
  }

  async close(): Promise<void> {
    this.stop.abort();
    await Promise.all(this.workers);
  }
}

async function waitUntil<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Complete as `kubectl rollout status` judges it. */
async function rolloutComplete(client: ApiClient, name: string): Promise<boolean> {
  const d = await client.get<Deployment>(Resources.deployments, "default", name);
  const s = d.status ?? {};
  const want = d.spec.replicas;
  return (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) && s.updatedReplicas === want && s.replicas === want && s.availableReplicas === want;
}

async function startManager(cluster: ApiCluster): Promise<{ child: Child; url: string }> {
  const ip = `${SUBNET}.30`;
  const child = spawnChild("controller-manager-0", process.execPath, [
    managerJs, "--name", "controller-manager-0", "--bind-address", ip, "--port", "10257",
    "--apiserver-urls", cluster.apiservers.join(","), "--profile", "fast", "--log-level", "warn",
    "--controllers", "deployment-controller,replicaset-controller,job-controller",
  ], join(cluster.root, "controller-manager-0.out"));
  const url = `http://${ip}:10257`;
  await waitUntil("controller-manager /healthz", 30_000, async () => {
    if (child.proc.exitCode !== null) throw new Error(`controller-manager exited (log ${join(cluster.root, "controller-manager-0.out")})`);
    try {
      const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(500) });
      await r.text();
      return r.ok ? true : undefined;
    } catch {
      return undefined;
    }
  });
  return { child, url };
}

interface Results {
  scaleUp: { replicas: number; seconds: number; podCreatesPerSecond: number };
  rollingUpdate: { replicas: number; setupSeconds: number; seconds: number };
  jobs: { jobs: number; seconds: number; jobsPerSecond: number };
  processes: ProcWindow[];
}

async function measure(o: Options): Promise<Results> {
  const cluster = new ApiCluster({ subnet: SUBNET, profile: "fast" });
  let manager: { child: Child; url: string } | undefined;
  let client: ApiClient | undefined;
  let agent: NodeAgent | undefined;
  try {
    await cluster.start();
    client = new ApiClient({ name: "bench", endpoints: cluster.apiservers.map((u) => `${u.replace(/^http/, "ws")}/kubemu/wire`) });
    const c = client;
    await pool(Array.from({ length: NODES }, (_, i) => i), NODES, async (i) => {
      const n = nodeObject(i);
      const created = await c.create(Resources.nodes, n);
      if (!(created.status as { allocatable?: unknown } | undefined)?.allocatable) await c.updateStatus(Resources.nodes, { ...created, status: n.status });
    });
    manager = await startManager(cluster);
    const window = await MetricsWindow.start([{ name: "controller-manager-0", url: manager.url }, ...cluster.apiservers.map((u, i) => ({ name: `apiserver-${i}`, url: u })), ...cluster.etcdControls.map((u, i) => ({ name: `etcd-${i}`, url: u }))]);

    // Row 1: 0 → N pod objects from one ReplicaSet (the node agent makes them Ready as they come).
    agent = new NodeAgent(c);
    await agent.start();
    await c.create(Resources.deployments, deployment("scale", 0));
    await waitUntil("the scale ReplicaSet", 30_000, async () => ((await c.list(Resources.replicaSets, { namespace: "default" })).items.length > 0 ? true : undefined));
    const base = agent.added;
    const t0 = performance.now();
    await c.patch(Resources.deployments, "default", "scale", "merge", { spec: { replicas: o.replicas } });
    await waitUntil(`${o.replicas} pods`, 600_000, async () => (agent!.added - base >= o.replicas ? true : undefined));
    const scaleSeconds = (agent.addedAt[base + o.replicas - 1]! - t0) / 1000;
    console.log(`  scale 0 → ${o.replicas}: ${round(scaleSeconds, 2)} s, ${round(o.replicas / scaleSeconds)} pod creates/s`);
    await c.patch(Resources.deployments, "default", "scale", "merge", { spec: { replicas: 0 } });
    await waitUntil("scale-down to 0", 600_000, async () => ((await c.list(Resources.pods, { namespace: "default", labelSelector: "app=scale", limit: 1 })).items.length === 0 ? true : undefined));

    // Row 2: a rolling update of N Ready replicas.
    const s0 = performance.now();
    await c.create(Resources.deployments, deployment("roll", o.rollout));
    await waitUntil("the roll Deployment available", 600_000, async () => ((await rolloutComplete(c, "roll")) ? true : undefined));
    const setupSeconds = (performance.now() - s0) / 1000;
    const r0 = performance.now();
    await c.patch(Resources.deployments, "default", "roll", "strategic", { spec: { template: { spec: { containers: [{ name: "pause", image: "registry.k8s.io/pause:3.9" }] } } } });
    await sleep(50);
    await waitUntil("the rollout", 600_000, async () => ((await rolloutComplete(c, "roll")) ? true : undefined));
    const rollSeconds = (performance.now() - r0) / 1000;
    console.log(`  rolling update of ${o.rollout}: ${round(rollSeconds, 2)} s (creating it took ${round(setupSeconds, 2)} s)`);

    // Row 3: N Jobs of one completion.
    const j0 = performance.now();
    await pool(Array.from({ length: o.jobs }, (_, i) => `job-${i}`), 32, async (name) => void (await c.create(Resources.jobs, job(name))));
    await waitUntil(`${o.jobs} jobs complete`, 600_000, async () => {
      const jobs = (await c.list<Job>(Resources.jobs, { namespace: "default" })).items;
      return jobs.filter((j) => j.status?.conditions?.some((x) => x.type === "Complete" && x.status === "True")).length >= o.jobs ? true : undefined;
    });
    const jobSeconds = (performance.now() - j0) / 1000;
    console.log(`  ${o.jobs} jobs of 1 completion: ${round(jobSeconds, 2)} s, ${round(o.jobs / jobSeconds)} jobs/s`);
    const processes = await window.end();
    return {
      scaleUp: { replicas: o.replicas, seconds: round(scaleSeconds, 2), podCreatesPerSecond: round(o.replicas / scaleSeconds) },
      rollingUpdate: { replicas: o.rollout, setupSeconds: round(setupSeconds, 2), seconds: round(rollSeconds, 2) },
      jobs: { jobs: o.jobs, seconds: round(jobSeconds, 2), jobsPerSecond: round(o.jobs / jobSeconds) },
      processes,
    };
  } finally {
    await agent?.close();
    if (manager) await stopChild(manager.child, "SIGTERM", 5000);
    await client?.close();
    await cluster.stop();
  }
}

export async function run(args: string[]): Promise<void> {
  const o = parseOptions(args);
  if (!existsSync(managerJs)) throw new Error(`${managerJs} is missing: run "npx tsc -b" first`);
  const result: Record<string, unknown> = { name: "controllers", date: new Date().toISOString(), loadavg1mAtStart: round(loadavg()[0]!, 2) };
  const r = await measure(o);
  for (const p of r.processes) console.log(`    ${p.name.padEnd(22)} cpu ${p.cpuCores} cores, gc ${p.gcPct}%, loop p99 ${p.loopDelayP99ms} ms`);
  Object.assign(result, r);
  result.goal = { podCreatesPerSecond: 300, rollingUpdate1000Seconds: 15 };
  result.reference = "kube-controller-manager: --kube-api-qps 20 by default, so ~20 pod creates/s from one ReplicaSet; KWOK documents 20 pods/s";
  result.loadavg1mAtEnd = round(loadavg()[0]!, 2);
  mkdirSync(fileURLToPath(new URL("./results/", import.meta.url)), { recursive: true });
  writeFileSync(fileURLToPath(new URL("./results/controllers.json", import.meta.url)), JSON.stringify(result, null, 2) + "\n");
  console.log(`BENCH controllers ${JSON.stringify(result)}`);
}
