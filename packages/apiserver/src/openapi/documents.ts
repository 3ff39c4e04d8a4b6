/**
 * The served OpenAPI documents: `/openapi/v2` (Swagger 2.0) and `/openapi/v3` (an index of
 * per-group-version OpenAPI 3.0 documents, each addressed by a content hash). Documents are
 * built once per resource set and kept serialized.
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { definitionNameFor, definitions, referencedDefinitions, schemaSource, type Schema } from "./schema.js";
import { defaultResources, groupVersionOf, v3PathOf, type OpenApiResource } from "./served.js";

/** A document ready to send: JSON bytes, their hash (the `?hash=` of v3 URLs) and a quoted ETag. */
export interface SerializedDocument {
  readonly json: Buffer;
  readonly hash: string;
  readonly etag: string;
  /** The same bytes gzip-compressed (computed on first use), for `Accept-Encoding: gzip`. */
  gzip(): Buffer;
}

const META = "io.k8s.apimachinery.pkg.apis.meta.v1";
const SCALE = "io.k8s.api.autoscaling.v1.Scale";
const PATCH_TYPES = ["application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json"];
const MEDIA = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"];

function serialize(doc: unknown): SerializedDocument {
  const json = Buffer.from(JSON.stringify(doc));
  const hash = createHash("sha512").update(json).digest("hex").toUpperCase();
  let gz: Buffer | undefined;
  return { json, hash, etag: `"${hash}"`, gzip: () => (gz ??= gzipSync(json)) };
}

// ---------------------------------------------------------------------------------------------
// Operations, shared by both flavours.

type Flavor = "v2" | "v3";
type Verb = "get" | "put" | "post" | "patch" | "delete";

interface Operation {
  verb: Verb;
  action: string;
  id: string;
  description: string;
  kindDef: string;
  gvk: { group: string; version: string; kind: string };
  body?: "object" | "patch" | "deleteOptions";
  /** PATCH media types accepted (default PATCH_TYPES). */
  patchTypes?: string[];
  response: string;
  query: string[];
}

interface PathItem {
  path: string;
  params: string[]; // path parameters, in order
  ops: Operation[];
}

const QUERY_DOCS: Record<string, string> = {
  pretty: "If 'true', then the output is pretty printed.",
  dryRun: "When present, indicates that modifications should not be persisted. The only valid value is All.",
  fieldManager: "fieldManager is a name associated with the actor or entity that is making these changes.",
  fieldValidation:
    "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn (the default) and Strict.",
  force: "Force is going to \"force\" Apply requests. It must be unset for non-apply patch requests.",
  labelSelector: "A selector to restrict the list of returned objects by their labels. Defaults to everything.",
  fieldSelector: "A selector to restrict the list of returned objects by their fields. Defaults to everything.",
  limit: "limit is a maximum number of responses to return for a list call.",
  continue: "The continue option should be set when retrieving more results from the server.",
  resourceVersion: "resourceVersion sets a constraint on what resource versions a request may be served from.",
  resourceVersionMatch: "resourceVersionMatch determines how resourceVersion is applied to list calls.",
  watch: "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.",
  allowWatchBookmarks: "allowWatchBookmarks requests watch events with type \"BOOKMARK\".",
  timeoutSeconds: "Timeout for the list/watch call.",
  sendInitialEvents: "`sendInitialEvents=true` may be set together with `watch=true` to stream the initial state first.",
  gracePeriodSeconds: "The duration in seconds before the object should be deleted.",
  propagationPolicy: "Whether and how garbage collection will be performed: Orphan, Background or Foreground.",
  orphanDependents: "Deprecated: please use the PropagationPolicy.",
  name: "name of the resource",
  namespace: "object name and auth scope, such as for teams and projects",
};
const INTEGER_PARAMS = new Set(["limit", "timeoutSeconds", "gracePeriodSeconds"]);
const BOOLEAN_PARAMS = new Set(["watch", "allowWatchBookmarks", "sendInitialEvents", "orphanDependents", "force"]);
const LIST_QUERY = ["allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit", "resourceVersion", "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds", "watch"];
const WRITE_QUERY = ["dryRun", "fieldManager", "fieldValidation"];
const DELETE_QUERY = ["dryRun", "gracePeriodSeconds", "orphanDependents", "propagationPolicy"];

const pascal = (s: string): string => s.replace(/(^|[.-])([a-z])/g, (_m, _sep, c: string) => c.toUpperCase()).replace(/[.-]/g, "");
const groupId = (group: string): string => (group ? pascal(group.replace(/\.k8s\.io$/, "")) : "Core");

function pathItems(res: OpenApiResource): PathItem[] {
  const kindDef = res.openapi?.definition ?? definitionNameFor(res.group, res.version, res.kind);
  if (!kindDef) return [];
  const listDef = res.openapi?.listDefinition ?? definitionNameFor(res.group, res.version, `${res.kind}List`) ?? kindDef;
  const verbs = new Set(res.verbs ?? ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]);
  const base = res.group ? `/apis/${res.group}/${res.version}` : `/api/${res.version}`;
  const ns = res.namespaced;
  const collection = ns ? `${base}/namespaces/{namespace}/${res.plural}` : `${base}/${res.plural}`;
  const item = `${collection}/{name}`;
  const collParams = ns ? ["namespace"] : [];
  const itemParams = [...collParams, "name"];
  const idBase = `${groupId(res.group)}${pascal(res.version)}${ns ? "Namespaced" : ""}${res.kind}`;
  const gvk = { group: res.group, version: res.version, kind: res.kind };
  const op = (verb: Verb, action: string, idVerb: string, description: string, extra: Partial<Operation>): Operation => ({
    verb, action, id: `${idVerb}${idBase}`, description, kindDef, gvk, response: kindDef, query: ["pretty"], ...(res.noStrategicMerge ? { patchTypes: PATCH_TYPES.filter((t) => !t.includes("strategic")) } : {}), ...extra,
  });

  const out: PathItem[] = [];
  const coll: Operation[] = [];
  if (verbs.has("list")) coll.push(op("get", "list", "list", `list or watch objects of kind ${res.kind}`, { response: listDef, query: ["pretty", ...LIST_QUERY] }));
  if (verbs.has("create")) coll.push(op("post", "post", "create", `create a ${res.kind}`, { body: "object", query: ["pretty", ...WRITE_QUERY] }));
  if (verbs.has("deletecollection"))
    coll.push(op("delete", "deletecollection", "deleteCollection", `delete collection of ${res.kind}`, { body: "deleteOptions", response: `${META}.Status`, query: ["pretty", ...DELETE_QUERY, ...LIST_QUERY.filter((q) => q !== "watch" && q !== "allowWatchBookmarks")] }));
  if (coll.length) out.push({ path: collection, params: collParams, ops: coll });

  const one: Operation[] = [];
  if (verbs.has("get")) one.push(op("get", "get", "read", `read the specified ${res.kind}`, {}));
  if (verbs.has("update")) one.push(op("put", "put", "replace", `replace the specified ${res.kind}`, { body: "object", query: ["pretty", ...WRITE_QUERY] }));
  if (verbs.has("delete")) one.push(op("delete", "delete", "delete", `delete a ${res.kind}`, { body: "deleteOptions", response: `${META}.Status`, query: ["pretty", ...DELETE_QUERY] }));
  if (verbs.has("patch")) one.push(op("patch", "patch", "patch", `partially update the specified ${res.kind}`, { body: "patch", query: ["pretty", ...WRITE_QUERY, "force"] }));
  if (one.length) out.push({ path: item, params: itemParams, ops: one });

  if (ns && verbs.has("list")) {
    out.push({ path: `${base}/${res.plural}`, params: [], ops: [{ ...op("get", "list", "list", `list or watch objects of kind ${res.kind}`, { response: listDef, query: ["pretty", ...LIST_QUERY] }), id: `list${groupId(res.group)}${pascal(res.version)}${res.kind}ForAllNamespaces` }] });
  }

  for (const sub of res.subresources ?? []) {
    if (sub !== "status" && sub !== "scale") continue;
    const subDef = sub === "scale" ? SCALE : kindDef;
    const subGvk = sub === "scale" ? { group: "autoscaling", version: "v1", kind: "Scale" } : gvk;
    const suffix = pascal(sub);
    const mk = (verb: Verb, action: string, idVerb: string, extra: Partial<Operation>): Operation => ({
      ...op(verb, action, idVerb, `${idVerb} ${sub} of the specified ${res.kind}`, extra),
      id: `${idVerb}${idBase}${suffix}`, kindDef: subDef, gvk: subGvk, response: subDef,
    });
    out.push({
      path: `${item}/${sub}`,
      params: itemParams,
      ops: [mk("get", "get", "read", {}), mk("put", "put", "replace", { body: "object", query: ["pretty", ...WRITE_QUERY] }), mk("patch", "patch", "patch", { body: "patch", query: ["pretty", ...WRITE_QUERY, "force"] })],
    });
  }
  return out;
}

function ref(flavor: Flavor, name: string): Schema {
  return { $ref: flavor === "v3" ? `#/components/schemas/${name}` : `#/definitions/${name}` };
}

function paramSchema(name: string): Schema {
  if (INTEGER_PARAMS.has(name)) return { type: "integer" };
  if (BOOLEAN_PARAMS.has(name)) return { type: "boolean" };
  return { type: "string", uniqueItems: true };
}

function renderParam(flavor: Flavor, name: string, where: "path" | "query"): Record<string, unknown> {
  const base: Record<string, unknown> = { name, in: where, description: QUERY_DOCS[name] ?? name };
  if (where === "path") base.required = true;
  return flavor === "v3" ? { ...base, schema: paramSchema(name) } : { ...base, ...paramSchema(name) };
}

function renderOperation(flavor: Flavor, op: Operation): Record<string, unknown> {
  const out: Record<string, unknown> = {
    tags: [op.gvk.group ? `${op.gvk.group}_${op.gvk.version}` : `core_${op.gvk.version}`],
    description: op.description,
    operationId: op.id,
    "x-kubernetes-action": op.action,
    "x-kubernetes-group-version-kind": op.gvk,
  };
  const params: Record<string, unknown>[] = op.query.map((q) => renderParam(flavor, q, "query"));
  const bodyDef = op.body === "object" ? op.kindDef : op.body === "patch" ? `${META}.Patch` : op.body === "deleteOptions" ? `${META}.DeleteOptions` : undefined;
  const bodyTypes = op.body === "patch" ? (op.patchTypes ?? PATCH_TYPES) : ["*/*"];
  const okCode = op.verb === "post" ? "201" : "200";
  if (flavor === "v3") {
    if (bodyDef) out.requestBody = { content: Object.fromEntries(bodyTypes.map((t) => [t, { schema: ref(flavor, bodyDef) }])), required: op.body !== "deleteOptions" };
    const content = Object.fromEntries(MEDIA.map((m) => [m, { schema: ref(flavor, op.response) }]));
    out.responses = { [okCode]: { description: okCode === "201" ? "Created" : "OK", content }, "401": { description: "Unauthorized" } };
  } else {
    if (bodyDef) params.unshift({ name: "body", in: "body", required: op.body !== "deleteOptions", schema: ref(flavor, bodyDef) });
    out.consumes = bodyTypes;
    out.produces = MEDIA;
    out.schemes = ["https"];
    out.responses = { [okCode]: { description: okCode === "201" ? "Created" : "OK", schema: ref(flavor, op.response) }, "401": { description: "Unauthorized" } };
  }
  out.parameters = params;
  return out;
}

function renderPaths(flavor: Flavor, items: PathItem[]): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const it of items) {
    const entry: Record<string, unknown> = (paths[it.path] as Record<string, unknown> | undefined) ?? {};
    for (const op of it.ops) entry[op.verb] = renderOperation(flavor, op);
    if (it.params.length) entry.parameters = it.params.map((p) => renderParam(flavor, p, "path"));
    paths[it.path] = entry;
  }
  return paths;
}

/** Every definition the operations name, with what they reference (custom resources' own definitions included). */
function schemasFor(items: PathItem[], custom: ReadonlyMap<string, Schema> = new Map()): Set<string> {
  const roots = new Set<string>([`${META}.Status`, `${META}.DeleteOptions`, `${META}.Patch`, `${META}.APIResourceList`]);
  for (const it of items) for (const op of it.ops) roots.add(op.kindDef).add(op.response);
  for (const s of custom.values()) collectRefs(s, roots);
  const out = referencedDefinitions(roots);
  for (const name of custom.keys()) out.add(name);
  return out;
}

/** The definitions custom resources bring (the built-in ones are in definitions()). */
function customSchemas(resources: readonly OpenApiResource[]): Map<string, Schema> {
  const out = new Map<string, Schema>();
  for (const res of resources) for (const [name, schema] of Object.entries(res.openapi?.schemas ?? {})) out.set(name, schema as Schema);
  return out;
}

function collectRefs(s: Schema, into: Set<string>): void {
  if (typeof s.$ref === "string") into.add(s.$ref.slice(s.$ref.lastIndexOf("/") + 1));
  for (const p of Object.values(s.properties ?? {})) collectRefs(p, into);
  if (s.items && typeof s.items === "object") collectRefs(s.items, into);
  if (s.additionalProperties && typeof s.additionalProperties === "object") collectRefs(s.additionalProperties, into);
  for (const a of s.allOf ?? []) collectRefs(a, into);
}

/**
 * v3 documents by group version, reused while the resources of that group version are the same
 * objects: a registry change (a CRD added) then rebuilds only the documents it touched.
 */
const v3ByGroupVersion = new Map<string, { mine: readonly OpenApiResource[]; doc: SerializedDocument }>();
const sameResources = (a: readonly OpenApiResource[], b: readonly OpenApiResource[]): boolean => a.length === b.length && a.every((r, i) => r === b[i]);

/**
 * Types with more than one JSON form: v3 says so with oneOf, as upstream does (kubectl explain then
 * names them <IntOrString> / <Quantity> rather than <string>).
 */
const V3_ONE_OF: Record<string, Schema[]> = {
  "io.k8s.apimachinery.pkg.util.intstr.IntOrString": [{ type: "integer" }, { type: "string" }],
  "io.k8s.apimachinery.pkg.api.resource.Quantity": [{ type: "string" }, { type: "number" }],
};
function v3Definition(name: string, def: Schema): Schema {
  const oneOf = V3_ONE_OF[name];
  if (!oneOf) return toV3Schema(def);
  const { type: _type, ...rest } = def;
  return { ...rest, oneOf };
}

/** A definition in the v3 flavour: component refs, and `$ref` siblings moved under allOf as upstream does. */
function toV3Schema(s: Schema): Schema {
  const out: Schema = { ...s };
  if (s.$ref) {
    const target = s.$ref.replace("#/definitions/", "#/components/schemas/");
    const { $ref: _r, ...rest } = s;
    return Object.keys(rest).length ? { ...rest, allOf: [{ $ref: target }] } : { $ref: target };
  }
  if (s.properties) out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, toV3Schema(v)]));
  if (s.items) out.items = toV3Schema(s.items);
  if (s.additionalProperties && typeof s.additionalProperties === "object") out.additionalProperties = toV3Schema(s.additionalProperties);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Public builders (cached per resource set).

interface Built {
  v2?: SerializedDocument;
  v3: Map<string, SerializedDocument>;
  index?: SerializedDocument;
}
const built = new WeakMap<readonly OpenApiResource[], Built>();
const builtFor = (resources: readonly OpenApiResource[]): Built => {
  let b = built.get(resources);
  if (!b) built.set(resources, (b = { v3: new Map() }));
  return b;
};

/** Group versions ("v1", "apps/v1") of the served resources, core first. */
export function servedGroupVersions(resources: readonly OpenApiResource[] = defaultResources): string[] {
  return [...new Set(resources.map(groupVersionOf))];
}

/**
 * The OpenAPI v3 document of one group version (`"v1"`, `"apps/v1"`; the v3 path forms
 * `"api/v1"` / `"apis/apps/v1"` are accepted too), or undefined if nothing is served there.
 */
export function openApiV3Document(groupVersion: string, resources: readonly OpenApiResource[] = defaultResources): SerializedDocument | undefined {
  const gv = groupVersion.replace(/^\/?(openapi\/v3\/)?/, "").replace(/^apis?\//, "");
  const b = builtFor(resources);
  const cached = b.v3.get(gv);
  if (cached) return cached;
  const mine = resources.filter((res) => groupVersionOf(res) === gv);
  if (mine.length === 0) return undefined;
  const reusable = v3ByGroupVersion.get(gv);
  if (reusable && sameResources(reusable.mine, mine)) {
    b.v3.set(gv, reusable.doc);
    return reusable.doc;
  }
  const items = mine.flatMap(pathItems);
  const defs = definitions();
  const custom = customSchemas(mine);
  const schemas: Record<string, Schema> = {};
  for (const name of [...schemasFor(items, custom)].sort()) schemas[name] = v3Definition(name, (custom.get(name) ?? defs.get(name)) as Schema);
  const doc = {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "v1.32.0", description: `kubemu; schemas from ${schemaSource}` },
    paths: renderPaths("v3", items),
    components: { schemas, securitySchemes: { BearerToken: { type: "apiKey", description: "Bearer Token authentication", name: "authorization", in: "header" } } },
  };
  const out = serialize(doc);
  b.v3.set(gv, out);
  v3ByGroupVersion.set(gv, { mine, doc: out });
  return out;
}

/** The `/openapi/v3` index: `{"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=…"}, …}}`. */
export function openApiV3Index(resources: readonly OpenApiResource[] = defaultResources): SerializedDocument {
  const b = builtFor(resources);
  if (b.index) return b.index;
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const gv of servedGroupVersions(resources)) {
    const [group, version] = gv.includes("/") ? (gv.split("/") as [string, string]) : ["", gv];
    const doc = openApiV3Document(gv, resources);
    if (doc) paths[v3PathOf(group, version)] = { serverRelativeURL: `/openapi/v3/${v3PathOf(group, version)}?hash=${doc.hash}` };
  }
  b.index = serialize({ paths });
  return b.index;
}

/** The Swagger 2.0 document of everything served (`/openapi/v2`, JSON). */
export function openApiV2Document(resources: readonly OpenApiResource[] = defaultResources): SerializedDocument {
  const b = builtFor(resources);
  if (b.v2) return b.v2;
  const items = resources.flatMap(pathItems);
  const defs = definitions();
  const custom = customSchemas(resources);
  const definitionsOut: Record<string, Schema> = {};
  for (const name of [...schemasFor(items, custom)].sort()) definitionsOut[name] = (custom.get(name) ?? defs.get(name)) as Schema;
  b.v2 = serialize({
    swagger: "2.0",
    info: { title: "Kubernetes", version: "v1.32.0" },
    paths: renderPaths("v2", items),
    definitions: definitionsOut,
    securityDefinitions: { BearerToken: { type: "apiKey", description: "Bearer Token authentication", name: "authorization", in: "header" } },
    security: [{ BearerToken: [] }],
  });
  return b.v2;
}
