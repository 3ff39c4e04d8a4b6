/**
 * MvccBackend: the KV backend over an in-process MvccStore (unit tests, single-process use).
 * The store is synchronous; every method still returns a promise so callers cannot tell the
 * difference from the replicated backend.
 */
import { type Clock, realClock } from "@kubemu/common";
import { ErrCompacted, ErrFutureRev, type KeyValue, type MvccStore, toStatusError } from "@kubemu/etcd-raft";
import {
  type KvBackend,
  KvCompactedError,
  KvFutureRevisionError,
  type KvPair,
  type KvRangeResult,
  type KvWatchBatch,
  type KvWatchOptions,
  type KvWriteResult,
  keyString,
} from "./kv.js";

/** Maps store errors onto the backend's error contract. */
function translate(e: unknown): Error {
  if (e instanceof ErrCompacted) return new KvCompactedError(e.compactRevision);
  if (e instanceof ErrFutureRev) return new KvFutureRevisionError(e.currentRevision);
  return toStatusError(e);
}

function run<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(translate(e));
  }
}

export function pairOf(kv: KeyValue): KvPair {
  return { key: keyString(kv.key), value: kv.value, createRevision: kv.createRevision, modRevision: kv.modRevision };
}

export class MvccBackend implements KvBackend {
  private readonly clock: Clock;

  constructor(
    readonly store: MvccStore,
    opts: { clock?: Clock } = {},
  ) {
    this.clock = opts.clock ?? realClock;
  }

  get(key: string, revision?: number): Promise<{ kv: KvPair | undefined; revision: number }> {
    return run(() => {
      const r = this.store.range({ key, ...(revision ? { revision } : {}) });
      const kv = r.kvs[0];
      return { kv: kv ? pairOf(kv) : undefined, revision: r.header.revision };
    });
  }

  range(start: string, end: Uint8Array, opts: { revision?: number; limit?: number; serializable?: boolean } = {}): Promise<KvRangeResult> {
    return run(() => {
      const r = this.store.range({
        key: start,
        rangeEnd: end,
        ...(opts.revision ? { revision: opts.revision } : {}),
        ...(opts.limit ? { limit: opts.limit } : {}),
      });
      return { kvs: r.kvs.map(pairOf), revision: r.header.revision, more: r.more, count: r.count };
    });
  }

  create(key: string, value: Uint8Array): Promise<KvWriteResult> {
    return run(() => {
      const r = this.store.apply({
        type: "txn",
        compare: [{ key, target: "createRevision", result: "=", value: 0 }],
        success: [{ type: "put", key, value }],
        failure: [],
      });
      return { succeeded: r.succeeded, revision: r.header.revision };
    });
  }

  update(key: string, value: Uint8Array, modRevision: number): Promise<KvWriteResult> {
    return run(() => {
      const r = this.store.apply({
        type: "txn",
        compare: [{ key, target: "modRevision", result: "=", value: modRevision }],
        success: [{ type: "put", key, value }],
        failure: [],
      });
      return { succeeded: r.succeeded, revision: r.header.revision };
    });
  }

  delete(key: string, modRevision: number): Promise<KvWriteResult> {
    return run(() => {
      const r = this.store.apply({
        type: "txn",
        compare: [{ key, target: "modRevision", result: "=", value: modRevision }],
        success: [{ type: "deleteRange", key }],
        failure: [],
      });
      return { succeeded: r.succeeded, revision: r.header.revision };
    });
  }

  async *watch(start: string, end: Uint8Array | undefined, opts: KvWatchOptions): AsyncIterable<KvWatchBatch> {
    if (opts.signal?.aborted) return;
    let w;
    try {
      w = this.store.watch({ key: start, ...(end ? { rangeEnd: end } : {}), startRevision: opts.startRevision, prevKv: true });
    } catch (e) {
      throw translate(e);
    }
    const watcher = w;
    const onAbort = () => watcher.cancel();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const ticker = opts.progressIntervalMs ? this.clock.setInterval(() => watcher.requestProgress(), opts.progressIntervalMs) : undefined;
    try {
      for (;;) {
        const msgs = await watcher.next();
        if (msgs.length === 0) return; // cancelled by us
        for (const m of msgs) {
          if (m.kind === "events") {
            yield {
              revision: m.revision,
              changes: m.events.map((ev) => ({
                type: ev.type,
                key: keyString(ev.kv.key),
                revision: m.revision,
                ...(ev.type === "PUT" ? { value: ev.kv.value } : {}),
                ...(ev.prevKv ? { prevValue: ev.prevKv.value } : {}),
              })),
            };
          } else if (m.kind === "progress") {
            yield { revision: m.revision, changes: [], progress: true };
          } else {
            if (m.compactRevision !== undefined) throw new KvCompactedError(m.compactRevision);
            return;
          }
        }
      }
    } finally {
      ticker?.cancel();
      opts.signal?.removeEventListener("abort", onAbort);
      watcher.cancel();
    }
  }

  async compact(revision: number): Promise<void> {
    if (revision <= this.store.compactRevision) return;
    try {
      this.store.apply({ type: "compact", revision });
    } catch (e) {
      const t = translate(e);
      if (t instanceof KvCompactedError) return; // someone compacted further already
      throw t;
    }
  }

  currentRevision(): Promise<number> {
    return Promise.resolve(this.store.revision);
  }

  async close(): Promise<void> {}
}
