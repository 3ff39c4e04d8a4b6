/**
 * WatchHub delivers store changes to watchers in revision order, each exactly once.
 *
 * A watcher is either *synced* (caught up: it receives each new revision's events as the
 * store applies them) or *unsynced* (behind: it reads events from the store's history log).
 * A new watcher whose start revision is in the past begins unsynced and catches up first.
 *
 * Slow consumers (etcd's policy): each watcher has a bounded buffer, counted in events. When a
 * new revision would overflow a synced watcher's buffer, the watcher is moved to unsynced at
 * that revision instead of dropping anything; once the consumer drains its buffer with poll(),
 * the hub refills it from history and moves it back to synced when it reaches the present. If
 * compaction removes history a lagging watcher still needs, the watcher is cancelled with a
 * "canceled" message carrying the compact revision — the client re-lists and re-watches (410).
 */
import { toSpan, spanContains, type Bytes, type KeySpan } from "./bytes.js";
import { ErrCompacted, MvccError } from "./errors.js";
import type { LoggedRevision } from "./event-log.js";
import type { MvccEvent } from "./types.js";

/** WatchFilter drops one kind of event from a watcher's stream. */
export type WatchFilter = "noPut" | "noDelete";

/** WatchOptions selects what a watcher sees. */
export interface WatchOptions {
  key: Bytes;
  /** Same rules as RangeRequest.rangeEnd (absent = one key, "\0" = all keys >= key). */
  rangeEnd?: Bytes;
  /** First revision to deliver; absent or <= 0 means the next revision the store creates. */
  startRevision?: number;
  /** Include each event's previous version. */
  prevKv?: boolean;
  filters?: WatchFilter[];
  /** Buffer size in events before the slow-consumer policy applies (default: the store's). */
  bufferEvents?: number;
  /**
   * Called when the watcher's queue goes from empty to non-empty (and on cancel by the hub),
   * synchronously while the store applies a command: schedule a drain, don't do heavy work.
   * Not called for messages a poll() itself refills; check `pending` after polling. A watcher
   * that starts in the past may call it before watch() has even returned it.
   */
  onReady?: () => void;
}

/** WatchMessage is what a watcher's consumer receives, in order. */
export type WatchMessage =
  /** The matching events of one revision, in the order they were applied. */
  | { readonly kind: "events"; readonly revision: number; readonly events: MvccEvent[] }
  /** Every event up to and including `revision` has been delivered. */
  | { readonly kind: "progress"; readonly revision: number }
  /** The watcher ended; compactRevision is set when history it needed was compacted. */
  | { readonly kind: "canceled"; readonly reason: string; readonly compactRevision?: number };

/** WatchSource is the view of the store the hub reads. */
export interface WatchSource {
  revision(): number;
  compactRevision(): number;
  /** at returns the changes of a retained revision. */
  at(rev: number): LoggedRevision | undefined;
}

type WatcherState = "synced" | "unsynced" | "canceled";

/** Watcher is one watch stream. Drain it with poll() (or await next()); stop it with cancel(). */
export class Watcher {
  private queue: WatchMessage[] = [];
  private queuedEvents = 0;
  private waiters: (() => void)[] = [];
  private polling = false;
  /** @internal */ state: WatcherState = "unsynced";
  /** @internal The next revision this watcher has not yet seen. */
  nextRev: number;
  /** @internal */ wantProgress = false;

  /** @internal */
  constructor(
    readonly id: number,
    /** @internal */ readonly span: KeySpan,
    private readonly hub: WatchHub,
    startRev: number,
    private readonly capacity: number,
    private readonly withPrevKv: boolean,
    private readonly filters: ReadonlySet<WatchFilter>,
    private readonly onReady: (() => void) | undefined,
  ) {
    this.nextRev = startRev;
  }

  /** pending is the number of queued messages. */
  get pending(): number {
    return this.queue.length;
  }

  /** canceled is true once the watcher has ended (by cancel() or by the hub). */
  get canceled(): boolean {
    return this.state === "canceled";
  }

  /** poll takes every queued message, then (if the watcher is behind) refills from history. */
  poll(): WatchMessage[] {
    const out = this.queue;
    this.queue = [];
    this.queuedEvents = 0;
    if (this.state === "unsynced") {
      this.polling = true;
      try {
        this.hub.catchUp(this);
      } finally {
        this.polling = false;
      }
    }
    return out;
  }

  /** next resolves with the next non-empty batch of messages, or [] once the watcher is cancelled and drained. */
  async next(): Promise<WatchMessage[]> {
    for (;;) {
      if (this.queue.length > 0) return this.poll();
      if (this.state === "canceled") return [];
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** requestProgress queues a progress message now if caught up, else as soon as it catches up. */
  requestProgress(): void {
    if (this.state === "synced") this.hub.sendProgress(this);
    else if (this.state === "unsynced") this.wantProgress = true;
  }

  /** cancel ends the watcher and discards anything queued. Idempotent. */
  cancel(): void {
    if (this.state === "canceled") return;
    this.hub.remove(this);
    this.state = "canceled";
    this.queue = [];
    this.queuedEvents = 0;
    this.wake();
  }

  /** @internal room reports whether `n` more events fit (an empty buffer always takes one revision whole). */
  hasRoomFor(n: number): boolean {
    return this.queuedEvents === 0 || this.queuedEvents + n <= this.capacity;
  }

  /** @internal full reports whether the buffer has reached its capacity. */
  get full(): boolean {
    return this.queuedEvents >= this.capacity;
  }

  /** @internal select returns the events this watcher wants from one revision, shaped for it. */
  select(entry: LoggedRevision): MvccEvent[] {
    const out: MvccEvent[] = [];
    entry.events.forEach((ev, i) => {
      if (!spanContains(this.span, entry.keys[i] as string)) return;
      if (ev.type === "PUT" ? this.filters.has("noPut") : this.filters.has("noDelete")) return;
      out.push(this.withPrevKv || ev.prevKv === undefined ? ev : { type: ev.type, kv: ev.kv });
    });
    return out;
  }

  /** @internal */
  enqueue(msg: WatchMessage): void {
    const wasEmpty = this.queue.length === 0;
    this.queue.push(msg);
    if (msg.kind === "events") this.queuedEvents += msg.events.length;
    if (wasEmpty) this.wake();
  }

  /** @internal end is the hub cancelling the watcher with a final message. */
  end(msg: WatchMessage & { kind: "canceled" }): void {
    this.state = "canceled";
    this.queue.push(msg);
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
    if (this.onReady !== undefined && !this.polling && this.queue.length > 0) {
      try {
        this.onReady();
      } catch {
        // A consumer's bug must not break the store's apply loop; the watcher stays usable.
      }
    }
  }
}

/** WatchHub tracks every watcher of one store. Created by MvccStore; use store.watch(). */
export class WatchHub {
  private nextId = 1;
  /** Synced single-key watchers by byte-string key (the common Kubernetes "get one object" case). */
  private readonly byKey = new Map<string, Set<Watcher>>();
  /** Synced range watchers. */
  private readonly ranges = new Set<Watcher>();
  private readonly unsynced = new Set<Watcher>();

  constructor(
    private readonly src: WatchSource,
    private readonly defaultBuffer: number,
  ) {
    if (!Number.isSafeInteger(defaultBuffer) || defaultBuffer <= 0) {
      throw new RangeError(`watch buffer must be a positive integer, got ${defaultBuffer}`);
    }
  }

  /** size is the number of live watchers. */
  get size(): number {
    let n = this.ranges.size + this.unsynced.size;
    for (const s of this.byKey.values()) n += s.size;
    return n;
  }

  /**
   * watch creates a watcher. Throws ErrCompacted (with the compact revision) when startRevision
   * is below the compaction point, and MvccError for a malformed key range or options.
   */
  watch(opts: WatchOptions): Watcher {
    if (typeof opts !== "object" || opts === null) throw new MvccError("ErrInvalidCommand", "mvcc: watch options must be an object");
    if (!(typeof opts.key === "string" || opts.key instanceof Uint8Array)) {
      throw new MvccError("ErrInvalidCommand", "mvcc: watch key must be a string or bytes");
    }
    const span = toSpan(opts.key, opts.rangeEnd);
    const buffer = opts.bufferEvents ?? this.defaultBuffer;
    if (!Number.isSafeInteger(buffer) || buffer <= 0) throw new MvccError("ErrInvalidCommand", "mvcc: watch bufferEvents must be a positive integer");
    const filters = new Set(opts.filters ?? []);
    for (const f of filters) {
      if (f !== "noPut" && f !== "noDelete") throw new MvccError("ErrInvalidCommand", `mvcc: unknown watch filter ${String(f)}`);
    }
    const current = this.src.revision();
    const requested = opts.startRevision ?? 0;
    if (!Number.isSafeInteger(requested)) throw new MvccError("ErrInvalidCommand", "mvcc: watch startRevision must be an integer");
    const start = requested > 0 ? requested : current + 1;
    const compact = this.src.compactRevision();
    if (start < compact) throw new ErrCompacted(compact);
    const w = new Watcher(this.nextId++, span, this, start, buffer, opts.prevKv === true, filters, opts.onReady);
    if (start <= current) {
      this.unsynced.add(w);
      this.catchUp(w);
    } else {
      this.addSynced(w);
    }
    return w;
  }

  /**
   * publish hands the events of a newly created revision to synced watchers. A watcher whose
   * buffer cannot take them moves to unsynced at this revision (it will read it from history).
   */
  publish(rev: number, entry: LoggedRevision): void {
    if (this.byKey.size === 0 && this.ranges.size === 0) return; // no synced watchers: nothing to do
    const keys = entry.keys;
    const hit = new Set<Watcher>();
    keys.forEach((k) => {
      for (const w of this.byKey.get(k) ?? []) hit.add(w);
    });
    for (const w of this.ranges) {
      if (keys.some((k) => spanContains(w.span, k))) hit.add(w);
    }
    for (const w of hit) {
      if (w.state !== "synced" || rev < w.nextRev) continue; // future-start watchers wait
      const mine = w.select(entry);
      if (mine.length === 0) continue;
      if (!w.hasRoomFor(mine.length)) {
        this.removeSynced(w);
        w.state = "unsynced";
        w.nextRev = rev;
        this.unsynced.add(w);
        continue;
      }
      w.nextRev = rev + 1;
      w.enqueue({ kind: "events", revision: rev, events: mine });
    }
  }

  /** catchUp refills an unsynced watcher from history until its buffer is full or it reaches the present. */
  catchUp(w: Watcher): void {
    if (w.state !== "unsynced") return;
    const compact = this.src.compactRevision();
    if (w.nextRev < compact) return this.cancelCompacted(w, compact);
    const current = this.src.revision();
    while (w.nextRev <= current && !w.full) {
      const entry = this.src.at(w.nextRev);
      const mine = entry === undefined ? [] : w.select(entry);
      if (mine.length > 0) {
        if (!w.hasRoomFor(mine.length)) return; // this revision waits for the next poll
        w.enqueue({ kind: "events", revision: w.nextRev, events: mine });
      }
      w.nextRev++;
    }
    if (w.nextRev > current) {
      this.unsynced.delete(w);
      this.addSynced(w);
      if (w.wantProgress) {
        w.wantProgress = false;
        this.sendProgress(w);
      }
    }
  }

  /** compacted cancels unsynced watchers whose next revision was just compacted away. */
  compacted(): void {
    const compact = this.src.compactRevision();
    for (const w of [...this.unsynced]) {
      if (w.nextRev < compact) this.cancelCompacted(w, compact);
    }
  }

  /** progressNotify sends the current revision to every synced watcher with an empty queue. */
  progressNotify(): void {
    const idle = (w: Watcher) => w.pending === 0;
    for (const set of this.byKey.values()) for (const w of set) if (idle(w)) this.sendProgress(w);
    for (const w of this.ranges) if (idle(w)) this.sendProgress(w);
  }

  /** @internal */
  sendProgress(w: Watcher): void {
    w.enqueue({ kind: "progress", revision: this.src.revision() });
  }

  /** @internal */
  remove(w: Watcher): void {
    this.unsynced.delete(w);
    this.removeSynced(w);
  }

  private cancelCompacted(w: Watcher, compact: number): void {
    this.remove(w);
    w.end({ kind: "canceled", reason: new ErrCompacted(compact).message, compactRevision: compact });
  }

  private addSynced(w: Watcher): void {
    w.state = "synced";
    if (w.span.end === undefined) {
      let set = this.byKey.get(w.span.start);
      if (set === undefined) this.byKey.set(w.span.start, (set = new Set()));
      set.add(w);
    } else {
      this.ranges.add(w);
    }
  }

  private removeSynced(w: Watcher): void {
    if (w.span.end === undefined) {
      const set = this.byKey.get(w.span.start);
      set?.delete(w);
      if (set?.size === 0) this.byKey.delete(w.span.start);
    } else {
      this.ranges.delete(w);
    }
  }
}
