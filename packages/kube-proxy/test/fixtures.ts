/** Test objects: Services and EndpointSlices as the API serves them. */
import type { KubeObject } from "@kubemu/common";

export interface SvcOpts {
  ns?: string;
  type?: string;
  clusterIP?: string;
  ports?: Record<string, unknown>[];
  externalIPs?: string[];
  lbIngress?: Record<string, unknown>[];
  externalTrafficPolicy?: string;
  internalTrafficPolicy?: string;
  sessionAffinity?: string;
  timeoutSeconds?: number;
  labels?: Record<string, string>;
}

export function service(name: string, o: SvcOpts = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: o.ns ?? "default", uid: `uid-${name}`, resourceVersion: "1", ...(o.labels ? { labels: o.labels } : {}) },
    spec: {
      type: o.type ?? "ClusterIP",
      ...(o.clusterIP !== undefined ? { clusterIP: o.clusterIP, clusterIPs: o.clusterIP === "None" ? ["None"] : [o.clusterIP] } : {}),
      ports: o.ports ?? [{ name: "http", port: 80, protocol: "TCP", targetPort: 8080 }],
      ...(o.externalIPs ? { externalIPs: o.externalIPs } : {}),
      ...(o.externalTrafficPolicy ? { externalTrafficPolicy: o.externalTrafficPolicy } : {}),
      ...(o.internalTrafficPolicy ? { internalTrafficPolicy: o.internalTrafficPolicy } : {}),
      sessionAffinity: o.sessionAffinity ?? "None",
      ...(o.timeoutSeconds !== undefined ? { sessionAffinityConfig: { clientIP: { timeoutSeconds: o.timeoutSeconds } } } : {}),
    },
    status: o.lbIngress ? { loadBalancer: { ingress: o.lbIngress } } : {},
  };
}

export interface EpOpts {
  ip: string;
  node?: string;
  zone?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  forZones?: string[];
  forNodes?: string[];
}

export function slice(name: string, svc: string, endpoints: EpOpts[], ports: Record<string, unknown>[] = [{ name: "http", port: 8080, protocol: "TCP" }], ns = "default"): KubeObject {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name, namespace: ns, labels: { "kubernetes.io/service-name": svc }, resourceVersion: "1" },
    addressType: "IPv4",
    ports,
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: {
        ...(e.ready !== undefined ? { ready: e.ready } : {}),
        ...(e.serving !== undefined ? { serving: e.serving } : {}),
        ...(e.terminating !== undefined ? { terminating: e.terminating } : {}),
      },
      ...(e.node ? { nodeName: e.node } : {}),
      ...(e.zone ? { zone: e.zone } : {}),
      ...(e.forZones || e.forNodes
        ? { hints: { ...(e.forZones ? { forZones: e.forZones.map((name) => ({ name })) } : {}), ...(e.forNodes ? { forNodes: e.forNodes.map((name) => ({ name })) } : {}) } }
        : {}),
    })),
  };
}

export function node(name: string, ip: string, podCIDR: string, zone?: string, extra: { deleting?: boolean; taints?: { key: string; effect: string }[] } = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, ...(zone ? { labels: { "topology.kubernetes.io/zone": zone } } : {}), ...(extra.deleting ? { deletionTimestamp: "2025-01-01T00:00:00Z" } : {}) },
    spec: { podCIDR, podCIDRs: [podCIDR], ...(extra.taints ? { taints: extra.taints } : {}) },
    status: { addresses: [{ type: "InternalIP", address: ip }, { type: "Hostname", address: name }] },
  };
}
