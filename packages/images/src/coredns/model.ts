/**
 * The cluster as CoreDNS's kubernetes plugin sees it: Services, EndpointSlices (ready addresses
 * only, as upstream's EndpointSliceToEndpoints), Namespaces and, for `pods verified`, Pods —
 * with the indexes the answers need (service by name, by ClusterIP; endpoints by service, by
 * address). Pure data: the watch (watch.ts) feeds it API objects.
 */

export interface ServicePort {
  name: string;
  port: number;
  protocol: string;
}

export interface ServiceInfo {
  name: string;
  namespace: string;
  type: string;
  /** Empty for headless and ExternalName services. */
  clusterIPs: string[];
  headless: boolean;
  externalName: string;
  ports: ServicePort[];
}

export interface EndpointAddress {
  ip: string;
  hostname: string;
  targetRefName: string;
}

/** One EndpointSlice of a service: its ready addresses and ports. */
export interface EndpointSet {
  /** namespace/slice name. */
  key: string;
  service: string;
  namespace: string;
  addresses: EndpointAddress[];
  ports: ServicePort[];
}

/** The parts of API objects the model reads (loosely typed: they come off the wire). */
export interface ApiObject {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [k: string]: unknown;
}

export function serviceFromApi(o: ApiObject): ServiceInfo {
  const spec = (o.spec ?? {}) as { type?: string; clusterIP?: string; clusterIPs?: string[]; externalName?: string; ports?: { name?: string; port?: number; protocol?: string }[] };
  const type = spec.type ?? "ClusterIP";
  const ips = (spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : []).filter((ip) => ip && ip !== "None");
  return {
    name: o.metadata?.name ?? "",
    namespace: o.metadata?.namespace ?? "",
    type,
    clusterIPs: type === "ExternalName" ? [] : ips,
    headless: type !== "ExternalName" && (spec.clusterIP === "None" || ips.length === 0),
    externalName: spec.externalName ?? "",
    ports: (spec.ports ?? []).map((p) => ({ name: p.name ?? "", port: p.port ?? 0, protocol: p.protocol ?? "TCP" })),
  };
}

/** An EndpointSlice's ready endpoints (ready unset counts as ready), or undefined when it belongs to no service. */
export function endpointSetFromApi(o: ApiObject): EndpointSet | undefined {
  const service = o.metadata?.labels?.["kubernetes.io/service-name"];
  if (!service) return undefined;
  const endpoints = (o["endpoints"] ?? []) as { addresses?: string[]; hostname?: string; conditions?: { ready?: boolean }; targetRef?: { name?: string } }[];
  const addresses: EndpointAddress[] = [];
  for (const e of endpoints) {
    if (e.conditions?.ready === false) continue;
    for (const ip of e.addresses ?? []) addresses.push({ ip, hostname: e.hostname ?? "", targetRefName: e.targetRef?.name ?? "" });
  }
  const ports = ((o["ports"] ?? []) as { name?: string; port?: number; protocol?: string }[]).map((p) => ({ name: p.name ?? "", port: p.port ?? 0, protocol: p.protocol ?? "TCP" }));
  const ns = o.metadata?.namespace ?? "";
  return { key: `${ns}/${o.metadata?.name ?? ""}`, service, namespace: ns, addresses, ports };
}

const key = (ns: string, name: string) => `${ns.toLowerCase()}/${name.toLowerCase()}`;

export class ClusterModel {
  private readonly services = new Map<string, ServiceInfo>();
  private readonly byClusterIP = new Map<string, ServiceInfo>();
  private readonly sets = new Map<string, EndpointSet>();
  private readonly setsByService = new Map<string, Set<EndpointSet>>();
  private readonly setsByIP = new Map<string, Set<EndpointSet>>();
  private readonly namespaces = new Set<string>();
  private readonly pods = new Map<string, string>();
  private readonly podIPs = new Map<string, Map<string, number>>();
  /** Unix seconds of the last change (the SOA serial, as upstream's Modified). */
  modified: number;

  constructor(private readonly now: () => number = () => Math.floor(Date.now() / 1000)) {
    this.modified = now();
  }

  private touch(): void {
    this.modified = this.now();
  }

  upsertService(s: ServiceInfo): void {
    this.deleteService(s.namespace, s.name, false);
    this.services.set(key(s.namespace, s.name), s);
    for (const ip of s.clusterIPs) this.byClusterIP.set(ip, s);
    this.touch();
  }

  deleteService(namespace: string, name: string, touch = true): void {
    const old = this.services.get(key(namespace, name));
    if (!old) return;
    this.services.delete(key(namespace, name));
    for (const ip of old.clusterIPs) if (this.byClusterIP.get(ip) === old) this.byClusterIP.delete(ip);
    if (touch) this.touch();
  }

  upsertEndpoints(e: EndpointSet): void {
    this.deleteEndpoints(e.key, false);
    this.sets.set(e.key, e);
    const sk = key(e.namespace, e.service);
    if (!this.setsByService.has(sk)) this.setsByService.set(sk, new Set());
    this.setsByService.get(sk)!.add(e);
    for (const a of e.addresses) {
      if (!this.setsByIP.has(a.ip)) this.setsByIP.set(a.ip, new Set());
      this.setsByIP.get(a.ip)!.add(e);
    }
    this.touch();
  }

  deleteEndpoints(setKey: string, touch = true): void {
    const old = this.sets.get(setKey);
    if (!old) return;
    this.sets.delete(setKey);
    const sk = key(old.namespace, old.service);
    this.setsByService.get(sk)?.delete(old);
    if (this.setsByService.get(sk)?.size === 0) this.setsByService.delete(sk);
    for (const a of old.addresses) {
      this.setsByIP.get(a.ip)?.delete(old);
      if (this.setsByIP.get(a.ip)?.size === 0) this.setsByIP.delete(a.ip);
    }
    if (touch) this.touch();
  }

  addNamespace(name: string): void {
    this.namespaces.add(name.toLowerCase());
    this.touch();
  }

  deleteNamespace(name: string): void {
    this.namespaces.delete(name.toLowerCase());
    this.touch();
  }

  /** Records a pod's IP (undefined: the pod is gone or has none yet). */
  setPod(namespace: string, name: string, ip: string | undefined): void {
    const k = key(namespace, name);
    const old = this.pods.get(k);
    if (old === ip) return;
    if (old) {
      const byNs = this.podIPs.get(old);
      const ns = namespace.toLowerCase();
      const n = (byNs?.get(ns) ?? 1) - 1;
      if (n > 0) byNs!.set(ns, n);
      else byNs?.delete(ns);
      if (byNs?.size === 0) this.podIPs.delete(old);
      this.pods.delete(k);
    }
    if (ip) {
      this.pods.set(k, ip);
      if (!this.podIPs.has(ip)) this.podIPs.set(ip, new Map());
      const byNs = this.podIPs.get(ip)!;
      byNs.set(namespace.toLowerCase(), (byNs.get(namespace.toLowerCase()) ?? 0) + 1);
    }
    this.touch();
  }

  service(namespace: string, name: string): ServiceInfo | undefined {
    return this.services.get(key(namespace, name));
  }

  endpointsOf(namespace: string, name: string): EndpointSet[] {
    return [...(this.setsByService.get(key(namespace, name)) ?? [])];
  }

  serviceByClusterIP(ip: string): ServiceInfo | undefined {
    return this.byClusterIP.get(ip);
  }

  endpointsByIP(ip: string): EndpointSet[] {
    return [...(this.setsByIP.get(ip) ?? [])];
  }

  hasNamespace(name: string): boolean {
    return this.namespaces.has(name.toLowerCase());
  }

  /** Whether a pod with this IP runs in the namespace (`pods verified`). */
  hasPod(namespace: string, ip: string): boolean {
    return this.podIPs.get(ip)?.has(namespace.toLowerCase()) ?? false;
  }
}
