/**
 * Which pods back a Service, and how (upstream's k8s.io/endpointslice/util and podutil): the
 * Endpoints, EndpointSlice and mirroring controllers share these rules so the three never
 * disagree about a pod.
 */
import type { KubeObject, Lister } from "@kubemu/common";
import { objectKey } from "@kubemu/common";
import type { Pod, Service, ServicePort } from "kubernetes-types/core/v1.js";
import { isPodReady, isPodTerminal } from "../../controller/pod-util.js";

export type PodObject = Pod & KubeObject;
export type ServiceObject = Service & KubeObject;

/** The annotation both controllers stamp with the time of the change that caused a write. */
export const LAST_CHANGE_TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time";
/** Label on Endpoints and EndpointSlices of Services without a cluster IP. */
export const HEADLESS_LABEL = "service.kubernetes.io/headless";
/** Endpoints written by leader election (old resource locks) are nobody's to manage. */
export const LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader";

/**
 * The Service's selector, or undefined when it has none. An empty selector counts as none: a
 * real API server stores objects as protobuf, where an empty map reads back as nil.
 */
export function serviceSelector(svc: ServiceObject): Readonly<Record<string, string>> | undefined {
  const sel = svc.spec?.selector;
  return sel && Object.keys(sel).length > 0 ? sel : undefined;
}

/** labels.Set(selector).AsSelector().Matches(labels). */
export function selectorMatches(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>> | undefined): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels?.[k] !== v) return false;
  return true;
}

/** ClusterIP set and not "None" (upstream's helper.IsServiceIPSet). */
export function isServiceIPSet(svc: ServiceObject): boolean {
  const ip = svc.spec?.clusterIP;
  return ip !== undefined && ip !== "" && ip !== "None";
}

/**
 * A pod belongs in a Service's endpoints when it is not terminal, has an IP, and (unless
 * terminating pods are wanted) is not being deleted.
 */
export function shouldPodBeInEndpoints(pod: PodObject, includeTerminating: boolean): boolean {
  if (isPodTerminal(pod)) return false;
  if (!pod.status?.podIP && !(pod.status?.podIPs?.length ?? 0)) return false;
  if (!includeTerminating && pod.metadata.deletionTimestamp) return false;
  return true;
}

/** Pods with hostname + subdomain equal to a Service's name get a hostname in its endpoints. */
export function shouldSetHostname(pod: PodObject, svc: ServiceObject): boolean {
  return !!pod.spec?.hostname && pod.spec.subdomain === svc.metadata.name && pod.metadata.namespace === svc.metadata.namespace;
}

/**
 * The container port a Service port's targetPort means on this pod (podutil.FindPort): a number
 * is itself; a name is looked up among the containers' (and sidecars') ports of the same
 * protocol. Undefined when the pod has no such port.
 */
export function findPort(pod: PodObject, svcPort: ServicePort): number | undefined {
  const target = svcPort.targetPort ?? svcPort.port;
  if (typeof target === "number") return target;
  const protocol = svcPort.protocol ?? "TCP";
  const sidecars = (pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === "Always");
  for (const c of [...(pod.spec?.containers ?? []), ...sidecars]) {
    for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? "TCP") === protocol) return p.containerPort;
  }
  return undefined;
}

/** The keys of the Services in the pod's namespace whose selector matches these labels. */
export function servicesForLabels(services: Lister<ServiceObject>, namespace: string | undefined, labels: Readonly<Record<string, string>> | undefined): Set<string> {
  const keys = new Set<string>();
  for (const svc of services.list(namespace === undefined ? {} : { namespace })) {
    const sel = serviceSelector(svc);
    if (sel && selectorMatches(sel, labels)) keys.add(objectKey(svc));
  }
  return keys;
}

/** GetPodServiceMemberships: the Services this pod is in. */
export function podServiceMemberships(services: Lister<ServiceObject>, pod: PodObject): Set<string> {
  return servicesForLabels(services, pod.metadata.namespace, pod.metadata.labels);
}

const sameLabels = (a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined) => {
  const ea = Object.entries(a ?? {});
  return ea.length === Object.keys(b ?? {}).length && ea.every(([k, v]) => b?.[k] === v);
};

/**
 * Whether an update changed the pod's endpoints (deletion, readiness, IPs) and whether it
 * changed which Services it may be in (labels, hostname, subdomain).
 */
export function podEndpointsChanged(oldPod: PodObject, newPod: PodObject): { podChanged: boolean; labelsChanged: boolean } {
  const labelsChanged = !sameLabels(oldPod.metadata.labels, newPod.metadata.labels) || oldPod.spec?.hostname !== newPod.spec?.hostname || oldPod.spec?.subdomain !== newPod.spec?.subdomain;
  const ips = (p: PodObject) => (p.status?.podIPs ?? []).map((i) => i.ip).join(",");
  const podChanged = oldPod.metadata.deletionTimestamp !== newPod.metadata.deletionTimestamp || isPodReady(oldPod) !== isPodReady(newPod) || ips(oldPod) !== ips(newPod);
  return { podChanged, labelsChanged };
}

/** GetServicesToUpdateOnPodChange: the Services to resync after a pod update (none for a resync). */
export function servicesToUpdateOnPodChange(services: Lister<ServiceObject>, oldPod: PodObject, newPod: PodObject): Set<string> {
  if (oldPod.metadata.resourceVersion === newPod.metadata.resourceVersion) return new Set();
  const { podChanged, labelsChanged } = podEndpointsChanged(oldPod, newPod);
  if (!podChanged && !labelsChanged) return new Set();
  const now = podServiceMemberships(services, newPod);
  if (!labelsChanged) return now;
  const before = podServiceMemberships(services, oldPod);
  // Labels changed: with the pod changed too every Service of either set resyncs; otherwise only
  // those it joined or left.
  if (podChanged) return new Set([...now, ...before]);
  return new Set([...[...now].filter((k) => !before.has(k)), ...[...before].filter((k) => !now.has(k))]);
}
