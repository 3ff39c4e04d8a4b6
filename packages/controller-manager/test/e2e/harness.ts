/**
 * e2e harness: real kubemu-etcd and kubemu-apiserver processes (packages/apiserver's E2eCluster),
 * optional kubemu-scheduler processes, and kubemu-controller-manager processes, all on private
 * loopback subnets; every process is killed by pid in stop().
 *
 * There are no kubelets yet: tests that need pods Running/Ready/Succeeded write the pod status
 * themselves with the helpers below (markRunningReady, markSucceeded, markFailed), playing the
 * kubelet's part. Run `npx tsc -b` first: the processes run the built dist/.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Resources, type KubeObject } from "@kubemu/common";
import { SchedulerHarness, eventually, leaderAmong, statusOf } from "../../../scheduler/test/e2e/harness.js";
import type { Proc } from "../../../apiserver/test/e2e/cluster.js";

export { eventually };

const MANAGER_MAIN = fileURLToPath(new URL("../../dist/main.js", import.meta.url));

export interface ManagerSubnets {
  etcd: string;
  api: string;
  /** Schedulers' subnet (used when opts.schedulers > 0). */
  scheduler: string;
  manager: string;
}

export interface ManagerStatus {
  name: string;
  role: string;
  identity: string;
  leaseHolder: string;
  term: number;
  ready?: boolean;
  controllers?: string[];
}

type PodObj = KubeObject & { spec: { nodeName?: string; containers: { name: string; image: string }[] }; status?: Record<string, unknown> };

export class ManagerHarness {
  readonly base: SchedulerHarness;
  readonly managers: { name: string; url: string; proc: Proc }[] = [];
  private readonly managerCount: number;
  private readonly controllers: string;
  private readonly extraArgs: readonly string[];
  private podIps = 0;

  /** opts.controllers is the --controllers flag (default "*"); opts.schedulers defaults to 0; opts.args are more flags for every manager. */
  constructor(
    private readonly subnets: ManagerSubnets,
    opts: { managers?: number; schedulers?: number; controllers?: string; args?: readonly string[] } = {},
  ) {
    if (!existsSync(MANAGER_MAIN)) throw new Error(`${MANAGER_MAIN} is missing: run "npx tsc -b" before these tests`);
    this.base = new SchedulerHarness({ etcd: subnets.etcd, api: subnets.api, scheduler: subnets.scheduler }, opts.schedulers ?? 0);
    this.managerCount = opts.managers ?? 1;
    this.controllers = opts.controllers ?? "*";
    this.extraArgs = opts.args ?? [];
  }

  get client() {
    return this.base.client;
  }
  get kubectl() {
    return this.base.kubectl;
  }
  get cluster() {
    return this.base.cluster;
  }

  async start(): Promise<void> {
    await this.base.start();
    for (let i = 0; i < this.managerCount; i++) this.startManager(i);
    await Promise.all(this.managers.map((m) => this.cluster.waitReady(m.url)));
  }

  /** Starts (or restarts) controller-manager-i. */
  startManager(i: number): void {
    const ip = `${this.subnets.manager}.${i + 1}`;
    const name = `controller-manager-${i}`;
    const proc = this.cluster.spawn(name, [
      MANAGER_MAIN, "--name", name, "--bind-address", ip, "--port", "10257",
      "--apiserver-urls", this.cluster.apiservers.map((a) => a.url).join(","), "--profile", "fast", "--log-level", "info",
      "--controllers", this.controllers, ...this.extraArgs,
    ]);
    const entry = { name, url: `http://${ip}:10257`, proc };
    const existing = this.managers.findIndex((m) => m.name === name);
    if (existing === -1) this.managers.push(entry);
    else this.managers[existing] = entry;
  }

  status(name: string): Promise<ManagerStatus | undefined> {
    return statusOf<ManagerStatus>(this.managers.find((x) => x.name === name)!.url);
  }

  /** The manager that says it leads, once exactly one does. */
  leader(timeoutMs = 15_000, exclude?: string): Promise<ManagerStatus> {
    return leaderAmong<ManagerStatus>(this.managers, "controller-manager", timeoutMs, exclude);
  }

  kill(name: string): Promise<void> {
    return this.cluster.kill(name);
  }

  createNode(name: string, spec?: Parameters<SchedulerHarness["createNode"]>[1]): Promise<KubeObject> {
    return this.base.createNode(name, spec);
  }

  /** Every line a process printed (for failure messages). */
  output(name: string): string {
    return this.base.output(name);
  }

  async pods(namespace: string, labelSelector?: string): Promise<PodObj[]> {
    return (await this.client.list<PodObj>(Resources.pods, { namespace, ...(labelSelector ? { labelSelector } : {}) })).items;
  }

  /**
   * Plays the kubelet: binds the pod to `node` if unbound (default "kubemu"), then writes status
   * Running with every container ready and Ready=True since now.
   */
  async markRunningReady(namespace: string, name: string, node = "kubemu"): Promise<void> {
    let pod = await this.client.get<PodObj>(Resources.pods, namespace, name);
    if (!pod.spec.nodeName) {
      await this.client.bind(namespace, name, node);
      pod = await this.client.get<PodObj>(Resources.pods, namespace, name);
    }
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const cond = (type: string) => ({ type, status: "True", lastProbeTime: null, lastTransitionTime: now });
    const ip = `127.244.1.${(this.podIps++ % 250) + 2}`;
    await this.client.updateStatus(Resources.pods, {
      ...pod,
      status: {
        phase: "Running",
        conditions: ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"].map(cond),
        hostIP: "127.0.100.1",
        podIP: ip,
        podIPs: [{ ip }],
        startTime: now,
        ...(pod.status?.qosClass ? { qosClass: pod.status.qosClass } : {}),
        containerStatuses: pod.spec.containers.map((c) => ({ name: c.name, image: c.image, imageID: "", ready: true, started: true, restartCount: 0, state: { running: { startedAt: now } } })),
      },
    });
  }

  /** markRunningReady for every pod matching the selector that is not Ready yet; returns how many. */
  async markAllRunningReady(namespace: string, labelSelector?: string, node?: string): Promise<number> {
    const notReady = (await this.pods(namespace, labelSelector)).filter((p) => !p.metadata.deletionTimestamp && !(p.status?.conditions as { type: string; status: string }[] | undefined)?.some((c) => c.type === "Ready" && c.status === "True"));
    await Promise.all(notReady.map((p) => this.markRunningReady(namespace, p.metadata.name!, node)));
    return notReady.length;
  }

  /** Plays the kubelet finishing a pod's containers with exit 0 (Succeeded) or exitCode (Failed). */
  async markFinished(namespace: string, name: string, exitCode = 0, node = "kubemu"): Promise<void> {
    let pod = await this.client.get<PodObj>(Resources.pods, namespace, name);
    if (!pod.spec.nodeName) {
      await this.client.bind(namespace, name, node);
      pod = await this.client.get<PodObj>(Resources.pods, namespace, name);
    }
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const reason = exitCode === 0 ? "Completed" : "Error";
    await this.client.updateStatus(Resources.pods, {
      ...pod,
      status: {
        phase: exitCode === 0 ? "Succeeded" : "Failed",
        conditions: [
          { type: "Ready", status: "False", reason: "PodCompleted", lastProbeTime: null, lastTransitionTime: now },
          { type: "ContainersReady", status: "False", reason: "PodCompleted", lastProbeTime: null, lastTransitionTime: now },
          { type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: now },
        ],
        hostIP: "127.0.100.1",
        startTime: now,
        containerStatuses: pod.spec.containers.map((c) => ({ name: c.name, image: c.image, imageID: "", ready: false, started: false, restartCount: 0, state: { terminated: { exitCode, reason, startedAt: now, finishedAt: now } } })),
      },
    });
  }

  /**
   * Plays every kubelet until the returned stop() is called: each new pod matching the selector is
   * made Running+Ready after `readyDelayMs`, and a bound pod's graceful delete is completed
   * (a bound pod otherwise stays Terminating until its kubelet confirms).
   */
  autoKubelet(opts: { namespace?: string; labelSelector?: string; readyDelayMs?: number; node?: string } = {}): { stop(): Promise<void> } {
    const namespace = opts.namespace ?? "default";
    const abort = new AbortController();
    const seen = new Set<string>();
    const pending = new Set<Promise<unknown>>();
    const track = (p: Promise<unknown>) => {
      const q = p.catch(() => undefined).finally(() => pending.delete(q));
      pending.add(q);
    };
    const watching = (async () => {
      const rv = (await this.client.list(Resources.pods, { namespace, limit: 1 })).metadata.resourceVersion!;
      for await (const ev of this.client.watch<PodObj>(Resources.pods, { namespace, resourceVersion: rv, signal: abort.signal, ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}) })) {
        if (ev.type !== "ADDED" && ev.type !== "MODIFIED") continue;
        const pod = ev.object as PodObj;
        const name = pod.metadata.name!;
        // By uid: a StatefulSet makes a new pod under the name of the one it replaced.
        const id = pod.metadata.uid ?? name;
        if (pod.metadata.deletionTimestamp) {
          if (!seen.has(`deleted/${id}`)) {
            seen.add(`deleted/${id}`);
            track(this.client.delete(Resources.pods, namespace, name, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid! } }));
          }
        } else if (!seen.has(id)) {
          seen.add(id);
          track(new Promise((r) => setTimeout(r, opts.readyDelayMs ?? 0)).then(() => this.markRunningReady(namespace, name, opts.node)));
        }
      }
    })().catch(() => undefined);
    return {
      stop: async () => {
        abort.abort();
        await watching;
        await Promise.all(pending);
      },
    };
  }

  async stop(): Promise<void> {
    await this.base.stop();
  }
}
