/**
 * Services + endpoints → the sockets this kube-proxy wants open (what iptables rules are to the
 * real one). A listener is open only while it has endpoints to send to: with none, nothing
 * listens and a client's connection is refused by the kernel at once, as iptables' REJECT does.
 *
 * ClusterIPs, externalIPs and load-balancer IPs are "shared": every kube-proxy on the host wants
 * them and one holds each. A NodePort listens on this node's own IP. With
 * externalTrafficPolicy Local, external listeners want only this node's endpoints, so a node
 * without any neither opens its NodePort nor competes for the shared external IPs.
 */
import { categorizeEndpoints } from "./endpoints.js";
import { servicePortString, type EndpointInfo, type Protocol, type ServicePortInfo } from "./types.js";

export type ListenerKind = "ClusterIP" | "NodePort" | "ExternalIP" | "LoadBalancer";

export interface ListenerSpec {
  /** "TCP 127.96.0.5:80" */
  id: string;
  protocol: Protocol;
  ip: string;
  port: number;
  kind: ListenerKind;
  /** Any kube-proxy on the host may hold it; false for this node's own NodePorts. */
  shared: boolean;
  serviceKey: string;
  /** The Service's namespace and name (events go to it). */
  namespace: string;
  serviceName: string;
  /** Upstream's local-port description, e.g. "nodePort for default/web:http". */
  description: string;
  /** ClusterIP traffic is internal (internalTrafficPolicy); the rest external (externalTrafficPolicy). */
  traffic: "internal" | "external";
  /** External traffic under Cluster policy is masqueraded: backends see the node's IP, not the client's. */
  snatToNode: boolean;
  /** There are endpoints this listener would use. */
  open: boolean;
}

export interface PlanSelf {
  nodeName: string;
  nodeIp: string;
  zone: string;
}

export interface PlanConflict {
  id: string;
  kept: string;
  dropped: string;
}

export interface ListenerPlan {
  listeners: ListenerSpec[];
  /** Two Service ports asking for the same address and port: the first (by key) keeps it. */
  conflicts: PlanConflict[];
}

export const listenerId = (protocol: Protocol, ip: string, port: number) => `${protocol} ${ip}:${port}`;

/** Upstream's LocalPort.String(): `"nodePort for default/web:http" (127.0.100.1:30080/tcp)`. */
export function describeLocalPort(l: Pick<ListenerSpec, "description" | "ip" | "port" | "protocol">): string {
  return `"${l.description}" (${l.ip}:${l.port}/${l.protocol.toLowerCase()})`;
}

/** The listeners one Service port asks for, on this node. */
export function listenersForPort(sp: ServicePortInfo, eps: readonly EndpointInfo[], self: PlanSelf): ListenerSpec[] {
  const out: ListenerSpec[] = [];
  const cat = categorizeEndpoints(eps, self.nodeName, self.zone);
  const externalOpen = sp.externalPolicyLocal ? cat.local.length > 0 : cat.hasAny;
  const name = servicePortString(sp);
  const base = { protocol: sp.protocol, serviceKey: sp.key, namespace: sp.namespace, serviceName: sp.name };
  for (const ip of sp.clusterIPs)
    out.push({ ...base, id: listenerId(sp.protocol, ip, sp.servicePort), ip, port: sp.servicePort, kind: "ClusterIP", shared: true, description: `clusterIP for ${name}`, traffic: "internal", snatToNode: false, open: cat.hasAny });
  if (sp.nodePort && self.nodeIp)
    out.push({ ...base, id: listenerId(sp.protocol, self.nodeIp, sp.nodePort), ip: self.nodeIp, port: sp.nodePort, kind: "NodePort", shared: false, description: `nodePort for ${name}`, traffic: "external", snatToNode: !sp.externalPolicyLocal, open: externalOpen });
  for (const ip of sp.externalIPs)
    out.push({ ...base, id: listenerId(sp.protocol, ip, sp.servicePort), ip, port: sp.servicePort, kind: "ExternalIP", shared: true, description: `externalIP for ${name}`, traffic: "external", snatToNode: !sp.externalPolicyLocal, open: externalOpen });
  for (const ip of sp.loadBalancerIPs)
    out.push({ ...base, id: listenerId(sp.protocol, ip, sp.servicePort), ip, port: sp.servicePort, kind: "LoadBalancer", shared: true, description: `loadBalancer IP for ${name}`, traffic: "external", snatToNode: !sp.externalPolicyLocal, open: externalOpen });
  return out;
}

/** Joins per-port listener lists, given in Service port key order: the first to ask for an address keeps it. */
export function mergeListeners(lists: readonly (readonly ListenerSpec[])[]): ListenerPlan {
  const listeners = new Map<string, ListenerSpec>();
  const conflicts: PlanConflict[] = [];
  for (const list of lists)
    for (const l of list) {
      const prev = listeners.get(l.id);
      if (!prev) listeners.set(l.id, l);
      else if (prev.serviceKey !== l.serviceKey || prev.kind !== l.kind) conflicts.push({ id: l.id, kept: prev.serviceKey, dropped: l.serviceKey });
    }
  return { listeners: [...listeners.values()], conflicts };
}

export const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

export function planListeners(ports: readonly ServicePortInfo[], endpoints: ReadonlyMap<string, readonly EndpointInfo[]>, self: PlanSelf): ListenerPlan {
  return mergeListeners([...ports].sort(byKey).map((sp) => listenersForPort(sp, endpoints.get(sp.key) ?? [], self)));
}
