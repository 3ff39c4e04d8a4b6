/**
 * Cacher: the watch cache (upstream k8s.io/apiserver/pkg/storage/cacher), one per resource
 * per apiserver.
 *
 * - One store watch over the resource's key prefix feeds every client watch, so N clients
 *   watching pods cost the store one watch, not N.
 * - The cache holds every object of the resource at revision `rev` and serves
 *   `resourceVersion=0` lists/gets from memory, and `resourceVersion=N` (not older than N)
 *   ones once the cache has reached N (waiting up to freshWaitMs, then 504 Too large
 *   resource version). Consistent reads (RV unset), Exact reads, paged reads (limit with
 *   RV ≠ 0) and continues go to the store, as upstream does without ConsistentListFromCache.
 * - It keeps a window of the most recent `windowEvents` changes: a watch from RV N is served
 *   from the window when N is still covered, else it gets ERROR 410 Expired ("too old
 *   resource version") and the client re-lists.
 * - BOOKMARK events every bookmarkIntervalMs for watches that allow them, carrying the cache's
 *   revision (advanced by store progress marks even when this resource is idle).
 * - Slow consumers: each watcher buffers at most `watcherBufferEvents` live events beyond its
 *   initial events. A watcher whose buffer is full when an event arrives is terminated
 *   (its stream ends after the events already queued), as upstream terminates unresponsive
 *   watchers; the client re-watches from the last resourceVersion it received and misses
 *   nothing, or gets 410 and re-lists. Dispatch never blocks on a slow client.
 * - If the store watch fails (e.g. its revision was compacted while it lagged), the cache
 *   re-lists; every client watch is ended so clients re-watch against the new state.
 * - Until the first list completes, every request is delegated to the store.
 *
 * Writes are delegated to the underlying storage; the cache learns of them via its watch.
 */
import { type Clock, type Logger, newResourceExpired, realClock, silentLogger, type Timer } from "@kubemu/common";
import { decodeObject, rawListResult } from "./codec.js";
import { tooLargeResourceVersion, parseResourceVersion } from "./errors.js";
import type {
  DeleteOptions,
  KubeObject,
  ListOptions,
  ListResult,
  Storage,
  UpdateOptions,
  Watch,
  WatchEvent,
  WatchOptions,
} from "./interface.js";
import { type KvBackend, type KvWatchBatch } from "./kv.js";
import { prefixEnd } from "@kubemu/etcd-raft";
import { checkKey, type KvStorage, planRead, RANGE_PAGE, type ResourceInfo } from "./kv-storage.js";
import { bookmarkEvent, eventFor, type Predicate } from "./watch-filter.js";
import { EventQueue } from "./watch-queue.js";

export interface CacherOptions {
  clock?: Clock;
  logger?: Logger;
  /** Recent changes kept for watches from an older RV. Default 1024. */
  windowEvents?: number;
  /** Live events a client watch may have queued before it is terminated. Default 1000. */
  watcherBufferEvents?: number;
  /** BOOKMARK period for watches that allow them. Default 60 s. */
  bookmarkIntervalMs?: number;
  /** Progress marks requested from the store while idle (keeps `rev` current). Default 1 s. */
  progressIntervalMs?: number;
  /** How long a not-older-than read waits for the cache to catch up. Default 3 s. */
  freshWaitMs?: number;
  /** Delay before re-listing after the store watch failed. Default 100 ms (doubling to 5 s). */
  restartDelayMs?: number;
}

/** A snapshot of a cache's state (see Cacher.stats). */
export interface CacherStats {
  resource: string;
  ready: boolean;
  revision: number;
  objects: number;
  watchers: number;
  windowEvents: number;
  /** Times the cache re-listed after its store watch failed. */
  relists: number;
  /** Client watches terminated for not keeping up. */
  slowTerminations: number;
}

/**
 * One cached object: the stored bytes, from which every consumer gets its own copy (JSON.parse
 * is cheaper than a structured clone), and the parsed form for predicates, decoded on first use:
 * most objects are never filtered (no watcher or list with a selector), and parsing every change
 * on arrival was a large share of an apiserver's CPU under write load.
 */
class Cached {
  private parsed: KubeObject | undefined;
  constructor(
    readonly key: string,
    readonly value: Uint8Array,
    readonly rev: number,
  ) {}

  /** The parsed form (shared: predicates read it, nobody mutates it). */
  get obj(): KubeObject {
    return (this.parsed ??= decodeObject(this.value, this.rev, this.key));
  }
}

/** A private copy of a cached object, with resourceVersion rev (default: its own). */
function copyOf(c: Cached, rev = c.rev): KubeObject {
  return decodeObject(c.value, rev, c.key);
}

/** Stands for an object whose content does not matter (eventFor without a predicate). */
const PRESENT: KubeObject = { metadata: {} };

/** One change in the window. */
interface CacheEvent {
  key: string;
  revision: number;
  cur: Cached | undefined;
  prev: Cached | undefined;
}

/** The event a watcher with this predicate sees for ev, as its own copy (undefined: none). */
function eventOf(ev: CacheEvent, predicate: Predicate | undefined): WatchEvent | undefined {
  // Without a predicate only presence matters: leave the objects unparsed.
  const out = predicate ? eventFor(ev.cur?.obj, ev.prev?.obj, predicate) : eventFor(ev.cur && PRESENT, ev.prev && PRESENT, undefined);
  if (!out) return undefined;
  // A DELETED (removed, or moved out of the predicate) carries the previous state at the change's revision.
  const object = out.type === "DELETED" ? copyOf(ev.prev!, ev.revision) : copyOf(ev.cur!);
  return { type: out.type, object };
}

interface CacheWatcher {
  queue: EventQueue;
  key: string;
  recursive: boolean;
  predicate: Predicate | undefined;
  allowBookmarks: boolean;
  /** Events at or below this revision were already covered (initial state or start RV). */
  after: number;
  /** Revision of the last event or bookmark queued. */
  sent: number;
}

export class Cacher implements Storage {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly windowSize: number;
  private readonly watcherBuffer: number;
  private readonly freshWaitMs: number;
  private readonly progressIntervalMs: number;
  private readonly restartDelayMs: number;
  private readonly end: Uint8Array;

  private readonly objects = new Map<string, Cached>();
  /** The cache reflects the store at this revision (0: not ready). */
  private rev = 0;
  private window: CacheEvent[] = [];
  /** Every change with a revision above this is in the window. */
  private windowLow = 0;
  private readonly watchers = new Set<CacheWatcher>();
  private freshWaiters: { rev: number; resolve: () => void }[] = [];
  private readonly abort = new AbortController();
  private readonly bookmarkTimer: Timer;
  /** Number of times the store watch was (re)established; for tests and metrics. */
  generation = 0;
  /** Watchers terminated for being too slow; for tests and metrics. */
  slowTerminations = 0;

  constructor(
    private readonly inner: KvStorage,
    private readonly backend: KvBackend,
    readonly resource: ResourceInfo,
    /** Key prefix of the resource, ending in "/" (e.g. "/registry/pods/"). */
    readonly prefix: string,
    opts: CacherOptions = {},
  ) {
    if (!prefix.startsWith("/") || !prefix.endsWith("/")) throw new Error(`Cacher: prefix must start and end with "/", got ${prefix}`);
    this.clock = opts.clock ?? realClock;
    this.log = opts.logger ?? silentLogger;
    this.windowSize = opts.windowEvents ?? 1024;
    this.watcherBuffer = opts.watcherBufferEvents ?? 1000;
    this.freshWaitMs = opts.freshWaitMs ?? 3000;
    this.progressIntervalMs = opts.progressIntervalMs ?? 1000;
    this.restartDelayMs = opts.restartDelayMs ?? 100;
    this.end = prefixEnd(prefix);
    this.bookmarkTimer = this.clock.setInterval(() => this.sendBookmarks(), opts.bookmarkIntervalMs ?? 60_000);
    void this.run();
  }

  /** True once the cache holds the resource's state. */
  get ready(): boolean {
    return this.rev > 0;
  }

  /** The revision the cache reflects (0 while not ready). */
  get revision(): number {
    return this.rev;
  }

  /** Numbers for /metrics and debugging. */
  stats(): CacherStats {
    return {
      resource: this.resource.group ? `${this.resource.resource}.${this.resource.group}` : this.resource.resource,
      ready: this.ready,
      revision: this.rev,
      objects: this.objects.size,
      watchers: this.watchers.size,
      windowEvents: this.window.length,
      relists: Math.max(0, this.generation - 1),
      slowTerminations: this.slowTerminations,
    };
  }

  /** Stops the store watch and ends every client watch. */
  stop(): void {
    this.abort.abort();
    this.bookmarkTimer.cancel();
    this.reset();
  }

  // ---- writes: delegated -------------------------------------------------------------------

  create(key: string, obj: KubeObject, opts?: { dryRun?: boolean }): Promise<KubeObject> {
    return this.inner.create(key, obj, opts);
  }

  delete(key: string, opts?: DeleteOptions): Promise<KubeObject> {
    return this.inner.delete(key, opts);
  }

  guaranteedUpdate(key: string, tryUpdate: (current: KubeObject | undefined) => KubeObject | Promise<KubeObject>, opts?: UpdateOptions): Promise<KubeObject> {
    return this.inner.guaranteedUpdate(key, tryUpdate, opts);
  }

  currentResourceVersion(): Promise<string> {
    return this.inner.currentResourceVersion();
  }

  // ---- reads -------------------------------------------------------------------------------

  async get(key: string, opts: { ignoreNotFound?: boolean; resourceVersion?: string } = {}): Promise<KubeObject | undefined> {
    checkKey(key);
    const rv = parseResourceVersion(opts.resourceVersion);
    if (rv === undefined || !this.ready || !this.covers(key)) return this.inner.get(key, opts);
    await this.waitFresh(rv);
    const cached = this.objects.get(key);
    if (cached) return copyOf(cached);
    // Not in the cache: let the store answer (and word the NotFound).
    return this.inner.get(key, { ...(opts.ignoreNotFound ? { ignoreNotFound: true } : {}) });
  }

  async list(prefix: string, opts: ListOptions): Promise<ListResult> {
    checkKey(prefix);
    const plan = planRead(opts);
    const rv = parseResourceVersion(opts.resourceVersion);
    const fromCache =
      this.ready &&
      this.covers(prefix) &&
      !opts.continue &&
      rv !== undefined &&
      plan.exact === 0 &&
      (rv === 0 || !(opts.limit !== undefined && opts.limit > 0));
    if (!fromCache) return this.inner.list(prefix, opts);
    await this.waitFresh(plan.minimum);
    const items = this.snapshot(prefix, opts.recursive, opts.predicate);
    return rawListResult(items, { resourceVersion: String(this.rev) });
  }

  watch(keyOrPrefix: string, opts: WatchOptions): Watch {
    checkKey(keyOrPrefix);
    const rv = parseResourceVersion(opts.resourceVersion);
    // RV unset is a consistent request ("from now", or a consistent initial state with
    // sendInitialEvents): the store serves it, as upstream does without ConsistentListFromCache.
    if (!this.ready || !this.covers(keyOrPrefix) || rv === undefined) {
      return this.inner.watch(keyOrPrefix, opts);
    }
    const recursive = opts.recursive;
    const key = recursive && !keyOrPrefix.endsWith("/") ? `${keyOrPrefix}/` : keyOrPrefix;
    const initial = opts.sendInitialEvents ?? rv === 0;
    if (initial && rv !== undefined && rv > this.rev) {
      // The initial state must be at least as new as rv: wait for the cache, then start.
      return this.deferredWatch(keyOrPrefix, opts, rv);
    }
    return this.startWatch(key, recursive, rv, initial, opts);
  }

  // ---- watch internals ---------------------------------------------------------------------

  private startWatch(key: string, recursive: boolean, rv: number, initial: boolean, opts: WatchOptions): Watch {
    const events: WatchEvent[] = [];
    let after: number;
    if (initial) {
      for (const c of this.snapshot(key, recursive, opts.predicate)) events.push({ type: "ADDED", object: copyOf(c) });
      after = this.rev;
      if (opts.sendInitialEvents && opts.allowBookmarks) events.push(bookmarkEvent(this.rev, this.resource, true));
    } else {
      // "0" without initial events means "from any point": from now.
      if (rv === 0) rv = this.rev;
      if (rv < this.windowLow) return this.failedWatch(`too old resource version: ${rv} (${this.windowLow})`);
      after = rv;
      for (const ev of this.window) {
        if (ev.revision <= rv || !matchesKey(key, recursive, ev.key)) continue;
        const out = eventOf(ev, opts.predicate);
        if (out) events.push(out);
      }
    }
    const w: CacheWatcher = {
      queue: new EventQueue(events.length + this.watcherBuffer, () => this.watchers.delete(w)),
      key,
      recursive,
      predicate: opts.predicate,
      allowBookmarks: opts.allowBookmarks === true,
      after,
      sent: Math.max(after, this.rev),
    };
    for (const ev of events) w.queue.tryPush(ev);
    this.watchers.add(w);
    if (opts.signal) {
      if (opts.signal.aborted) w.queue.stop();
      else opts.signal.addEventListener("abort", () => w.queue.stop(), { once: true });
    }
    return w.queue;
  }

  /** A watch whose start waits for the cache to reach rv (or fails with 504 after freshWaitMs). */
  private deferredWatch(keyOrPrefix: string, opts: WatchOptions, rv: number): Watch {
    let inner: Watch | undefined;
    const proxy = new EventQueue(this.watcherBuffer, () => inner?.stop());
    void (async () => {
      try {
        await this.waitFresh(rv);
      } catch (e) {
        const status = (e as { status?: WatchEvent["object"] }).status;
        if (status) await proxy.push({ type: "ERROR", object: status });
        proxy.end();
        return;
      }
      if (proxy.done) return;
      inner = this.watch(keyOrPrefix, opts);
      for await (const ev of inner) if (!(await proxy.push(ev))) break;
      proxy.end();
    })();
    return proxy;
  }

  private failedWatch(message: string): Watch {
    const q = new EventQueue(1);
    q.tryPush({ type: "ERROR", object: newResourceExpired(message).status });
    q.end();
    return q;
  }

  // ---- feeding the cache -------------------------------------------------------------------

  private async run(): Promise<void> {
    let delay = this.restartDelayMs;
    while (!this.abort.signal.aborted) {
      try {
        await this.listAndWatch();
        delay = this.restartDelayMs;
      } catch (e) {
        if (this.abort.signal.aborted) return;
        this.log.warn({ resource: this.resource.resource, err: e instanceof Error ? e.message : String(e) }, "watch cache: store watch failed; re-listing");
      }
      this.reset();
      if (this.abort.signal.aborted) return;
      try {
        await this.clock.sleep(delay, this.abort.signal);
      } catch {
        return;
      }
      delay = Math.min(delay * 2, 5000);
    }
  }

  private async listAndWatch(): Promise<void> {
    const first = await this.backend.range(this.prefix, this.end, { limit: RANGE_PAGE });
    let page = first;
    let revision = first.revision;
    const objects = new Map<string, Cached>();
    for (;;) {
      for (const kv of page.kvs) objects.set(kv.key, new Cached(kv.key, kv.value, kv.modRevision));
      if (!page.more || page.kvs.length === 0) break;
      page = await this.backend.range(page.kvs[page.kvs.length - 1]!.key + "\0", this.end, { revision, limit: RANGE_PAGE, serializable: true });
    }
    if (this.abort.signal.aborted) return;
    for (const [k, v] of objects) this.objects.set(k, v);
    this.rev = revision;
    this.windowLow = revision;
    this.generation++;
    this.wakeFresh();
    for await (const batch of this.backend.watch(this.prefix, this.end, {
      startRevision: revision + 1,
      progressIntervalMs: this.progressIntervalMs,
      signal: this.abort.signal,
    })) {
      this.apply(batch);
      revision = this.rev;
    }
  }

  /** Applies one revision's changes to the cache and hands them to every watcher. */
  private apply(batch: KvWatchBatch): void {
    if (batch.revision <= this.rev) return;
    for (const c of batch.changes) {
      const prev = this.objects.get(c.key);
      const cur = c.value ? new Cached(c.key, c.value, c.revision) : undefined;
      if (cur) this.objects.set(c.key, cur);
      else this.objects.delete(c.key);
      const ev: CacheEvent = { key: c.key, revision: c.revision, cur, prev };
      this.window.push(ev);
      this.dispatch(ev);
    }
    if (this.window.length > this.windowSize) {
      const drop = this.window.length - this.windowSize;
      this.windowLow = this.window[drop - 1]!.revision;
      this.window = this.window.slice(drop);
    }
    this.rev = batch.revision;
    this.wakeFresh();
  }

  private dispatch(ev: CacheEvent): void {
    for (const w of this.watchers) {
      if (ev.revision <= w.after || !matchesKey(w.key, w.recursive, ev.key)) continue;
      const out = eventOf(ev, w.predicate);
      if (!out) continue;
      if (w.queue.tryPush(out)) {
        w.sent = ev.revision;
        continue;
      }
      // Slow consumer: terminate it; it re-watches from the last RV it received.
      this.slowTerminations++;
      this.log.info({ resource: this.resource.resource, buffered: w.queue.size }, "watch cache: terminating a watcher that is not keeping up");
      this.watchers.delete(w);
      w.queue.end();
    }
  }

  private sendBookmarks(): void {
    if (!this.ready) return;
    for (const w of this.watchers) {
      if (!w.allowBookmarks || this.rev <= w.sent) continue;
      // A full buffer skips the bookmark (bookmarks are advisory), it does not terminate the watcher.
      if (w.queue.tryPush(bookmarkEvent(this.rev, this.resource))) w.sent = this.rev;
    }
  }

  /** Forgets the cached state and ends every watcher (after a store watch failure or stop). */
  private reset(): void {
    this.rev = 0;
    this.objects.clear();
    this.window = [];
    this.windowLow = 0;
    for (const w of this.watchers) w.queue.end();
    this.watchers.clear();
  }

  // ---- helpers -----------------------------------------------------------------------------

  private covers(key: string): boolean {
    return key.startsWith(this.prefix) || `${key}/` === this.prefix;
  }

  /** Cached objects under key (or the one object at key), sorted by key, filtered. */
  private snapshot(key: string, recursive: boolean, predicate: Predicate | undefined): Cached[] {
    const out: Cached[] = [];
    if (!recursive) {
      const c = this.objects.get(key);
      if (c && (!predicate || passes(predicate, c.obj))) out.push(c);
    } else {
      const dir = key.endsWith("/") ? key : `${key}/`;
      for (const [k, c] of this.objects) if (k.startsWith(dir) && (!predicate || passes(predicate, c.obj))) out.push(c);
      out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    }
    return out;
  }

  /** Resolves once the cache reflects revision rev; 504 Too large resource version after freshWaitMs. */
  private waitFresh(rev: number): Promise<void> {
    if (this.rev >= rev) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        rev,
        resolve: () => {
          timer.cancel();
          resolve();
        },
      };
      const timer = this.clock.setTimeout(() => {
        this.freshWaiters = this.freshWaiters.filter((x) => x !== waiter);
        reject(tooLargeResourceVersion(rev, this.rev || undefined));
      }, this.freshWaitMs);
      this.freshWaiters.push(waiter);
    });
  }

  private wakeFresh(): void {
    if (this.freshWaiters.length === 0) return;
    const keep: typeof this.freshWaiters = [];
    for (const w of this.freshWaiters) {
      if (this.rev >= w.rev) w.resolve();
      else keep.push(w);
    }
    this.freshWaiters = keep;
  }
}

function matchesKey(key: string, recursive: boolean, candidate: string): boolean {
  return recursive ? candidate.startsWith(key) : candidate === key;
}

function passes(predicate: Predicate | undefined, obj: KubeObject): boolean {
  if (!predicate) return true;
  try {
    return predicate(obj);
  } catch {
    return false;
  }
}
