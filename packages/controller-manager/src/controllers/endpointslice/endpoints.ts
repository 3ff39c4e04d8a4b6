/**
 * EndpointSlice endpoints and ports from pods (upstream's k8s.io/endpointslice utils.go):
 * conditions ready/serving/terminating, nodeName, zone, hostname, targetRef; ports per Service
 * port with named targetPorts resolved on the pod; the identity an endpoint keeps across syncs.
 */
import type { KubeObject } from "@kubemu/common";
import type { Endpoint, EndpointPort, EndpointSlice } from "kubernetes-types/discovery/v1.js";
import { canonicalJson } from "../../controller/hash.js";
import { isPodReady } from "../../controller/pod-util.js";
import { findPort, shouldSetHostname, type PodObject, type ServiceObject } from "../endpoint-util/pods.js";

export type EndpointSliceObject = EndpointSlice & KubeObject;
export type AddressType = "IPv4" | "IPv6";

export const ZONE_LABEL = "topology.kubernetes.io/zone";

const isV6 = (ip: string) => ip.includes(":");

/** The pod's IPs of one family. */
function addressesOf(pod: PodObject, addressType: AddressType): string[] {
  const ips = pod.status?.podIPs?.length ? pod.status.podIPs.map((p) => p.ip).filter((ip): ip is string => !!ip) : pod.status?.podIP ? [pod.status.podIP] : [];
  return ips.filter((ip) => isV6(ip) === (addressType === "IPv6"));
}

/** podToEndpoint: ready only when serving and not terminating, unless the Service publishes not-ready addresses. */
export function podToEndpoint(pod: PodObject, node: KubeObject | undefined, svc: ServiceObject, addressType: AddressType): Endpoint {
  const serving = isPodReady(pod);
  const terminating = !!pod.metadata.deletionTimestamp;
  const ready = svc.spec?.publishNotReadyAddresses === true || (serving && !terminating);
  const zone = node?.metadata.labels?.[ZONE_LABEL];
  return {
    addresses: addressesOf(pod, addressType),
    conditions: { ready, serving, terminating },
    ...(shouldSetHostname(pod, svc) ? { hostname: pod.spec!.hostname! } : {}),
    targetRef: { kind: "Pod", namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
    ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
    ...(zone ? { zone } : {}),
  };
}

/** getEndpointPorts: one port per Service port the pod has (none for a headless Service without ports). */
export function endpointPorts(svc: ServiceObject, pod: PodObject): EndpointPort[] {
  const out: EndpointPort[] = [];
  const ports = svc.spec?.ports ?? [];
  if (ports.length === 0 && svc.spec?.clusterIP === "None") return out;
  for (const sp of ports) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    out.push({ name: sp.name ?? "", port, protocol: sp.protocol ?? "TCP", ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}) });
  }
  return out;
}

/** NewPortMapKey: the same ports in any order make the same key. */
export function portMapKey(ports: readonly EndpointPort[] | undefined | null): string {
  return canonicalJson((ports ?? []).map((p) => canonicalJson(p)).sort());
}

/** hashEndpoint: what makes two endpoints "the same" (addresses, hostname, target's namespace/name). */
export function endpointKey(e: Endpoint): string {
  return canonicalJson({ addresses: [...e.addresses].sort(), hostname: e.hostname ?? "", namespace: e.targetRef?.namespace ?? "", name: e.targetRef?.name ?? "" });
}

/** EndpointsEqualBeyondHash: nodeName, zone, conditions and targetRef (resourceVersion aside) equal. */
export function endpointsEqualBeyondHash(a: Endpoint, b: Endpoint): boolean {
  const c = (e: Endpoint) => e.conditions ?? {};
  const ref = (e: Endpoint) => (e.targetRef ? canonicalJson({ ...e.targetRef, resourceVersion: undefined }) : "");
  return (
    (a.nodeName ?? null) === (b.nodeName ?? null) &&
    (a.zone ?? null) === (b.zone ?? null) &&
    (c(a).ready ?? null) === (c(b).ready ?? null) &&
    (c(a).serving ?? null) === (c(b).serving ?? null) &&
    (c(a).terminating ?? null) === (c(b).terminating ?? null) &&
    ref(a) === ref(b)
  );
}

/** A set of endpoints by identity, handed out in insertion order. */
export class EndpointSet {
  private readonly items = new Map<string, Endpoint>();

  insert(e: Endpoint): void {
    this.items.set(endpointKey(e), e);
  }

  get(e: Endpoint): Endpoint | undefined {
    return this.items.get(endpointKey(e));
  }

  delete(e: Endpoint): void {
    this.items.delete(endpointKey(e));
  }

  get size(): number {
    return this.items.size;
  }

  /** Removes and returns one endpoint. */
  pop(): Endpoint | undefined {
    const first = this.items.entries().next();
    if (first.done) return undefined;
    this.items.delete(first.value[0]);
    return first.value[1];
  }
}
