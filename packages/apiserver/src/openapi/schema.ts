/**
 * The Kubernetes type definitions, loaded once from the generated data (see
 * scripts/gen-k8s-schema.mjs), and the lookups built on them.
 */
import { definitionsJson, definitionsSource } from "./generated/definitions.js";

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** A Swagger 2.0 / OpenAPI 3.0 schema object with the Kubernetes vendor extensions we use. */
export interface Schema {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema | boolean;
  $ref?: string;
  allOf?: Schema[];
  enum?: string[];
  default?: unknown;
  "x-kubernetes-group-version-kind"?: GroupVersionKind[];
  "x-kubernetes-patch-strategy"?: string;
  "x-kubernetes-patch-merge-key"?: string;
  [extension: string]: unknown;
}

/** Where the definitions came from (package versions), for logs and the OpenAPI `info`. */
export const schemaSource: string = definitionsSource;

let cache: { defs: Map<string, Schema>; byGvk: Map<string, string> } | undefined;

const gvkKey = (g: string, v: string, k: string): string => `${g}/${v}/${k}`;

/** Definitions keyed by upstream name (`io.k8s.api.core.v1.Pod`); `$ref`s are `#/definitions/<name>`. */
export function definitions(): Map<string, Schema> {
  return load().defs;
}

function load(): { defs: Map<string, Schema>; byGvk: Map<string, string> } {
  if (cache) return cache;
  const raw = JSON.parse(definitionsJson) as Record<string, Schema>;
  const defs = new Map<string, Schema>();
  const byGvk = new Map<string, string>();
  for (const [name, schema] of Object.entries(raw)) {
    defs.set(name, qualifyRefs(schema));
    for (const gvk of schema["x-kubernetes-group-version-kind"] ?? []) byGvk.set(gvkKey(gvk.group, gvk.version, gvk.kind), name);
  }
  addSyntheticDefinitions(defs);
  cache = { defs, byGvk };
  return cache;
}

function qualifyRefs(s: Schema): Schema {
  const out: Schema = { ...s };
  if (typeof s.$ref === "string" && !s.$ref.startsWith("#/")) out.$ref = `#/definitions/${s.$ref}`;
  if (s.properties) out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, qualifyRefs(v)]));
  if (s.items) out.items = qualifyRefs(s.items);
  if (s.additionalProperties && typeof s.additionalProperties === "object") out.additionalProperties = qualifyRefs(s.additionalProperties);
  return out;
}

/**
 * Request-body types upstream names but kubernetes-types does not declare (they have no
 * fields of their own): the PATCH body.
 */
function addSyntheticDefinitions(defs: Map<string, Schema>): void {
  fixApiExtensionsDefinitions(defs);
  defs.set("io.k8s.apimachinery.pkg.apis.meta.v1.Patch", {
    description: "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
    type: "object",
  });
}

/** The definition name for a kind, or undefined if the kind is unknown. */
export function definitionNameFor(group: string, version: string, kind: string): string | undefined {
  return load().byGvk.get(gvkKey(group, version, kind));
}

/** The schema of a kind (`schemaFor("apps", "v1", "Deployment")`), or undefined if unknown. */
export function schemaFor(group: string, version: string, kind: string): Schema | undefined {
  const name = definitionNameFor(group, version, kind);
  return name === undefined ? undefined : load().defs.get(name);
}

/** Follows a `$ref` (`#/definitions/X` or `#/components/schemas/X`); other schemas are returned as they are. */
export function resolveSchema(s: Schema): Schema {
  let cur = s;
  for (let hops = 0; hops < 8; hops++) {
    const ref = cur.$ref ?? (cur.allOf?.length === 1 ? cur.allOf[0]?.$ref : undefined);
    if (ref === undefined) return cur;
    const target = load().defs.get(ref.slice(ref.lastIndexOf("/") + 1));
    if (!target) return {};
    cur = target;
  }
  return cur;
}

/** Names of every definition `roots` reference, transitively, roots included. */
export function referencedDefinitions(roots: Iterable<string>): Set<string> {
  const defs = load().defs;
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length) {
    const name = stack.pop() as string;
    if (seen.has(name)) continue;
    const def = defs.get(name);
    if (!def) continue;
    seen.add(name);
    visitRefs(def, (ref) => stack.push(ref));
  }
  return seen;
}

function visitRefs(s: Schema, onRef: (name: string) => void): void {
  if (s.$ref) onRef(s.$ref.slice(s.$ref.lastIndexOf("/") + 1));
  for (const p of Object.values(s.properties ?? {})) visitRefs(p, onRef);
  if (s.items) visitRefs(s.items, onRef);
  if (s.additionalProperties && typeof s.additionalProperties === "object") visitRefs(s.additionalProperties, onRef);
  for (const a of s.allOf ?? []) visitRefs(a, onRef);
}

/**
 * kubernetes-types types apiextensions' JSON as an object and drops JSONSchemaProps' x-kubernetes-*
 * fields; upstream's OpenAPI has JSON free-form and declares those fields (CRDs use them).
 */
function fixApiExtensionsDefinitions(defs: Map<string, Schema>): void {
  const ns = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1";
  const json = defs.get(`${ns}.JSON`);
  if (json) defs.set(`${ns}.JSON`, { description: json.description ?? "JSON represents any valid JSON value." });
  const props = defs.get(`${ns}.JSONSchemaProps`);
  if (!props?.properties) return;
  const flag = (description: string): Schema => ({ description, type: "boolean" });
  props.properties = {
    ...props.properties,
    "x-kubernetes-embedded-resource": flag("x-kubernetes-embedded-resource defines that the value is an embedded Kubernetes runtime.Object, with TypeMeta and ObjectMeta. The type must be object. It is allowed to further restrict the embedded object. kind, apiVersion and metadata are validated automatically. x-kubernetes-preserve-unknown-fields is allowed to be true, but does not have to be if the object is fully specified (up to kind, apiVersion, metadata)."),
    "x-kubernetes-int-or-string": flag("x-kubernetes-int-or-string specifies that this value is either an integer or a string. If this is true, an empty type is allowed and type as child of anyOf is permitted if following one of the following patterns:\n\n1) anyOf:\n   - type: integer\n   - type: string\n2) allOf:\n   - anyOf:\n     - type: integer\n     - type: string\n   - ... zero or more"),
    "x-kubernetes-list-map-keys": { description: "x-kubernetes-list-map-keys annotates an array with the x-kubernetes-list-type `map` by specifying the keys used as the index of the map.", type: "array", items: { type: "string" } },
    "x-kubernetes-list-type": { description: "x-kubernetes-list-type annotates an array to further describe its topology: atomic, set or map.", type: "string" },
    "x-kubernetes-map-type": { description: "x-kubernetes-map-type annotates an object to further describe its topology: granular or atomic.", type: "string" },
    "x-kubernetes-preserve-unknown-fields": flag("x-kubernetes-preserve-unknown-fields stops the API server decoding step from pruning fields which are not specified in the validation schema. This affects fields recursively, but switches back to normal pruning behaviour if nested properties or additionalProperties are specified in the schema. This can either be true or undefined. False is forbidden."),
    "x-kubernetes-validations": { description: "x-kubernetes-validations describes a list of validation rules written in the CEL expression language.", type: "array", items: { $ref: `#/definitions/${ns}.ValidationRule` } },
  };
}
