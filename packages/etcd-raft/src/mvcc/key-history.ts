/**
 * KeyHistory is the per-key revision list (etcd's keyIndex, with the values inline since
 * everything lives in memory): every put and delete of one key since the last compaction, in
 * revision order.
 */
import type { KeyValue } from "./types.js";

/** KeyRecord is one change of a key: a new version (kv) or a delete (kv === null, a tombstone). */
export interface KeyRecord {
  /** The store revision of the change. */
  readonly main: number;
  /** Position of the change inside its revision (txns change several keys in one revision). */
  readonly sub: number;
  readonly kv: KeyValue | null;
}

export class KeyHistory {
  /** Changes in increasing `main` order; a key changes at most once per revision. */
  readonly records: KeyRecord[] = [];

  constructor(readonly key: Uint8Array) {}

  /** live is the key's current version, or undefined when it is deleted. */
  live(): KeyValue | undefined {
    return this.records[this.records.length - 1]?.kv ?? undefined;
  }

  /** at is the version visible at revision `rev`, or undefined if the key did not exist then. */
  at(rev: number): KeyValue | undefined {
    const recs = this.records;
    const last = recs[recs.length - 1];
    if (last === undefined) return undefined;
    if (last.main <= rev) return last.kv ?? undefined; // the common case: reading the present
    let lo = 0;
    let hi = recs.length - 1; // invariant: recs[hi].main > rev
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((recs[mid] as KeyRecord).main <= rev) lo = mid + 1;
      else hi = mid;
    }
    // lo is the first record above rev; the one before it is the answer.
    return lo === 0 ? undefined : ((recs[lo - 1] as KeyRecord).kv ?? undefined);
  }

  /** push appends a change; callers guarantee increasing revisions. */
  push(rec: KeyRecord): void {
    this.records.push(rec);
  }

  /**
   * compact drops the changes below `rev` that no read at >= rev can see: it keeps every record
   * at or above rev plus the newest record below rev if that one is a live version. Returns true
   * when nothing is left (the key can leave the index).
   */
  compact(rev: number): boolean {
    const recs = this.records;
    let firstKept = 0;
    while (firstKept < recs.length && (recs[firstKept] as KeyRecord).main < rev) firstKept++;
    // firstKept is the first record at or above rev; keep the one before it only if it is live.
    const before = recs[firstKept - 1];
    if (before !== undefined && before.kv !== null) firstKept--;
    if (firstKept > 0) recs.splice(0, firstKept);
    return recs.length === 0;
  }
}
