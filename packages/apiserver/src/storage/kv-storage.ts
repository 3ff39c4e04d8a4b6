/**
 * KvStorage: the Storage contract over a KvBackend (upstream's etcd3 store). Every read goes
 * to the store; writes are compare-and-swap on modRevision.
 */
import { type Clock, newAlreadyExists, newBadRequest, newInternalError, newNotFound, realClock } from "@kubemu/common";
import { decodeContinue, decodeObject, encodeContinue, encodeObject, rawListResult, type RawObject } from "./codec.js";
import {
  expired,
  fromBackend,
  nameOfKey,
  parseResourceVersion,
  preconditionConflict,
  type ResourceRef,
  staleObjectConflict,
  tooLargeResourceVersion,
} from "./errors.js";
import type {
  DeleteOptions,
  KubeObject,
  ListOptions,
  ListResult,
  Preconditions,
  Storage,
  UpdateOptions,
  Watch,
  WatchOptions,
} from "./interface.js";
import { type KvBackend, KvCompactedError, type KvPair } from "./kv.js";
import { prefixEnd } from "@kubemu/etcd-raft";
import { EventQueue } from "./watch-queue.js";
import { bookmarkEvent, eventFor } from "./watch-filter.js";

/** The resource a Storage serves: names errors, and types BOOKMARK objects when kind is known. */
export interface ResourceInfo extends ResourceRef {
  kind?: string;
  apiVersion?: string;
}

export interface KvStorageOptions {
  resource: ResourceInfo;
  backend: KvBackend;
  clock?: Clock;
  /** Events buffered per watch before the producer waits (backpressure to the store). Default 1024. */
  watchBufferEvents?: number;
  /** How often an idle watch with allowBookmarks gets a BOOKMARK. Default 60 s (upstream: ~1 min). */
  bookmarkIntervalMs?: number;
}

/** How a list/get chooses its read revision. */
interface ReadPlan {
  /** Read exactly at this revision (0: latest). */
  exact: number;
  /** The latest read must be at least this revision (0: no minimum). */
  minimum: number;
}

/** Interprets resourceVersion + resourceVersionMatch (+ limit) as kube-apiserver does. */
export function planRead(opts: { resourceVersion?: string; resourceVersionMatch?: string; limit?: number }): ReadPlan {
  const rv = parseResourceVersion(opts.resourceVersion);
  const match = opts.resourceVersionMatch;
  if (match !== undefined && match !== "" && match !== "NotOlderThan" && match !== "Exact") {
    throw newBadRequest(`invalid resourceVersionMatch "${match}": must be NotOlderThan or Exact`);
  }
  if (match === "Exact") {
    if (!rv) throw newBadRequest('resourceVersionMatch "Exact" requires a resourceVersion other than "0"');
    return { exact: rv, minimum: 0 };
  }
  if (match === "NotOlderThan" && rv === undefined) throw newBadRequest('resourceVersionMatch "NotOlderThan" requires a resourceVersion');
  if (!rv) return { exact: 0, minimum: 0 };
  // A paged list at a given RV without a match is an exact read (legacy semantics).
  if (!match && opts.limit !== undefined && opts.limit > 0) return { exact: rv, minimum: 0 };
  return { exact: 0, minimum: rv };
}

export class KvStorage implements Storage {
  readonly resource: ResourceInfo;
  private readonly backend: KvBackend;
  private readonly clock: Clock;
  private readonly bufferEvents: number;
  private readonly bookmarkIntervalMs: number;

  constructor(opts: KvStorageOptions) {
    this.resource = opts.resource;
    this.backend = opts.backend;
    this.clock = opts.clock ?? realClock;
    this.bufferEvents = opts.watchBufferEvents ?? 1024;
    this.bookmarkIntervalMs = opts.bookmarkIntervalMs ?? 60_000;
  }

  // ---- writes ------------------------------------------------------------------------------

  async create(key: string, obj: KubeObject, opts: { dryRun?: boolean } = {}): Promise<KubeObject> {
    checkKey(key);
    const value = encodeObject(obj);
    if (opts.dryRun) {
      const cur = await this.read(key);
      if (cur) throw newAlreadyExists(this.resource, nameOfKey(key));
      return decodeForDryRun(value, key);
    }
    const r = await this.call(() => this.backend.create(key, value));
    if (!r.succeeded) throw newAlreadyExists(this.resource, nameOfKey(key));
    return decodeObject(value, r.revision, key);
  }

  async delete(key: string, opts: DeleteOptions = {}): Promise<KubeObject> {
    checkKey(key);
    const name = nameOfKey(key);
    for (;;) {
      const kv = await this.read(key);
      if (!kv) throw newNotFound(this.resource, name);
      const cur = decodeObject(kv.value, kv.modRevision, key);
      this.checkPreconditions(name, cur, opts.preconditions);
      if (opts.validateDeletion) await opts.validateDeletion(decodeObject(kv.value, kv.modRevision, key));
      if (opts.dryRun) return cur;
      const r = await this.call(() => this.backend.delete(key, kv.modRevision));
      if (r.succeeded) {
        cur.metadata.resourceVersion = String(r.revision);
        return cur;
      }
      // Changed or deleted since we read it: re-read and re-check.
    }
  }

  async guaranteedUpdate(
    key: string,
    tryUpdate: (current: KubeObject | undefined) => KubeObject | Promise<KubeObject>,
    opts: UpdateOptions = {},
  ): Promise<KubeObject> {
    checkKey(key);
    const name = nameOfKey(key);
    for (;;) {
      const kv = await this.read(key);
      if (!kv && !opts.ignoreNotFound) throw newNotFound(this.resource, name);
      const cur = kv ? decodeObject(kv.value, kv.modRevision, key) : undefined;
      this.checkPreconditions(name, cur ?? { metadata: {} }, opts.preconditions);
      const next = await tryUpdate(cur ? decodeObject(kv!.value, kv!.modRevision, key) : undefined);
      if (typeof next !== "object" || next === null || typeof next.metadata !== "object" || next.metadata === null) {
        throw newInternalError(`update of ${this.resource.resource} "${name}" produced no object`);
      }
      const sentRv = parseResourceVersion(next.metadata.resourceVersion);
      if (sentRv && sentRv !== (kv?.modRevision ?? 0)) throw staleObjectConflict(this.resource, name);
      const value = encodeObject(next);
      if (kv && Buffer.compare(Buffer.from(value), Buffer.from(kv.value)) === 0) return cur!; // nothing changed: no write
      if (opts.dryRun) return kv ? decodeObject(value, kv.modRevision, key) : decodeForDryRun(value, key);
      const r = await this.call(() => (kv ? this.backend.update(key, value, kv.modRevision) : this.backend.create(key, value)));
      if (r.succeeded) return decodeObject(value, r.revision, key);
      // Lost the compare-and-swap to a concurrent writer: reload and retry.
    }
  }

  // ---- reads -------------------------------------------------------------------------------

  async get(key: string, opts: { ignoreNotFound?: boolean; resourceVersion?: string } = {}): Promise<KubeObject | undefined> {
    checkKey(key);
    const plan = planRead({ ...(opts.resourceVersion !== undefined ? { resourceVersion: opts.resourceVersion } : {}) });
    const r = await this.call(() => this.backend.get(key), "get");
    if (plan.minimum > r.revision) throw tooLargeResourceVersion(plan.minimum, r.revision);
    if (!r.kv) {
      if (opts.ignoreNotFound) return undefined;
      throw newNotFound(this.resource, nameOfKey(key));
    }
    return decodeObject(r.kv.value, r.kv.modRevision, key);
  }

  async list(prefix: string, opts: ListOptions): Promise<ListResult> {
    checkKey(prefix);
    const limit = opts.limit !== undefined && opts.limit > 0 ? opts.limit : 0;
    if (!Number.isSafeInteger(limit)) throw newBadRequest(`invalid limit ${opts.limit}`);
    if (!opts.recursive) return this.listOne(prefix, opts);
    const dir = prefix.endsWith("/") ? prefix : `${prefix}/`;
    const end = prefixEnd(dir);
    let start = dir;
    let readRev = 0;
    let minimum = 0;
    let context: "list" | "continue" = "list";
    if (opts.continue) {
      if (opts.resourceVersion !== undefined && opts.resourceVersion !== "" && opts.resourceVersion !== "0") {
        throw newBadRequest("specifying resource version is not allowed when using continue");
      }
      const token = decodeContinue(opts.continue);
      start = dir + token.start;
      readRev = token.rv;
      context = "continue";
    } else {
      const plan = planRead({ ...opts, limit });
      readRev = plan.exact;
      minimum = plan.minimum;
    }
    // Without a predicate nothing needs the parsed objects: keep the stored bytes (rawListResult).
    const items: KubeObject[] = [];
    const raw: RawObject[] = [];
    const count = () => (opts.predicate ? items.length : raw.length);
    // Unlimited lists are still read in pages (at one revision) so no response frame gets huge.
    let batch = limit || RANGE_PAGE;
    let remaining: number | undefined;
    let nextStart: string | undefined;
    for (let first = true; ; first = false) {
      // Later pages read at the revision this list's first page established: no new ReadIndex.
      const r = await this.call(() => this.backend.range(start, end, { ...(readRev ? { revision: readRev } : {}), limit: batch, ...(first ? {} : { serializable: true }) }), context, readRev);
      if (readRev === 0) {
        readRev = r.revision;
        if (minimum > readRev) throw tooLargeResourceVersion(minimum, readRev);
      }
      let lastKey: string | undefined;
      let full = false;
      let i = 0;
      for (; i < r.kvs.length; i++) {
        const kv = r.kvs[i]!;
        lastKey = kv.key;
        if (opts.predicate) {
          const obj = decodeObject(kv.value, kv.modRevision, kv.key);
          if (!opts.predicate(obj)) continue;
          items.push(obj);
        } else raw.push({ key: kv.key, value: kv.value, rev: kv.modRevision });
        if (limit && count() === limit) {
          full = true;
          break;
        }
      }
      const more = (full && i < r.kvs.length - 1) || r.more;
      if (full) {
        if (more) {
          nextStart = lastKey! + "\0";
          if (!opts.predicate && first) remaining = r.count - count();
        }
        break;
      }
      if (!r.more || lastKey === undefined) break;
      start = lastKey + "\0";
      // A selective predicate: fetch bigger pages (upstream grows them too).
      if (limit) batch = Math.min(batch * 2, RANGE_PAGE * 2);
    }
    const meta: Omit<ListResult, "items"> = { resourceVersion: String(readRev) };
    if (nextStart !== undefined) {
      meta.continue = encodeContinue(readRev, nextStart.slice(dir.length));
      if (remaining !== undefined && remaining > 0) meta.remainingItemCount = remaining;
    }
    return opts.predicate ? { items, ...meta } : rawListResult(raw, meta);
  }

  async currentResourceVersion(): Promise<string> {
    return String(await this.call(() => this.backend.currentRevision()));
  }

  // ---- watch -------------------------------------------------------------------------------

  watch(keyOrPrefix: string, opts: WatchOptions): Watch {
    checkKey(keyOrPrefix);
    const rv = parseResourceVersion(opts.resourceVersion);
    const abort = new AbortController();
    const queue = new EventQueue(this.bufferEvents, () => abort.abort());
    if (opts.signal) {
      if (opts.signal.aborted) queue.stop();
      else opts.signal.addEventListener("abort", () => queue.stop(), { once: true });
    }
    if (!queue.done) void this.runWatch(keyOrPrefix, rv, opts, queue, abort.signal);
    return queue;
  }

  private async runWatch(keyOrPrefix: string, rv: number | undefined, opts: WatchOptions, queue: EventQueue, signal: AbortSignal): Promise<void> {
    const recursive = opts.recursive;
    const start = recursive && !keyOrPrefix.endsWith("/") ? `${keyOrPrefix}/` : keyOrPrefix;
    const end = recursive ? prefixEnd(start) : undefined;
    const initial = opts.sendInitialEvents ?? !rv;
    try {
      let from: number;
      if (initial) {
        const list = await this.list(start, {
          recursive,
          ...(rv ? { resourceVersion: String(rv), resourceVersionMatch: "NotOlderThan" as const } : {}),
          ...(opts.predicate ? { predicate: opts.predicate } : {}),
        });
        for (const obj of list.items) if (!(await queue.push({ type: "ADDED", object: obj }))) return;
        from = Number(list.resourceVersion);
        if (opts.sendInitialEvents && opts.allowBookmarks) {
          if (!(await queue.push(bookmarkEvent(from, this.resource, true)))) return;
        }
      } else {
        // "0" without initial events means "from any point": from now.
        from = rv ? rv : await this.call(() => this.backend.currentRevision());
      }
      const batches = this.backend.watch(start, end, {
        startRevision: from + 1,
        signal,
        ...(opts.allowBookmarks ? { progressIntervalMs: this.bookmarkIntervalMs } : {}),
      });
      for await (const b of batches) {
        if (b.progress) {
          if (opts.allowBookmarks && !(await queue.push(bookmarkEvent(b.revision, this.resource)))) return;
          continue;
        }
        for (const c of b.changes) {
          const cur = c.value ? decodeObject(c.value, c.revision, c.key) : undefined;
          const prev = c.prevValue ? decodeObject(c.prevValue, c.revision, c.key) : undefined;
          const ev = eventFor(cur, prev, opts.predicate);
          if (ev && !(await queue.push(ev))) return;
        }
      }
      queue.end();
    } catch (e) {
      if (queue.done) return;
      const err = e instanceof KvCompactedError ? expired("watch") : fromBackend(e, "watch");
      await queue.push({ type: "ERROR", object: err.status });
      queue.end();
    }
  }

  // ---- helpers -----------------------------------------------------------------------------

  private async listOne(key: string, opts: ListOptions): Promise<ListResult> {
    const plan = planRead(opts);
    const r = await this.call(() => this.backend.get(key, plan.exact || undefined), "list", plan.exact);
    if (plan.minimum > r.revision) throw tooLargeResourceVersion(plan.minimum, r.revision);
    const items: KubeObject[] = [];
    if (r.kv) {
      const obj = decodeObject(r.kv.value, r.kv.modRevision, key);
      if (!opts.predicate || opts.predicate(obj)) items.push(obj);
    }
    return { items, resourceVersion: String(plan.exact || r.revision) };
  }

  private async read(key: string): Promise<KvPair | undefined> {
    return (await this.call(() => this.backend.get(key))).kv;
  }

  private async call<T>(fn: () => Promise<T>, context: "list" | "continue" | "watch" | "get" = "get", requested?: number): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw fromBackend(e, context, requested);
    }
  }

  private checkPreconditions(name: string, cur: KubeObject, p: Preconditions | undefined): void {
    if (!p) return;
    if (p.uid !== undefined && p.uid !== cur.metadata.uid) throw preconditionConflict(this.resource, name, "UID", p.uid, cur.metadata.uid);
    if (p.resourceVersion !== undefined && p.resourceVersion !== cur.metadata.resourceVersion) {
      throw preconditionConflict(this.resource, name, "ResourceVersion", p.resourceVersion, cur.metadata.resourceVersion);
    }
  }
}

/** Keys per store read: keeps each response well under the wire's 16 MiB frame limit. */
export const RANGE_PAGE = 1000;

/** Keys are absolute paths; anything else is a programming error in the caller. */
export function checkKey(key: string): void {
  if (typeof key !== "string" || !key.startsWith("/") || key.length < 2) throw newInternalError(`invalid storage key ${JSON.stringify(key)}`);
}

/** A dry-run result: what would be stored, without a resourceVersion. */
function decodeForDryRun(value: Uint8Array, key: string): KubeObject {
  const obj = decodeObject(value, 0, key);
  delete obj.metadata.resourceVersion;
  return obj;
}

