/**
 * REST verbs on one resource request (get, list, watch, create, update, patch, delete,
 * deletecollection, and the status/scale/binding/eviction/finalize subresources), for any
 * declared resource. Everything kind-specific lives in the registry; this only speaks HTTP.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { newBadRequest, newNotFound, newStatus, StatusError } from "@kubemu/common";
import type { KubeObject } from "../storage/index.js";
import { encodeRawList } from "../storage/index.js";
import type { ResourceDef } from "../registry/types.js";
import { groupVersion } from "../registry/types.js";
import type { ResourceRequest } from "../http/request-info.js";
import { decodeObjectBody, mediaType, parseJson, parseYamlBody, readBody, type ProtobufDecoder } from "../http/body.js";
import { sendBytes, sendJson, successStatus, wantsPretty } from "../http/respond.js";
import { toTable, wantsTable } from "../http/table.js";
import { methodNotAllowed, notFoundPath } from "../rest/errors.js";
import type { PatchType, ResourceStore, WriteOptions } from "../rest/store.js";
import { parseDeleteOptions } from "../rest/delete-options.js";
import type { ServerContext } from "../rest/context.js";
import { boolParam, dryRun, fieldManager, fieldValidation, includeObject, listQuery, timeoutSeconds } from "./query.js";
import { defaultWatchTimeoutMs, serveWatch } from "./watch.js";
import { scaleOf, applyScale } from "./scale.js";

export interface ResourceHandlerDeps {
  ctx: ServerContext;
  store: ResourceStore;
  protobuf?: ProtobufDecoder;
  /** Unknown field paths of obj for its kind (from the OpenAPI schemas); [] when none or unknown. */
  unknownFields?: (def: ResourceDef, obj: unknown) => string[];
  /** Computes the objects of read-only kinds (componentstatuses). */
  computed?: (def: ResourceDef) => Promise<KubeObject[]> | undefined;
  /** Told how many events each finished watch sent (metrics). */
  onWatchEnd?: (def: ResourceDef, events: number) => void;
}

const PATCH_TYPES: Record<string, PatchType> = {
  "application/json-patch+json": "json",
  "application/merge-patch+json": "merge",
  "application/strategic-merge-patch+json": "strategic",
  "application/apply-patch+yaml": "apply",
  "application/apply-patch+cbor": "apply",
};

const KNOWN_SUBRESOURCES = new Set(["status", "scale", "binding", "eviction", "finalize"]);

export async function handleResource(req: IncomingMessage, res: ServerResponse, info: ResourceRequest, url: URL, d: ResourceHandlerDeps): Promise<string> {
  const def = d.ctx.registry.lookup(info.group, info.version, info.resource);
  if (!def) throw notFoundPath();
  if (def.namespaced === false && info.namespace !== undefined) throw notFoundPath();
  const sub = info.subresource;
  if (sub !== undefined && (!KNOWN_SUBRESOURCES.has(sub) || !(def.subresources ?? []).includes(sub as never))) throw notFoundPath();
  const q = url.searchParams;
  const method = req.method ?? "GET";
  const ns = def.namespaced ? info.namespace : undefined;
  const name = info.name;
  const verbs = def.verbs;
  const allow = (verb: string) => {
    if (verbs && !verbs.includes(verb)) throw methodNotAllowed();
  };

  const writeOpts = (): WriteOptions => {
    const fv = fieldValidation(q);
    const opts: WriteOptions = { dryRun: dryRun(q), fieldManager: fieldManager(q, req.headers["user-agent"]) };
    if (sub) opts.subresource = sub;
    if (fv !== "Ignore" && d.unknownFields) {
      opts.checkUnknownFields = (rd, obj) => {
        const unknown = d.unknownFields!(rd, obj).filter((f) => !f.startsWith("status") || sub === "status");
        if (unknown.length === 0) return;
        const msg = unknown.map((f) => `unknown field "${f}"`).join(", ");
        if (fv === "Strict")
          throw newBadRequest(`${rd.kind} in version "${rd.version}" cannot be handled as a ${rd.kind}: strict decoding error: ${msg}`);
        res.setHeader("warning", unknown.map((f) => `299 - "unknown field \\"${f}\\""`));
      };
    }
    return opts;
  };

  const readObjectBody = async (): Promise<unknown> => decodeObjectBody(await readBody(req), req.headers["content-type"], d.protobuf);

  if (sub === "scale") {
    if (!name) throw notFoundPath();
    return handleScale(req, res, def, ns, name, q, d, writeOpts);
  }

  switch (method) {
    case "GET":
    case "HEAD": {
      if (name !== undefined && sub !== undefined && sub !== "status") throw methodNotAllowed();
      if (name !== undefined) {
        allow("get");
        const obj = def.readOnly && d.computed ? await getComputed(def, name, d) : await d.store.get(def, ns, name, q.get("resourceVersion") || undefined);
        respondObjects(req, res, def, [obj], undefined, q, d, true);
        return "get";
      }
      if (boolParam(q, "watch") && q.has("watch")) {
        allow("watch");
        const lq = listQuery(q);
        const timeout = timeoutSeconds(q);
        const tableVersion = wantsTable(req.headers.accept);
        const controller = new AbortController();
        const watch = d.store.watch(def, ns, {
          ...lq,
          allowBookmarks: boolParam(q, "allowWatchBookmarks") && q.has("allowWatchBookmarks"),
          sendInitialEvents: boolParam(q, "sendInitialEvents") && q.has("sendInitialEvents"),
          signal: controller.signal,
        });
        await serveWatch(req, res, {
          def,
          watch,
          clock: d.ctx.clock,
          timeoutMs: timeout !== undefined ? timeout * 1000 : defaultWatchTimeoutMs(d.ctx.rng),
          ...(d.onWatchEnd ? { onEnd: (n: number) => d.onWatchEnd!(def, n) } : {}),
          ...(tableVersion ? { table: { version: tableVersion, include: includeObject(q) } } : {}),
        });
        controller.abort();
        return "watch";
      }
      allow("list");
      if (def.readOnly && d.computed) {
        const items = (await d.computed(def)) ?? [];
        respondObjects(req, res, def, items, { resourceVersion: "" }, q, d, false);
        return "list";
      }
      const result = await d.store.list(def, ns, listQuery(q));
      const meta: Record<string, unknown> = { resourceVersion: result.resourceVersion };
      if (result.continue) meta.continue = result.continue;
      if (result.remainingItemCount !== undefined) meta.remainingItemCount = result.remainingItemCount;
      // A plain JSON list is written from the stored bytes when the storage kept them.
      const body = wantsTable(req.headers.accept) || wantsPretty(req) ? undefined : encodeRawList(result, { listKind: def.listKind ?? `${def.kind}List`, kind: def.kind, apiVersion: groupVersion(def) }, meta);
      if (body) sendBytes(req, res, 200, "application/json", body);
      else respondObjects(req, res, def, result.items, meta, q, d, false);
      return "list";
    }
    case "POST": {
      if (name !== undefined && sub === "binding") {
        const body = await readObjectBody();
        await d.store.bind(def, ns!, name, body, writeOpts());
        sendJson(req, res, 201, successStatus());
        return "create";
      }
      if (name !== undefined && sub === "eviction") {
        const body = await readObjectBody();
        await d.store.evict(def, ns!, name, body);
        sendJson(req, res, 201, successStatus());
        return "create";
      }
      if (name !== undefined || sub !== undefined) throw methodNotAllowed();
      allow("create");
      if (def.namespaced && ns === undefined) throw methodNotAllowed();
      const body = await readObjectBody();
      const created = await d.store.create(def, ns, body, writeOpts());
      sendJson(req, res, 201, created);
      return "create";
    }
    case "PUT": {
      if (name === undefined) throw methodNotAllowed();
      if (sub !== undefined && sub !== "status" && sub !== "finalize") throw methodNotAllowed();
      allow("update");
      const body = await readObjectBody();
      const updated = await d.store.update(def, ns, name, body, writeOpts());
      sendJson(req, res, 200, updated);
      return "update";
    }
    case "PATCH": {
      if (name === undefined) throw methodNotAllowed();
      if (sub !== undefined && sub !== "status") throw methodNotAllowed();
      allow("patch");
      const mt = mediaType(req.headers["content-type"]);
      const type = PATCH_TYPES[mt];
      if (!type)
        throw new StatusError(
          newStatus("UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`, undefined, 415),
        );
      const raw = await readBody(req);
      if (raw.length === 0) throw newBadRequest("the request body is empty");
      const patch = type === "apply" ? parseYamlBody(raw) : parseJson(raw);
      const opts = writeOpts();
      if (type === "apply") {
        if (!q.get("fieldManager")) throw newBadRequest("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch");
        opts.force = boolParam(q, "force") && q.has("force");
      } else if (q.has("force")) throw newBadRequest("PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch");
      const { object, created } = await d.store.patch(def, ns, name, type, patch, opts);
      sendJson(req, res, created ? 201 : 200, object);
      return "patch";
    }
    case "DELETE": {
      if (sub !== undefined) throw methodNotAllowed();
      const raw = await readBody(req);
      const body = raw.length ? parseJson(raw) : undefined;
      const opts = parseDeleteOptions(body, q);
      if (name === undefined) {
        allow("deletecollection");
        const items = await d.store.deleteCollection(def, ns, listQuery(q), opts);
        sendJson(req, res, 200, { kind: `${def.listKind ?? def.kind + "List"}`, apiVersion: groupVersion(def), metadata: {}, items });
        return "deletecollection";
      }
      allow("delete");
      const { object, deleted } = await d.store.delete(def, ns, name, opts);
      if (deleted && def.kind !== "Pod") {
        sendJson(req, res, 200, successStatus({ name, ...(def.group ? { group: def.group } : {}), kind: def.plural, uid: object.metadata.uid }));
      } else sendJson(req, res, deleted ? 200 : 200, object);
      return "delete";
    }
    default:
      throw methodNotAllowed();
  }
}

async function getComputed(def: ResourceDef, name: string, d: ResourceHandlerDeps): Promise<KubeObject> {
  const items = (await d.computed?.(def)) ?? [];
  const found = items.find((i) => i.metadata.name === name);
  if (!found) throw newNotFound({ resource: def.plural }, name);
  return found;
}

/** Writes one object, a list, or a Table when the client asked for one. */
function respondObjects(
  req: IncomingMessage,
  res: ServerResponse,
  def: ResourceDef,
  items: KubeObject[],
  listMeta: Record<string, unknown> | undefined,
  q: URLSearchParams,
  d: ResourceHandlerDeps,
  single: boolean,
): void {
  const table = wantsTable(req.headers.accept);
  if (table) {
    const meta = listMeta ?? { resourceVersion: items[0]?.metadata.resourceVersion ?? "" };
    sendJson(req, res, 200, toTable(def, items, meta, { include: includeObject(q), version: table, now: new Date(d.ctx.clock.now()) }));
    return;
  }
  if (single) {
    sendJson(req, res, 200, items[0]);
    return;
  }
  sendJson(req, res, 200, { kind: def.listKind ?? `${def.kind}List`, apiVersion: groupVersion(def), metadata: listMeta ?? {}, items });
}

async function handleScale(
  req: IncomingMessage,
  res: ServerResponse,
  def: ResourceDef,
  ns: string | undefined,
  name: string,
  q: URLSearchParams,
  d: ResourceHandlerDeps,
  writeOpts: () => WriteOptions,
): Promise<string> {
  const method = req.method ?? "GET";
  if (method === "GET") {
    sendJson(req, res, 200, scaleOf(def, await d.store.get(def, ns, name)));
    return "get";
  }
  if (method !== "PUT" && method !== "PATCH") throw methodNotAllowed();
  const raw = await readBody(req);
  if (raw.length === 0) throw newBadRequest("the request body is empty");
  const mt = mediaType(req.headers["content-type"]);
  let scaleUpdate: (current: Record<string, unknown>) => Record<string, unknown>;
  if (method === "PUT") {
    const body = decodeObjectBody(raw, req.headers["content-type"], d.protobuf);
    scaleUpdate = () => body as Record<string, unknown>;
  } else {
    const type = PATCH_TYPES[mt];
    if (!type || type === "apply") throw new StatusError(newStatus("UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`, undefined, 415));
    const patch = parseJson(raw);
    scaleUpdate = (current) => applyScale.patch(type, current, patch);
  }
  const opts = writeOpts();
  delete opts.checkUnknownFields;
  const updated = await applyScale.update(d.store, def, ns, name, scaleUpdate, { ...opts, subresource: "scale" });
  sendJson(req, res, 200, scaleOf(def, updated));
  return method === "PUT" ? "update" : "patch";
}
