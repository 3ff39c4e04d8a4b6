/**
 * The sync loop (upstream's Proxier.syncProxyRules): informer changes queue a sync; a sync
 * reads Services, EndpointSlices and Nodes from the informers' caches, rebuilds the endpoint
 * tables, plans the listeners and makes the sockets match. Syncs are coalesced (at most one per
 * --min-sync-period) and also run every --sync-period. A sync never throws: bad objects are
 * logged (once per resourceVersion) and skipped.
 */
import type { Logger } from "pino";
import type { Clock, EventRecorder, KubeObject, Lister, Timer } from "@kubemu/common";
import { categorizeEndpoints, endpointsForPort } from "./model/endpoints.js";
import { describeLocalPort, planListeners, type ListenerSpec } from "./model/listener-plan.js";
import { nodeInfoOf, type NodeInfo } from "./model/nodes.js";
import { servicePortsOf } from "./model/service-ports.js";
import type { EndpointInfo, ServicePortInfo } from "./model/types.js";
import type { ListenerManager } from "./dataplane/listeners.js";
import type { RouteTable } from "./dataplane/routes.js";
import type { ProxierHealth } from "./server/health.js";
import type { KubeProxyMetrics } from "./server/metrics.js";

/** EndpointSlice index: "namespace/service-name" from the kubernetes.io/service-name label. */
export const SLICE_SERVICE_INDEX = "service";
export const LAST_CHANGE_TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time";
/** Reason of the event on a Service whose port cannot be opened on this node (upstream has no Service event for it). */
export const FAILED_TO_OPEN_PORT = "FailedToOpenPort";

export interface ProxierOptions {
  nodeName: string;
  nodeIp: string;
  services: Lister<KubeObject>;
  slices: Lister<KubeObject>;
  nodes: Lister<KubeObject>;
  routes: RouteTable;
  listeners: ListenerManager;
  health: ProxierHealth;
  metrics: KubeProxyMetrics;
  recorder?: EventRecorder;
  clock: Clock;
  log: Logger;
  minSyncPeriodMs: number;
}

export interface SyncSummary {
  servicePorts: number;
  wanted: number;
  lastSyncMs: number | undefined;
}

export class Proxier {
  private scheduled: Timer | undefined;
  private lastSyncStart = -Infinity;
  private stopped = false;
  private servicePorts: ServicePortInfo[] = [];
  private wanted = 0;
  private lastSyncWall: number | undefined;
  /** Bad-object notes already logged: object key → resourceVersion. */
  private readonly logged = new Map<string, string>();
  private readonly loggedConflicts = new Set<string>();
  private pendingTriggerTimes: number[] = [];
  private pendingServiceChanges = 0;
  private pendingEndpointChanges = 0;

  constructor(private readonly o: ProxierOptions) {}

  /** Informer handlers: each change queues a sync. */
  onServiceChange(): void {
    this.o.metrics.serviceChangesTotal.inc();
    this.o.metrics.serviceChangesPending.set(++this.pendingServiceChanges);
    this.requestSync();
  }

  onSliceChange(slice: KubeObject | undefined): void {
    this.o.metrics.endpointChangesTotal.inc();
    this.o.metrics.endpointChangesPending.set(++this.pendingEndpointChanges);
    const trigger = slice?.metadata?.annotations?.[LAST_CHANGE_TRIGGER_TIME];
    if (trigger) {
      const t = Date.parse(trigger);
      if (Number.isFinite(t)) this.pendingTriggerTimes.push(t);
    }
    this.requestSync();
  }

  onNodeChange(): void {
    this.requestSync();
  }

  /** Queues a sync (coalesced; no sooner than --min-sync-period after the last one started). */
  requestSync(queued = true): void {
    if (this.stopped) return;
    if (queued) {
      this.o.health.queuedUpdate();
      this.o.metrics.syncLastQueuedTimestamp.set(this.o.clock.now() / 1000);
    }
    if (this.scheduled) return;
    const wait = Math.max(0, this.lastSyncStart + this.o.minSyncPeriodMs - this.o.clock.monotonic());
    this.scheduled = this.o.clock.setTimeout(() => {
      this.scheduled = undefined;
      this.sync();
    }, wait);
  }

  stop(): void {
    this.stopped = true;
    this.scheduled?.cancel();
    this.scheduled = undefined;
  }

  summary(): SyncSummary {
    return { servicePorts: this.servicePorts.length, wanted: this.wanted, lastSyncMs: this.lastSyncWall };
  }

  /** One full sync; never throws. */
  sync(): void {
    if (this.stopped) return;
    const start = this.o.clock.monotonic();
    this.lastSyncStart = start;
    try {
      this.syncOnce();
    } catch (e) {
      this.o.log.error({ err: e instanceof Error ? (e.stack ?? e.message) : String(e) }, "sync failed");
      return;
    }
    const seconds = (this.o.clock.monotonic() - start) / 1000;
    const m = this.o.metrics;
    m.syncDuration.observe(seconds);
    m.syncFullDuration.observe(seconds);
    const now = this.o.clock.now();
    this.lastSyncWall = now;
    m.syncLastTimestamp.set(now / 1000);
    for (const t of this.pendingTriggerTimes) m.networkProgramming.observe(Math.max(0, (now - t) / 1000));
    this.pendingTriggerTimes = [];
    this.pendingEndpointChanges = this.pendingServiceChanges = 0;
    m.endpointChangesPending.set(0);
    m.serviceChangesPending.set(0);
    this.o.health.updated();
  }

  private note(obj: KubeObject, problems: string[]): void {
    if (problems.length === 0) return;
    const key = `${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""}`;
    const rv = obj.metadata?.resourceVersion ?? "";
    if (this.logged.get(key) === rv) return;
    this.logged.set(key, rv);
    this.o.log.warn({ service: key, problems }, "skipping parts of a Service kube-proxy cannot proxy");
  }

  private syncOnce(): void {
    const ports: ServicePortInfo[] = [];
    const endpoints = new Map<string, EndpointInfo[]>();
    for (const svc of this.o.services.list()) {
      const r = servicePortsOf(svc);
      this.note(svc, r.problems);
      if (r.ports.length === 0) continue;
      const slices = this.o.slices.byIndex(SLICE_SERVICE_INDEX, `${r.ports[0]!.namespace}/${r.ports[0]!.name}`);
      for (const p of r.ports) {
        ports.push(p);
        endpoints.set(p.key, endpointsForPort(slices, p, this.o.nodeName));
      }
    }
    const nodes = this.o.nodes.list().map(nodeInfoOf).filter((n): n is NodeInfo => n !== undefined);
    const self = nodes.find((n) => n.name === this.o.nodeName);
    this.o.health.syncNode(!self?.leaving);
    const zone = self?.zone ?? "";
    this.o.routes.update(ports, endpoints, nodes, zone);
    const plan = planListeners(ports, endpoints, { nodeName: this.o.nodeName, nodeIp: this.o.nodeIp, zone });
    for (const c of plan.conflicts) {
      const k = `${c.id}|${c.dropped}`;
      if (this.loggedConflicts.has(k)) continue;
      this.loggedConflicts.add(k);
      this.o.log.warn({ listener: c.id, kept: c.kept, dropped: c.dropped }, "two Service ports want the same address; the first keeps it");
    }
    const open = plan.listeners.filter((l) => l.open);
    this.o.listeners.apply(open);
    this.servicePorts = ports;
    this.wanted = open.length;

    let internal = 0;
    let external = 0;
    for (const p of ports) {
      if (!p.internalPolicyLocal && !p.externalPolicyLocal) continue;
      const cat = categorizeEndpoints(endpoints.get(p.key) ?? [], this.o.nodeName, zone);
      if (!cat.hasAny || cat.local.length > 0) continue;
      if (p.internalPolicyLocal) internal++;
      if (p.externalPolicyLocal) external++;
    }
    this.o.metrics.noLocalEndpoints.set({ traffic_policy: "internal" }, internal);
    this.o.metrics.noLocalEndpoints.set({ traffic_policy: "external" }, external);
    const counts = this.o.listeners.counts();
    for (const [state, n] of Object.entries(counts)) this.o.metrics.listeners.set({ state }, n);
    this.o.metrics.udpSessions.set(this.o.listeners.udpSessions);
  }

  /** A listener could not bind (not because another kube-proxy holds it): a Warning event on its Service. */
  reportBindFailure(spec: ListenerSpec, errorText: string): void {
    const svc = this.o.services.get(spec.namespace, spec.serviceName);
    if (!svc || !this.o.recorder) return;
    this.o.recorder.event(svc, "Warning", FAILED_TO_OPEN_PORT, `can't open port ${describeLocalPort(spec)}, skipping it: ${errorText}`);
  }
}
