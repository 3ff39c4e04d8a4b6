/**
 * SharedInformer: a local, eventually consistent copy of one resource (optionally one namespace or
 * selector), kept by listing and then watching from the list's resourceVersion (client-go's
 * reflector + shared index informer), with handlers told of every change.
 *
 * Guarantees, as client-go's:
 * - the cache converges to the server's state; each object's states appear in order, possibly
 *   skipping some (a relist jumps to the latest);
 * - handlers are called in order, one event at a time, after the cache changed;
 * - a delete the informer missed (it relisted and the object was gone) arrives as a
 *   {@link DeletedFinalStateUnknown} tombstone holding the last state it knew;
 * - after a 410 (the watch's revision was compacted) it relists; any other watch failure resumes
 *   the watch from the last revision seen (the ApiClient already does so across API servers);
 * - hasSynced() is true once the first list has been delivered to the cache and the handlers.
 * Objects handed out are the informer's own: never change them (copy with structuredClone).
 */
import type { Logger } from "pino";
import type { KubeList, KubeObject, WatchEvent } from "../api/object.js";
import { realClock, type Clock, type Timer } from "../clock.js";
import { silentLogger } from "../logger.js";
import { randomRng, type Rng } from "../rng.js";
import { isGone, isStatus, StatusError, fromStatus, type Status } from "../status.js";
import { Indexer, objectKey, type IndexFunc, type Lister } from "./indexer.js";

/** The last state of an object whose delete the informer did not see as an event. */
export class DeletedFinalStateUnknown<T extends KubeObject = KubeObject> {
  constructor(
    readonly key: string,
    readonly obj: T,
  ) {}
}

/** The object of a delete notification, tombstone or not. */
export function deletedObject<T extends KubeObject>(obj: T | DeletedFinalStateUnknown<T>): T {
  return obj instanceof DeletedFinalStateUnknown ? obj.obj : obj;
}

export interface EventHandler<T extends KubeObject = KubeObject> {
  /** isInInitialList: the object came with the first list (not a later add). */
  onAdd?(obj: T, isInInitialList: boolean): void;
  /** Also called by resyncs and relists with the same object twice; compare resourceVersions to skip them. */
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T | DeletedFinalStateUnknown<T>): void;
}

/** What an informer reads from: a list and a watch of one resource. */
export interface ListerWatcher<T extends KubeObject = KubeObject> {
  list(opts: { resourceVersion: string }): Promise<KubeList<T>>;
  watch(opts: { resourceVersion: string; signal: AbortSignal }): AsyncIterable<WatchEvent>;
}

export interface InformerOptions<T extends KubeObject = KubeObject> {
  /** For log lines, e.g. "pods". */
  name: string;
  listerWatcher: ListerWatcher<T>;
  /** Periodic onUpdate(obj, obj) for every object; 0 (default) = never. */
  resyncMs?: number;
  indexers?: Record<string, IndexFunc<T>>;
  /** Applied to every object before it enters the cache (e.g. to drop managedFields). */
  transform?: (obj: T) => T;
  /** Deep-freeze cached objects so a handler that changes one throws (tests). */
  freeze?: boolean;
  clock?: Clock;
  rng?: Rng;
  logger?: Logger;
  /** Backoff after a failed list or watch: initial and cap (client-go: 800 ms → 30 s). */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
}

interface Registration<T extends KubeObject> {
  handler: EventHandler<T>;
  resync: boolean;
}

export class SharedInformer<T extends KubeObject = KubeObject> {
  readonly name: string;
  private readonly store: Indexer<T>;
  private readonly lw: ListerWatcher<T>;
  private readonly clock: Clock;
  private readonly rng: Rng;
  private readonly log: Logger;
  private readonly transform: ((obj: T) => T) | undefined;
  private readonly freeze: boolean;
  private readonly resyncMs: number;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly handlers: Registration<T>[] = [];
  private synced = false;
  private lastRv = "";
  private started = false;
  private syncWaiters: (() => void)[] = [];
  private resyncTimer: Timer | undefined;
  private relists = 0;
  private watches = 0;

  constructor(opts: InformerOptions<T>) {
    this.name = opts.name;
    this.lw = opts.listerWatcher;
    this.store = new Indexer<T>(opts.indexers ?? {});
    this.clock = opts.clock ?? realClock;
    this.rng = opts.rng ?? randomRng().rng;
    this.log = (opts.logger ?? silentLogger).child({ informer: opts.name });
    this.transform = opts.transform;
    this.freeze = opts.freeze ?? false;
    this.resyncMs = opts.resyncMs ?? 0;
    this.backoffInitialMs = opts.backoffInitialMs ?? 800;
    this.backoffMaxMs = opts.backoffMaxMs ?? 30_000;
  }

  /** The cache, read-only. */
  get lister(): Lister<T> {
    return this.store;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** The revision the cache is at (the last list, event or bookmark). */
  get lastSyncResourceVersion(): string {
    return this.lastRv;
  }

  /** How many times the informer listed, and opened a watch (for tests and metrics). */
  get stats(): { lists: number; watches: number } {
    return { lists: this.relists, watches: this.watches };
  }

  addIndexers(indexers: Record<string, IndexFunc<T>>): void {
    for (const [name, fn] of Object.entries(indexers)) this.store.addIndexer(name, fn);
  }

  /**
   * Registers a handler. Added after the informer has synced, it is told of every cached object
   * as an add first, as client-go does. resync: also receive the periodic resync updates.
   */
  addEventHandler(handler: EventHandler<T>, opts: { resync?: boolean } = {}): { remove(): void } {
    const reg: Registration<T> = { handler, resync: opts.resync ?? true };
    this.handlers.push(reg);
    if (this.synced) for (const obj of this.store.values()) this.call(reg, "onAdd", () => handler.onAdd?.(obj, true));
    return {
      remove: () => {
        const i = this.handlers.indexOf(reg);
        if (i !== -1) this.handlers.splice(i, 1);
      },
    };
  }

  /** Resolves true once synced, false if the signal aborts first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = () => resolve(false);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.syncWaiters.push(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve(true);
      });
    });
  }

  /** Lists and watches until the signal aborts. Resolves when stopped; never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    if (this.started) throw new Error(`informer ${this.name} already started`);
    this.started = true;
    if (this.resyncMs > 0) this.resyncTimer = this.clock.setInterval(() => this.resync(), this.resyncMs);
    let failures = 0;
    let needList = true;
    try {
      while (!signal.aborted) {
        try {
          if (needList) {
            await this.listAndReplace();
            needList = false;
          }
          const began = this.clock.now();
          const events = await this.watchOnce(signal);
          // client-go's "very short watch": a watch closed within a second with nothing in it is a
          // failure (backoff), or a server that keeps closing watches would be asked again at once, forever.
          if (events === 0 && !signal.aborted && this.clock.now() - began < 1000) throw new Error("very short watch: closed within a second with no events");
          failures = 0;
        } catch (e) {
          if (signal.aborted) break;
          if (isGone(e)) {
            // The revision we were at is gone: the next list must read the latest state.
            this.log.info({ resourceVersion: this.lastRv }, "watch revision expired; relisting");
            this.lastRv = "";
            needList = true;
            continue;
          }
          failures++;
          const delay = this.backoff(failures);
          this.log.warn({ err: e instanceof Error ? e.message : String(e), retryInMs: Math.round(delay) }, needList ? "list failed" : "watch failed");
          try {
            await this.clock.sleep(delay, signal);
          } catch {
            break;
          }
        }
      }
    } finally {
      this.resyncTimer?.cancel();
    }
  }

  private backoff(failures: number): number {
    const base = Math.min(this.backoffMaxMs, this.backoffInitialMs * 2 ** Math.min(failures - 1, 30));
    return base * (0.5 + this.rng.float() * 0.5);
  }

  private async listAndReplace(): Promise<void> {
    // "0" lets an API server answer from its watch cache; after a 410 the latest state is needed.
    const list = await this.lw.list({ resourceVersion: this.lastRv === "" && this.relists > 0 ? "" : this.lastRv || "0" });
    this.relists++;
    const initial = !this.synced;
    const seen = new Set<string>();
    const items: T[] = [];
    for (const raw of list.items ?? []) {
      const obj = this.accept(raw);
      if (!obj) continue;
      seen.add(objectKey(obj));
      items.push(obj);
    }
    for (const key of this.store.keys()) {
      if (seen.has(key)) continue;
      const old = this.store.delete(key)!;
      this.notify("onDelete", (h) => h.onDelete?.(new DeletedFinalStateUnknown(key, old)));
    }
    for (const obj of items) {
      const old = this.store.set(obj);
      if (old) this.notify("onUpdate", (h) => h.onUpdate?.(old, obj));
      else this.notify("onAdd", (h) => h.onAdd?.(obj, initial));
    }
    this.lastRv = list.metadata?.resourceVersion ?? this.lastRv;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  /** One watch from lastRv until it ends (normally: resume; 410: throws Gone). Answers the events it received. */
  private async watchOnce(signal: AbortSignal): Promise<number> {
    this.watches++;
    let received = 0;
    const stream = this.lw.watch({ resourceVersion: this.lastRv, signal });
    for await (const ev of stream) {
      received++;
      if (signal.aborted) return received;
      if (ev.type === "ERROR") throw isStatus(ev.object) ? fromStatus(ev.object as Status) : new StatusError({ kind: "Status", apiVersion: "v1", status: "Failure", code: 500, reason: "InternalError", message: "watch ERROR event without a Status", metadata: {} });
      const rv = (ev.object as KubeObject | undefined)?.metadata?.resourceVersion;
      if (ev.type === "BOOKMARK") {
        if (typeof rv === "string" && rv !== "") this.lastRv = rv;
        continue;
      }
      const obj = this.accept(ev.object as T);
      if (!obj) continue;
      const key = objectKey(obj);
      if (ev.type === "DELETED") {
        const old = this.store.delete(key);
        if (old) this.notify("onDelete", (h) => h.onDelete?.(obj));
      } else if (ev.type === "ADDED" || ev.type === "MODIFIED") {
        const old = this.store.set(obj);
        if (old) this.notify("onUpdate", (h) => h.onUpdate?.(old, obj));
        else this.notify("onAdd", (h) => h.onAdd?.(obj, false));
      } else {
        this.log.warn({ type: (ev as { type: unknown }).type }, "skipping a watch event of unknown type");
        continue;
      }
      if (typeof rv === "string" && rv !== "") this.lastRv = rv;
    }
    return received;
  }

  /** Validates an object from the server; a malformed one is logged and skipped. */
  private accept(raw: T): T | undefined {
    const meta = (raw as KubeObject | undefined)?.metadata;
    if (typeof raw !== "object" || raw === null || typeof meta !== "object" || meta === null || typeof meta.name !== "string" || meta.name === "") {
      this.log.warn({ object: summarize(raw) }, "skipping a malformed object (no metadata.name)");
      return undefined;
    }
    let obj = raw;
    if (this.transform) {
      try {
        obj = this.transform(raw);
      } catch (e) {
        this.log.warn({ key: objectKey(raw), err: e instanceof Error ? e.message : String(e) }, "skipping an object the transform rejected");
        return undefined;
      }
    }
    return this.freeze ? deepFreeze(obj) : obj;
  }

  private resync(): void {
    if (!this.synced) return;
    for (const reg of this.handlers) {
      if (!reg.resync || !reg.handler.onUpdate) continue;
      for (const obj of this.store.values()) this.call(reg, "onUpdate", () => reg.handler.onUpdate!(obj, obj));
    }
  }

  private notify(what: string, fn: (h: EventHandler<T>) => void): void {
    for (const reg of this.handlers) this.call(reg, what, () => fn(reg.handler));
  }

  private call(_reg: Registration<T>, what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      // A broken handler must not stop the informer or the other handlers.
      this.log.error({ err: e instanceof Error ? (e.stack ?? e.message) : String(e), handler: what }, "event handler threw");
    }
  }
}

function summarize(v: unknown): string {
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 200 ? `${s.slice(0, 200)}…` : s;
  } catch {
    return String(v);
  }
}

function deepFreeze<V>(v: V): V {
  if (typeof v !== "object" || v === null || Object.isFrozen(v)) return v;
  Object.freeze(v);
  for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  return v;
}
