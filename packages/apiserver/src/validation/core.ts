/** Validation of core kinds other than pods. */
import type { KubeObject } from "../storage/index.js";
import type { FieldError } from "../registry/types.js";
import { configMapKey, duplicate, forbidden, invalid, notSupported, required, dns1123Label } from "./fields.js";

type Obj = Record<string, any>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];

export function validateService(o: KubeObject, old?: KubeObject): FieldError[] {
  const s: Obj = isObj(o.spec) ? o.spec : {};
  const errs: FieldError[] = [];
  const type = s.type ?? "ClusterIP";
  if (!SERVICE_TYPES.includes(type)) errs.push(notSupported("spec.type", type, SERVICE_TYPES));
  const ports = Array.isArray(s.ports) ? s.ports : [];
  if (type === "ExternalName") {
    if (!s.externalName) errs.push(required("spec.externalName"));
  } else if (ports.length === 0 && s.clusterIP !== "None") errs.push(required("spec.ports"));
  const names = new Set<string>();
  ports.forEach((p: Obj, i: number) => {
    const pp = `spec.ports[${i}]`;
    if (ports.length > 1 && !p?.name) errs.push(required(`${pp}.name`));
    if (p?.name) {
      const e = dns1123Label(String(p.name));
      if (e) errs.push(invalid(`${pp}.name`, p.name, e));
      if (names.has(p.name)) errs.push(duplicate(`${pp}.name`, p.name));
      names.add(p.name);
    }
    if (p?.port === undefined) errs.push(required(`${pp}.port`));
    else if (typeof p.port !== "number" || !Number.isInteger(p.port) || p.port < 1 || p.port > 65535)
      errs.push(invalid(`${pp}.port`, p.port, "must be between 1 and 65535, inclusive"));
    if (p?.protocol !== undefined && !["TCP", "UDP", "SCTP"].includes(p.protocol)) errs.push(notSupported(`${pp}.protocol`, p.protocol, ["SCTP", "TCP", "UDP"]));
    if (p?.nodePort !== undefined && type !== "NodePort" && type !== "LoadBalancer")
      errs.push(forbidden(`${pp}.nodePort`, "may not be used when `type` is 'ClusterIP'"));
  });
  if (s.healthCheckNodePort !== undefined && s.healthCheckNodePort !== 0 && !(type === "LoadBalancer" && s.externalTrafficPolicy === "Local"))
    errs.push(forbidden("spec.healthCheckNodePort", "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"));
  if (s.sessionAffinity !== undefined && !["None", "ClientIP"].includes(s.sessionAffinity))
    errs.push(notSupported("spec.sessionAffinity", s.sessionAffinity, ["ClientIP", "None"]));
  if (old) {
    const prev = isObj(old.spec) ? (old.spec as Obj).clusterIP : undefined;
    if (prev && s.clusterIP !== undefined && s.clusterIP !== prev && type !== "ExternalName" && old.spec && (old.spec as Obj).type !== "ExternalName")
      errs.push(invalid("spec.clusterIPs[0]", s.clusterIP, "may not change once set"));
  }
  return errs;
}

function validateDataKeys(data: unknown, field: string): FieldError[] {
  const errs: FieldError[] = [];
  if (data === undefined) return errs;
  if (!isObj(data)) return [invalid(field, data, "must be a map of strings")];
  for (const [k, v] of Object.entries(data)) {
    const e = configMapKey(k);
    if (e) errs.push(invalid(field, k, e));
    if (typeof v !== "string") errs.push(invalid(`${field}[${k}]`, v, "must be a string"));
  }
  return errs;
}

/** Immutable ConfigMaps/Secrets: data may not change, and immutable may not be unset. */
function immutableData(o: KubeObject, old: KubeObject | undefined): FieldError[] {
  if (!old || old.immutable !== true) return [];
  const errs: FieldError[] = [];
  if (o.immutable !== true) errs.push(forbidden("immutable", "field is immutable when `immutable` is set"));
  if (JSON.stringify(o.data ?? {}) !== JSON.stringify(old.data ?? {}) || JSON.stringify(o.binaryData ?? {}) !== JSON.stringify(old.binaryData ?? {}))
    errs.push(forbidden("data", "field is immutable when `immutable` is set"));
  return errs;
}

export function validateConfigMap(o: KubeObject, old?: KubeObject): FieldError[] {
  const errs = [...validateDataKeys(o.data, "data"), ...immutableData(o, old)];
  if (isObj(o.binaryData)) for (const k of Object.keys(o.binaryData)) if (isObj(o.data) && k in o.data) errs.push(invalid("data", k, "duplicate of key present in binaryData"));
  return errs;
}

export function validateSecret(o: KubeObject, old?: KubeObject): FieldError[] {
  const errs = [...immutableData(o, old)];
  if (isObj(o.data))
    for (const [k, v] of Object.entries(o.data)) {
      const e = configMapKey(k);
      if (e) errs.push(invalid("data", k, e));
      if (typeof v !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) errs.push(invalid(`data[${k}]`, "<secret contents redacted>", "illegal base64 data"));
    }
  if (old && old.type !== undefined && o.type !== old.type) errs.push(invalid("type", o.type, "field is immutable"));
  if (o.type === "kubernetes.io/tls" && isObj(o.data) && (!("tls.crt" in o.data) || !("tls.key" in o.data)))
    errs.push(required(`data[${"tls.crt" in (o.data as Obj) ? "tls.key" : "tls.crt"}]`));
  return errs;
}

export function validatePersistentVolumeClaim(o: KubeObject, old?: KubeObject): FieldError[] {
  const s: Obj = isObj(o.spec) ? o.spec : {};
  const errs: FieldError[] = [];
  if (old) {
    // Only resources.requests (expansion) and volumeAttributesClassName may change, volumeName may be set once (binding),
    // and a claim created without any class may be given one (the PV controller's retroactive default class).
    const oldSpec: Obj = isObj(old.spec) ? old.spec : {};
    const classAssigned = (oldSpec.storageClassName === undefined || oldSpec.storageClassName === null) && old.metadata.annotations?.["volume.beta.kubernetes.io/storage-class"] === undefined;
    const strip = (x: unknown): Obj => {
      const c: Obj = isObj(x) ? structuredClone(x) : {};
      delete c.resources;
      delete c.volumeAttributesClassName;
      delete c.volumeName;
      if (classAssigned) delete c.storageClassName;
      return c;
    };
    if (JSON.stringify(strip(o.spec)) !== JSON.stringify(strip(old.spec)))
      errs.push(forbidden("spec", "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"));
    const prevVolume = isObj(old.spec) ? old.spec.volumeName : undefined;
    if (prevVolume && s.volumeName !== prevVolume) errs.push(invalid("spec.volumeName", s.volumeName, "field is immutable once set"));
  }
  if (!Array.isArray(s.accessModes) || s.accessModes.length === 0) errs.push(required("spec.accessModes"));
  if (!s.resources?.requests?.storage && !s.dataSource) errs.push(required("spec.resources[storage]"));
  return errs;
}

export function validatePersistentVolume(o: KubeObject): FieldError[] {
  const s: Obj = isObj(o.spec) ? o.spec : {};
  const errs: FieldError[] = [];
  if (!Array.isArray(s.accessModes) || s.accessModes.length === 0) errs.push(required("spec.accessModes"));
  if (!s.capacity?.storage) errs.push(required("spec.capacity"));
  return errs;
}
