/**
 * Keeps the `kubernetes` Endpoints in `default` listing the live API servers, as upstream's
 * lease endpoint reconciler: each API server renews a Lease `kube-system/apiserver-<name>`
 * (label apiserver.kubernetes.io/identity=kube-apiserver), and the Endpoints are rewritten from
 * the leases that have not expired.
 *
 * Built like any controller: informers on those leases and on the Endpoints feed one key into a
 * work queue; reconcile reads the informers' caches. The renew timer also enqueues the key, so a
 * lease that silently expires (its API server died) drops out within a renew interval.
 */
import { isAlreadyExists, isConflict, isNotFound, runWorkers, SharedInformer, WorkQueue, type Clock, type KubeObject, type Timer } from "@kubemu/common";
import type { Logger } from "pino";
import type { ResourceStore } from "./rest/store.js";
import type { Registry } from "./registry/registry.js";
import { storeListerWatcher } from "./internal/local-informer.js";

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
const KEY = "default/kubernetes";

export class EndpointReconciler {
  private timer: Timer | undefined;
  private renewing = false;
  private readonly stopping = new AbortController();
  private readonly leases: SharedInformer<KubeObject>;
  private readonly endpoints: SharedInformer<KubeObject>;
  private readonly queue: WorkQueue<string>;
  private running: Promise<unknown> | undefined;
  /** Set while withdrawing: our own lease no longer counts, whatever the cache says. */
  private withdrawn = false;

  constructor(private readonly o: EndpointReconcilerOptions) {
    const def = (group: string, resource: string) => () => o.registry.lookup(group, "v1", resource)!;
    this.leases = new SharedInformer({ name: "apiserver-leases", listerWatcher: storeListerWatcher(o.store, def("coordination.k8s.io", "leases"), { namespace: "kube-system", labelSelector: `${IDENTITY}=kube-apiserver` }), clock: o.clock, logger: o.log });
    this.endpoints = new SharedInformer({ name: "kubernetes-endpoints", listerWatcher: storeListerWatcher(o.store, def("", "endpoints"), { namespace: "default", fieldSelector: "metadata.name=kubernetes" }), clock: o.clock, logger: o.log });
    this.queue = new WorkQueue<string>({ clock: o.clock });
    const enqueue = { onAdd: () => this.queue.add(KEY), onUpdate: () => this.queue.add(KEY), onDelete: () => this.queue.add(KEY) };
    this.leases.addEventHandler(enqueue);
    this.endpoints.addEventHandler(enqueue);
  }

  start(): void {
    const signal = this.stopping.signal;
    this.running = Promise.all([this.leases.run(signal), this.endpoints.run(signal), runWorkers(this.queue, () => this.reconcile(), { logger: this.o.log })]);
    const tick = () => {
      this.queue.add(KEY);
      if (this.renewing) return;
      this.renewing = true;
      this.renew()
        .catch((e) => this.o.log.warn({ err: e instanceof Error ? e.message : String(e) }, "apiserver lease renew failed"))
        .finally(() => (this.renewing = false));
    };
    tick();
    this.timer = this.o.clock.setInterval(tick, (this.o.leaseSeconds * 1000) / 3);
  }

  stop(): void {
    this.timer?.cancel();
    this.stopping.abort();
    this.queue.shutDown();
  }

  /** Removes this server's lease and endpoint (graceful shutdown). */
  async withdraw(): Promise<void> {
    this.timer?.cancel();
    this.withdrawn = true;
    const leases = this.o.registry.lookup("coordination.k8s.io", "v1", "leases")!;
    try {
      await this.o.store.delete(leases, "kube-system", this.leaseName, {});
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    try {
      await this.reconcile(true);
    } finally {
      this.stop();
      await Promise.race([this.running, this.o.clock.sleep(500)]);
    }
  }

  private get leaseName(): string {
    return `apiserver-${this.o.name}`;
  }

  private async renew(): Promise<void> {
    const leases = this.o.registry.lookup("coordination.k8s.io", "v1", "leases")!;
    const now = this.o.clock.now();
    const spec = { holderIdentity: `${this.o.ip}:${this.o.port}`, leaseDurationSeconds: this.o.leaseSeconds, renewTime: micro(now) };
    try {
      await this.o.store.patch(leases, "kube-system", this.leaseName, "merge", { spec }, { fieldManager: "kube-apiserver" });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      try {
        await this.o.store.create(leases, "kube-system", { metadata: { name: this.leaseName, labels: { [IDENTITY]: "kube-apiserver" } }, spec: { ...spec, acquireTime: micro(now) } }, { fieldManager: "kube-apiserver" });
      } catch (e2) {
        if (!isAlreadyExists(e2)) throw e2;
      }
    }
  }

  /** Endpoints := the holders of unexpired apiserver leases (as this server's caches have them). */
  private async reconcile(fresh = false): Promise<void> {
    if (!this.leases.hasSynced() || !this.endpoints.hasSynced()) {
      // Not synced yet: look again shortly (the informers' first list is on its way).
      this.queue.addAfter(KEY, 100);
      return;
    }
    const now = this.o.clock.now();
    const live = this.leases.lister
      .list()
      .filter((l) => !(this.withdrawn && l.metadata.name === this.leaseName))
      .filter((l) => {
        const s = (l.spec ?? {}) as { renewTime?: string; leaseDurationSeconds?: number };
        const t = s.renewTime ? Date.parse(s.renewTime) : NaN;
        return !Number.isNaN(t) && t + (s.leaseDurationSeconds ?? this.o.leaseSeconds) * 1000 > now;
      })
      .map((l) => String((l.spec as { holderIdentity?: string }).holderIdentity ?? ""))
      .filter((h) => /^\d+\.\d+\.\d+\.\d+:\d+$/.test(h))
      .sort();
    // Leaving: read the Endpoints from the store, so a stale cache cannot make the last write a lost conflict.
    const cur = fresh ? await this.o.store.get(this.o.registry.lookup("", "v1", "endpoints")!, "default", "kubernetes").catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e))) : this.endpoints.lister.get("default", "kubernetes");
    await this.writeEndpoints(live, cur);
  }

  private async writeEndpoints(hostPorts: string[], cur: KubeObject | undefined): Promise<void> {
    const ep = this.o.registry.lookup("", "v1", "endpoints")!;
    const port = hostPorts.length ? Number(hostPorts[0]!.split(":")[1]) : this.o.port;
    const addresses = hostPorts.map((h) => ({ ip: h.split(":")[0]! }));
    const subsets = addresses.length ? [{ addresses, ports: [{ name: "https", port, protocol: "TCP" }] }] : [];
    await this.writeSlice(addresses.map((a) => a.ip), port);
    const desired: KubeObject = { metadata: { name: "kubernetes", labels: { "endpointslice.kubernetes.io/skip-mirror": "true" } }, subsets };
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
      // The other server wrote it meanwhile: our cache hears of it and the key comes round again.
      if (!isConflict(e)) throw e;
    }
  }

  /**
   * The EndpointSlice `kubernetes` beside the Endpoints, as upstream's endpoints adapter writes it
   * (the Service has no selector, so no slice controller makes one): what kube-proxy reads to
   * forward the `kubernetes` ClusterIP to the API servers.
   */
  private async writeSlice(ips: string[], port: number): Promise<void> {
    const slices = this.o.registry.lookup("discovery.k8s.io", "v1", "endpointslices")!;
    const desired = {
      addressType: "IPv4",
      endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
      ports: ips.length ? [{ name: "https", port, protocol: "TCP" }] : [],
    };
    const cur = await this.o.store.get(slices, "default", "kubernetes").catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)));
    const body: KubeObject = { metadata: { name: "kubernetes", labels: { "kubernetes.io/service-name": "kubernetes" } }, ...desired };
    try {
      if (!cur) await this.o.store.create(slices, "default", body, { fieldManager: "kube-apiserver" });
      else if (JSON.stringify({ addressType: cur.addressType, endpoints: cur.endpoints ?? [], ports: cur.ports ?? [] }) !== JSON.stringify(desired))
        await this.o.store.update(slices, "default", "kubernetes", { ...body, metadata: { ...body.metadata, resourceVersion: cur.metadata.resourceVersion } }, { fieldManager: "kube-apiserver" });
    } catch (e) {
      // The other server wrote it meanwhile; the next reconcile compares again.
      if (!isAlreadyExists(e) && !isConflict(e)) throw e;
    }
  }
}

/** metav1.MicroTime. */
function micro(ms: number): string {
  return new Date(ms).toISOString().replace("Z", "000Z");
}
