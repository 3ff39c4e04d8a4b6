/**
 * EtcdBackend: the KV backend over the replicated kubemu-etcd cluster (EtcdClient).
 * Reads are linearizable; writes are single txns (compare + put/delete), so a CAS write is
 * applied once through Raft or not at all.
 */
import { StatusError } from "@kubemu/common";
import { compactRevisionOf, type EtcdClient, type KeyValue } from "@kubemu/etcd-raft";
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

/** Maps wire errors onto the backend's error contract. */
function translate(e: unknown): unknown {
  const compact = compactRevisionOf(e);
  if (compact !== undefined) return new KvCompactedError(compact);
  if (e instanceof StatusError && e.reason === "BadRequest" && /future revision/.test(e.message)) {
    const m = /current revision (\d+)/.exec(e.message);
    return new KvFutureRevisionError(m ? Number(m[1]) : undefined);
  }
  return e;
}

async function run<T>(p: () => Promise<T>): Promise<T> {
  try {
    return await p();
  } catch (e) {
    throw translate(e);
  }
}

function pairOf(kv: KeyValue): KvPair {
  return {
    key: keyString(kv.key),
    value: kv.value instanceof Uint8Array ? kv.value : new Uint8Array(kv.value as ArrayLike<number>),
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
  };
}

export class EtcdBackend implements KvBackend {
  /** @param ownsClient close the client in close() (default true). */
  constructor(
    readonly client: EtcdClient,
    private readonly ownsClient = true,
  ) {}

  get(key: string, revision?: number): Promise<{ kv: KvPair | undefined; revision: number }> {
    return run(async () => {
      const r = await this.client.range({ key, ...(revision ? { revision } : {}) });
      const kv = r.kvs[0];
      return { kv: kv ? pairOf(kv) : undefined, revision: r.header.revision };
    });
  }

  range(start: string, end: Uint8Array, opts: { revision?: number; limit?: number; serializable?: boolean } = {}): Promise<KvRangeResult> {
    return run(async () => {
      const r = await this.client.range({
        key: start,
        rangeEnd: end,
        ...(opts.revision ? { revision: opts.revision } : {}),
        ...(opts.limit ? { limit: opts.limit } : {}),
        ...(opts.serializable && opts.revision ? { serializable: true } : {}),
      });
      return { kvs: r.kvs.map(pairOf), revision: r.header.revision, more: r.more, count: r.count };
    });
  }

  create(key: string, value: Uint8Array): Promise<KvWriteResult> {
    return run(async () => {
      const r = await this.client.txn({
        compare: [{ key, target: "createRevision", result: "=", value: 0 }],
        success: [{ type: "put", key, value }],
      });
      return { succeeded: r.succeeded, revision: r.header.revision };
    });
  }

  update(key: string, value: Uint8Array, modRevision: number): Promise<KvWriteResult> {
    return run(async () => {
      const r = await this.client.txn({
        compare: [{ key, target: "modRevision", result: "=", value: modRevision }],
        success: [{ type: "put", key, value }],
      });
      return { succeeded: r.succeeded, revision: r.header.revision };
    });
  }

  delete(key: string, modRevision: number): Promise<KvWriteResult> {
    return run(async () => {
      const r = await this.client.txn({
        compare: [{ key, target: "modRevision", result: "=", value: modRevision }],
        success: [{ type: "deleteRange", key }],
      });
      return { succeeded: r.succeeded, revision: r.header.revision };
    });
  }

  async *watch(start: string, end: Uint8Array | undefined, opts: KvWatchOptions): AsyncIterable<KvWatchBatch> {
    const w = this.client.watch(start, {
      ...(end ? { rangeEnd: end } : {}),
      startRevision: opts.startRevision,
      prevKv: true,
      ...(opts.progressIntervalMs ? { progressNotifyMs: opts.progressIntervalMs, includeProgress: true } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    try {
      for await (const resp of w) {
        if (resp.progress) {
          yield { revision: resp.revision, changes: [], progress: true };
          continue;
        }
        yield {
          revision: resp.revision,
          changes: resp.events.map((ev) => ({
            type: ev.type,
            key: keyString(ev.kv.key),
            revision: resp.revision,
            ...(ev.type === "PUT" ? { value: pairOf(ev.kv).value } : {}),
            ...(ev.prevKv ? { prevValue: pairOf(ev.prevKv).value } : {}),
          })),
        };
      }
    } catch (e) {
      throw translate(e);
    } finally {
      w.cancel();
    }
  }

  async compact(revision: number): Promise<void> {
    try {
      await this.client.compact(revision);
    } catch (e) {
      if (translate(e) instanceof KvCompactedError) return; // already compacted at or past it
      throw translate(e);
    }
  }

  async currentRevision(): Promise<number> {
    // Any key will do: the header carries the store's revision.
    const r = await run(() => this.client.range({ key: "/registry/", countOnly: true }));
    return r.header.revision;
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }
}
