/**
 * Plays the kubelets of a test cluster (there is no kubelet in these tests): each live node's
 * Lease in kube-node-lease is renewed every second, and its pods are made Running+Ready once
 * bound there and removed once their graceful deletion starts — what a kubelet confirms. A node
 * taken off the live set is a dead kubelet: its Lease goes stale and its pods stay as they are.
 */
import { Resources, type KubeObject } from "@kubemu/common";
import type { ManagerHarness } from "./harness.js";

type Pod = KubeObject & { spec: { nodeName?: string }; status?: { conditions?: { type: string; status: string }[] } };

const microTime = (ms: number) => new Date(ms).toISOString().replace("Z", "000Z");
const seconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

export class FakeKubelets {
  private readonly live = new Set<string>();
  /** Wall time of each node's last successful Lease renewal. */
  readonly lastRenew = new Map<string, number>();
  private stopped = false;
  private loops: Promise<void>[] = [];

  constructor(private readonly h: ManagerHarness) {}

  /** Registers the nodes (Node with a kubelet's four conditions, and a Lease), all live. */
  async register(names: readonly string[]): Promise<void> {
    for (const name of names) {
      const node = await this.h.createNode(name);
      const now = seconds(Date.now());
      const cond = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: now });
      const conditions = [
        cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
      ];
      await this.h.client.patch(Resources.nodes, undefined, node.metadata.name!, "merge", { status: { conditions } }, { subresource: "status" });
      await this.h.client.create(Resources.leases, { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name, namespace: "kube-node-lease" }, spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTime(Date.now()) } });
      this.lastRenew.set(name, Date.now());
      this.live.add(name);
    }
  }

  start(): void {
    this.loops = [this.loop(1000, () => this.renewAll()), this.loop(250, () => this.playPods())];
  }

  /** The node's kubelet dies: no more renewals, its pods are left alone. */
  kill(name: string): void {
    this.live.delete(name);
  }

  /** The kubelet starts again: it renews and posts Ready with a fresh heartbeat. */
  async revive(name: string): Promise<void> {
    this.live.add(name);
    await this.renew(name);
    await this.postReady(name);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  private async loop(periodMs: number, fn: () => Promise<void>): Promise<void> {
    while (!this.stopped) {
      await fn().catch(() => undefined);
      await new Promise((r) => setTimeout(r, periodMs));
    }
  }

  private async renewAll(): Promise<void> {
    await Promise.all([...this.live].map((n) => this.renew(n).catch(() => undefined)));
  }

  private async renew(name: string): Promise<void> {
    const now = Date.now();
    await this.h.client.patch(Resources.leases, "kube-node-lease", name, "merge", { spec: { renewTime: microTime(now) } });
    this.lastRenew.set(name, now);
  }

  /** Ready=True with a new heartbeat, as a kubelet's status update after a restart. */
  private async postReady(name: string): Promise<void> {
    const node = await this.h.client.get<KubeObject & { status?: { conditions?: Record<string, unknown>[] } }>(Resources.nodes, undefined, name);
    const now = seconds(Date.now());
    const conditions = (node.status?.conditions ?? []).map((c) => {
      const healthy = c.type === "Ready" ? "True" : "False";
      const changed = c.status !== healthy;
      const reason = { Ready: "KubeletReady", MemoryPressure: "KubeletHasSufficientMemory", DiskPressure: "KubeletHasNoDiskPressure", PIDPressure: "KubeletHasSufficientPID" }[String(c.type)] ?? c.reason;
      return { ...c, status: healthy, reason, message: c.type === "Ready" ? "kubelet is posting ready status" : c.message, lastHeartbeatTime: now, ...(changed ? { lastTransitionTime: now } : {}) };
    });
    await this.h.client.patch(Resources.nodes, undefined, name, "merge", { status: { conditions } }, { subresource: "status" });
  }

  private async playPods(): Promise<void> {
    const pods = await this.h.pods("default");
    await Promise.all(
      pods.map(async (p: Pod) => {
        const node = p.spec.nodeName;
        if (!node || !this.live.has(node)) return;
        if (p.metadata.deletionTimestamp) {
          await this.h.client.delete(Resources.pods, "default", p.metadata.name!, { gracePeriodSeconds: 0, preconditions: { uid: p.metadata.uid! } }).catch(() => undefined);
          return;
        }
        const ready = p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
        // A live kubelet reports its pods Ready (again, after the node controller marked them not Ready).
        if (!ready) await this.h.markRunningReady("default", p.metadata.name!, node).catch(() => undefined);
      }),
    );
  }
}
