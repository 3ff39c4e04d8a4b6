/**
 * The one adapter between the front ends — the HTTP handlers (`handlers/`) and the internal wire
 * API (`internal/wire-api.ts`) — and the generic store. Both resolve a request to a
 * {@link Target} and call {@link ResourceApi}, so both get the same answers: the verbs a
 * resource declares and each subresource serves (405 MethodNotAllowed otherwise), list
 * envelopes with the declaration's listKind, the patch types and their media types, patch
 * options, and what each declared subresource does (status, scale, binding, eviction,
 * finalize). Neither front end knows a kind; kind-specific behaviour is in the declarations.
 */
import { defaultFields, newBadRequest, newNotFound, newStatus, parseFieldSelector, parseLabelSelector, StatusError, type KubeList, type ListMeta, type PatchType, type Status } from "@kubemu/common";
import type { KubeObject, ListResult, Watch } from "../storage/index.js";
import type { Registry } from "../registry/registry.js";
import { ALL_VERBS, groupVersion, type ResourceDef, type Subresource, type Verb } from "../registry/types.js";
import type { DeleteOptions } from "./delete-options.js";
import { methodNotAllowed, notFoundPath } from "./errors.js";
import { applyScale, scaleOf } from "./scale.js";
import type { ListQuery, ResourceStore, WatchQuery, WriteOptions } from "./store.js";

/** Verbs that act on a collection (no name); the others act on one object. */
const COLLECTION_VERBS: ReadonlySet<Verb> = new Set(["list", "watch", "create", "deletecollection"]);

/** What a subresource is: the verbs it serves, and the kind it speaks (discovery). */
export interface SubresourceInfo {
  verbs: readonly Verb[];
  /** The kind its bodies are; undefined = the parent's kind. */
  kind?: string;
  group?: string;
  version?: string;
}

/**
 * Every subresource a declaration may list, with upstream's verbs. A declaration serves one by
 * naming it in `subresources`; what each does is {@link ResourceApi}'s dispatch below.
 */
export const SUBRESOURCES: Readonly<Record<Subresource, SubresourceInfo>> = {
  status: { verbs: ["get", "patch", "update"] },
  scale: { verbs: ["get", "patch", "update"], kind: "Scale", group: "autoscaling", version: "v1" },
  binding: { verbs: ["create"], kind: "Binding" },
  eviction: { verbs: ["create"], kind: "Eviction", group: "policy", version: "v1" },
  finalize: { verbs: ["update"] },
};

/** What a request names: the resource, and where set, a namespace, an object and a subresource. */
export interface TargetRef {
  group: string;
  version: string;
  resource: string;
  namespace?: string | undefined;
  name?: string | undefined;
  subresource?: string | undefined;
}

/** A resolved request target. namespace is undefined for cluster-scoped resources and "every namespace". */
export interface Target {
  def: ResourceDef;
  namespace: string | undefined;
  name: string | undefined;
  subresource: Subresource | undefined;
}

const isSubresource = (s: string): s is Subresource => Object.hasOwn(SUBRESOURCES, s);

/**
 * Resolves a target as the API server's routes do: 404 (the server could not find the requested
 * resource) for an unknown resource, a namespace on a cluster-scoped one, an object of a
 * namespaced resource without its namespace, or a subresource the resource does not declare or
 * that names no object.
 */
export function resolveTarget(registry: Registry, r: TargetRef): Target {
  const def = registry.lookup(r.group, r.version, r.resource);
  if (!def) throw notFoundPath();
  if (!def.namespaced && r.namespace !== undefined) throw notFoundPath();
  if (def.namespaced && r.name !== undefined && r.namespace === undefined) throw notFoundPath();
  let subresource: Subresource | undefined;
  if (r.subresource !== undefined) {
    if (r.name === undefined || !isSubresource(r.subresource) || !(def.subresources ?? []).includes(r.subresource)) throw notFoundPath();
    subresource = r.subresource;
  }
  return { def, namespace: def.namespaced ? r.namespace : undefined, name: r.name, subresource };
}

/** The verbs a target serves: its subresource's, or the resource's declared verbs (default: all eight). */
export function verbsOf(t: Pick<Target, "def" | "subresource">): readonly Verb[] {
  if (t.subresource) return SUBRESOURCES[t.subresource].verbs;
  return t.def.verbs ?? ALL_VERBS;
}

/**
 * Throws 405 MethodNotAllowed unless the target serves verb: a verb the resource (or
 * subresource) does not declare, an object verb without a name, a collection verb with one, or a
 * create of a namespaced resource outside a namespace.
 */
export function checkVerb(t: Target, verb: Verb): void {
  if (!verbsOf(t).includes(verb)) throw methodNotAllowed();
  const collection = COLLECTION_VERBS.has(verb) && !t.subresource;
  if (collection ? t.name !== undefined : t.name === undefined) throw methodNotAllowed();
  if (verb === "create" && collection && t.def.namespaced && t.namespace === undefined) throw methodNotAllowed();
}

/** The list kind of a resource: its declared listKind (custom resources, Endpoints), else `<Kind>List`. */
export function listKindOf(def: ResourceDef): string {
  return def.listKind ?? `${def.kind}List`;
}

/** metav1.ListMeta of a list result. */
export function listMetaOf(res: Pick<ListResult, "resourceVersion" | "continue" | "remainingItemCount">): ListMeta {
  const meta: ListMeta = { resourceVersion: res.resourceVersion };
  if (res.continue) meta.continue = res.continue;
  if (res.remainingItemCount !== undefined) meta.remainingItemCount = res.remainingItemCount;
  return meta;
}

/** The list envelope of items (`PodList`, a CRD's listKind…). */
export function listEnvelope(def: ResourceDef, items: KubeObject[], metadata: ListMeta = {}): KubeList {
  return { kind: listKindOf(def), apiVersion: groupVersion(def), metadata, items };
}

/** The four patch types, and the media types (Content-Type of PATCH) that carry each. */
export const PATCH_TYPES: readonly PatchType[] = ["json", "merge", "strategic", "apply"];
export const PATCH_MEDIA_TYPES: Readonly<Record<string, PatchType>> = {
  "application/json-patch+json": "json",
  "application/merge-patch+json": "merge",
  "application/strategic-merge-patch+json": "strategic",
  "application/apply-patch+yaml": "apply",
  "application/apply-patch+cbor": "apply",
};

/** The patch types a target takes: no apply on scale, no strategic merge on custom resources. */
export function patchTypesOf(t: Pick<Target, "def" | "subresource">): PatchType[] {
  return PATCH_TYPES.filter((p) => !(p === "apply" && t.subresource === "scale") && !(p === "strategic" && t.def.noStrategicMerge));
}

const MEDIA_OF: Record<PatchType, string> = {
  json: "application/json-patch+json",
  merge: "application/merge-patch+json",
  apply: "application/apply-patch+yaml",
  strategic: "application/strategic-merge-patch+json",
};
const MEDIA_ORDER: readonly PatchType[] = ["json", "merge", "apply", "strategic"];

/** 415 UnsupportedMediaType naming the media types the target accepts (upstream's wording and order). */
export function unsupportedPatch(t: Pick<Target, "def" | "subresource">): StatusError {
  const accepted = patchTypesOf(t);
  const list = MEDIA_ORDER.filter((p) => accepted.includes(p)).map((p) => MEDIA_OF[p]);
  return new StatusError(newStatus("UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: ${list.join(", ")}`, undefined, 415));
}

/** The patch type of a PATCH's media type (parameters ignored); 415 when the target does not take it. */
export function patchTypeOfMedia(t: Pick<Target, "def" | "subresource">, mediaType: string): PatchType {
  const type = PATCH_MEDIA_TYPES[mediaType];
  if (!type || !patchTypesOf(t).includes(type)) throw unsupportedPatch(t);
  return type;
}

/** A field manager name as upstream checks it (at most 128 characters). */
export function checkFieldManager(m: string): string {
  if (m.length > 128) throw newBadRequest("fieldManager may not be more than 128 characters");
  return m;
}

/**
 * PatchOptions checks shared by both front ends: apply needs a field manager and may force;
 * force is forbidden on any other patch type. Sets opts.force.
 */
export function checkPatchOptions(type: PatchType, fieldManager: string | undefined, force: boolean | undefined, opts: WriteOptions): void {
  if (type === "apply") {
    if (!fieldManager) throw newBadRequest('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
    opts.force = force === true;
  } else if (force !== undefined) throw newBadRequest('PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch');
}

/** Computes the objects of a read-only resource (componentstatuses, metrics.k8s.io), in namespace when namespaced; undefined = none computed here. */
export type ComputedObjects = (def: ResourceDef, namespace: string | undefined) => Promise<KubeObject[]> | undefined;

/** A computed list narrowed as a stored one would be: namespace, label and field selectors (metadata.name/namespace). */
function selectComputed(items: KubeObject[], namespace: string | undefined, q: ListQuery): KubeObject[] {
  const labels = parseLabelSelector(q.labelSelector);
  const fields = parseFieldSelector(q.fieldSelector);
  return items.filter((i) => (namespace === undefined || i.metadata.namespace === namespace) && labels.matches(i.metadata.labels ?? {}) && fields.matches(defaultFields(i)));
}

/** `{"kind":"Status","status":"Success"}`: what create on binding/eviction answers. */
export function successStatus(details?: Status["details"]): Status {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", ...(details ? { details } : {}) } as Status;
}

/** What a delete answers: the object (while it waits for finalizers or grace, or when the resource returns it) or a Success Status. */
export function deleteResponse(def: ResourceDef, object: KubeObject, deleted: boolean): KubeObject | Status {
  if (!deleted || def.returnDeletedObject) return object;
  return successStatus({ name: object.metadata.name ?? "", ...(def.group ? { group: def.group } : {}), kind: def.plural, ...(object.metadata.uid ? { uid: object.metadata.uid } : {}) });
}

/**
 * The verbs on a resolved target. Every method checks the verb first, then dispatches on the
 * target's declared subresource. Options come from the front end (dry run, field manager,
 * unknown-field checks); the subresource is taken from the target, never from the caller.
 */
export class ResourceApi {
  constructor(
    readonly store: ResourceStore,
    private readonly registry: Registry,
    private readonly computed?: ComputedObjects,
  ) {}

  /** {@link resolveTarget} on this server's registry. */
  resolve(r: TargetRef): Target {
    return resolveTarget(this.registry, r);
  }

  private computedFor(def: ResourceDef, namespace: string | undefined): Promise<KubeObject[]> | undefined {
    return def.readOnly && this.computed ? (this.computed(def, namespace) ?? Promise.resolve([])) : undefined;
  }

  /** One object; its Scale for the scale subresource. */
  async get(t: Target, resourceVersion?: string): Promise<KubeObject> {
    checkVerb(t, "get");
    const name = t.name!;
    const computed = this.computedFor(t.def, t.namespace);
    if (computed) {
      const found = (await computed).find((i) => i.metadata.name === name && (t.namespace === undefined || i.metadata.namespace === t.namespace));
      if (!found) throw t.def.notFound ? t.def.notFound(name, t.namespace) : newNotFound({ resource: t.def.plural }, name);
      return found;
    }
    const obj = await this.store.get(t.def, t.namespace, name, resourceVersion);
    return t.subresource === "scale" ? (scaleOf(t.def, obj) as KubeObject) : obj;
  }

  /** One page of a list (the storage's result, so HTTP may write it from stored bytes). */
  async list(t: Target, q: ListQuery): Promise<ListResult> {
    checkVerb(t, "list");
    const computed = this.computedFor(t.def, t.namespace);
    if (computed) return { items: selectComputed(await computed, t.namespace, q), resourceVersion: "" };
    return this.store.list(t.def, t.namespace, q);
  }

  /** A list as its envelope. */
  async listEnvelope(t: Target, q: ListQuery): Promise<KubeList> {
    const res = await this.list(t, q);
    return listEnvelope(t.def, res.items, listMetaOf(res));
  }

  watch(t: Target, q: WatchQuery): Watch {
    checkVerb(t, "watch");
    return this.store.watch(t.def, t.namespace, q);
  }

  /** create; on binding and eviction, the subresource's action (answered by a Success Status). */
  async create(t: Target, body: unknown, opts: WriteOptions): Promise<KubeObject | Status> {
    checkVerb(t, "create");
    switch (t.subresource) {
      case "binding":
        await this.store.bind(t.def, t.namespace!, t.name!, body, { ...opts, subresource: "binding" });
        return successStatus();
      case "eviction":
        await this.store.evict(t.def, t.namespace!, t.name!, body, opts.dryRun ? { dryRun: true } : {});
        return successStatus();
      default:
        return this.store.create(t.def, t.namespace, body, opts);
    }
  }

  /** update (PUT); status and finalize write only their part, scale writes spec.replicas through a Scale. */
  async update(t: Target, body: unknown, opts: WriteOptions): Promise<KubeObject> {
    checkVerb(t, "update");
    if (t.subresource === "scale") {
      const { checkUnknownFields: _c, ...rest } = opts;
      const updated = await applyScale.update(this.store, t.def, t.namespace, t.name!, () => body as Record<string, unknown>, { ...rest, subresource: "scale" });
      return scaleOf(t.def, updated) as KubeObject;
    }
    return this.store.update(t.def, t.namespace, t.name!, body, this.withSubresource(t, opts));
  }

  /** patch of any type the target takes (415 otherwise); `created` when an apply created the object. */
  async patch(t: Target, type: PatchType, patch: unknown, opts: WriteOptions): Promise<{ object: KubeObject; created: boolean }> {
    checkVerb(t, "patch");
    if (!patchTypesOf(t).includes(type)) throw unsupportedPatch(t);
    if (t.subresource === "scale") {
      const { checkUnknownFields: _c, force: _f, ...rest } = opts;
      const updated = await applyScale.update(this.store, t.def, t.namespace, t.name!, (cur) => applyScale.patch(type, cur, patch), { ...rest, subresource: "scale" });
      return { object: scaleOf(t.def, updated) as KubeObject, created: false };
    }
    return this.store.patch(t.def, t.namespace, t.name!, type, patch, this.withSubresource(t, opts));
  }

  /** delete; `deleted` is false while the object waits for finalizers or its grace period. */
  delete(t: Target, opts: DeleteOptions): Promise<{ object: KubeObject; deleted: boolean }> {
    checkVerb(t, "delete");
    return this.store.delete(t.def, t.namespace, t.name!, opts);
  }

  /** deletecollection: every object the selectors match, each deleted as by delete; answers the list of them. */
  async deleteCollection(t: Target, q: ListQuery, opts: DeleteOptions): Promise<KubeList> {
    checkVerb(t, "deletecollection");
    const items = await this.store.deleteCollection(t.def, t.namespace, q, opts);
    return listEnvelope(t.def, items);
  }

  private withSubresource(t: Target, opts: WriteOptions): WriteOptions {
    if (t.subresource) return { ...opts, subresource: t.subresource };
    const { subresource: _s, ...rest } = opts;
    return rest;
  }
}
