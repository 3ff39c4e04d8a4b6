/** What kube-proxy reads from Services and EndpointSlices, in the shapes its proxying works on. */

export type Protocol = "TCP" | "UDP";

/** Upstream's ServicePortName: a Service and one of its ports, e.g. "default/web:http". */
export interface ServicePortName {
  namespace: string;
  name: string;
  /** The port's name ("" for a Service's only unnamed port). */
  port: string;
  protocol: Protocol;
}

/** One port of one Service, everything the data plane needs from the Service object. */
export interface ServicePortInfo extends ServicePortName {
  /** Unique key: "ns/name:port/TCP". */
  key: string;
  /** The Service port (ClusterIP, externalIPs and load-balancer IPs listen on it). */
  servicePort: number;
  /** IPv4 cluster IPs; empty for headless Services. */
  clusterIPs: string[];
  /** 0 when the port has none. */
  nodePort: number;
  externalIPs: string[];
  /** status.loadBalancer.ingress IPs (not those with ipMode Proxy). */
  loadBalancerIPs: string[];
  /** externalTrafficPolicy Local on an externally reachable Service. */
  externalPolicyLocal: boolean;
  /** internalTrafficPolicy Local. */
  internalPolicyLocal: boolean;
  /** sessionAffinity ClientIP: the stickiness timeout in seconds; undefined = no affinity. */
  affinityTimeoutSeconds: number | undefined;
}

/** One backend of a Service port, from its EndpointSlices. */
export interface EndpointInfo {
  ip: string;
  port: number;
  nodeName: string;
  zone: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  zoneHints: string[];
  nodeHints: string[];
  /** The Pod the slice's targetRef names (compose mode reaches a pod on another node through its kubelet by this name). */
  pod?: { namespace: string; name: string };
}

/** "ns/name:port" as upstream prints a ServicePortName (no ":" for an unnamed port). */
export function servicePortString(p: ServicePortName): string {
  return `${p.namespace}/${p.name}${p.port ? `:${p.port}` : ""}`;
}

export function servicePortKey(p: ServicePortName): string {
  return `${servicePortString(p)}/${p.protocol}`;
}

/** "127.244.1.5:8080" */
export function endpointString(e: Pick<EndpointInfo, "ip" | "port">): string {
  return `${e.ip}:${e.port}`;
}
