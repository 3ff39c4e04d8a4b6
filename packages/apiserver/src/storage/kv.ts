/**
 * A small kine-style key-value backend: exactly the operations the apiserver's storage needs
 * from an etcd-like store (range, compare-and-swap writes on modRevision, watch from a
 * revision, compaction). Two implementations: {@link MvccBackend} (an in-process MvccStore)
 * and {@link EtcdBackend} (the replicated kubemu-etcd cluster).
 *
 * Keys are UTF-8 strings; values are bytes. Revisions are the store's global revision.
 */

/** One live key. */
export interface KvPair {
  key: string;
  value: Uint8Array;
  /** Revision that created this generation of the key. */
  createRevision: number;
  /** Revision of the last modification (the Kubernetes resourceVersion). */
  modRevision: number;
}

/** One change seen by a watch. */
export interface KvChange {
  type: "PUT" | "DELETE";
  key: string;
  /** The new value (PUT only). */
  value?: Uint8Array;
  /** The key's previous live value, if it had one. */
  prevValue?: Uint8Array;
  /** Revision of the change. */
  revision: number;
}

/** What a backend watch yields: one revision's changes, or a progress mark (no changes). */
export interface KvWatchBatch {
  revision: number;
  changes: KvChange[];
  /** True for a progress mark: every change up to `revision` has been delivered. */
  progress?: boolean;
}

/** The result of a conditional write. */
export interface KvWriteResult {
  /** False when the compare failed (nothing was written). */
  succeeded: boolean;
  /** The store revision after the operation (the write's revision when it succeeded). */
  revision: number;
}

export interface KvRangeResult {
  kvs: KvPair[];
  /** The revision the read was served at. */
  revision: number;
  /** True when limit cut the result. */
  more: boolean;
  /** Number of keys in the range (ignoring limit). */
  count: number;
}

export interface KvWatchOptions {
  /** First revision to deliver (> 0). */
  startRevision: number;
  /** Ask for progress marks this often while idle (0/undefined: none). */
  progressIntervalMs?: number;
  /** Aborting it ends the iteration quietly. */
  signal?: AbortSignal;
}

/**
 * The backend contract. Errors: {@link KvCompactedError} for a read or watch below the
 * compaction point, {@link KvFutureRevisionError} for a read above the current revision; any
 * other failure is a StatusError (e.g. ServiceUnavailable while the store has no leader).
 */
export interface KvBackend {
  /** Reads one key at `revision` (0/undefined: latest, linearizable). */
  get(key: string, revision?: number): Promise<{ kv: KvPair | undefined; revision: number }>;
  /** Reads keys in [start, end) in key order. */
  /**
   * `serializable`: the caller already made a linearizable read at `revision` on this backend
   * (the first page of the same list), so the member may answer from its own state without
   * another round of ReadIndex.
   */
  range(start: string, end: Uint8Array, opts?: { revision?: number; limit?: number; serializable?: boolean }): Promise<KvRangeResult>;
  /** Writes key only if it does not exist. */
  create(key: string, value: Uint8Array): Promise<KvWriteResult>;
  /** Writes key only if its modRevision is still `modRevision`. */
  update(key: string, value: Uint8Array, modRevision: number): Promise<KvWriteResult>;
  /** Deletes key only if its modRevision is still `modRevision`. */
  delete(key: string, modRevision: number): Promise<KvWriteResult>;
  /** Watches [start, end) (end undefined: the single key) from opts.startRevision. */
  watch(start: string, end: Uint8Array | undefined, opts: KvWatchOptions): AsyncIterable<KvWatchBatch>;
  /** Drops history below revision. Compacting at or below the current compaction point is a no-op. */
  compact(revision: number): Promise<void>;
  /** The store's current revision (linearizable). */
  currentRevision(): Promise<number>;
  close(): Promise<void>;
}

/** The requested revision is below the store's compaction point. */
export class KvCompactedError extends Error {
  override readonly name = "KvCompactedError";
  constructor(readonly compactRevision: number) {
    super(`required revision has been compacted (compact revision ${compactRevision})`);
  }
}

/** The requested revision is above the store's current revision. */
export class KvFutureRevisionError extends Error {
  override readonly name = "KvFutureRevisionError";
  constructor(readonly currentRevision: number | undefined) {
    super(`required revision is a future revision${currentRevision === undefined ? "" : ` (current revision ${currentRevision})`}`);
  }
}


const decoder = new TextDecoder();

/** Keys arrive as bytes (or strings from an in-process store); storage keys are UTF-8. */
export function keyString(k: Uint8Array | string): string {
  return typeof k === "string" ? k : decoder.decode(k);
}
