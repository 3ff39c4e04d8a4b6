/** Defaulting of core kinds other than pods (services, namespaces, secrets, volumes…). */
import { newBadRequest } from "@kubemu/common";
import type { KubeObject } from "../storage/index.js";
import { base64ErrorOffset } from "./base64.js";

type Obj = Record<string, any>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export function defaultService(o: KubeObject): void {
  if (!isObj(o.spec)) o.spec = {};
  const s = o.spec as Obj;
  s.type ??= "ClusterIP";
  if (s.type !== "ExternalName") {
    s.sessionAffinity ??= "None";
    s.internalTrafficPolicy ??= "Cluster";
    s.ipFamilyPolicy ??= "SingleStack";
    s.ipFamilies ??= ["IPv4"];
  }
  if (s.sessionAffinity === "ClientIP") {
    if (!isObj(s.sessionAffinityConfig)) s.sessionAffinityConfig = {};
    if (!isObj(s.sessionAffinityConfig.clientIP)) s.sessionAffinityConfig.clientIP = {};
    s.sessionAffinityConfig.clientIP.timeoutSeconds ??= 10800;
  }
  if (s.type === "NodePort" || s.type === "LoadBalancer") s.externalTrafficPolicy ??= "Cluster";
  if (s.type === "LoadBalancer") s.allocateLoadBalancerNodePorts ??= true;
  if (Array.isArray(s.ports))
    for (const p of s.ports) {
      if (!isObj(p)) continue;
      p.protocol ??= "TCP";
      p.targetPort ??= p.port;
    }
  if (!isObj(o.status)) o.status = {};
  (o.status as Obj).loadBalancer ??= {};
}

export function defaultNamespace(o: KubeObject): void {
  const name = o.metadata.name;
  if (name) o.metadata.labels = { ...(o.metadata.labels ?? {}), "kubernetes.io/metadata.name": name };
  if (!isObj(o.spec)) o.spec = {};
  (o.spec as Obj).finalizers ??= ["kubernetes"];
  if (!isObj(o.status)) o.status = {};
  (o.status as Obj).phase ??= "Active";
}

/** Throws the decoder's 400 when a `[]byte` map (Secret data, ConfigMap binaryData) holds malformed base64. */
function checkBytes(o: KubeObject, kind: string, map: unknown): void {
  if (!isObj(map)) return;
  for (const v of Object.values(map)) {
    if (typeof v !== "string") continue;
    const at = base64ErrorOffset(v);
    if (at !== undefined) throw newBadRequest(`${kind} in version "v1" cannot be handled as a ${kind}: illegal base64 data at input byte ${at}`);
  }
}

/** ConfigMaps: binaryData must decode as base64, as it does when upstream decodes the object. */
export function defaultConfigMap(o: KubeObject): void {
  checkBytes(o, "ConfigMap", o.binaryData);
}

/** Secrets: type Opaque, and stringData folded into data (base64) as upstream's conversion does. */
export function defaultSecret(o: KubeObject): void {
  checkBytes(o, "Secret", o.data);
  o.type ??= "Opaque";
  if (isObj(o.stringData)) {
    const data: Obj = isObj(o.data) ? o.data : {};
    for (const [k, v] of Object.entries(o.stringData)) data[k] = Buffer.from(String(v), "utf8").toString("base64");
    o.data = data;
  }
  delete o.stringData;
}

export function defaultPersistentVolume(o: KubeObject): void {
  if (!isObj(o.spec)) o.spec = {};
  const s = o.spec as Obj;
  s.persistentVolumeReclaimPolicy ??= "Retain";
  s.volumeMode ??= "Filesystem";
  if (!isObj(o.status)) o.status = {};
  (o.status as Obj).phase ??= "Pending";
}

/** SetDefaults_StorageClass: reclaimPolicy Delete, volumeBindingMode Immediate. */
export function defaultStorageClass(o: KubeObject): void {
  o.reclaimPolicy ??= "Delete";
  o.volumeBindingMode ??= "Immediate";
}

export function defaultPersistentVolumeClaim(o: KubeObject): void {
  if (!isObj(o.spec)) o.spec = {};
  (o.spec as Obj).volumeMode ??= "Filesystem";
  if (!isObj(o.status)) o.status = {};
  (o.status as Obj).phase ??= "Pending";
}

export function defaultEndpoints(o: KubeObject): void {
  if (Array.isArray(o.subsets))
    for (const s of o.subsets as Obj[]) if (isObj(s) && Array.isArray(s.ports)) for (const p of s.ports) if (isObj(p)) p.protocol ??= "TCP";
}

export function defaultNode(o: KubeObject): void {
  if (!isObj(o.spec)) o.spec = {};
  if (!isObj(o.status)) o.status = {};
  const spec = o.spec as Obj;
  const status = o.status as Obj;
  // The v1 conversion keeps podCIDR and podCIDRs in step (podCIDR is podCIDRs[0]).
  if (typeof spec.podCIDR === "string" && spec.podCIDR && !Array.isArray(spec.podCIDRs)) spec.podCIDRs = [spec.podCIDR];
  else if (Array.isArray(spec.podCIDRs) && typeof spec.podCIDRs[0] === "string" && !spec.podCIDR) spec.podCIDR = spec.podCIDRs[0];
  // SetDefaults_NodeStatus: allocatable defaults to capacity.
  if (isObj(status.capacity) && !isObj(status.allocatable)) status.allocatable = { ...status.capacity };
}

export function defaultEvent(o: KubeObject): void {
  o.type ??= "Normal";
}

/**
 * SetDefaults_LimitRangeItem for Container items: the default limit falls back to max, the default
 * request to the default limit and then to min.
 */
export function defaultLimitRange(o: KubeObject): void {
  const limits = isObj(o.spec) && Array.isArray(o.spec.limits) ? (o.spec.limits as unknown[]) : [];
  for (const item of limits) {
    if (!isObj(item) || item.type !== "Container") continue;
    const dflt: Obj = isObj(item.default) ? { ...item.default } : {};
    const request: Obj = isObj(item.defaultRequest) ? { ...item.defaultRequest } : {};
    for (const [k, v] of Object.entries(isObj(item.max) ? item.max : {})) dflt[k] ??= v;
    for (const [k, v] of Object.entries(dflt)) request[k] ??= v;
    for (const [k, v] of Object.entries(isObj(item.min) ? item.min : {})) request[k] ??= v;
    // Empty lists are left out, as Go's omitempty does.
    if (Object.keys(dflt).length) item.default = dflt;
    if (Object.keys(request).length) item.defaultRequest = request;
  }
}

/** SetDefaults_NetworkPolicy: policyTypes from the rules given; rule ports default to TCP. */
export function defaultNetworkPolicy(o: KubeObject): void {
  if (!isObj(o.spec)) o.spec = {};
  const s = o.spec as Obj;
  if (!isObj(s.podSelector)) s.podSelector = {};
  for (const rules of [s.ingress, s.egress])
    if (Array.isArray(rules))
      for (const r of rules) if (isObj(r) && Array.isArray(r.ports)) for (const p of r.ports) if (isObj(p)) p.protocol ??= "TCP";
  if (!Array.isArray(s.policyTypes) || s.policyTypes.length === 0) {
    s.policyTypes = ["Ingress"];
    if (Array.isArray(s.egress) && s.egress.length > 0) s.policyTypes.push("Egress");
  }
}

/** PodDisruptionBudget status counters Go always serialises start at 0. */
export function defaultPodDisruptionBudget(o: KubeObject): void {
  if (!isObj(o.status)) o.status = {};
  const st = o.status as Obj;
  for (const f of ["disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"]) st[f] ??= 0;
}
