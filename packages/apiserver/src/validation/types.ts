/**
 * Structural type check of a decoded body against the kind's schema, standing in for Go's
 * typed JSON decoding: a string where an object belongs is a 400 with upstream's wording
 * (`Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go
 * struct field Pod.spec of type object`), never a crash further down.
 */
import { newBadRequest } from "@kubemu/common";
import { definitionNameFor, definitions, resolveSchema, type Schema } from "../openapi/index.js";
import type { ResourceDef } from "../registry/types.js";

const MAX_DEPTH = 24;

function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v === "object" ? "object" : typeof v;
}

function accepts(s: Schema, v: unknown): boolean {
  if (v === null) return true; // null = unset, as Go decodes it
  if (s["x-kubernetes-int-or-string"] === true || s.format === "int-or-string") return typeof v === "string" || Number.isInteger(v);
  switch (s.type) {
    case "object":
      return jsonType(v) === "object";
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
      return true; // untyped (RawExtension, JSON, quantities declared without a type)
  }
}

/** Go's name for the type a schema decodes into: v1.Container, []v1.Container, map[string]string, int32… */
function goTypeName(schema: Schema): string {
  const ref = schema.$ref ?? (schema.allOf?.length === 1 ? schema.allOf[0]?.$ref : undefined);
  if (ref !== undefined) return ref.slice(ref.lastIndexOf("/") + 1).split(".").slice(-2).join(".");
  switch (schema.type) {
    case "array":
      return `[]${schema.items ? goTypeName(schema.items) : "interface {}"}`;
    case "object":
      return schema.additionalProperties && typeof schema.additionalProperties === "object" ? `map[string]${goTypeName(schema.additionalProperties)}` : "map[string]interface {}";
    case "integer":
      return schema.format === "int32" || schema.format === "int64" ? schema.format : "int";
    case "number":
      return "float64";
    case "boolean":
      return "bool";
    default:
      return schema.type ?? "interface {}";
  }
}

/** The short type name of a definition reference (Container for #/definitions/io.k8s.api.core.v1.Container). */
function structName(schema: Schema, fallback: string): string {
  const ref = schema.$ref ?? (schema.allOf?.length === 1 ? schema.allOf[0]?.$ref : undefined);
  return ref === undefined ? fallback : (ref.slice(ref.lastIndexOf("/") + 1).split(".").pop() ?? fallback);
}

/**
 * Walks value along schema. Errors read as Go's encoding/json words them: the innermost struct
 * type, the JSON field path without list indexes, and the Go type expected
 * ("json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type v1.Container").
 */
function walk(schema: Schema, value: unknown, field: string, owner: string, depth: number): string | undefined {
  if (depth > MAX_DEPTH || value === null || value === undefined) return undefined;
  const found = jsonType(value) === "boolean" ? "bool" : jsonType(value);
  const mismatch = () => `json: cannot unmarshal ${found} into Go struct field ${owner}.${field} of type ${goTypeName(schema)}`;
  // Quantities are strings in the schema but decode from JSON numbers too ("cpu: 1").
  if (typeof schema.$ref === "string" && schema.$ref.endsWith(".api.resource.Quantity")) return typeof value === "string" || typeof value === "number" ? undefined : mismatch();
  const s = resolveSchema(schema);
  if (!accepts(s, value)) return mismatch();
  if (Array.isArray(value) && s.items) {
    for (const item of value) {
      const e = walk(s.items, item, field, owner, depth + 1);
      if (e) return e;
    }
  } else if (jsonType(value) === "object") {
    const obj = value as Record<string, unknown>;
    const inner = structName(schema, owner);
    if (s.additionalProperties && typeof s.additionalProperties === "object") {
      for (const v of Object.values(obj)) {
        const e = walk(s.additionalProperties, v, field, owner, depth + 1);
        if (e) return e;
      }
    } else if (s.properties) {
      for (const [k, v] of Object.entries(obj)) {
        const p = s.properties[k];
        if (!p) continue; // unknown fields are fieldValidation's business
        const e = walk(p, v, field ? `${field}.${k}` : k, inner, depth + 1);
        if (e) return e;
      }
    }
  }
  return undefined;
}

/** Throws BadRequest when obj does not fit the kind's schema types (kinds without a schema pass). */
export function checkTypes(def: ResourceDef, obj: unknown): void {
  const name = definitionNameFor(def.group, def.version, def.kind);
  const root = name === undefined ? undefined : definitions().get(name);
  if (!root) return;
  const e = walk(root, obj, "", def.kind, 0);
  if (e) throw newBadRequest(`${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: ${e}`);
}
