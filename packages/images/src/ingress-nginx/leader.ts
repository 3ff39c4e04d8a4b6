/**
 * Leader election on the Lease --election-id in the pod's namespace, as client-go's
 * leaderelection does it: acquire when the record is absent or has not been renewed within its
 * duration (by our own clock's observation), renew every retry period, step down when a renewal
 * fails past the renew deadline. Only the leader writes Ingress status.
 */
import { isConflict, isNotFound, type KubeClient } from "./kube.js";

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

export interface LeaderOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  /** --election-ttl: the lease duration. */
  leaseDurationMs: number;
  log: (msg: string) => void;
  onStarted: () => void;
  onStopped: () => void;
}

const microTime = (d: Date) => d.toISOString().replace("Z", "000Z");

export class LeaderElector {
  private leading = false;
  private observed: { record: string; at: number } | undefined;
  private lastRenew = 0;

  constructor(private readonly o: LeaderOptions) {}

  get isLeader(): boolean {
    return this.leading;
  }

  async run(signal: AbortSignal): Promise<void> {
    const retryMs = 2000;
    const renewDeadlineMs = Math.floor((this.o.leaseDurationMs * 2) / 3);
    this.o.log(`attempting to acquire leader lease ${this.o.namespace}/${this.o.name}...`);
    while (!signal.aborted) {
      const ok = await this.tryAcquireOrRenew().catch(() => false);
      const now = performance.now();
      if (ok) {
        this.lastRenew = now;
        if (!this.leading) {
          this.leading = true;
          this.o.log(`successfully acquired lease ${this.o.namespace}/${this.o.name}`);
          this.o.onStarted();
        }
      } else if (this.leading && now - this.lastRenew > renewDeadlineMs) {
        this.leading = false;
        this.o.log(`failed to renew lease ${this.o.namespace}/${this.o.name}: timed out waiting for the condition`);
        this.o.onStopped();
      }
      await new Promise((r) => setTimeout(r, retryMs));
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const path = `/apis/coordination.k8s.io/v1/namespaces/${this.o.namespace}/leases`;
    const now = new Date();
    const spec = (prev?: Lease["spec"]) => ({
      holderIdentity: this.o.identity,
      leaseDurationSeconds: Math.round(this.o.leaseDurationMs / 1000),
      acquireTime: prev?.holderIdentity === this.o.identity && prev.acquireTime ? prev.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: (prev?.leaseTransitions ?? 0) + (prev && prev.holderIdentity !== this.o.identity ? 1 : 0),
    });
    let lease: Lease;
    try {
      lease = await this.o.client.get<Lease>(`${path}/${this.o.name}`);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      await this.o.client.post(path, { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: this.o.name, namespace: this.o.namespace }, spec: spec() });
      return true;
    }
    const record = JSON.stringify(lease.spec ?? {});
    if (this.observed?.record !== record) this.observed = { record, at: performance.now() };
    const holder = lease.spec?.holderIdentity ?? "";
    const durationMs = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
    if (holder && holder !== this.o.identity && performance.now() - this.observed.at < durationMs) return false;
    try {
      await this.o.client.put(`${path}/${this.o.name}`, { ...lease, spec: spec(lease.spec) });
      return true;
    } catch (e) {
      if (isConflict(e)) return false;
      throw e;
    }
  }
}
