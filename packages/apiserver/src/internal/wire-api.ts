/**
 * The internal API for kubemu components over the common wire protocol: the same operations
 * as REST (get, list, watch, create, update, patch, delete) on the same generic store, so
 * semantics are identical. Many watches share one connection (streams).
 *
 * Params name the resource like a URL does: {group, version, resource, namespace?, name?}.
 */
import { newBadRequest, type ListParams, type ResourceParams, type WireServer, type WriteParams } from "@kubemu/common";
import type { ServerContext } from "../rest/context.js";
import type { ResourceStore, WriteOptions } from "../rest/store.js";
import type { ResourceDef } from "../registry/types.js";
import type { WatchEvent } from "../storage/index.js";
import { notFoundPath } from "../rest/errors.js";
import { parseDeleteOptions } from "../rest/delete-options.js";

const PATCH_TYPES = new Set(["json", "merge", "strategic", "apply"]);

function resolve<P extends ResourceParams>(ctx: ServerContext, p: P): { def: ResourceDef; ns: string | undefined; p: P } {
  if (typeof p !== "object" || p === null) throw newBadRequest("params must be an object");
  const r = p;
  if (typeof r.resource !== "string") throw newBadRequest("params.resource is required");
  const def = ctx.registry.lookup(r.group ?? "", r.version ?? "v1", r.resource);
  if (!def) throw notFoundPath();
  return { def, ns: def.namespaced ? r.namespace : undefined, p: r };
}

function needName(p: ResourceParams): string {
  if (typeof p.name !== "string" || p.name === "") throw newBadRequest("params.name is required");
  return p.name;
}

function writeOptions(p: WriteParams): WriteOptions {
  const o: WriteOptions = { fieldManager: typeof p.fieldManager === "string" ? p.fieldManager : "kubemu-internal" };
  if (p.dryRun === true) o.dryRun = true;
  if (p.subresource === "status") o.subresource = "status";
  else if (p.subresource !== undefined) throw newBadRequest(`subresource "${String(p.subresource)}" is not served on the internal API`);
  return o;
}

/** Registers the internal API methods on a wire server. */
export function registerWireApi(wire: WireServer, ctx: ServerContext, store: ResourceStore): void {
  wire.handle("get", (params: ResourceParams) => {
    const { def, ns, p } = resolve(ctx, params);
    return store.get(def, ns, needName(p));
  });
  wire.handle("list", async (params: ListParams) => {
    const { def, ns } = resolve(ctx, params);
    const res = await store.list(def, ns, params);
    return { kind: `${def.kind}List`, apiVersion: def.group ? `${def.group}/${def.version}` : def.version, metadata: { resourceVersion: res.resourceVersion, ...(res.continue ? { continue: res.continue } : {}) }, items: res.items };
  });
  wire.handle("create", (params: WriteParams) => {
    const { def, ns, p } = resolve(ctx, params);
    if (p.subresource === "binding" && p.name && def.kind === "Pod") return store.bind(def, ns!, p.name, p.body, { fieldManager: p.fieldManager ?? "kubemu-internal" }).then(() => ({ kind: "Status", apiVersion: "v1", status: "Success", metadata: {} }));
    return store.create(def, ns, p.body, writeOptions(p));
  });
  wire.handle("update", (params: WriteParams) => {
    const { def, ns, p } = resolve(ctx, params);
    return store.update(def, ns, needName(p), p.body, writeOptions(p));
  });
  wire.handle("patch", async (params: WriteParams) => {
    const { def, ns, p } = resolve(ctx, params);
    const type = p.patchType ?? "merge";
    if (!PATCH_TYPES.has(type)) throw newBadRequest(`unknown patchType "${String(type)}"`);
    const opts = writeOptions(p);
    if (type === "apply") opts.force = p.force === true;
    return (await store.patch(def, ns, needName(p), type, p.body, opts)).object;
  });
  wire.handle("delete", async (params: WriteParams) => {
    const { def, ns, p } = resolve(ctx, params);
    const opts = parseDeleteOptions(p.options, new URLSearchParams());
    if (p.dryRun === true) opts.dryRun = true;
    return (await store.delete(def, ns, needName(p), opts)).object;
  });
  wire.handleStream("watch", async (params: ListParams, stream, rctx) => {
    const { def, ns } = resolve(ctx, params);
    const watch = store.watch(def, ns, {
      ...params,
      ...(params.allowBookmarks ? { allowBookmarks: true } : {}),
      signal: rctx.signal,
    });
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
