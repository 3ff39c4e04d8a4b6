/**
 * e2e harness: a store and API servers (packages/apiserver's E2eCluster: real kubemu-etcd and
 * kubemu-apiserver processes) plus kubemu-scheduler processes, all on private loopback subnets;
 * every process is killed by pid in stop(). Node objects are written by the test (no kubelets yet).
 * Run `npx tsc -b` first: the processes run the built dist/.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ApiClient, Resources, type KubeObject } from "@kubemu/common";
import { E2eCluster, type Proc } from "../../../apiserver/test/e2e/cluster.js";
import { Kubectl } from "../../../apiserver/test/e2e/kubectl-run.js";

const SCHEDULER_MAIN = fileURLToPath(new URL("../../dist/main.js", import.meta.url));

export interface NodeSpec {
  cpu?: string;
  memory?: string;
  pods?: string;
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
  unschedulable?: boolean;
  ready?: boolean;
}

export interface SchedulerStatus {
  name: string;
  role: string;
  identity: string;
  leaseHolder: string;
  term: number;
  ready?: boolean;
}

export class SchedulerHarness {
  readonly cluster: E2eCluster;
  client!: ApiClient;
  kubectl!: Kubectl;
  readonly schedulers: { name: string; url: string; proc: Proc }[] = [];

  constructor(
    private readonly subnets: { etcd: string; api: string; scheduler: string },
    private readonly schedulerCount = 2,
  ) {
    if (!existsSync(SCHEDULER_MAIN)) throw new Error(`${SCHEDULER_MAIN} is missing: run "npx tsc -b" before these tests`);
    this.cluster = new E2eCluster(subnets.etcd, subnets.api);
  }

  async start(): Promise<void> {
    await this.cluster.start();
    this.client = new ApiClient({ name: "e2e", endpoints: this.cluster.apiservers.map((a) => `${a.url.replace(/^http/, "ws")}/kubemu/wire`) });
    this.kubectl = new Kubectl(await this.cluster.kubeconfig(0), `${this.cluster.root}/kubectl-cache`);
    for (let i = 0; i < this.schedulerCount; i++) this.startScheduler(i);
    await Promise.all(this.schedulers.map((s) => this.cluster.waitReady(s.url)));
  }

  /** Starts (or restarts) scheduler-i. */
  startScheduler(i: number): void {
    const ip = `${this.subnets.scheduler}.${i + 1}`;
    const name = `scheduler-${i}`;
    const proc = this.cluster.spawn(name, [
      SCHEDULER_MAIN, "--name", name, "--bind-address", ip, "--port", "10259",
      "--apiserver-urls", this.cluster.apiservers.map((a) => a.url).join(","), "--profile", "fast", "--log-level", "info",
    ]);
    const existing = this.schedulers.findIndex((s) => s.name === name);
    const entry = { name, url: `http://${ip}:10259`, proc };
    if (existing === -1) this.schedulers.push(entry);
    else this.schedulers[existing] = entry;
  }

  status(name: string): Promise<SchedulerStatus | undefined> {
    return statusOf<SchedulerStatus>(this.schedulers.find((x) => x.name === name)!.url);
  }

  /** The scheduler that says it leads, once exactly one does. */
  leader(timeoutMs = 15_000, exclude?: string): Promise<SchedulerStatus> {
    return leaderAmong<SchedulerStatus>(this.schedulers, "scheduler", timeoutMs, exclude);
  }

  async kill(name: string): Promise<void> {
    await this.cluster.kill(name);
  }

  async createNode(name: string, spec: NodeSpec = {}): Promise<KubeObject> {
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const resources = { cpu: spec.cpu ?? "4", memory: spec.memory ?? "8Gi", pods: spec.pods ?? "110", "ephemeral-storage": "100Gi" };
    const status = {
      capacity: resources,
      allocatable: resources,
      conditions: [{ type: "Ready", status: spec.ready === false ? "False" : "True", reason: spec.ready === false ? "KubeletNotReady" : "KubeletReady", message: "", lastHeartbeatTime: now, lastTransitionTime: now }],
    };
    const node: KubeObject = {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name, labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", ...(spec.labels ?? {}) } },
      spec: { ...(spec.taints ? { taints: spec.taints } : {}), ...(spec.unschedulable ? { unschedulable: true } : {}) },
      status,
    };
    const created = await this.client.create(Resources.nodes, node);
    if (!(created.status as { allocatable?: unknown } | undefined)?.allocatable) return this.client.updateStatus(Resources.nodes, { ...created, status });
    return created;
  }

  output(name: string): string {
    return this.cluster.procs.filter((p) => p.name === name).map((p) => p.output.join("")).join("\n---\n");
  }

  async stop(): Promise<void> {
    await this.client?.close().catch(() => undefined);
    await this.cluster.stop();
  }
}

/** GET <url>/kubemu/status of a component, or undefined when it does not answer. */
export async function statusOf<S>(url: string): Promise<S | undefined> {
  try {
    const r = await fetch(`${url}/kubemu/status`, { signal: AbortSignal.timeout(1000) });
    return (await r.json()) as S;
  } catch {
    return undefined;
  }
}

/** The member of a leader-elected group that says it leads, once exactly one does. */
export async function leaderAmong<S extends { role: string }>(members: readonly { name: string; url: string }[], what: string, timeoutMs: number, exclude?: string): Promise<S> {
  return eventually(
    async () => {
      const all = (await Promise.all(members.map((m) => (m.name === exclude ? undefined : statusOf<S>(m.url))))).filter((s): s is Awaited<S> => !!s);
      const leaders = all.filter((s) => s.role === "leader");
      return leaders.length === 1 ? leaders[0] : undefined;
    },
    (v) => v !== undefined,
    `exactly one ${what} leading`,
    timeoutMs,
  ) as Promise<S>;
}

export async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await fn();
    if (ok(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)?.slice(0, 800)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A pod with one container and the given requests. */
export function pod(name: string, opts: { cpu?: string; memory?: string; labels?: Record<string, string>; priorityClassName?: string; nodeSelector?: Record<string, string>; tolerations?: unknown[]; extra?: Record<string, unknown> } = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels: opts.labels ?? { app: name } },
    spec: {
      containers: [{ name: "main", image: "registry.k8s.io/pause:3.10", resources: { requests: { cpu: opts.cpu ?? "100m", memory: opts.memory ?? "64Mi" } } }],
      ...(opts.priorityClassName ? { priorityClassName: opts.priorityClassName } : {}),
      ...(opts.nodeSelector ? { nodeSelector: opts.nodeSelector } : {}),
      ...(opts.tolerations ? { tolerations: opts.tolerations } : {}),
      ...(opts.extra ?? {}),
    },
  };
}
