/**
 * The ResourceDef of a custom resource version, built from its CRD: names, scope, subresources,
 * storage under /registry/<group>/<plural>/, schema pruning, defaults and validation, unknown
 * fields for strict field validation, printer columns, and the OpenAPI definitions.
 */
import type { ResourceDef, Subresource, TableColumn } from "../registry/types.js";
import type { KubeObject } from "../storage/index.js";
import { age } from "../tables/format.js";
import { parseJsonPath, type JsonPath } from "./jsonpath.js";
import { applyDefaults, prune, validateAgainstSchema, type JSONSchemaProps } from "./structural.js";
import { openApiDefinitions } from "./openapi.js";
import { unknownFieldsOf } from "../openapi/index.js";

const OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

const NAME_DESCRIPTION = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const CREATION_DESCRIPTION = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

interface Column {
  def: TableColumn;
  path: JsonPath;
}

/** The served versions of a CRD as resource declarations (creatable false while it terminates). */
export function customResourceDefs(crd: KubeObject): ResourceDef[] {
  const spec = isObj(crd.spec) ? crd.spec : {};
  const names = isObj(spec.names) ? spec.names : {};
  const terminating = crd.metadata.deletionTimestamp !== undefined;
  const versions = (Array.isArray(spec.versions) ? spec.versions : []).filter(isObj);
  const storage = versions.find((v) => v.storage === true)?.name;
  const storageApiVersion = `${String(spec.group)}/${typeof storage === "string" ? storage : ""}`;
  const out: ResourceDef[] = [];
  for (const v of versions) {
    if (v.served !== true || typeof v.name !== "string") continue;
    out.push(versionDef(spec, names, v, terminating, storageApiVersion));
  }
  return out;
}

function versionDef(spec: Obj, names: Obj, v: Obj, terminating: boolean, storageApiVersion: string): ResourceDef {
  const group = String(spec.group);
  const version = String(v.name);
  const kind = String(names.kind);
  const plural = String(names.plural);
  const schema = (isObj(v.schema) && isObj(v.schema.openAPIV3Schema) ? v.schema.openAPIV3Schema : { type: "object" }) as JSONSchemaProps;
  const sub = isObj(v.subresources) ? v.subresources : {};
  const subresources: Subresource[] = [];
  if (isObj(sub.status)) subresources.push("status");
  const scale = isObj(sub.scale) ? sub.scale : undefined;
  if (scale) subresources.push("scale");
  const columns = printerColumns(v.additionalPrinterColumns);
  const def: ResourceDef = {
    group,
    version,
    kind,
    listKind: typeof names.listKind === "string" ? names.listKind : `${kind}List`,
    plural,
    singular: typeof names.singular === "string" && names.singular ? names.singular : kind.toLowerCase(),
    shortNames: strings(names.shortNames),
    categories: strings(names.categories),
    namespaced: spec.scope !== "Cluster",
    subresources,
    hasStatus: subresources.includes("status"),
    tracksGeneration: true,
    statusBumpsGeneration: !subresources.includes("status"),
    storagePrefix: `/registry/${group}/${plural}/`,
    noStrategicMerge: true,
    columns: [{ name: "Name", type: "string", format: "name", description: NAME_DESCRIPTION }, ...columns.map((c) => c.def)],
    row: (obj, ctx) => [obj.metadata.name, ...columns.map((c) => cell(c, obj, ctx.now))],
    defaults: (obj) => {
      // Upstream drops status on create when it is a subresource; an empty one is the same thing.
      if (subresources.includes("status") && isObj(obj.status) && Object.keys(obj.status).length === 0) delete obj.status;
      prune(schema, obj);
      applyDefaults(schema, obj);
      // Versions share one storage (conversion "None"): objects are kept in the storage version.
      obj.apiVersion = storageApiVersion;
    },
    validate: (obj) => validateAgainstSchema(schema, obj),
    unknownFields: (obj) => (isObj(obj) ? [...unknownFieldsOf(OBJECT_META, obj.metadata, "metadata"), ...prune(schema, structuredClone(obj))] : []),
    listStrategy: (path) => listStrategy(schema, path),
    openapi: openApiDefinitions(group, version, kind, typeof names.listKind === "string" ? names.listKind : `${kind}List`, schema),
  };
  if (terminating) def.verbs = ["delete", "deletecollection", "get", "list", "patch", "update", "watch"];
  if (scale)
    def.scale = {
      specReplicasPath: String(scale.specReplicasPath ?? ".spec.replicas"),
      statusReplicasPath: String(scale.statusReplicasPath ?? ".status.replicas"),
      ...(typeof scale.labelSelectorPath === "string" ? { labelSelectorPath: scale.labelSelectorPath } : {}),
    };
  return def;
}

/** Server-side apply merges lists as the schema's `x-kubernetes-list-type` says; other lists are atomic. */
function listStrategy(root: JSONSchemaProps, path: readonly string[]): { mergeKey: string } | { primitiveMerge: true } | undefined {
  let node: JSONSchemaProps | undefined = root;
  for (const seg of path) {
    while (node?.type === "array" && node.items) node = node.items;
    node = node?.properties?.[seg] ?? (isObj(node?.additionalProperties) ? (node.additionalProperties as JSONSchemaProps) : undefined);
    if (!node) return undefined;
  }
  const keys = strings(node["x-kubernetes-list-map-keys"]);
  if (node["x-kubernetes-list-type"] === "map" && keys[0]) return { mergeKey: keys[0] };
  if (node["x-kubernetes-list-type"] === "set") return { primitiveMerge: true };
  return undefined;
}

function printerColumns(raw: unknown): Column[] {
  const list = Array.isArray(raw) ? raw.filter(isObj) : [];
  if (list.length === 0) return [{ def: { name: "Age", type: "date", description: CREATION_DESCRIPTION }, path: parseJsonPath(".metadata.creationTimestamp") }];
  const out: Column[] = [];
  for (const c of list) {
    let path: JsonPath;
    try {
      path = parseJsonPath(String(c.jsonPath));
    } catch {
      continue; // validation refused it; an old stored CRD keeps serving without the column
    }
    const type = (["string", "integer", "number", "boolean", "date"].includes(String(c.type)) ? c.type : "string") as TableColumn["type"];
    out.push({
      def: {
        name: String(c.name),
        type,
        format: typeof c.format === "string" ? c.format : "",
        description: typeof c.description === "string" ? c.description : "",
        priority: typeof c.priority === "number" ? c.priority : 0,
      },
      path,
    });
  }
  return out;
}

/** One cell as upstream's CRD table convertor makes it: dates become ages, strings print, others stay typed. */
function cell(c: Column, obj: KubeObject, now: Date): unknown {
  const found = c.path.find(obj);
  if (found.length === 0) return null;
  const v = found[0];
  switch (c.def.type) {
    case "date":
      return typeof v === "string" ? (Number.isNaN(Date.parse(v)) ? "<invalid>" : age(v, now)) : null;
    case "integer":
      return typeof v === "number" && Number.isInteger(v) ? v : null;
    case "number":
      return typeof v === "number" ? v : null;
    case "boolean":
      return typeof v === "boolean" ? v : null;
    default:
      return found.map((x) => (typeof x === "string" ? x : JSON.stringify(x))).join(" ");
  }
}
