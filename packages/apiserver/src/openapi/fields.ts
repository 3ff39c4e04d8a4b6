/**
 * Schema walks used by request handling: strategic-merge-patch metadata per field path, and the
 * unknown fields of an object (fieldValidation=Strict).
 */
import { definitionNameFor, definitions, resolveSchema, type GroupVersionKind, type Schema } from "./schema.js";

/** How strategic merge patch treats one field (upstream `x-kubernetes-patch-*`). */
export interface PatchMeta {
  /** "merge", "replace", "retainKeys" or a comma-joined combination such as "merge,retainKeys". */
  strategy: string;
  /** For lists of objects merged by a key (containers → "name"). */
  mergeKey?: string;
}

// Types whose fields recurse (JSONSchemaProps) stop here; real objects are far shallower.
const MAX_DEPTH = 16;
const patchCache = new Map<string, ReadonlyMap<string, PatchMeta>>();

/**
 * Patch strategies of a kind, keyed by dotted field path with list elements elided:
 * `spec.template.spec.containers` → {strategy: "merge", mergeKey: "name"},
 * `spec.template.spec.containers.ports` → {…, mergeKey: "containerPort"}. Fields absent from
 * the map are atomic for lists and merged recursively for objects and maps. Unknown kind → empty map.
 */
export function patchMergeKeys(group: string, version: string, kind: string): ReadonlyMap<string, PatchMeta> {
  const key = `${group}/${version}/${kind}`;
  const cached = patchCache.get(key);
  if (cached) return cached;
  const out = new Map<string, PatchMeta>();
  const name = definitionNameFor(group, version, kind);
  const root = name === undefined ? undefined : definitions().get(name);
  if (root) collectPatchMeta(root, "", 0, out);
  patchCache.set(key, out);
  return out;
}

function collectPatchMeta(schema: Schema, prefix: string, depth: number, out: Map<string, PatchMeta>): void {
  if (depth > MAX_DEPTH) return;
  const s = resolveSchema(schema);
  for (const [field, prop] of Object.entries(s.properties ?? {})) {
    const path = prefix ? `${prefix}.${field}` : field;
    const strategy = prop["x-kubernetes-patch-strategy"];
    if (strategy) {
      const mergeKey = prop["x-kubernetes-patch-merge-key"];
      out.set(path, mergeKey ? { strategy, mergeKey } : { strategy });
    }
    const inner = prop.type === "array" && prop.items ? prop.items : prop;
    const target = inner.additionalProperties && typeof inner.additionalProperties === "object" ? inner.additionalProperties : inner;
    if (target.$ref) collectPatchMeta(target, path, depth + 1, out);
  }
}

/**
 * Field paths of `obj` that the kind's schema does not declare, in upstream's strict-decoding
 * form (`spec.containers[0].imagee`, `metadata.labelz`). Objects typed as free-form (RawExtension,
 * FieldsV1, JSON) accept anything. An unknown kind yields [] (nothing to check against).
 */
export function unknownFields(gvk: GroupVersionKind, obj: unknown): string[] {
  const name = definitionNameFor(gvk.group, gvk.version, gvk.kind);
  const root = name === undefined ? undefined : definitions().get(name);
  if (!root) return [];
  const out: string[] = [];
  walkUnknown(root, obj, "", 0, out);
  return out;
}

/** Unknown field paths of `value` against one named definition (`io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`), prefixed with `path`. */
export function unknownFieldsOf(definition: string, value: unknown, path: string): string[] {
  const root = definitions().get(definition);
  if (!root) return [];
  const out: string[] = [];
  walkUnknown(root, value, path, 0, out);
  return out;
}

function walkUnknown(schema: Schema, value: unknown, path: string, depth: number, out: string[]): void {
  if (depth > MAX_DEPTH || value === null || value === undefined) return;
  const s = resolveSchema(schema);
  if (s.type === "array" && s.items && Array.isArray(value)) {
    value.forEach((item, i) => walkUnknown(s.items as Schema, item, `${path}[${i}]`, depth + 1, out));
    return;
  }
  if (typeof value !== "object" || Array.isArray(value)) return;
  if (s.additionalProperties && typeof s.additionalProperties === "object") {
    for (const [k, v] of Object.entries(value)) walkUnknown(s.additionalProperties, v, path ? `${path}.${k}` : k, depth + 1, out);
    return;
  }
  const props = s.properties;
  if (!props || Object.keys(props).length === 0) return; // free-form object
  for (const [k, v] of Object.entries(value)) {
    const child = path ? `${path}.${k}` : k;
    const prop = props[k];
    if (!prop) out.push(child);
    else walkUnknown(prop, v, child, depth + 1, out);
  }
}
