/** Defaulting of core kinds other than pods (services, namespaces, secrets, volumes…). */
import type { KubeObject } from "../storage/index.js";

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

/** Secrets: type Opaque, and stringData folded into data (base64) as upstream's conversion does. */
export function defaultSecret(o: KubeObject): void {
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
}

export function defaultEvent(o: KubeObject): void {
  o.type ??= "Normal";
}
