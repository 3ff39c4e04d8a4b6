/** ObjectMeta validation shared by every kind: name rules, labels, annotations, immutable fields. */
import type { KubeObject } from "../storage/index.js";
import type { FieldError } from "../registry/types.js";
import { dns1035Label, dns1123Label, dns1123Subdomain, forbidden, invalid, labelValue, qualifiedName, required, tooLong } from "./fields.js";

export type NameRule = "subdomain" | "label" | "dns1035" | "path";

function checkName(name: string, rule: NameRule): string | undefined {
  switch (rule) {
    case "subdomain":
      return dns1123Subdomain(name);
    case "label":
      return dns1123Label(name);
    case "dns1035":
      return dns1035Label(name);
    case "path":
      if (name === "." || name === "..") return `may not be '${name}'`;
      if (name.includes("/") || name.includes("%")) return `may not contain '/' or '%'`;
      return undefined;
  }
}

/** Validates metadata of a new or updated object. */
export function validateMeta(obj: KubeObject, rule: NameRule, namespaced: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const m = obj.metadata;
  if (!m.name) errs.push(required("metadata.name"));
  else {
    const e = checkName(m.name, rule);
    if (e) errs.push(invalid("metadata.name", m.name, e));
  }
  if (namespaced && !m.namespace) errs.push(required("metadata.namespace"));
  if (!namespaced && m.namespace) errs.push(forbidden("metadata.namespace", "not allowed on this type"));
  for (const [k, v] of Object.entries(m.labels ?? {})) {
    const ke = qualifiedName(k);
    if (ke) errs.push(invalid("metadata.labels", k, ke));
    if (typeof v !== "string") errs.push(invalid(`metadata.labels`, v, "label values must be strings"));
    else {
      const ve = labelValue(v);
      if (ve) errs.push(invalid("metadata.labels", v, ve));
    }
  }
  let annotationBytes = 0;
  for (const [k, v] of Object.entries(m.annotations ?? {})) {
    const ke = qualifiedName(k);
    if (ke) errs.push(invalid("metadata.annotations", k, ke));
    if (typeof v !== "string") errs.push(invalid("metadata.annotations", v, "annotation values must be strings"));
    annotationBytes += k.length + (typeof v === "string" ? v.length : 0);
  }
  if (annotationBytes > 256 * 1024) errs.push(tooLong("metadata.annotations", 256 * 1024));
  for (const [i, f] of (m.finalizers ?? []).entries()) {
    if (typeof f !== "string" || qualifiedName(f)) errs.push(invalid(`metadata.finalizers[${i}]`, f, "name part must consist of alphanumeric characters"));
  }
  return errs;
}

/** Update checks: name, namespace, uid, creationTimestamp cannot change. */
export function validateMetaUpdate(next: KubeObject, old: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const immutable = (field: string, a: unknown, b: unknown) => {
    if (a !== undefined && a !== b) errs.push(invalid(field, a, "field is immutable"));
  };
  immutable("metadata.name", next.metadata.name, old.metadata.name);
  immutable("metadata.namespace", next.metadata.namespace, old.metadata.namespace);
  return errs;
}
