/**
 * ApiClient: what a component does with the API, over the API servers' internal wire API
 * (`/kubemu/wire`, msgpack frames on a WebSocket). One connection at a time to any of the API
 * servers, failing over between them; a watch survives its API server dying by re-opening on
 * another one from the last resourceVersion it delivered. Every failure is a {@link StatusError},
 * rejected (the methods are async, so even a bad argument never throws synchronously)
 * (use `isNotFound`, `isConflict`, `isAlreadyExists`, `isGone`...).
 */
import type { Logger } from "pino";
import type { KubeList, KubeObject, WatchEvent } from "../api/object.js";
import type { DeleteCollectionParams, ListParams, PatchType, ResourceParams, WireDeleteOptions, WriteParams } from "../api/params.js";
import type { Clock } from "../clock.js";
import type { Rng } from "../rng.js";
import { isStatus, newBadRequest } from "../status.js";
import { WireClient } from "../wire/client.js";
import type { WireStream } from "../wire/client-stream.js";
import type { WireTlsOptions } from "../wire/client-connection.js";
import type { FaultInjector } from "../wire/faults.js";
import type { ResourceRef } from "./resources.js";

/** The path the API servers serve the wire API on. */
export const WIRE_API_PATH = "/kubemu/wire";

export interface ApiClientOptions {
  /** This process's name (sent in the wire handshake; API servers' fault rules match on it). */
  name: string;
  /** The API servers' wire endpoints (`wss://127.0.20.1:6443/kubemu/wire`, ...). */
  endpoints: readonly string[];
  /** CA and client certificate for wss:// endpoints. */
  tls?: WireTlsOptions;
  /** Default field manager of writes (managedFields), e.g. "kube-scheduler". */
  fieldManager?: string;
  clock?: Clock;
  rng?: Rng;
  logger?: Logger;
  /** Per-request timeout (default 30 s). */
  requestTimeoutMs?: number;
  /** The process's fault rules (`kubemu partition`), applied to its API connections. */
  faults?: FaultInjector;
}

/** Options of a list: the wire API's list params without the resource (namespace included). */
export type ListOptions = Omit<ListParams, keyof ResourceParams | "allowBookmarks" | "sendInitialEvents"> & { namespace?: string };

/** Options of a watch. */
export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Changes after this revision; unset or "0" starts with the current state as ADDED events. */
  resourceVersion?: string;
  /** Periodic BOOKMARK events carrying the current revision (default true). */
  allowBookmarks?: boolean;
  /** Aborting it ends the watch. */
  signal?: AbortSignal;
}

/** Options of a write. */
export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
}

/** Options of an update. */
export interface UpdateOptions extends WriteOptions {
  /** "finalize" replaces a Namespace's spec.finalizers (PUT namespaces/{name}/finalize); status has updateStatus. */
  subresource?: string;
}

export interface PatchOptions extends WriteOptions {
  /** "status" patches the status subresource. */
  subresource?: string;
  /** Server-side apply: take ownership of fields others manage. */
  force?: boolean;
}

export interface DeleteOptions extends WireDeleteOptions {
  dryRun?: boolean;
}

export interface DeleteCollectionOptions extends DeleteOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

function target(r: ResourceRef, namespace?: string, name?: string): ResourceParams {
  const p: ResourceParams = { group: r.group, version: r.version, resource: r.resource };
  if (r.namespaced) {
    if (namespace === undefined || namespace === "") {
      if (name !== undefined) throw newBadRequest(`${r.resource} is namespaced: a namespace is required`);
    } else p.namespace = namespace;
  }
  if (name !== undefined) p.name = name;
  return p;
}

function nameOf(obj: KubeObject): string {
  const name = obj.metadata?.name;
  if (typeof name !== "string" || name === "") throw newBadRequest("the object has no metadata.name");
  return name;
}

/** The revision a watch event carries (every event, bookmarks included, has one), or undefined for ERROR. */
export function eventResourceVersion(ev: WatchEvent): string | undefined {
  if (ev.type === "ERROR" || isStatus(ev.object)) return undefined;
  return (ev.object as KubeObject).metadata?.resourceVersion;
}

export class ApiClient {
  readonly wire: WireClient;
  private readonly fieldManager: string;

  constructor(opts: ApiClientOptions) {
    this.wire = new WireClient({
      name: opts.name,
      endpoints: opts.endpoints,
      ...(opts.tls ? { tls: opts.tls } : {}),
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.rng ? { rng: opts.rng } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
      ...(opts.requestTimeoutMs !== undefined ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
      ...(opts.faults ? { faults: opts.faults } : {}),
    });
    this.fieldManager = opts.fieldManager ?? opts.name;
  }

  /** Resolves once connected to some API server (rejects with ServiceUnavailable after timeoutMs). */
  ready(timeoutMs?: number): Promise<void> {
    return this.wire.ready(timeoutMs);
  }

  async get<T extends KubeObject = KubeObject>(r: ResourceRef, namespace: string | undefined, name: string, opts: { signal?: AbortSignal } = {}): Promise<T> {
    return this.wire.request<T>("get", target(r, namespace, name), { idempotent: true, ...(opts.signal ? { signal: opts.signal } : {}) });
  }

  /** One page of a list (all of it without `limit`). */
  async list<T extends KubeObject = KubeObject>(r: ResourceRef, opts: ListOptions = {}): Promise<KubeList<T>> {
    const { namespace, ...query } = opts;
    const params: ListParams = { ...target(r, namespace), ...query };
    return this.wire.request<KubeList<T>>("list", params, { idempotent: true });
  }

  /** Every page of a list, read at the revision of the first page. */
  async listAll<T extends KubeObject = KubeObject>(r: ResourceRef, opts: Omit<ListOptions, "continue"> & { pageSize?: number } = {}): Promise<KubeList<T>> {
    const { pageSize = 500, ...rest } = opts;
    const first = await this.list<T>(r, { ...rest, limit: pageSize });
    const items = first.items;
    let next = first.metadata.continue;
    while (next) {
      // A continue token pins the revision; resourceVersion must not be sent with it.
      const { resourceVersion: _rv, resourceVersionMatch: _m, ...query } = rest;
      const page = await this.list<T>(r, { ...query, limit: pageSize, continue: next });
      for (const item of page.items) items.push(item);
      next = page.metadata.continue;
    }
    return { ...first, metadata: { resourceVersion: first.metadata.resourceVersion }, items };
  }

  /**
   * A watch. Iterate the stream for events; it ends after an ERROR event (410 Expired: relist)
   * or when cancelled. When its API server goes away it re-opens on another one, continuing after
   * the last event it delivered.
   */
  watch<T extends KubeObject = KubeObject>(r: ResourceRef, opts: WatchOptions = {}): WireStream<WatchEvent & { object: T }> {
    const { namespace, signal, allowBookmarks = true, ...query } = opts;
    const params: ListParams = { ...target(r, namespace), ...query, allowBookmarks };
    return this.wire.stream<WatchEvent & { object: T }, ListParams>("watch", params, {
      ...(signal ? { signal } : {}),
      resume: (last) => {
        const rv = last ? eventResourceVersion(last) : undefined;
        if (last && rv === undefined) return undefined;
        return rv === undefined ? params : { ...params, resourceVersion: rv, sendInitialEvents: false };
      },
    });
  }

  async create<T extends KubeObject = KubeObject>(r: ResourceRef, obj: T, opts: WriteOptions & { namespace?: string } = {}): Promise<T> {
    const ns = opts.namespace ?? obj.metadata?.namespace;
    return this.wire.request<T>("create", this.write(target(r, ns), obj, opts));
  }

  /** Replaces the object (compare-and-swap on its metadata.resourceVersion when set: 409 Conflict if stale), or a subresource of it. */
  async update<T extends KubeObject = KubeObject>(r: ResourceRef, obj: T, opts: UpdateOptions = {}): Promise<T> {
    const p = this.write(target(r, obj.metadata?.namespace, nameOf(obj)), obj, opts);
    if (opts.subresource) p.subresource = opts.subresource;
    return this.wire.request<T>("update", p);
  }

  /** Replaces the object's status (the status subresource: spec changes are ignored). */
  async updateStatus<T extends KubeObject = KubeObject>(r: ResourceRef, obj: T, opts: WriteOptions = {}): Promise<T> {
    const p = this.write(target(r, obj.metadata?.namespace, nameOf(obj)), obj, opts);
    p.subresource = "status";
    return this.wire.request<T>("update", p);
  }

  async patch<T extends KubeObject = KubeObject>(r: ResourceRef, namespace: string | undefined, name: string, patchType: PatchType, body: unknown, opts: PatchOptions = {}): Promise<T> {
    const p = this.write(target(r, namespace, name), body, opts);
    p.patchType = patchType;
    if (opts.subresource) p.subresource = opts.subresource;
    if (opts.force) p.force = true;
    return this.wire.request<T>("patch", p);
  }

  /** Deletes the object; answers its last state (or, with finalizers, the object now terminating). */
  async delete<T extends KubeObject = KubeObject>(r: ResourceRef, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<T> {
    const { dryRun, ...options } = opts;
    const p: WriteParams = { ...target(r, namespace, name), options };
    if (dryRun) p.dryRun = true;
    return this.wire.request<T>("delete", p);
  }

  /** Deletes every object a list with these selectors would return. */
  async deleteCollection<T extends KubeObject = KubeObject>(r: ResourceRef, opts: DeleteCollectionOptions = {}): Promise<KubeList<T>> {
    const { namespace, labelSelector, fieldSelector, dryRun, ...options } = opts;
    const p: DeleteCollectionParams = { ...target(r, namespace), options };
    if (labelSelector) p.labelSelector = labelSelector;
    if (fieldSelector) p.fieldSelector = fieldSelector;
    if (dryRun) p.dryRun = true;
    return this.wire.request<KubeList<T>>("deletecollection", p);
  }

  /** Binds a pod to a node (POST pods/{name}/binding); 409 if it is already bound. */
  async bind(namespace: string, podName: string, nodeName: string, opts: { uid?: string; fieldManager?: string } = {}): Promise<void> {
    const body = {
      apiVersion: "v1",
      kind: "Binding",
      metadata: { name: podName, namespace, ...(opts.uid ? { uid: opts.uid } : {}) },
      target: { apiVersion: "v1", kind: "Node", name: nodeName },
    };
    const p: WriteParams = { group: "", version: "v1", resource: "pods", namespace, name: podName, subresource: "binding", body, fieldManager: opts.fieldManager ?? this.fieldManager };
    await this.wire.request("create", p);
  }

  close(): Promise<void> {
    return this.wire.close();
  }

  private write(p: ResourceParams, body: unknown, opts: WriteOptions): WriteParams {
    const w: WriteParams = { ...p, body, fieldManager: opts.fieldManager ?? this.fieldManager };
    if (opts.dryRun) w.dryRun = true;
    return w;
  }
}
