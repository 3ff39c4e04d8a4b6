/**
 * MvccStore: the multi-version key-value state machine that Raft replicates (etcd v3 mvcc in
 * memory). It is pure and deterministic: no timers, no I/O, no clock, no randomness, so every
 * replica that applies the same commands in the same order reaches byte-identical state
 * (compare `hash()` values to check).
 */
import { createHash } from "node:crypto";
import { SortedMap } from "./btree.js";
import { compareBytes, spanContains, toByteString, toBytes, toSpan, type Bytes, type KeySpan } from "./bytes.js";
import { ErrCompacted, ErrFutureRev, MvccError } from "./errors.js";
import { EventLog, type LoggedRevision } from "./event-log.js";
import { KeyHistory } from "./key-history.js";
import { decodeSnapshot, encodeSnapshot, encodeSnapshotPieces, type SnapshotState } from "./snapshot.js";
import type {
  ApplyResult,
  Command,
  Compare,
  CompactCommand,
  CompactResult,
  DeleteRangeCommand,
  DeleteRangeResult,
  KeyValue,
  LeaseGrantCommand,
  LeaseGrantResult,
  LeaseInfo,
  LeaseRevokeCommand,
  LeaseRevokeResult,
  MvccEvent,
  PutCommand,
  PutResult,
  RangeRequest,
  RangeResult,
  TxnCommand,
  TxnOp,
  TxnOpResult,
  TxnResult,
} from "./types.js";
import { DEFAULT_LIMITS, validateCommand, validateRange, type MvccLimits } from "./validate.js";
import { WatchHub, type WatchOptions, type Watcher } from "./watch-hub.js";

/** MvccStoreOptions configures limits and watch buffering (not replicated state). */
export interface MvccStoreOptions {
  limits?: Partial<MvccLimits>;
  /** Default per-watcher buffer, in events, before the watcher is moved to catch-up. Default 1024. */
  watchBufferEvents?: number;
}

interface Lease {
  readonly id: number;
  readonly ttl: number;
  /** Byte-string keys currently attached. */
  readonly keys: Set<string>;
}

const EMPTY = new Uint8Array(0);

/**
 * WriteBatch collects the changes of one revision (a put, a deleteRange, a txn branch or a
 * lease revoke) as they are applied; `commit` closes the revision if anything changed.
 */
interface WriteBatch extends LoggedRevision {
  readonly rev: number;
}

export class MvccStore {
  private readonly index = new SortedMap<string, KeyHistory>();
  private readonly leaseMap = new Map<number, Lease>();
  private readonly limits: MvccLimits;
  private currentRev = 1;
  private compactRev = 0;
  private log = new EventLog(2);
  private readonly hub: WatchHub;
  private applying = false;

  constructor(opts: MvccStoreOptions = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    for (const [k, v] of Object.entries(this.limits)) {
      if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`MvccStore: limits.${k} must be a positive integer, got ${v}`);
    }
    this.hub = new WatchHub(
      {
        revision: () => this.currentRev,
        compactRevision: () => this.compactRev,
        at: (rev) => this.log.at(rev),
      },
      opts.watchBufferEvents ?? 1024,
    );
  }

  /** revision is the store's current revision (1 for an empty store, like etcd). */
  get revision(): number {
    return this.currentRev;
  }

  /** compactRevision is the last compaction point, 0 if never compacted. */
  get compactRevision(): number {
    return this.compactRev;
  }

  /**
   * apply executes one replicated command and returns its result. A rejected command throws
   * an MvccError and changes nothing (so all replicas reject it alike). Watchers are notified
   * synchronously before apply returns.
   */
  apply(cmd: PutCommand): PutResult;
  apply(cmd: DeleteRangeCommand): DeleteRangeResult;
  apply(cmd: TxnCommand): TxnResult;
  apply(cmd: CompactCommand): CompactResult;
  apply(cmd: LeaseGrantCommand): LeaseGrantResult;
  apply(cmd: LeaseRevokeCommand): LeaseRevokeResult;
  apply(cmd: unknown): ApplyResult;
  apply(cmd: unknown): ApplyResult {
    if (this.applying) {
      // A watch callback that writes would deliver its revision before the one being published.
      throw new MvccError("ErrReentrantApply", "mvcc: apply called from inside a watch callback; schedule the write instead");
    }
    validateCommand(cmd, this.limits);
    const c = cmd as Command;
    this.applying = true;
    try {
      switch (c.type) {
        case "put":
          return this.applyPut(c);
        case "deleteRange":
          return this.applyDeleteRange(c);
        case "txn":
          return this.applyTxn(c);
        case "compact":
          return this.applyCompact(c.revision);
        case "leaseGrant":
          return this.applyLeaseGrant(c.id, c.ttl);
        case "leaseRevoke":
          return this.applyLeaseRevoke(c.id);
      }
    } finally {
      this.applying = false;
    }
  }

  /**
   * range reads keys at a revision (default current). Throws ErrCompacted below the
   * compaction point, ErrFutureRev above the current revision, ErrBadRange for an empty interval.
   */
  range(req: RangeRequest): RangeResult {
    validateRange(req, "range", this.limits);
    const rev = req.revision === undefined || req.revision <= 0 ? this.currentRev : req.revision;
    if (rev > this.currentRev) throw new ErrFutureRev(this.currentRev);
    if (rev < this.compactRev) throw new ErrCompacted(this.compactRev);
    return this.rangeAt(req, rev);
  }

  /** watch starts a watcher; see WatchHub for ordering and the slow-consumer policy. */
  watch(opts: WatchOptions): Watcher {
    return this.hub.watch(opts);
  }

  /** progressNotify sends the current revision to every caught-up watcher that has nothing queued. */
  progressNotify(): void {
    this.hub.progressNotify();
  }

  /** watcherCount is the number of active watchers (for metrics and tests). */
  get watcherCount(): number {
    return this.hub.size;
  }

  /** leases lists every lease with its attached keys, by id. */
  leases(): LeaseInfo[] {
    return [...this.leaseMap.keys()].sort((a, b) => a - b).map((id) => this.timeToLive(id));
  }

  /** timeToLive describes one lease (granted ttl and keys); remaining time lives in LeaseTracker. */
  timeToLive(id: number): LeaseInfo {
    const l = this.leaseMap.get(id);
    if (l === undefined) throw new MvccError("ErrLeaseNotFound", `mvcc: lease ${id} not found`);
    const keys = [...l.keys].sort().map((k) => (this.index.get(k) as KeyHistory).key);
    return { id, ttl: l.ttl, keys };
  }

  /** keyCount is the number of keys with retained history (live or deleted but not yet compacted). */
  get keyCount(): number {
    return this.index.size;
  }

  // ---- writes -------------------------------------------------------------------------

  private beginWrite(): WriteBatch {
    return { rev: this.currentRev + 1, events: [], keys: [] };
  }

  /** commit makes the batch's revision current if it changed anything, then notifies watchers. */
  private commit(b: WriteBatch): number {
    if (b.events.length === 0) return this.currentRev;
    this.currentRev = b.rev;
    const entry: LoggedRevision = { events: b.events, keys: b.keys };
    this.log.append(entry);
    this.hub.publish(b.rev, entry);
    return this.currentRev;
  }

  private applyPut(c: PutCommand): PutResult {
    this.checkPut(c);
    const b = this.beginWrite();
    const prev = this.writePut(b, c);
    const revision = this.commit(b);
    return c.prevKv && prev ? { type: "put", header: { revision }, prevKv: prev } : { type: "put", header: { revision } };
  }

  private applyDeleteRange(c: DeleteRangeCommand): DeleteRangeResult {
    const span = this.span(c.key, c.rangeEnd);
    const b = this.beginWrite();
    const prevKvs = this.writeDelete(b, span);
    const revision = this.commit(b);
    const res = { type: "deleteRange" as const, header: { revision }, deleted: prevKvs.length };
    return c.prevKv ? { ...res, prevKvs } : res;
  }

  private applyTxn(c: TxnCommand): TxnResult {
    const succeeded = c.compare.every((cmp) => this.evalCompare(cmp));
    const ops = succeeded ? c.success : c.failure;
    this.checkBranch(ops);
    const b = this.beginWrite();
    const results: TxnOpResult[] = [];
    for (const op of ops) results.push(this.applyTxnOp(b, op));
    const revision = this.commit(b);
    // Every op result carries the txn's final revision, as in etcd.
    const responses = results.map((r) => ({ ...r, header: { revision } }));
    return { type: "txn", header: { revision }, succeeded, responses };
  }

  private applyTxnOp(b: WriteBatch, op: TxnOp): TxnOpResult {
    switch (op.type) {
      case "range":
        // Reads inside a txn see the branch's earlier writes (they sit at revision b.rev).
        return { type: "range", ...this.rangeAt(op, b.events.length > 0 ? b.rev : this.currentRev) };
      case "put": {
        const prev = this.writePut(b, op);
        const header = { revision: 0 };
        return op.prevKv && prev ? { type: "put", header, prevKv: prev } : { type: "put", header };
      }
      case "deleteRange": {
        const prevKvs = this.writeDelete(b, this.span(op.key, op.rangeEnd));
        const res = { type: "deleteRange" as const, header: { revision: 0 }, deleted: prevKvs.length };
        return op.prevKv ? { ...res, prevKvs } : res;
      }
    }
  }

  /** checkPut rejects a put that cannot apply to the current state (before anything changes). */
  private checkPut(c: PutCommand): void {
    if (c.lease !== undefined && c.lease !== 0 && !c.ignoreLease && !this.leaseMap.has(c.lease)) {
      throw new MvccError("ErrLeaseNotFound", `mvcc: lease ${c.lease} not found`);
    }
    if ((c.ignoreValue || c.ignoreLease) && this.index.get(toByteString(c.key))?.live() === undefined) {
      throw new MvccError("ErrKeyNotFound", "mvcc: key not found (ignoreValue/ignoreLease need an existing key)");
    }
  }

  /**
   * checkBranch validates a txn branch against the current state so that it either applies
   * whole or not at all: leases and keys exist, ranges are well formed, and no key is written
   * twice (a put key may not repeat or fall inside a deleteRange of the same branch).
   */
  private checkBranch(ops: TxnOp[]): void {
    const putKeys = new Set<string>();
    const deletes: KeySpan[] = [];
    for (const op of ops) {
      if (op.type === "put") {
        this.checkPut(op);
        const k = toByteString(op.key);
        if (putKeys.has(k)) throw new MvccError("ErrDuplicateKey", "mvcc: duplicate key given in txn request");
        putKeys.add(k);
      } else {
        const span = this.span(op.key, op.rangeEnd);
        if (op.type === "deleteRange") deletes.push(span);
      }
    }
    for (const k of putKeys) {
      if (deletes.some((d) => spanContains(d, k))) throw new MvccError("ErrDuplicateKey", "mvcc: duplicate key given in txn request");
    }
  }

  /** writePut appends the new version to the key's history and returns the previous live version. */
  private writePut(b: WriteBatch, c: PutCommand): KeyValue | undefined {
    const k = toByteString(c.key);
    let h = this.index.get(k);
    if (h === undefined) {
      h = new KeyHistory(toBytes(c.key));
      this.index.set(k, h);
    }
    const prev = h.live();
    const lease = c.ignoreLease ? (prev as KeyValue).lease : (c.lease ?? 0);
    const kv: KeyValue = {
      key: h.key,
      value: c.ignoreValue ? (prev as KeyValue).value : toBytes(c.value as Bytes),
      createRevision: prev ? prev.createRevision : b.rev,
      modRevision: b.rev,
      version: prev ? prev.version + 1 : 1,
      lease,
    };
    h.push({ main: b.rev, sub: b.events.length, kv });
    if (prev && prev.lease !== 0 && prev.lease !== lease) this.leaseMap.get(prev.lease)?.keys.delete(k);
    if (lease !== 0) this.leaseMap.get(lease)?.keys.add(k);
    b.events.push(prev ? { type: "PUT", kv, prevKv: prev } : { type: "PUT", kv });
    b.keys.push(k);
    return prev;
  }

  /** writeDelete tombstones every live key in `span`, in key order, and returns their last versions. */
  private writeDelete(b: WriteBatch, span: KeySpan): KeyValue[] {
    const victims: [string, KeyHistory][] = [];
    this.forEachInSpan(span, (k, h) => {
      if (h.live() !== undefined) victims.push([k, h]);
    });
    return victims.map(([k, h]) => this.tombstone(b, k, h));
  }

  private tombstone(b: WriteBatch, k: string, h: KeyHistory): KeyValue {
    const prev = h.live() as KeyValue;
    h.push({ main: b.rev, sub: b.events.length, kv: null });
    if (prev.lease !== 0) this.leaseMap.get(prev.lease)?.keys.delete(k);
    b.events.push({ type: "DELETE", kv: deletedKv(h.key, b.rev), prevKv: prev });
    b.keys.push(k);
    return prev;
  }

  private applyCompact(rev: number): CompactResult {
    if (rev <= this.compactRev) throw new ErrCompacted(this.compactRev);
    if (rev > this.currentRev) throw new ErrFutureRev(this.currentRev);
    this.compactRev = rev;
    const emptied: string[] = [];
    this.index.forEachPair((k, h) => {
      if (h.compact(rev)) emptied.push(k);
    });
    for (const k of emptied) this.index.delete(k);
    this.log.compact(rev);
    this.hub.compacted();
    return { type: "compact", header: { revision: this.currentRev } };
  }

  private applyLeaseGrant(id: number, ttl: number): LeaseGrantResult {
    if (this.leaseMap.has(id)) throw new MvccError("ErrLeaseExists", `mvcc: lease ${id} already exists`);
    this.leaseMap.set(id, { id, ttl, keys: new Set() });
    return { type: "leaseGrant", header: { revision: this.currentRev }, id, ttl };
  }

  private applyLeaseRevoke(id: number): LeaseRevokeResult {
    const l = this.leaseMap.get(id);
    if (l === undefined) throw new MvccError("ErrLeaseNotFound", `mvcc: lease ${id} not found`);
    const b = this.beginWrite();
    // Sorted so every replica deletes in the same order (sub-revisions must match).
    for (const k of [...l.keys].sort()) this.tombstone(b, k, this.index.get(k) as KeyHistory);
    this.leaseMap.delete(id);
    const revision = this.commit(b);
    return { type: "leaseRevoke", header: { revision }, deleted: b.events.length };
  }

  // ---- reads --------------------------------------------------------------------------

  private span(key: Bytes, rangeEnd: Bytes | undefined): KeySpan {
    return toSpan(key, rangeEnd);
  }

  private forEachInSpan(span: KeySpan, fn: (k: string, h: KeyHistory) => void): void {
    if (span.end === undefined) {
      const h = this.index.get(span.start);
      if (h !== undefined) fn(span.start, h);
      return;
    }
    const high = span.end ?? this.index.maxKey();
    if (high === undefined || high < span.start) return;
    this.index.forRange(span.start, high, span.end === null, fn);
  }

  private rangeAt(req: Omit<RangeRequest, "revision">, rev: number): RangeResult {
    const span = this.span(req.key, req.rangeEnd);
    const limit = req.limit ?? 0;
    const target = req.sortTarget ?? "key";
    // etcd: a non-key sort target with no order means ascending.
    const order = req.sortOrder === undefined || req.sortOrder === "none" ? (target === "key" ? "none" : "ascend") : req.sortOrder;
    const keyOrder = target === "key" && order !== "descend";
    let kvs: KeyValue[] = [];
    let count = 0;
    this.forEachInSpan(span, (_k, h) => {
      const kv = h.at(rev);
      if (kv === undefined) return;
      count++;
      if (req.countOnly) return;
      // In key order the limit can cut while scanning; other orders sort everything first.
      if (keyOrder && limit > 0 && kvs.length >= limit) return;
      kvs.push(kv);
    });
    if (!keyOrder) {
      sortKvs(kvs, target);
      if (order === "descend") kvs.reverse();
      if (limit > 0 && kvs.length > limit) kvs = kvs.slice(0, limit);
    }
    if (req.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY }));
    return { header: { revision: this.currentRev }, kvs, count, more: kvs.length < count && !req.countOnly };
  }

  private evalCompare(c: Compare): boolean {
    const span = this.span(c.key, c.rangeEnd);
    const kvs: KeyValue[] = [];
    this.forEachInSpan(span, (_k, h) => {
      const kv = h.live();
      if (kv) kvs.push(kv);
    });
    if (kvs.length === 0) {
      if (c.target === "value") return false;
      return compareNumber(0, c.result, c.value);
    }
    return kvs.every((kv) => {
      switch (c.target) {
        case "value":
          return holds(compareBytes(kv.value, toBytes(c.value)), c.result);
        case "version":
          return compareNumber(kv.version, c.result, c.value);
        case "createRevision":
          return compareNumber(kv.createRevision, c.result, c.value);
        case "modRevision":
          return compareNumber(kv.modRevision, c.result, c.value);
        case "lease":
          return compareNumber(kv.lease, c.result, c.value);
      }
    });
  }

  // ---- snapshot -----------------------------------------------------------------------

  /**
   * toSnapshot encodes the whole replicated state (revisions, retained history, leases).
   * Equal states give equal bytes. Watchers are not part of it.
   */
  toSnapshot(): Uint8Array {
    return encodeSnapshot(this.snapshotState());
  }

  /** snapshotSize is toSnapshot().length without building the buffer (values are not copied). */
  snapshotSize(): number {
    let n = 0;
    for (const piece of encodeSnapshotPieces(this.snapshotState())) n += piece.length;
    return n;
  }

  private snapshotState(): SnapshotState {
    const keys: SnapshotState["keys"] = [];
    this.index.forEachPair((_k, h) => {
      keys.push(h);
    });
    const leases = [...this.leaseMap.values()].sort((a, b) => a.id - b.id).map((l) => ({ id: l.id, ttl: l.ttl }));
    return { revision: this.currentRev, compactRevision: this.compactRev, keys, leases };
  }

  /**
   * fromSnapshot rebuilds a store from toSnapshot bytes; throws MvccError(ErrBadSnapshot) on bad
   * input. The store keeps views into `bytes` (values are not copied): don't modify it afterwards.
   */
  static fromSnapshot(bytes: Uint8Array, opts: MvccStoreOptions = {}): MvccStore {
    const state = decodeSnapshot(bytes);
    const s = new MvccStore(opts);
    s.currentRev = state.revision;
    s.compactRev = state.compactRevision;
    for (const l of state.leases) s.leaseMap.set(l.id, { id: l.id, ttl: l.ttl, keys: new Set() });
    const logStart = Math.max(state.compactRevision, 2);
    const byRev: LoggedRevision[] = [];
    const totalRecords = state.keys.reduce((n, h) => n + h.records.length, 0);
    for (const h of state.keys) {
      const k = toByteString(h.key);
      s.index.set(k, h);
      const live = h.live();
      if (live && live.lease !== 0) {
        const l = s.leaseMap.get(live.lease);
        if (l === undefined) throw new MvccError("ErrBadSnapshot", `mvcc: snapshot key is attached to unknown lease ${live.lease}`);
        l.keys.add(k);
      }
      // Rebuild the watch log: every retained change at or above logStart, with its prevKv.
      h.records.forEach((r, i) => {
        if (r.main < logStart) return;
        const prev = h.records[i - 1]?.kv ?? undefined;
        const kv = r.kv ?? deletedKv(h.key, r.main);
        const ev: MvccEvent = prev ? { type: r.kv ? "PUT" : "DELETE", kv, prevKv: prev } : { type: r.kv ? "PUT" : "DELETE", kv };
        const slot = (byRev[r.main - logStart] ??= { events: [], keys: [] });
        if (r.sub >= totalRecords || slot.events[r.sub] !== undefined) {
          throw new MvccError("ErrBadSnapshot", `mvcc: snapshot has a bad sub-revision ${r.sub} at revision ${r.main}`);
        }
        slot.events[r.sub] = ev;
        slot.keys[r.sub] = k;
      });
    }
    s.log = new EventLog(logStart);
    for (let rev = logStart; rev <= state.revision; rev++) {
      const entry = byRev[rev - logStart];
      // filter() skips holes, so a shorter result means a sub-revision is missing.
      if (entry === undefined || entry.events.length === 0 || entry.events.filter(() => true).length !== entry.events.length) {
        throw new MvccError("ErrBadSnapshot", `mvcc: snapshot history has a gap at revision ${rev}`);
      }
      s.log.append(entry);
    }
    return s;
  }

  /**
   * hash is a hex SHA-256 of the snapshot: equal on replicas with identical state (a stronger
   * cousin of etcd's HashKV, it also covers leases and the compaction point).
   */
  hash(): string {
    const h = createHash("sha256");
    for (const piece of encodeSnapshotPieces(this.snapshotState())) h.update(piece);
    return h.digest("hex");
  }
}

function deletedKv(key: Uint8Array, rev: number): KeyValue {
  return { key, value: EMPTY, createRevision: 0, modRevision: rev, version: 0, lease: 0 };
}

function holds(cmp: number, result: Compare["result"]): boolean {
  switch (result) {
    case "=":
      return cmp === 0;
    case "!=":
      return cmp !== 0;
    case "<":
      return cmp < 0;
    case ">":
      return cmp > 0;
  }
}

function compareNumber(actual: number, result: Compare["result"], given: number): boolean {
  return holds(actual - given, result);
}

function sortKvs(kvs: KeyValue[], target: NonNullable<RangeRequest["sortTarget"]>): void {
  // Array.prototype.sort is stable, so ties stay in key order on every replica.
  switch (target) {
    case "key":
      return; // already in key order
    case "version":
      kvs.sort((a, b) => a.version - b.version);
      return;
    case "createRevision":
      kvs.sort((a, b) => a.createRevision - b.createRevision);
      return;
    case "modRevision":
      kvs.sort((a, b) => a.modRevision - b.modRevision);
      return;
    case "value":
      kvs.sort((a, b) => compareBytes(a.value, b.value));
      return;
  }
}
