/**
 * The internal API for kubemu components over the common wire protocol (`/kubemu/wire`): the
 * verbs the HTTP API serves, through the same adapter (`rest/resource-api.ts`), so semantics
 * are identical — declared verbs (405 MethodNotAllowed), subresources, list envelopes, patch
 * types, admission, validation. Many watches share one connection (streams).
 *
 * Params name the resource like a URL does (`ResourceParams` in @kubemu/common: group, version,
 * resource, namespace, name, subresource); their types are `api/params.ts` there.
 *
 * | method | params | answers |
 * | --- | --- | --- |
 * | `get` | name; subresource `status` / `scale` | the object, or its Scale |
 * | `list` | ListParams | the list envelope (`kind` = the resource's listKind) |
 * | `watch` (stream) | ListParams | WatchEvents; ends after an ERROR event |
 * | `create` | body; or name + subresource `binding` / `eviction` | the object; a Success Status for the subresources |
 * | `update` | name, body; subresource `status` / `scale` / `finalize` | the object (the Scale for scale) |
 * | `patch` | name, patchType (default merge), body; subresource `status` / `scale`; force (apply) | the object (the Scale) |
 * | `delete` | name, options (DeleteOptions), dryRun | the object's last state |
 * | `deletecollection` | labelSelector, fieldSelector, options, dryRun | the list envelope of the objects deleted |
 *
 * Malformed params (a wrong type, an unknown key, a name where none belongs, a missing name or
 * namespace) are a BadRequest Status; an unknown resource or undeclared subresource is upstream's
 * 404, a verb the resource does not serve upstream's 405.
 */
import { newBadRequest, type PatchType, type WireServer } from "@kubemu/common";
import type { WatchEvent } from "../storage/index.js";
import { qualifiedResource } from "../registry/types.js";
import type { ListQuery, WatchQuery, WriteOptions } from "../rest/store.js";
import { parseDeleteOptions, type DeleteOptions } from "../rest/delete-options.js";
import { checkFieldManager, checkPatchOptions, PATCH_TYPES, type ResourceApi, type Target } from "../rest/resource-api.js";

type Params = Record<string, unknown>;

/** The field manager of writes that name none. */
export const DEFAULT_FIELD_MANAGER = "kubemu-internal";

const RESOURCE_KEYS = ["group", "version", "resource", "namespace", "name", "subresource"] as const;
const SELECTOR_KEYS = ["labelSelector", "fieldSelector"] as const;
// allowBookmarks is ignored by list, as upstream ignores allowWatchBookmarks on a list.
const LIST_KEYS = [...RESOURCE_KEYS, ...SELECTOR_KEYS, "limit", "continue", "resourceVersion", "resourceVersionMatch", "allowBookmarks"] as const;
const WATCH_KEYS = [...RESOURCE_KEYS, ...SELECTOR_KEYS, "resourceVersion", "allowBookmarks", "sendInitialEvents"] as const;
const WRITE_KEYS = [...RESOURCE_KEYS, "body", "dryRun", "fieldManager"] as const;
const PATCH_KEYS = [...WRITE_KEYS, "patchType", "force"] as const;
const DELETE_KEYS = [...RESOURCE_KEYS, "dryRun", "options"] as const;
const DELETE_COLLECTION_KEYS = [...DELETE_KEYS, ...SELECTOR_KEYS] as const;

const isObj = (v: unknown): v is Params => typeof v === "object" && v !== null && !Array.isArray(v);
/** undefined and null both mean "not set" (msgpack carries either). */
const unset = (v: unknown): boolean => v === undefined || v === null;

/** The params object, refusing keys the method does not take (a misspelt selector must not widen a deletecollection). */
function paramsOf(p: unknown, allowed: readonly string[]): Params {
  if (!isObj(p)) throw newBadRequest("params must be an object");
  for (const k of Object.keys(p)) if (!allowed.includes(k) && !unset(p[k])) throw newBadRequest(`unknown param "${k}" (this method takes ${allowed.join(", ")})`);
  return p;
}

function str(p: Params, k: string): string | undefined {
  const v = p[k];
  if (unset(v)) return undefined;
  if (typeof v !== "string") throw newBadRequest(`params.${k} must be a string`);
  return v;
}

function bool(p: Params, k: string): boolean | undefined {
  const v = p[k];
  if (unset(v)) return undefined;
  if (typeof v !== "boolean") throw newBadRequest(`params.${k} must be a boolean`);
  return v;
}

function count(p: Params, k: string): number | undefined {
  const v = p[k];
  if (unset(v)) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw newBadRequest(`params.${k} must be a non-negative integer`);
  return v;
}

/** What the method needs the params to name: one object, a collection, or either (create: a collection, or an object's subresource). */
type Scope = "object" | "collection" | "create";

/** Checks the resource params and resolves them through the shared adapter (404 for what the server does not serve). */
function targetOf(api: ResourceApi, p: Params, scope: Scope): Target {
  const resource = str(p, "resource");
  if (!resource) throw newBadRequest("params.resource is required");
  const group = str(p, "group") ?? "";
  const version = str(p, "version") || "v1";
  // "" is "no namespace" (cluster-scoped, or every namespace), as in client-go.
  const namespace = str(p, "namespace") || undefined;
  const name = str(p, "name") || undefined;
  const subresource = str(p, "subresource") || undefined;
  const def = api.resolve({ group, version, resource }).def;
  const what = qualifiedResource(def);
  if (!def.namespaced && namespace !== undefined) throw newBadRequest(`${what} is cluster-scoped: params.namespace must not be set`);
  if (subresource !== undefined && name === undefined) throw newBadRequest("params.name is required with a subresource");
  if (scope === "object" && name === undefined) throw newBadRequest("params.name is required");
  if (scope === "collection" && name !== undefined) throw newBadRequest("params.name must not be set: this method acts on a collection");
  if (scope === "create" && name !== undefined && subresource === undefined)
    throw newBadRequest("params.name is only taken with a subresource (binding, eviction); a new object's name is body.metadata.name");
  if (def.namespaced && namespace === undefined && (name !== undefined || scope === "create")) throw newBadRequest(`params.namespace is required for ${what}`);
  return api.resolve({ group, version, resource, namespace, name, subresource });
}

function selectors(p: Params): ListQuery {
  const q: ListQuery = {};
  const ls = str(p, "labelSelector");
  if (ls !== undefined) q.labelSelector = ls;
  const fs = str(p, "fieldSelector");
  if (fs !== undefined) q.fieldSelector = fs;
  return q;
}

function listQuery(p: Params): ListQuery {
  const q = selectors(p);
  const limit = count(p, "limit");
  if (limit) q.limit = limit;
  const cont = str(p, "continue");
  if (cont) q.continue = cont;
  const rv = str(p, "resourceVersion");
  if (rv !== undefined) q.resourceVersion = rv;
  const match = str(p, "resourceVersionMatch");
  if (match !== undefined && match !== "") {
    if (match !== "NotOlderThan" && match !== "Exact") throw newBadRequest(`invalid resourceVersionMatch: "${match}"`);
    q.resourceVersionMatch = match;
  }
  return q;
}

function watchQuery(p: Params, signal: AbortSignal): WatchQuery {
  const q: WatchQuery = { ...selectors(p), signal };
  const rv = str(p, "resourceVersion");
  if (rv !== undefined) q.resourceVersion = rv;
  if (bool(p, "allowBookmarks")) q.allowBookmarks = true;
  if (bool(p, "sendInitialEvents")) q.sendInitialEvents = true;
  return q;
}

function writeOptions(p: Params): WriteOptions {
  const fm = str(p, "fieldManager");
  const o: WriteOptions = { fieldManager: fm ? checkFieldManager(fm) : DEFAULT_FIELD_MANAGER };
  if (bool(p, "dryRun")) o.dryRun = true;
  return o;
}

function deleteOptions(p: Params): DeleteOptions {
  const options = p.options;
  if (!unset(options) && !isObj(options)) throw newBadRequest("params.options must be an object (DeleteOptions)");
  if (isObj(options) && !unset(options.preconditions) && !isObj(options.preconditions)) throw newBadRequest("params.options.preconditions must be an object");
  const o = parseDeleteOptions(unset(options) ? undefined : options, new URLSearchParams());
  if (bool(p, "dryRun")) o.dryRun = true;
  return o;
}

function patchType(p: Params): PatchType {
  const v = p.patchType;
  if (unset(v)) return "merge";
  if (typeof v !== "string" || !(PATCH_TYPES as readonly string[]).includes(v)) throw newBadRequest(`unknown patchType "${String(v)}": one of ${PATCH_TYPES.join(", ")}`);
  return v as PatchType;
}

/** Registers the internal API methods on a wire server. */
export function registerWireApi(wire: Pick<WireServer, "handle" | "handleStream">, api: ResourceApi): void {
  wire.handle("get", (params: unknown) => {
    const p = paramsOf(params, RESOURCE_KEYS);
    return api.get(targetOf(api, p, "object"));
  });
  wire.handle("list", (params: unknown) => {
    const p = paramsOf(params, LIST_KEYS);
    return api.listEnvelope(targetOf(api, p, "collection"), listQuery(p));
  });
  wire.handle("create", (params: unknown) => {
    const p = paramsOf(params, WRITE_KEYS);
    return api.create(targetOf(api, p, "create"), p.body, writeOptions(p));
  });
  wire.handle("update", (params: unknown) => {
    const p = paramsOf(params, WRITE_KEYS);
    return api.update(targetOf(api, p, "object"), p.body, writeOptions(p));
  });
  wire.handle("patch", async (params: unknown) => {
    const p = paramsOf(params, PATCH_KEYS);
    const t = targetOf(api, p, "object");
    const type = patchType(p);
    const opts = writeOptions(p);
    checkPatchOptions(type, str(p, "fieldManager") || undefined, bool(p, "force"), opts);
    return (await api.patch(t, type, p.body, opts)).object;
  });
  wire.handle("delete", async (params: unknown) => {
    const p = paramsOf(params, DELETE_KEYS);
    return (await api.delete(targetOf(api, p, "object"), deleteOptions(p))).object;
  });
  wire.handle("deletecollection", (params: unknown) => {
    const p = paramsOf(params, DELETE_COLLECTION_KEYS);
    return api.deleteCollection(targetOf(api, p, "collection"), selectors(p), deleteOptions(p));
  });
  wire.handleStream("watch", async (params: unknown, stream, rctx) => {
    const p = paramsOf(params, WATCH_KEYS);
    const watch = api.watch(targetOf(api, p, "collection"), watchQuery(p, rctx.signal));
    try {
      for await (const ev of watch) {
        await stream.send(ev as WatchEvent);
        if (ev.type === "ERROR") break;
      }
    } finally {
      watch.stop();
    }
  });
}
