/** Ingress and IngressClass validation: the required fields and value sets of networking.k8s.io/v1. */
import type { KubeObject } from "../storage/index.js";
import type { FieldError } from "../registry/types.js";
import { invalid, notSupported, required } from "./fields.js";

type Obj = Record<string, any>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const PATH_TYPES = ["Exact", "ImplementationSpecific", "Prefix"];

function validateBackend(b: unknown, path: string): FieldError[] {
  if (!isObj(b)) return [required(path)];
  const errs: FieldError[] = [];
  if (isObj(b.service)) {
    if (!b.service.name) errs.push(required(`${path}.service.name`));
    const port = b.service.port;
    if (!isObj(port) || (port.number === undefined && !port.name)) errs.push(required(`${path}.service.port`));
  } else if (!isObj(b.resource)) errs.push(required(`${path}.service`));
  return errs;
}

export function validateIngress(o: KubeObject): FieldError[] {
  const s: Obj = isObj(o.spec) ? o.spec : {};
  const errs: FieldError[] = [];
  if (s.defaultBackend !== undefined) errs.push(...validateBackend(s.defaultBackend, "spec.defaultBackend"));
  const rules = Array.isArray(s.rules) ? s.rules : [];
  if (rules.length === 0 && s.defaultBackend === undefined) errs.push({ reason: "FieldValueInvalid", field: "spec", message: "Invalid value: \"...\": either `defaultBackend` or `rules` must be specified" });
  rules.forEach((r: Obj, i: number) => {
    const rp = `spec.rules[${i}]`;
    if (typeof r?.host === "string" && r.host.includes("*") && !r.host.startsWith("*.")) errs.push(invalid(`${rp}.host`, r.host, "a wildcard DNS-1123 subdomain must start with '*.'"));
    const paths = r?.http?.paths;
    if (r?.http !== undefined && (!Array.isArray(paths) || paths.length === 0)) errs.push(required(`${rp}.http.paths`));
    if (Array.isArray(paths))
      paths.forEach((p: Obj, j: number) => {
        const pp = `${rp}.http.paths[${j}]`;
        if (p?.pathType === undefined) errs.push(required(`${pp}.pathType`));
        else if (!PATH_TYPES.includes(p.pathType)) errs.push(notSupported(`${pp}.pathType`, p.pathType, PATH_TYPES));
        if (p?.path !== undefined && p.pathType !== "ImplementationSpecific" && !String(p.path).startsWith("/")) errs.push(invalid(`${pp}.path`, p.path, "must be an absolute path"));
        errs.push(...validateBackend(p?.backend, `${pp}.backend`));
      });
  });
  return errs;
}

export function validateIngressClass(o: KubeObject, old?: KubeObject): FieldError[] {
  const s: Obj = isObj(o.spec) ? o.spec : {};
  const errs: FieldError[] = [];
  if (!s.controller) errs.push(required("spec.controller"));
  if (old && isObj(old.spec) && old.spec.controller !== s.controller) errs.push(invalid("spec.controller", s.controller, "field is immutable"));
  return errs;
}
