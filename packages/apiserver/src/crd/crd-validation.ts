/**
 * Validation of CustomResourceDefinition objects (apiextensions.k8s.io/v1) as upstream's
 * ValidateCustomResourceDefinition does for the rules that matter here: the name, group, names,
 * scope, versions (exactly one storage version, at least one served), structural schemas, printer
 * columns, subresources, and the fields that may not change after creation.
 */
import type { FieldError } from "../registry/types.js";
import type { KubeObject } from "../storage/index.js";
import { dns1035Label, dns1123Subdomain, forbidden, invalid, notSupported, required } from "../validation/fields.js";
import { JsonPathError, parseJsonPath } from "./jsonpath.js";
import { validateValue, type JSONSchemaProps } from "./structural.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === "string" ? v : "");

const SCHEMA_TYPES = ["array", "boolean", "integer", "number", "object", "string"];
const COLUMN_TYPES = ["boolean", "date", "integer", "number", "string"];

/** Validates a CRD; `old` is set on update. */
export function validateCrd(obj: KubeObject, old?: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = isObj(obj.spec) ? obj.spec : {};
  const names = isObj(spec.names) ? spec.names : {};
  const group = str(spec.group);
  const plural = str(names.plural);
  const name = obj.metadata.name ?? "";
  if (name !== `${plural}.${group}`) errs.push(invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'));

  if (!group) errs.push(required("spec.group"));
  else if (dns1123Subdomain(group)) errs.push(invalid("spec.group", group, dns1123Subdomain(group)!));
  else if (group.split(".").length < 2) errs.push(invalid("spec.group", group, "should be a domain with at least one dot"));

  const scope = str(spec.scope);
  if (!scope) errs.push(required("spec.scope"));
  else if (scope !== "Cluster" && scope !== "Namespaced") errs.push(notSupported("spec.scope", scope, ["Cluster", "Namespaced"]));

  errs.push(...validateNames(names));
  errs.push(...validateVersions(spec.versions));

  if (isObj(spec.conversion) && spec.conversion.strategy !== undefined && spec.conversion.strategy !== "None")
    errs.push(notSupported("spec.conversion.strategy", spec.conversion.strategy, ["None"]));

  if (old) {
    const oldSpec = isObj(old.spec) ? old.spec : {};
    const oldNames = isObj(oldSpec.names) ? oldSpec.names : {};
    if (group !== str(oldSpec.group)) errs.push(invalid("spec.group", group, "field is immutable"));
    if (plural !== str(oldNames.plural)) errs.push(invalid("spec.names.plural", plural, "field is immutable"));
    if (isEstablished(old)) {
      if (scope !== str(oldSpec.scope)) errs.push(invalid("spec.scope", scope, "field is immutable"));
      if (str(names.kind) !== str(oldNames.kind)) errs.push(invalid("spec.names.kind", names.kind, "field is immutable"));
    }
  }
  return errs;
}

function isEstablished(crd: KubeObject): boolean {
  const conds = isObj(crd.status) && Array.isArray(crd.status.conditions) ? (crd.status.conditions as unknown[]) : [];
  return conds.some((c) => isObj(c) && c.type === "Established" && c.status === "True");
}

function validateNames(names: Obj): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of ["plural", "singular", "kind", "listKind"]) if (!str(names[f])) errs.push(required(`spec.names.${f}`));
  const label = (f: string, v: string, lower: boolean) => {
    const e = dns1035Label(lower ? v.toLowerCase() : v);
    if (v && e) errs.push(invalid(`spec.names.${f}`, v, lower ? `may have mixed case, but should otherwise match: ${e}` : e));
  };
  label("plural", str(names.plural), false);
  label("singular", str(names.singular), false);
  label("kind", str(names.kind), true);
  label("listKind", str(names.listKind), true);
  if (str(names.kind) && str(names.kind) === str(names.listKind)) errs.push(invalid("spec.names.listKind", names.listKind, "kind and listKind may not be the same"));
  for (const [list, f] of [[names.shortNames, "shortNames"], [names.categories, "categories"]] as const) {
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      errs.push(invalid(`spec.names.${f}`, list, "must be a list of strings"));
      continue;
    }
    list.forEach((v, i) => {
      // String() of an arbitrary object can throw (a non-callable toString), so only strings are checked further.
      const problem = typeof v !== "string" ? "must be a string" : f === "shortNames" ? dns1035Label(v) : undefined;
      if (problem) errs.push(invalid(`spec.names.${f}[${i}]`, v, problem));
    });
  }
  return errs;
}

function validateVersions(versions: unknown): FieldError[] {
  const errs: FieldError[] = [];
  if (!Array.isArray(versions) || versions.length === 0) return [required("spec.versions")];
  let storage = 0;
  let served = 0;
  const seen = new Set<string>();
  let unique = true;
  versions.forEach((v, i) => {
    const at = `spec.versions[${i}]`;
    if (!isObj(v)) {
      errs.push(invalid(at, v, "must be an object"));
      return;
    }
    const name = str(v.name);
    if (seen.has(name)) unique = false;
    seen.add(name);
    if (!name) errs.push(required(`${at}.name`));
    else if (dns1035Label(name)) errs.push(invalid(`${at}.name`, name, dns1035Label(name)!));
    if (v.storage === true) storage++;
    if (v.served === true) served++;
    const schema = isObj(v.schema) ? v.schema.openAPIV3Schema : undefined;
    if (!isObj(schema)) errs.push(required(`${at}.schema.openAPIV3Schema`));
    else errs.push(...validateStructural(schema as JSONSchemaProps, `${at}.schema.openAPIV3Schema`, true, ""));
    if (isObj(v.subresources)) errs.push(...validateSubresources(v.subresources, `${at}.subresources`));
    if (Array.isArray(v.additionalPrinterColumns)) v.additionalPrinterColumns.forEach((c, j) => errs.push(...validateColumn(c, `${at}.additionalPrinterColumns[${j}]`)));
  });
  const listed = versions.map((v) => (isObj(v) ? str(v.name) : v));
  if (!unique) errs.push(invalid("spec.versions", listed, "must contain unique version names"));
  if (storage !== 1) errs.push(invalid("spec.versions", listed, "must have exactly one version marked as storage version"));
  if (served === 0) errs.push(invalid("spec.versions", listed, "must have at least one version marked as served"));
  return errs;
}

/** Structural schema rules: a type everywhere (but where int-or-string/preserve-unknown-fields stand in), object at the root. */
function validateStructural(s: JSONSchemaProps, path: string, root: boolean, dataPath: string): FieldError[] {
  const errs: FieldError[] = [];
  const exempt = s["x-kubernetes-int-or-string"] === true || s["x-kubernetes-preserve-unknown-fields"] === true;
  if (root) {
    if (!s.type) errs.push({ reason: "FieldValueRequired", field: `${path}.type`, message: "Required value: must not be empty at the root" });
    else if (s.type !== "object") errs.push(invalid(`${path}.type`, s.type, "must be object at the root"));
  } else if (!s.type && !exempt) {
    errs.push({ reason: "FieldValueRequired", field: `${path}.type`, message: "Required value: must not be empty for specified object fields" });
  }
  if (s.type && !SCHEMA_TYPES.includes(s.type)) errs.push(notSupported(`${path}.type`, s.type, SCHEMA_TYPES));
  if (s.properties !== undefined && s.additionalProperties !== undefined && s.additionalProperties !== false)
    errs.push(forbidden(`${path}.additionalProperties`, "additionalProperties and properties are mutual exclusive"));
  if (s.pattern !== undefined) {
    try {
      new RegExp(String(s.pattern), "u");
    } catch {
      errs.push(invalid(`${path}.pattern`, s.pattern, "must be a valid regular expression"));
    }
  }
  if (s.type === "array" && !isObj(s.items) && !exempt) errs.push({ reason: "FieldValueRequired", field: `${path}.items`, message: "Required value: must be specified" });
  if (s.default !== undefined) {
    // A default must itself be valid, or every object defaulted with it would be refused.
    const bad: FieldError[] = [];
    validateValue(s, s.default, dataPath, bad);
    for (const e of bad) errs.push({ ...e, field: `${path}.default` });
  }
  const child = (key: string) => (dataPath ? `${dataPath}.${key}` : key);
  if (isObj(s.properties)) for (const [k, c] of Object.entries(s.properties)) if (isObj(c)) errs.push(...validateStructural(c, `${path}.properties[${k}]`, false, child(k)));
  if (isObj(s.items)) errs.push(...validateStructural(s.items, `${path}.items`, false, `${dataPath}[0]`));
  if (isObj(s.additionalProperties)) errs.push(...validateStructural(s.additionalProperties as JSONSchemaProps, `${path}.additionalProperties`, false, child("key")));
  return errs;
}

function validateSubresources(sub: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (isObj(sub.scale)) {
    const sc = sub.scale;
    for (const f of ["specReplicasPath", "statusReplicasPath"]) {
      const p = str(sc[f]);
      if (!p) errs.push(required(`${path}.scale.${f}`));
      else if (!/^\.(spec|status)\.[^[\]]+$/.test(p) || (f === "specReplicasPath" ? !p.startsWith(".spec.") : !p.startsWith(".status.")))
        errs.push(invalid(`${path}.scale.${f}`, p, `should be a json path under .${f === "specReplicasPath" ? "spec" : "status"}`));
    }
    const sel = sc.labelSelectorPath;
    if (sel !== undefined && !/^\.(spec|status)\./.test(str(sel))) errs.push(invalid(`${path}.scale.labelSelectorPath`, sel, "should be a json path under either .spec or .status"));
  }
  return errs;
}

function validateColumn(c: unknown, path: string): FieldError[] {
  if (!isObj(c)) return [invalid(path, c, "must be an object")];
  const errs: FieldError[] = [];
  if (!str(c.name)) errs.push(required(`${path}.name`));
  if (!str(c.type)) errs.push(required(`${path}.type`));
  else if (!COLUMN_TYPES.includes(str(c.type))) errs.push(notSupported(`${path}.type`, c.type, COLUMN_TYPES));
  if (c.format !== undefined && !["int32", "int64", "float", "double", "byte", "date", "date-time", "password"].includes(str(c.format)))
    errs.push(notSupported(`${path}.format`, c.format, ["int32", "int64", "float", "double", "byte", "date", "date-time", "password"]));
  const jp = str(c.jsonPath);
  if (!jp) errs.push(required(`${path}.jsonPath`));
  else {
    try {
      parseJsonPath(jp);
    } catch (e) {
      errs.push(invalid(`${path}.jsonPath`, jp, e instanceof JsonPathError ? "must be a simple json path" : String(e)));
    }
  }
  return errs;
}
