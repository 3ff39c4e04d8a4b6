/**
 * A fake ControllerClient for controllers' unit tests (client-go's fake clientset): an in-memory
 * object store that records every action, with reactors to make a verb fail. Patches are applied
 * as JSON merge patches (strategic ones with `$patch: delete` entries in ownerReferences,
 * finalizers merged as a set, conditions merged by type and `$deleteFromPrimitiveList/<list>`),
 * enough for what controllers patch.
 *
 * With `{ lifecycle: true }` deletion behaves as the API server's for finalizers (graceful pod
 * deletion is not modelled): a delete of an object with finalizers — or asking Orphan/Foreground,
 * which add `orphan`/`foregroundDeletion` — only sets deletionTimestamp, a write that removes the
 * last finalizer of such an object deletes it, and a Namespace waits for its spec.finalizers
 * (`update(..., { subresource: "finalize" })`).
 */
import type { DeleteCollectionOptions, DeleteOptions, KubeList, KubeObject, PatchOptions, PatchType, ResourceRef, UpdateOptions, WriteOptions } from "@kubemu/common";
import { Indexer, StatusError, newAlreadyExists, newConflict, newNotFound, objectKey, standardIndexers } from "@kubemu/common";
import type { ControllerClient } from "../src/controller/client.js";
import type { Recorder } from "../src/controller/context.js";

export type Verb = "get" | "list" | "create" | "update" | "update-status" | "patch" | "delete" | "deletecollection";

export interface Action {
  verb: Verb;
  resource: string;
  namespace: string | undefined;
  name: string | undefined;
  object?: KubeObject;
  patchType?: PatchType;
  patch?: unknown;
  subresource?: string;
  options?: unknown;
}

/** Returns an error to fail the action with, or undefined to let it through. */
export type Reactor = (action: Action) => Error | undefined;

const isMap = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);

/** The strategic-merge directive that removes values from a primitive list (`$deleteFromPrimitiveList/finalizers`). */
const DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList/";

function mergePatch(target: unknown, patch: unknown, key = "", strategic = false): unknown {
  if (Array.isArray(patch) && key === "ownerReferences" && Array.isArray(target)) {
    const deletes = new Set(patch.filter((p) => isMap(p) && p.$patch === "delete").map((p) => (p as { uid: string }).uid));
    const adds = patch.filter((p) => !(isMap(p) && p.$patch === "delete")) as { uid: string }[];
    const kept = (target as { uid: string }[]).filter((r) => !deletes.has(r.uid) && !adds.some((a) => a.uid === r.uid));
    return [...kept, ...adds];
  }
  // Strategic merge: finalizers merge as a set (patchStrategy merge on a primitive list).
  if (strategic && Array.isArray(patch) && key === "finalizers" && Array.isArray(target)) return [...new Set([...(target as unknown[]), ...patch])];
  // Strategic merge: pod and node conditions merge by type.
  if (strategic && Array.isArray(patch) && key === "conditions" && Array.isArray(target)) {
    const out = (target as { type?: string }[]).map((c) => structuredClone(c));
    for (const p of patch as { type?: string }[]) {
      const i = out.findIndex((c) => c.type === p.type);
      if (i === -1) out.push(structuredClone(p));
      else out[i] = mergePatch(out[i], p, "", true) as { type?: string };
    }
    return out;
  }
  if (!isMap(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isMap(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (strategic && k.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      const list = k.slice(DELETE_FROM_PRIMITIVE_LIST.length);
      const drop = new Set(Array.isArray(v) ? v : []);
      const kept = (Array.isArray(out[list]) ? (out[list] as unknown[]) : []).filter((x) => !drop.has(x));
      if (kept.length > 0) out[list] = kept;
      else delete out[list];
    } else if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v, k, strategic);
  }
  return out;
}

export class FakeClient implements ControllerClient {
  readonly actions: Action[] = [];
  private readonly reactors: Reactor[] = [];
  private readonly stores = new Map<string, Map<string, KubeObject>>();
  private revision = 100;
  private names = 0;
  private readonly lifecycle: boolean;
  private readonly now: () => string;

  constructor(objects: { resource: ResourceRef; objects: KubeObject[] }[] = [], opts: { lifecycle?: boolean; now?: () => string } = {}) {
    for (const { resource, objects: list } of objects) for (const o of list) this.store(resource).set(objectKey(o), structuredClone(o));
    this.lifecycle = opts.lifecycle ?? false;
    this.now = opts.now ?? (() => "2026-01-01T00:00:00Z");
  }

  /** Makes matching actions fail; reactors run in the order added. */
  react(r: Reactor): this {
    this.reactors.push(r);
    return this;
  }

  /** Fails every `verb` on `resource` with `err`. */
  failOn(verb: Verb, resource: string, err: Error): this {
    return this.react((a) => (a.verb === verb && a.resource === resource ? err : undefined));
  }

  /** The recorded writes (everything but get and list). */
  writes(): Action[] {
    return this.actions.filter((a) => a.verb !== "get" && a.verb !== "list");
  }

  /** The stored objects of a resource (what the API would now hold). */
  objects<T extends KubeObject = KubeObject>(r: ResourceRef): T[] {
    return [...this.store(r).values()].map((o) => structuredClone(o) as T);
  }

  /** An Indexer (standard indexes) holding the stored objects of `r`, for a lister. */
  indexer<T extends KubeObject = KubeObject>(r: ResourceRef): Indexer<T> {
    const ix = new Indexer<T>(standardIndexers as never);
    for (const o of this.objects<T>(r)) ix.set(o);
    return ix;
  }

  clearActions(): void {
    this.actions.length = 0;
  }

  private store(r: ResourceRef): Map<string, KubeObject> {
    let s = this.stores.get(r.resource);
    if (!s) this.stores.set(r.resource, (s = new Map()));
    return s;
  }

  private record(a: Action): void {
    this.actions.push(a);
    for (const r of this.reactors) {
      const err = r(a);
      if (err) throw err;
    }
  }

  private key(ns: string | undefined, name: string): string {
    return ns ? `${ns}/${name}` : name;
  }

  private notFound(r: ResourceRef, name: string): StatusError {
    return newNotFound({ group: r.group, resource: r.resource }, name);
  }

  async get<T extends KubeObject = KubeObject>(r: ResourceRef, namespace: string | undefined, name: string): Promise<T> {
    this.record({ verb: "get", resource: r.resource, namespace, name });
    const o = this.store(r).get(this.key(namespace, name));
    if (!o) throw this.notFound(r, name);
    return structuredClone(o) as T;
  }

  async list<T extends KubeObject = KubeObject>(r: ResourceRef, opts: { namespace?: string } = {}): Promise<KubeList<T>> {
    this.record({ verb: "list", resource: r.resource, namespace: opts.namespace, name: undefined, options: opts });
    const items = this.objects<T>(r).filter((o) => !opts.namespace || o.metadata.namespace === opts.namespace);
    return { apiVersion: "v1", kind: `${r.kind}List`, metadata: { resourceVersion: String(this.revision) }, items } as KubeList<T>;
  }

  async create<T extends KubeObject = KubeObject>(r: ResourceRef, obj: T, opts: WriteOptions & { namespace?: string } = {}): Promise<T> {
    const o = structuredClone(obj);
    o.metadata = { ...o.metadata };
    if (!o.metadata.namespace && r.namespaced) o.metadata.namespace = opts.namespace;
    if (!o.metadata.name && o.metadata.generateName) o.metadata.name = `${o.metadata.generateName}${(++this.names).toString(36).padStart(5, "x")}`;
    this.record({ verb: "create", resource: r.resource, namespace: o.metadata.namespace, name: o.metadata.name, object: structuredClone(o) });
    const key = this.key(o.metadata.namespace, o.metadata.name!);
    if (this.store(r).has(key)) throw newAlreadyExists({ group: r.group, resource: r.resource }, o.metadata.name!);
    o.metadata.uid ??= `uid-${o.metadata.name}`;
    o.metadata.resourceVersion = String(++this.revision);
    o.metadata.creationTimestamp ??= "2026-01-01T00:00:00Z";
    if (!opts.dryRun) this.store(r).set(key, o);
    return structuredClone(o);
  }

  private replace<T extends KubeObject>(r: ResourceRef, obj: T, verb: "update" | "update-status", subresource?: string): T {
    const key = this.key(obj.metadata.namespace, obj.metadata.name!);
    const sub = verb === "update-status" ? "status" : subresource;
    this.record({ verb, resource: r.resource, namespace: obj.metadata.namespace, name: obj.metadata.name, object: structuredClone(obj), ...(sub ? { subresource: sub } : {}) });
    const cur = this.store(r).get(key);
    if (!cur) throw this.notFound(r, obj.metadata.name!);
    if (obj.metadata.resourceVersion && obj.metadata.resourceVersion !== cur.metadata.resourceVersion) {
      throw newConflict({ group: r.group, resource: r.resource }, obj.metadata.name!, "the object has been modified; please apply your changes to the latest version and try again");
    }
    const next = structuredClone(obj);
    if (sub === "finalize") {
      const fin = structuredClone(cur) as T & { spec?: Record<string, unknown> };
      fin.spec = { ...(fin.spec ?? {}), finalizers: (next as { spec?: { finalizers?: unknown } }).spec?.finalizers };
      fin.metadata.resourceVersion = String(++this.revision);
      return this.settle(r, key, fin);
    }
    if (verb === "update-status") {
      const merged = { ...structuredClone(cur), status: (next as { status?: unknown }).status } as unknown as T;
      merged.metadata.resourceVersion = String(++this.revision);
      this.store(r).set(key, merged);
      return structuredClone(merged);
    }
    (next as { status?: unknown }).status = (cur as { status?: unknown }).status;
    next.metadata = { ...next.metadata, uid: cur.metadata.uid, resourceVersion: String(++this.revision) };
    return this.settle(r, key, next);
  }

  /** Stores a written object; with lifecycle, one being deleted whose last finalizer went is removed instead. */
  private settle<T extends KubeObject>(r: ResourceRef, key: string, next: T): T {
    if (this.lifecycle && next.metadata.deletionTimestamp && !next.metadata.finalizers?.length && !namespaceFinalizers(r, next).length) {
      this.store(r).delete(key);
      return structuredClone(next);
    }
    this.store(r).set(key, next);
    return structuredClone(next);
  }

  async update<T extends KubeObject = KubeObject>(r: ResourceRef, obj: T, opts: UpdateOptions = {}): Promise<T> {
    return this.replace(r, obj, "update", opts.subresource);
  }

  async updateStatus<T extends KubeObject = KubeObject>(r: ResourceRef, obj: T): Promise<T> {
    return this.replace(r, obj, "update-status");
  }

  async patch<T extends KubeObject = KubeObject>(r: ResourceRef, namespace: string | undefined, name: string, patchType: PatchType, body: unknown, opts: PatchOptions = {}): Promise<T> {
    this.record({ verb: "patch", resource: r.resource, namespace, name, patchType, patch: structuredClone(body), ...(opts.subresource ? { subresource: opts.subresource } : {}) });
    const key = this.key(namespace, name);
    const cur = this.store(r).get(key);
    if (!cur) throw this.notFound(r, name);
    if (patchType === "json") throw new Error("FakeClient: json patches are not applied; use merge or strategic");
    const next = mergePatch(cur, body, "", patchType === "strategic") as T;
    next.metadata.resourceVersion = String(++this.revision);
    return this.settle(r, key, next);
  }

  async delete<T extends KubeObject = KubeObject>(r: ResourceRef, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<T> {
    this.record({ verb: "delete", resource: r.resource, namespace, name, options: opts });
    const key = this.key(namespace, name);
    const cur = this.store(r).get(key);
    if (!cur) throw this.notFound(r, name);
    if (opts.preconditions?.uid && opts.preconditions.uid !== cur.metadata.uid) {
      throw newConflict({ group: r.group, resource: r.resource }, name, `Precondition failed: UID in precondition: ${opts.preconditions.uid}, UID in object meta: ${cur.metadata.uid}`);
    }
    if (opts.preconditions?.resourceVersion && opts.preconditions.resourceVersion !== cur.metadata.resourceVersion) {
      throw newConflict({ group: r.group, resource: r.resource }, name, `Precondition failed: ResourceVersion in precondition: ${opts.preconditions.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`);
    }
    if (this.lifecycle) {
      const finalizers = gcFinalizers(cur.metadata.finalizers ?? [], opts.propagationPolicy);
      if (finalizers.length > 0 || namespaceFinalizers(r, cur).length > 0) {
        const next = structuredClone(cur);
        next.metadata.deletionTimestamp ??= this.now();
        next.metadata.deletionGracePeriodSeconds ??= 0;
        if (finalizers.length > 0) next.metadata.finalizers = finalizers;
        else delete next.metadata.finalizers;
        if (r.kind === "Namespace") (next as { status?: Record<string, unknown> }).status = { ...((next as { status?: Record<string, unknown> }).status ?? {}), phase: "Terminating" };
        next.metadata.resourceVersion = String(++this.revision);
        this.store(r).set(key, next);
        return structuredClone(next) as T;
      }
    }
    this.store(r).delete(key);
    return structuredClone(cur) as T;
  }

  /** Deletes every stored object of `r` (in the namespace, when given) one by one, as the API server's deletecollection. */
  async deleteCollection<T extends KubeObject = KubeObject>(r: ResourceRef, opts: DeleteCollectionOptions = {}): Promise<KubeList<T>> {
    const { namespace, labelSelector: _l, fieldSelector: _f, ...options } = opts;
    this.record({ verb: "deletecollection", resource: r.resource, namespace, name: undefined, options: opts });
    const items: T[] = [];
    for (const o of this.objects<T>(r)) {
      if (namespace && o.metadata.namespace !== namespace) continue;
      const saved = this.actions.length;
      items.push(await this.delete<T>(r, o.metadata.namespace, o.metadata.name!, options));
      this.actions.splice(saved); // one recorded action for the collection, as the API server's is one request
    }
    return { apiVersion: "v1", kind: `${r.kind}List`, metadata: { resourceVersion: String(this.revision) }, items } as KubeList<T>;
  }
}

/** A namespace's spec.finalizers (none for other kinds). */
function namespaceFinalizers(r: ResourceRef, o: KubeObject): unknown[] {
  if (r.kind !== "Namespace") return [];
  const f = (o as { spec?: { finalizers?: unknown } }).spec?.finalizers;
  return Array.isArray(f) ? f : [];
}

/** The finalizers a delete leaves (the API server's orphan/foregroundDeletion bookkeeping, without per-kind defaults). */
function gcFinalizers(finalizers: readonly string[], policy: DeleteOptions["propagationPolicy"]): string[] {
  if (policy === undefined) return [...finalizers];
  const out = finalizers.filter((f) => f !== "orphan" && f !== "foregroundDeletion");
  if (policy === "Orphan") out.push("orphan");
  if (policy === "Foreground") out.push("foregroundDeletion");
  return out;
}

/** An event as a FakeRecorder saw it. */
export interface RecordedEvent {
  object: string;
  type: string;
  reason: string;
  message: string;
}

/** Records events instead of writing them (client-go's FakeRecorder). */
export class FakeRecorder implements Recorder {
  readonly events: RecordedEvent[] = [];

  event(obj: KubeObject, type: string, reason: string, message: string): void {
    this.events.push({ object: objectKey(obj), type, reason, message });
  }

  /** "Normal SuccessfulCreate Created pod: x" lines, as client-go's FakeRecorder prints them. */
  lines(): string[] {
    return this.events.map((e) => `${e.type} ${e.reason} ${e.message}`);
  }
}
