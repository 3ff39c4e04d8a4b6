/**
 * metallb-controller (MetalLB 0.9 controller/main.go, controller/service.go): gives each
 * LoadBalancer Service an address from the configured pools and writes it to
 * status.loadBalancer.ingress; frees it when the Service is deleted or stops being a LoadBalancer.
 *
 * `convergeBalancer` is the pure core (allocator state in, desired status and events out);
 * `MetallbController.tick()` is the loop's one pass over the API: it reads the `config` ConfigMap
 * and the Services and converges every Service that changed since it was last converged — all of
 * them after a config change or a freed address (upstream's SyncStateReprocessAll).
 */
import { Allocator, type Port } from "./allocator.js";
import { formatIPv4, parseIPv4, type Config } from "./config.js";
import { ServiceEvents } from "./events.js";
import { ConfigWatch } from "./config-watch.js";
import { serviceKey, type Api, type List, type Service } from "./types.js";

export const ADDRESS_POOL_ANNOTATION = "metallb.universe.tf/address-pool";
export const SHARED_IP_ANNOTATION = "metallb.universe.tf/allow-shared-ip";

export interface ServiceEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

export interface Convergence {
  /** The address for status.loadBalancer.ingress, or undefined to clear it. */
  ip: string | undefined;
  events: ServiceEvent[];
  /** False: not converged (controller not synced yet); try again later. */
  done: boolean;
  log: string[];
}

/** k8salloc.Ports: one port per Service port, by protocol and number. */
export function servicePorts(svc: Service): Port[] {
  return (svc.spec.ports ?? []).map((p) => ({ proto: p.protocol ?? "TCP", port: p.port }));
}

/** k8salloc.BackendKey: with externalTrafficPolicy Local, the selector (labels.Set.String()), else "". */
export function backendKey(svc: Service): string {
  if (svc.spec.externalTrafficPolicy !== "Local") return "";
  return Object.keys(svc.spec.selector ?? {})
    .sort()
    .map((k) => `${k}=${svc.spec.selector![k]}`)
    .join(",");
}

/** convergeBalancer: the Service's end state given the allocator (which it updates). */
export function convergeBalancer(key: string, svc: Service, ips: Allocator, config: Config, synced: boolean): Convergence {
  const out: Convergence = { ip: undefined, events: [], done: true, log: [] };
  const clear = () => void ips.unassign(key);
  if (svc.spec.type !== "LoadBalancer") {
    out.log.push("clearAssignment: not a LoadBalancer");
    clear();
    return out;
  }
  if (svc.spec.clusterIP === undefined || parseIPv4(svc.spec.clusterIP) === undefined) {
    out.log.push("clearAssignment: No ClusterIP");
    clear();
    return out;
  }
  const ingress = svc.status?.loadBalancer?.ingress ?? [];
  let lbIP = ingress.length === 1 && ingress[0]!.ip !== undefined ? parseIPv4(ingress[0]!.ip) : undefined;
  if (lbIP === undefined) clear();
  const ports = servicePorts(svc);
  const sharing = svc.metadata.annotations?.[SHARED_IP_ANNOTATION] ?? "";
  const backend = backendKey(svc);
  if (lbIP !== undefined) {
    try {
      ips.assign(key, lbIP, ports, sharing, backend);
    } catch {
      out.log.push("clearAssignment: current IP not allowed by config, clearing");
      clear();
      lbIP = undefined;
    }
    const desiredPool = svc.metadata.annotations?.[ADDRESS_POOL_ANNOTATION] ?? "";
    if (lbIP !== undefined && desiredPool !== "" && ips.pool(key) !== desiredPool) {
      out.log.push("clearAssignment: user requested a different pool than the one currently assigned");
      clear();
      lbIP = undefined;
    }
  }
  const requested = svc.spec.loadBalancerIP ?? "";
  if (requested !== "" && (lbIP === undefined || requested !== formatIPv4(lbIP))) {
    if (lbIP !== undefined) out.log.push("clearAssignment: user requested a different IP than the one currently assigned");
    clear();
    lbIP = undefined;
  }
  if (lbIP === undefined) {
    if (!synced) {
      out.log.push("allocateIP: controller not synced yet, cannot allocate IP; will retry after sync");
      out.done = false;
      return out;
    }
    try {
      lbIP = allocateIP(key, svc, ips, ports, sharing, backend);
    } catch (e) {
      out.log.push(`allocateIP: IP allocation failed: ${(e as Error).message}`);
      out.events.push({ type: "Warning", reason: "AllocationFailed", message: `Failed to allocate IP for "${key}": ${(e as Error).message}` });
      return out;
    }
    out.log.push(`ipAllocated: IP address assigned by controller ip=${formatIPv4(lbIP)}`);
    out.events.push({ type: "Normal", reason: "IPAllocated", message: `Assigned IP "${formatIPv4(lbIP)}"` });
  }
  const pool = ips.pool(key);
  if (pool === undefined || !config.pools.some((p) => p.name === pool)) {
    out.events.push({ type: "Warning", reason: "InternalError", message: "allocated an IP that has no pool" });
    clear();
    return out;
  }
  out.ip = formatIPv4(lbIP);
  return out;
}

function allocateIP(key: string, svc: Service, ips: Allocator, ports: Port[], sharing: string, backend: string): number {
  const requested = svc.spec.loadBalancerIP ?? "";
  if (requested !== "") {
    const ip = parseIPv4(requested);
    if (ip === undefined) throw new Error(`invalid spec.loadBalancerIP "${requested}"`);
    ips.assign(key, ip, ports, sharing, backend);
    return ip;
  }
  const desiredPool = svc.metadata.annotations?.[ADDRESS_POOL_ANNOTATION] ?? "";
  if (desiredPool !== "") return ips.allocateFromPool(key, desiredPool, ports, sharing, backend);
  return ips.allocate(key, ports, sharing, backend);
}

export interface ControllerOptions {
  api: Api;
  /** metallb's own namespace (where the `config` ConfigMap is). */
  namespace: string;
  configMapName: string;
  log: (line: string) => void;
  now: () => Date;
}

export class MetallbController {
  private readonly ips = new Allocator();
  private config: Config | undefined;
  private readonly configWatch: ConfigWatch;
  private synced = false;
  /** resourceVersion each Service was last converged at. */
  private readonly converged = new Map<string, string>();
  private readonly events: ServiceEvents;

  constructor(private readonly o: ControllerOptions) {
    this.events = new ServiceEvents(o.api, "metallb-controller", undefined, o.now, o.log);
    this.configWatch = new ConfigWatch(o);
  }

  /** One pass: config, then every Service that needs converging. */
  async tick(): Promise<void> {
    let reprocessAll = await this.syncConfig();
    if (this.config === undefined) return;
    const services = (await this.o.api.get<List<Service>>("/api/v1/services")).items;
    const live = new Set(services.map(serviceKey));
    for (const key of [...this.converged.keys()]) {
      if (live.has(key)) continue;
      this.converged.delete(key);
      if (this.ips.unassign(key)) {
        this.o.log(`service deleted: ${key}`);
        reprocessAll = true; // Services waiting for an address may fit now.
      }
    }
    if (!this.synced) {
      // Upstream's informers sync before allocating: first take in every address already assigned.
      for (const svc of services) convergeBalancer(serviceKey(svc), svc, this.ips, this.config, false);
      this.synced = true;
      this.o.log("stateSynced: controller synced, can allocate IPs now");
      reprocessAll = true;
    }
    for (const svc of services) {
      const key = serviceKey(svc);
      if (!reprocessAll && this.converged.get(key) === svc.metadata.resourceVersion) continue;
      if (await this.setBalancer(key, svc)) this.converged.set(key, svc.metadata.resourceVersion ?? "");
    }
  }

  /** Prometheus text: upstream's allocator gauges per pool. */
  metrics(): string {
    const stats = this.ips.stats();
    const gauge = (name: string, help: string, value: (s: (typeof stats)[number]) => number) => [
      `# HELP metallb_allocator_${name} ${help}`,
      `# TYPE metallb_allocator_${name} gauge`,
      ...stats.map((s) => `metallb_allocator_${name}{pool="${s.pool}"} ${value(s)}`),
    ];
    return [
      ...gauge("addresses_in_use_total", "Number of IP addresses in use, per pool", (s) => s.inUse),
      ...gauge("addresses_total", "Number of usable IP addresses, per pool", (s) => s.total),
      ...gauge("services_allocated_total", "Number of services allocated, per pool", (s) => s.services),
    ].join("\n") + "\n";
  }

  /** Reads the ConfigMap; true when a new config was applied (every Service is reprocessed). */
  private async syncConfig(): Promise<boolean> {
    const cfg = await this.configWatch.poll();
    if (cfg === undefined) return false;
    try {
      this.ips.setPools(cfg.pools);
    } catch (e) {
      this.o.log(`setConfig: applying new configuration failed: ${(e as Error).message}`);
      return false;
    }
    this.config = cfg;
    this.o.log("configLoaded: config (re)loaded");
    return true;
  }

  /** SetBalancer: converge, write the status if it changed, record the events. True when done. */
  private async setBalancer(key: string, svc: Service): Promise<boolean> {
    const c = convergeBalancer(key, svc, this.ips, this.config!, this.synced);
    for (const line of c.log) this.o.log(`${key}: ${line}`);
    if (!c.done) return false;
    const current = svc.status?.loadBalancer?.ingress ?? [];
    const same = c.ip === undefined ? current.length === 0 : current.length === 1 && current[0]!.ip === c.ip && current[0]!.hostname === undefined;
    if (!same) {
      const updated: Service = { ...svc, status: { ...svc.status, loadBalancer: c.ip === undefined ? {} : { ingress: [{ ip: c.ip }] } } };
      try {
        await this.o.api.put(`/api/v1/namespaces/${svc.metadata.namespace}/services/${svc.metadata.name}/status`, updated);
      } catch (e) {
        this.o.log(`${key}: updateServiceStatus: failed to update service status: ${(e as Error).message}`);
        // The address stays assigned in memory; the next pass sees the same Service and writes it again.
        return false;
      }
    }
    for (const ev of c.events) await this.events.record(svc, ev.type, ev.reason, ev.message);
    return true;
  }
}
