/**
 * Keeps the `kubernetes` Endpoints in `default` listing the live API servers, as upstream's
 * lease endpoint reconciler: each API server renews a Lease `kube-system/apiserver-<name>`
 * (label apiserver.kubernetes.io/identity=kube-apiserver) and rewrites the Endpoints from the
 * leases that have not expired.
 */
import { isAlreadyExists, isConflict, isNotFound, type Clock, type Timer } from "@kubemu/common";
import type { Logger } from "pino";
import type { KubeObject } from "./storage/index.js";
import type { ResourceStore } from "./rest/store.js";
import type { Registry } from "./registry/registry.js";

export interface EndpointReconcilerOptions {
  store: ResourceStore;
  registry: Registry;
  clock: Clock;
  log: Logger;
  /** This server's name (lease name suffix) and address. */
  name: string;
  ip: string;
  port: number;
  /** Lease duration; renewed every third of it. */
  leaseSeconds: number;
}

const IDENTITY = "apiserver.kubernetes.io/identity";

export class EndpointReconciler {
  private timer: Timer | undefined;
  private running = false;

  constructor(private readonly o: EndpointReconcilerOptions) {}

  start(): void {
    const tick = () => {
      if (this.running) return;
      this.running = true;
      this.reconcile()
        .catch((e) => this.o.log.warn({ err: e instanceof Error ? e.message : String(e) }, "endpoint reconcile failed"))
        .finally(() => (this.running = false));
    };
    tick();
    this.timer = this.o.clock.setInterval(tick, (this.o.leaseSeconds * 1000) / 3);
  }

  stop(): void {
    this.timer?.cancel();
  }

  /** Removes this server's lease and endpoint (graceful shutdown). */
  async withdraw(): Promise<void> {
    this.stop();
    const leases = this.o.registry.lookup("coordination.k8s.io", "v1", "leases")!;
    try {
      await this.o.store.delete(leases, "kube-system", `apiserver-${this.o.name}`, {});
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    await this.reconcile(false);
  }

  async reconcile(renew = true): Promise<void> {
    const leases = this.o.registry.lookup("coordination.k8s.io", "v1", "leases")!;
    const now = this.o.clock.now();
    const leaseName = `apiserver-${this.o.name}`;
    if (renew) {
      const spec = { holderIdentity: `${this.o.ip}:${this.o.port}`, leaseDurationSeconds: this.o.leaseSeconds, renewTime: micro(now) };
      try {
        await this.o.store.patch(leases, "kube-system", leaseName, "merge", { spec }, { fieldManager: "kube-apiserver" });
      } catch (e) {
        if (!isNotFound(e)) throw e;
        try {
          await this.o.store.create(leases, "kube-system", { metadata: { name: leaseName, labels: { [IDENTITY]: "kube-apiserver" } }, spec: { ...spec, acquireTime: micro(now) } }, { fieldManager: "kube-apiserver" });
        } catch (e2) {
          if (!isAlreadyExists(e2)) throw e2;
        }
      }
    }
    const { items } = await this.o.store.list(leases, "kube-system", { labelSelector: `${IDENTITY}=kube-apiserver` });
    const live = items
      .filter((l) => {
        const s = (l.spec ?? {}) as { renewTime?: string; leaseDurationSeconds?: number };
        const t = s.renewTime ? Date.parse(s.renewTime) : NaN;
        return !Number.isNaN(t) && t + (s.leaseDurationSeconds ?? this.o.leaseSeconds) * 1000 > now;
      })
      .map((l) => String((l.spec as { holderIdentity?: string }).holderIdentity ?? ""))
      .filter((h) => /^\d+\.\d+\.\d+\.\d+:\d+$/.test(h))
      .sort();
    await this.writeEndpoints(live);
  }

  private async writeEndpoints(hostPorts: string[]): Promise<void> {
    const ep = this.o.registry.lookup("", "v1", "endpoints")!;
    const port = hostPorts.length ? Number(hostPorts[0]!.split(":")[1]) : this.o.port;
    const addresses = hostPorts.map((h) => ({ ip: h.split(":")[0]! }));
    const subsets = addresses.length ? [{ addresses, ports: [{ name: "https", port, protocol: "TCP" }] }] : [];
    const desired: KubeObject = { metadata: { name: "kubernetes", labels: { "endpointslice.kubernetes.io/skip-mirror": "true" } }, subsets };
    let cur: KubeObject | undefined;
    try {
      cur = await this.o.store.get(ep, "default", "kubernetes");
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    if (!cur) {
      try {
        await this.o.store.create(ep, "default", desired, { fieldManager: "kube-apiserver" });
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
      }
      return;
    }
    if (JSON.stringify(cur.subsets ?? []) === JSON.stringify(subsets)) return;
    try {
      await this.o.store.update(ep, "default", "kubernetes", { ...desired, metadata: { ...desired.metadata, resourceVersion: cur.metadata.resourceVersion } }, { fieldManager: "kube-apiserver" });
    } catch (e) {
      if (!isConflict(e)) throw e; // the other server wrote it; the next tick converges
    }
  }
}

/** metav1.MicroTime. */
function micro(ms: number): string {
  return new Date(ms).toISOString().replace("Z", "000Z");
}
