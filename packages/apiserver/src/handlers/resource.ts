/**
 * REST verbs over HTTP on one resource request (get, list, watch, create, update, patch, delete,
 * deletecollection, and the declared subresources), for any declared resource. This only speaks
 * HTTP — methods, query parameters, bodies, status codes, Tables; what a verb does, which verbs a
 * resource serves, list envelopes and patch types are the shared adapter's (`rest/resource-api.ts`),
 * which the internal wire API calls too.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { newBadRequest, type ListMeta } from "@kubemu/common";
import type { KubeObject } from "../storage/index.js";
import { encodeRawList } from "../storage/index.js";
import type { ResourceDef, Verb } from "../registry/types.js";
import { groupVersion } from "../registry/types.js";
import type { ResourceRequest } from "../http/request-info.js";
import { decodeObjectBody, mediaType, parseJson, parseYamlBody, readBody, type ProtobufDecoder } from "../http/body.js";
import { sendBytes, sendJson, wantsPretty } from "../http/respond.js";
import { toTable, wantsTable } from "../http/table.js";
import { methodNotAllowed } from "../rest/errors.js";
import type { WriteOptions } from "../rest/store.js";
import { parseDeleteOptions } from "../rest/delete-options.js";
import type { ServerContext } from "../rest/context.js";
import { checkPatchOptions, checkVerb, deleteResponse, listEnvelope, listKindOf, listMetaOf, patchTypeOfMedia, type ResourceApi, type Target } from "../rest/resource-api.js";
import { boolParam, dryRun, fieldManager, fieldValidation, includeObject, listQuery, timeoutSeconds } from "./query.js";
import { defaultWatchTimeoutMs, serveWatch } from "./watch.js";

export interface ResourceHandlerDeps {
  ctx: ServerContext;
  api: ResourceApi;
  protobuf?: ProtobufDecoder;
  /** Unknown field paths of obj for its kind (from the OpenAPI schemas); [] when none or unknown. */
  unknownFields?: (def: ResourceDef, obj: unknown) => string[];
  /** Told how many events each finished watch sent (metrics). */
  onWatchEnd?: (def: ResourceDef, events: number) => void;
}

export async function handleResource(req: IncomingMessage, res: ServerResponse, info: ResourceRequest, url: URL, d: ResourceHandlerDeps): Promise<string> {
  const t = d.api.resolve(info);
  const { def } = t;
  const sub = t.subresource;
  const q = url.searchParams;
  const verb = verbOf(req.method ?? "GET", t, q);
  // The verb is checked before the body is read: a refused verb is a 405 whatever the body.
  checkVerb(t, verb);

  const writeOpts = (): WriteOptions => {
    const fv = fieldValidation(q);
    const opts: WriteOptions = { dryRun: dryRun(q), fieldManager: fieldManager(q, req.headers["user-agent"]) };
    if (fv !== "Ignore" && d.unknownFields && sub !== "scale") {
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

  switch (verb) {
    case "get": {
      const obj = await d.api.get(t, q.get("resourceVersion") || undefined);
      respondObjects(req, res, t, [obj], undefined, q, d, true);
      return "get";
    }
    case "watch": {
      const lq = listQuery(q);
      const timeout = timeoutSeconds(q);
      const tableVersion = wantsTable(req.headers.accept);
      const controller = new AbortController();
      const watch = d.api.watch(t, {
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
    case "list": {
      const result = await d.api.list(t, listQuery(q));
      const meta = listMetaOf(result);
      // A plain JSON list is written from the stored bytes when the storage kept them.
      const body = wantsTable(req.headers.accept) || wantsPretty(req) ? undefined : encodeRawList(result, { listKind: listKindOf(def), kind: def.kind, apiVersion: groupVersion(def) }, { ...meta });
      if (body) sendBytes(req, res, 200, "application/json", body);
      else respondObjects(req, res, t, result.items, meta, q, d, false);
      return "list";
    }
    case "create": {
      const body = await readObjectBody();
      sendJson(req, res, 201, await d.api.create(t, body, writeOpts()));
      return "create";
    }
    case "update": {
      const body = await readObjectBody();
      sendJson(req, res, 200, await d.api.update(t, body, writeOpts()));
      return "update";
    }
    case "patch": {
      const type = patchTypeOfMedia(t, mediaType(req.headers["content-type"]));
      const raw = await readBody(req);
      if (raw.length === 0) throw newBadRequest("the request body is empty");
      const patch = type === "apply" ? parseYamlBody(raw) : parseJson(raw);
      const opts = writeOpts();
      checkPatchOptions(type, q.get("fieldManager") || undefined, q.has("force") ? boolParam(q, "force") : undefined, opts);
      const { object, created } = await d.api.patch(t, type, patch, opts);
      sendJson(req, res, created ? 201 : 200, object);
      return "patch";
    }
    case "deletecollection":
    case "delete": {
      const raw = await readBody(req);
      const opts = parseDeleteOptions(raw.length ? parseJson(raw) : undefined, q);
      if (verb === "deletecollection") {
        sendJson(req, res, 200, await d.api.deleteCollection(t, listQuery(q), opts));
        return "deletecollection";
      }
      const { object, deleted } = await d.api.delete(t, opts);
      sendJson(req, res, 200, deleteResponse(def, object, deleted));
      return "delete";
    }
  }
}

/** The API verb of an HTTP request (405 for methods the API does not serve). */
function verbOf(method: string, t: Target, q: URLSearchParams): Verb {
  switch (method) {
    case "GET":
    case "HEAD":
      if (t.name !== undefined) return "get";
      return boolParam(q, "watch") && q.has("watch") ? "watch" : "list";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return t.name === undefined ? "deletecollection" : "delete";
    default:
      throw methodNotAllowed();
  }
}

/** Writes one object, a list, or a Table when the client asked for one. */
function respondObjects(
  req: IncomingMessage,
  res: ServerResponse,
  t: Target,
  items: KubeObject[],
  listMeta: ListMeta | undefined,
  q: URLSearchParams,
  d: ResourceHandlerDeps,
  single: boolean,
): void {
  const table = wantsTable(req.headers.accept);
  if (table && t.subresource !== "scale") {
    const meta: Record<string, unknown> = listMeta ? { ...listMeta } : { resourceVersion: items[0]?.metadata.resourceVersion ?? "" };
    sendJson(req, res, 200, toTable(t.def, items, meta, { include: includeObject(q), version: table, now: new Date(d.ctx.clock.now()) }));
    return;
  }
  if (single) {
    sendJson(req, res, 200, items[0]);
    return;
  }
  sendJson(req, res, 200, listEnvelope(t.def, items, listMeta));
}
