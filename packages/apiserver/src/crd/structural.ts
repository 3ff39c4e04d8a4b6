/**
 * What the API server does to a custom resource with its version's structural schema
 * (`openAPIV3Schema`), in upstream's order: prune unknown fields, apply `default`s, validate.
 * Field paths and messages follow kube-openapi's validator as kube-apiserver reports them.
 */
import type { FieldError } from "../registry/types.js";

/** A JSONSchemaProps node as stored in a CRD (only what we act on is typed). */
export interface JSONSchemaProps {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps | boolean;
  items?: JSONSchemaProps;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-embedded-resource"?: boolean;
  [other: string]: unknown;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const join = (path: string, key: string): string => (path ? `${path}.${key}` : key);

/** Fields every object keeps whatever the schema says (the type meta and metadata are not the schema's business). */
const ROOT_KEPT = new Set(["apiVersion", "kind", "metadata"]);

/** The child schema of a property, or undefined when the property is unknown. */
function propertySchema(s: JSONSchemaProps, key: string): JSONSchemaProps | undefined {
  if (s.properties && Object.hasOwn(s.properties, key)) return s.properties[key];
  if (isObj(s.additionalProperties)) return s.additionalProperties as JSONSchemaProps;
  if (s.additionalProperties === true) return {};
  return undefined;
}

const preserves = (s: JSONSchemaProps): boolean => s["x-kubernetes-preserve-unknown-fields"] === true;

/**
 * Removes the fields the schema does not declare (unless `x-kubernetes-preserve-unknown-fields`),
 * in place. Returns their paths (`spec.foo`), which strict field validation reports.
 */
export function prune(root: JSONSchemaProps, obj: Obj): string[] {
  const pruned: string[] = [];
  for (const key of Object.keys(obj)) {
    if (ROOT_KEPT.has(key)) continue;
    const child = propertySchema(root, key);
    if (!child) {
      if (preserves(root)) continue;
      pruned.push(key);
      delete obj[key];
    } else pruneValue(child, obj[key], key, pruned);
  }
  return pruned;
}

function pruneValue(s: JSONSchemaProps, value: unknown, path: string, out: string[]): void {
  if (Array.isArray(value)) {
    if (s.items) value.forEach((item, i) => pruneValue(s.items!, item, `${path}[${i}]`, out));
    return;
  }
  if (!isObj(value)) return;
  if (s["x-kubernetes-embedded-resource"] === true) {
    // An embedded object keeps its type meta and metadata like a root object does.
    for (const key of Object.keys(value)) if (!ROOT_KEPT.has(key)) pruneKey(s, value, key, path, out);
    return;
  }
  for (const key of Object.keys(value)) pruneKey(s, value, key, path, out);
}

function pruneKey(s: JSONSchemaProps, value: Obj, key: string, path: string, out: string[]): void {
  const child = propertySchema(s, key);
  if (!child) {
    if (preserves(s)) return;
    out.push(join(path, key));
    delete value[key];
  } else pruneValue(child, value[key], join(path, key), out);
}

/** Fills missing (or null, when not nullable) fields that have a `default`, top-down, in place. */
export function applyDefaults(s: JSONSchemaProps, value: unknown): void {
  if (Array.isArray(value)) {
    if (s.items) for (const item of value) applyDefaults(s.items, item);
    return;
  }
  if (!isObj(value)) return;
  for (const [key, child] of Object.entries(s.properties ?? {})) {
    const missing = !Object.hasOwn(value, key) || (value[key] === null && child.nullable !== true);
    if (missing && child.default !== undefined) value[key] = structuredClone(child.default);
    if (Object.hasOwn(value, key)) applyDefaults(child, value[key]);
  }
  if (isObj(s.additionalProperties)) for (const [key, v] of Object.entries(value)) if (!s.properties?.[key]) applyDefaults(s.additionalProperties as JSONSchemaProps, v);
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function typeMatches(s: JSONSchemaProps, v: unknown): boolean {
  if (s["x-kubernetes-int-or-string"] === true) return typeof v === "string" || Number.isInteger(v);
  switch (s.type) {
    case undefined:
    case "":
      return true;
    case "object":
      return isObj(v);
    case "array":
      return Array.isArray(v);
    case "string":
      return typeof v === "string";
    case "integer":
      return Number.isInteger(v);
    case "number":
      return typeof v === "number";
    case "boolean":
      return typeof v === "boolean";
    default:
      return false;
  }
}

const fmtNum = (n: number): string => String(n);

/**
 * Validates `obj` (a whole custom resource) against the schema; metadata is left to the generic
 * metadata validation. Returns every failure with its field path.
 */
export function validateAgainstSchema(root: JSONSchemaProps, obj: Obj): FieldError[] {
  const errs: FieldError[] = [];
  const { apiVersion: _a, kind: _k, metadata: _m, ...rest } = obj;
  const rootForBody: JSONSchemaProps = { ...root, required: (root.required ?? []).filter((r) => !ROOT_KEPT.has(r)) };
  validateValue(rootForBody, rest, "", errs);
  return errs;
}

/** Validates one value against a schema node; `path` names it in the messages (`spec.replicas`). */
export function validateValue(s: JSONSchemaProps, v: unknown, path: string, errs: FieldError[]): void {
  const at = path || "<root>";
  if (v === null) {
    if (s.nullable === true || (s.type === undefined && s["x-kubernetes-int-or-string"] !== true)) return;
    errs.push({ reason: "FieldValueTypeInvalid", field: path, message: `Invalid value: "null": ${at} in body must be of type ${s.type ?? "string"}: "null"` });
    return;
  }
  if (!typeMatches(s, v)) {
    const want = s["x-kubernetes-int-or-string"] === true ? "integer or string" : (s.type ?? "");
    errs.push({ reason: "FieldValueTypeInvalid", field: path, message: `Invalid value: "${typeName(v)}": ${at} in body must be of type ${want}: "${typeName(v)}"` });
    return;
  }
  if (s.enum && s.enum.length > 0 && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) {
    errs.push({ reason: "FieldValueNotSupported", field: path, message: `Unsupported value: ${JSON.stringify(v)}: supported values: ${s.enum.map((e) => JSON.stringify(e)).join(", ")}` });
  }
  if (typeof v === "number") {
    if (s.minimum !== undefined && (s.exclusiveMinimum ? v <= s.minimum : v < s.minimum))
      errs.push({ reason: "FieldValueInvalid", field: path, message: `Invalid value: ${v}: ${at} in body should be greater than ${s.exclusiveMinimum ? "" : "or equal to "}${fmtNum(s.minimum)}` });
    if (s.maximum !== undefined && (s.exclusiveMaximum ? v >= s.maximum : v > s.maximum))
      errs.push({ reason: "FieldValueInvalid", field: path, message: `Invalid value: ${v}: ${at} in body should be less than ${s.exclusiveMaximum ? "" : "or equal to "}${fmtNum(s.maximum)}` });
    if (s.multipleOf !== undefined && s.multipleOf > 0 && Math.abs(v / s.multipleOf - Math.round(v / s.multipleOf)) > 1e-9)
      errs.push({ reason: "FieldValueInvalid", field: path, message: `Invalid value: ${v}: ${at} in body should be a multiple of ${fmtNum(s.multipleOf)}` });
  }
  if (typeof v === "string") {
    const len = [...v].length;
    if (s.maxLength !== undefined && len > s.maxLength) errs.push({ reason: "FieldValueTooLong", field: path, message: `Too long: may not be more than ${s.maxLength} bytes` });
    if (s.minLength !== undefined && len < s.minLength) errs.push({ reason: "FieldValueInvalid", field: path, message: `Invalid value: ${JSON.stringify(v)}: ${at} in body should be at least ${s.minLength} chars long` });
    if (s.pattern !== undefined) {
      const re = compilePattern(s.pattern);
      if (re && !re.test(v)) errs.push({ reason: "FieldValueInvalid", field: path, message: `Invalid value: ${JSON.stringify(v)}: ${at} in body should match '${s.pattern}'` });
    }
  }
  if (Array.isArray(v)) {
    if (s.maxItems !== undefined && v.length > s.maxItems) errs.push({ reason: "FieldValueTooMany", field: path, message: `Too many: ${v.length}: must have at most ${s.maxItems} items` });
    if (s.minItems !== undefined && v.length < s.minItems) errs.push({ reason: "FieldValueInvalid", field: path, message: `Invalid value: ${v.length}: ${at} in body should have at least ${s.minItems} items` });
    if (s.uniqueItems === true) {
      const seen = new Set<string>();
      for (const [i, item] of v.entries()) {
        const k = JSON.stringify(item);
        if (seen.has(k)) errs.push({ reason: "FieldValueDuplicate", field: `${path}[${i}]`, message: `Duplicate value: ${k}` });
        seen.add(k);
      }
    }
    if (s.items) v.forEach((item, i) => validateValue(s.items!, item, `${path}[${i}]`, errs));
  }
  if (isObj(v)) {
    const n = Object.keys(v).length;
    if (s.maxProperties !== undefined && n > s.maxProperties) errs.push({ reason: "FieldValueTooMany", field: path, message: `Too many: ${n}: must have at most ${s.maxProperties} items` });
    if (s.minProperties !== undefined && n < s.minProperties) errs.push({ reason: "FieldValueInvalid", field: path, message: `Invalid value: ${n}: ${at} in body should have at least ${s.minProperties} properties` });
    for (const r of s.required ?? []) if (!Object.hasOwn(v, r)) errs.push({ reason: "FieldValueRequired", field: join(path, r), message: "Required value" });
    for (const [key, value] of Object.entries(v)) {
      const child = propertySchema(s, key);
      if (child) validateValue(child, value, join(path, key), errs);
    }
  }
}

const patterns = new Map<string, RegExp | undefined>();

/** ECMA-262 patterns compile as they are (the CRD validation rejected those that do not). */
function compilePattern(p: string): RegExp | undefined {
  if (!patterns.has(p)) {
    let re: RegExp | undefined;
    try {
      re = new RegExp(p, "u");
    } catch {
      re = undefined;
    }
    patterns.set(p, re);
  }
  return patterns.get(p);
}
