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

function walk(schema: Schema, value: unknown, path: string, depth: number): string | undefined {
  if (depth > MAX_DEPTH || value === null || value === undefined) return undefined;
  // Quantities are strings in the schema but decode from JSON numbers too ("cpu: 1").
  if (typeof schema.$ref === "string" && schema.$ref.endsWith(".api.resource.Quantity")) return typeof value === "string" || typeof value === "number" ? undefined : `json: cannot unmarshal ${jsonType(value)} into Go struct field ${path} of type resource.Quantity`;
  const s = resolveSchema(schema);
  if (!accepts(s, value)) return `json: cannot unmarshal ${jsonType(value) === "object" ? "object" : jsonType(value)} into Go struct field ${path} of type ${s.type ?? "object"}`;
  if (Array.isArray(value) && s.items) {
    for (const [i, item] of value.entries()) {
      const e = walk(s.items, item, `${path}[${i}]`, depth + 1);
      if (e) return e;
    }
  } else if (jsonType(value) === "object") {
    const obj = value as Record<string, unknown>;
    if (s.additionalProperties && typeof s.additionalProperties === "object") {
      for (const [k, v] of Object.entries(obj)) {
        const e = walk(s.additionalProperties, v, `${path}.${k}`, depth + 1);
        if (e) return e;
      }
    } else if (s.properties) {
      for (const [k, v] of Object.entries(obj)) {
        const p = s.properties[k];
        if (!p) continue; // unknown fields are fieldValidation's business
        const e = walk(p, v, `${path}.${k}`, depth + 1);
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
  const e = walk(root, obj, def.kind, 0);
  if (e) throw newBadRequest(`${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: ${e}`);
}
