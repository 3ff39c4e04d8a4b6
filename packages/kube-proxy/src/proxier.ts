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
import { healthCheckServices, type HealthCheckService } from "./model/health-check.js";
import { byKey, describeLocalPort, listenersForPort, mergeListeners, type ListenerSpec, type PlanSelf } from "./model/listener-plan.js";
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
  /** The per-Service health-check servers (healthCheckNodePort), given each sync's wanted set. */
  serviceHealth?: { sync(wanted: Map<string, HealthCheckService>): void };
  clock: Clock;
  log: Logger;
  minSyncPeriodMs: number;
}

interface ServiceState {
  /** namespace/name */
  key: string;
  /** The objects it was computed from (the informers hand out a new object for every change). */
  service: KubeObject;
  slices: KubeObject[];
  selfSig: string;
  ports: ServicePortInfo[];
  endpoints: Map<string, EndpointInfo[]>;
  listeners: ListenerSpec[][];
  noLocal: { internal: number; external: number };
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
  private servicePorts = 0;
  private readonly cache = new Map<string, ServiceState>();
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
    return { servicePorts: this.servicePorts, wanted: this.wanted, lastSyncMs: this.lastSyncWall };
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

  /** One Service's share of a sync, recomputed only when the Service, its slices or this node's identity changed. */
  private serviceState(svc: KubeObject, slices: KubeObject[], selfSig: string, self: PlanSelf): ServiceState {
    const key = `${svc.metadata?.namespace ?? ""}/${svc.metadata?.name ?? ""}`;
    const prev = this.cache.get(key);
    if (prev && prev.service === svc && prev.selfSig === selfSig && prev.slices.length === slices.length && prev.slices.every((s, i) => s === slices[i])) return prev;
    const r = servicePortsOf(svc);
    this.note(svc, r.problems);
    const endpoints = new Map<string, EndpointInfo[]>();
    const listeners: ListenerSpec[][] = [];
    let internal = 0;
    let external = 0;
    for (const p of r.ports) {
      const eps = endpointsForPort(slices, p, this.o.nodeName);
      endpoints.set(p.key, eps);
      listeners.push(listenersForPort(p, eps, self));
      if (p.internalPolicyLocal || p.externalPolicyLocal) {
        const cat = categorizeEndpoints(eps, this.o.nodeName, self.zone);
        if (cat.hasAny && cat.local.length === 0) {
          if (p.internalPolicyLocal) internal++;
          if (p.externalPolicyLocal) external++;
        }
      }
    }
    const st: ServiceState = { key, service: svc, slices, selfSig, ports: r.ports, endpoints, listeners, noLocal: { internal, external } };
    this.cache.set(key, st);
    return st;
  }

  private syncOnce(): void {
    const nodes = this.o.nodes.list().map(nodeInfoOf).filter((n): n is NodeInfo => n !== undefined);
    const selfNode = nodes.find((n) => n.name === this.o.nodeName);
    this.o.health.syncNode(!selfNode?.leaving);
    const self: PlanSelf = { nodeName: this.o.nodeName, nodeIp: this.o.nodeIp, zone: selfNode?.zone ?? "" };
    const selfSig = `${self.nodeName}|${self.nodeIp}|${self.zone}`;
    const states: ServiceState[] = [];
    for (const svc of this.o.services.list()) {
      const slices = this.o.slices.byIndex(SLICE_SERVICE_INDEX, `${svc.metadata?.namespace ?? ""}/${svc.metadata?.name ?? ""}`);
      states.push(this.serviceState(svc, slices, selfSig, self));
    }
    if (this.cache.size > states.length) {
      const live = new Set(states.map((s) => s.key));
      for (const k of this.cache.keys()) if (!live.has(k)) this.cache.delete(k);
    }
    // Service keys order the listener lists, so the first Service port to ask for an address keeps it.
    states.sort(byKey);
    const ports: ServicePortInfo[] = [];
    const endpoints = new Map<string, EndpointInfo[]>();
    const lists: ListenerSpec[][] = [];
    let internal = 0;
    let external = 0;
    for (const st of states) {
      for (const p of st.ports) ports.push(p);
      for (const [k, v] of st.endpoints) endpoints.set(k, v);
      for (const l of st.listeners) lists.push(l);
      internal += st.noLocal.internal;
      external += st.noLocal.external;
    }
    this.o.routes.update(ports, endpoints, nodes, self.zone);
    const plan = mergeListeners(lists);
    for (const c of plan.conflicts) {
      const k = `${c.id}|${c.dropped}`;
      if (this.loggedConflicts.has(k)) continue;
      this.loggedConflicts.add(k);
      this.o.log.warn({ listener: c.id, kept: c.kept, dropped: c.dropped }, "two Service ports want the same address; the first keeps it");
    }
    const open = plan.listeners.filter((l) => l.open);
    this.o.listeners.apply(open);
    this.o.serviceHealth?.sync(healthCheckServices(states, this.o.nodeName));
    this.servicePorts = ports.length;
    this.wanted = open.length;
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
