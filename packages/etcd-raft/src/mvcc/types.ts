/**
 * Public data types of the MVCC store: stored key-values, watch events, the replicated
 * commands and their results. Commands are plain data (msgpack-able) because they travel
 * through the Raft log.
 */
import type { Bytes } from "./bytes.js";

/**
 * KeyValue is one version of a key (etcd mvccpb.KeyValue). Objects returned by the store are
 * shared with its history: treat them as immutable.
 */
export interface KeyValue {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** Revision of the put that created this generation of the key. */
  readonly createRevision: number;
  /** Revision of the last modification (the Kubernetes resourceVersion). */
  readonly modRevision: number;
  /** Number of puts since creation; 1 on create, reset by delete. */
  readonly version: number;
  /** Lease id the key is attached to, 0 for none. */
  readonly lease: number;
}

/** MvccEvent is one change seen by watchers. A DELETE's kv has only key and modRevision set. */
export interface MvccEvent {
  readonly type: "PUT" | "DELETE";
  readonly kv: KeyValue;
  /** The key's previous live version, when the watcher asked for prevKv and one exists. */
  readonly prevKv?: KeyValue;
}

/** ResponseHeader carries the store revision a result was computed at (or produced). */
export interface ResponseHeader {
  readonly revision: number;
}

/** Sort order for range results. "none" is key order (the index order). */
export type SortOrder = "none" | "ascend" | "descend";
/** Field a range result is sorted by. */
export type SortTarget = "key" | "version" | "createRevision" | "modRevision" | "value";

/**
 * RangeRequest selects keys with etcd semantics: rangeEnd absent or empty = the single key;
 * rangeEnd "\0" = every key >= key; otherwise [key, rangeEnd). `prefixEnd(p)` gives the
 * rangeEnd for a prefix.
 */
export interface RangeRequest {
  key: Bytes;
  rangeEnd?: Bytes;
  /** Read at this revision; absent or <= 0 means the current revision. */
  revision?: number;
  /** Maximum kvs returned; 0 or absent means no limit. `count` still counts every match. */
  limit?: number;
  keysOnly?: boolean;
  countOnly?: boolean;
  sortOrder?: SortOrder;
  sortTarget?: SortTarget;
}

/** RangeResult lists matches in the requested order. more is true when limit cut the list. */
export interface RangeResult {
  readonly header: ResponseHeader;
  readonly kvs: KeyValue[];
  readonly count: number;
  readonly more: boolean;
}

/** PutCommand writes one key. */
export interface PutCommand {
  type: "put";
  key: Bytes;
  /** Ignored (may be omitted) when ignoreValue is set. */
  value?: Bytes;
  /** Lease to attach; 0 or absent detaches. Must exist. */
  lease?: number;
  /** Return the previous version in the result. */
  prevKv?: boolean;
  /** Keep the current value (the key must exist). */
  ignoreValue?: boolean;
  /** Keep the current lease (the key must exist). */
  ignoreLease?: boolean;
}

/** DeleteRangeCommand deletes every live key in the range (same range rules as RangeRequest). */
export interface DeleteRangeCommand {
  type: "deleteRange";
  key: Bytes;
  rangeEnd?: Bytes;
  prevKv?: boolean;
}

/** CompareResult is the operator of a txn compare: `actual <op> given`. */
export type CompareResult = "=" | "!=" | "<" | ">";

/**
 * Compare is a txn guard on the key (or on every key in [key, rangeEnd)). A missing key has
 * version, createRevision, modRevision and lease 0; a value compare on a missing key is false.
 */
export type Compare =
  | { key: Bytes; rangeEnd?: Bytes; target: "value"; result: CompareResult; value: Bytes }
  | {
      key: Bytes;
      rangeEnd?: Bytes;
      target: "version" | "createRevision" | "modRevision" | "lease";
      result: CompareResult;
      value: number;
    };

/** RangeOp is a read inside a txn; it sees writes made earlier in the same txn branch. */
export type RangeOp = { type: "range" } & Omit<RangeRequest, "revision">;

/** TxnOp is one operation of a txn branch. */
export type TxnOp = RangeOp | PutCommand | DeleteRangeCommand;

/**
 * TxnCommand runs `success` if every compare holds, else `failure`. All writes of the chosen
 * branch share ONE new revision. A key may be written at most once per branch.
 */
export interface TxnCommand {
  type: "txn";
  compare: Compare[];
  success: TxnOp[];
  failure: TxnOp[];
}

/** CompactCommand drops history below `revision` (keeping each live key's latest version). */
export interface CompactCommand {
  type: "compact";
  revision: number;
}

/** LeaseGrantCommand creates a lease. The proposer picks the id (positive safe integer). */
export interface LeaseGrantCommand {
  type: "leaseGrant";
  id: number;
  /** Time to live in seconds (positive integer). */
  ttl: number;
}

/** LeaseRevokeCommand deletes the lease and every key attached to it, in one revision. */
export interface LeaseRevokeCommand {
  type: "leaseRevoke";
  id: number;
}

/** Command is everything Raft replicates into the store. */
export type Command =
  | PutCommand
  | DeleteRangeCommand
  | TxnCommand
  | CompactCommand
  | LeaseGrantCommand
  | LeaseRevokeCommand;

/** PutResult: header.revision is the revision the put created. */
export interface PutResult {
  readonly type: "put";
  readonly header: ResponseHeader;
  readonly prevKv?: KeyValue;
}

/** DeleteRangeResult: deleted counts removed keys; no new revision when it is 0. */
export interface DeleteRangeResult {
  readonly type: "deleteRange";
  readonly header: ResponseHeader;
  readonly deleted: number;
  readonly prevKvs?: KeyValue[];
}

/** TxnOpResult is the result of one txn op, in op order. */
export type TxnOpResult = ({ readonly type: "range" } & RangeResult) | PutResult | DeleteRangeResult;

/** TxnResult: succeeded tells which branch ran. */
export interface TxnResult {
  readonly type: "txn";
  readonly header: ResponseHeader;
  readonly succeeded: boolean;
  readonly responses: TxnOpResult[];
}

export interface CompactResult {
  readonly type: "compact";
  readonly header: ResponseHeader;
}

export interface LeaseGrantResult {
  readonly type: "leaseGrant";
  readonly header: ResponseHeader;
  readonly id: number;
  readonly ttl: number;
}

export interface LeaseRevokeResult {
  readonly type: "leaseRevoke";
  readonly header: ResponseHeader;
  /** Number of attached keys deleted. */
  readonly deleted: number;
}

/** ApplyResult is the result of `MvccStore.apply`, discriminated like the command. */
export type ApplyResult =
  | PutResult
  | DeleteRangeResult
  | TxnResult
  | CompactResult
  | LeaseGrantResult
  | LeaseRevokeResult;

/** LeaseInfo describes a lease as the replicated state knows it (no deadlines: see LeaseTracker). */
export interface LeaseInfo {
  readonly id: number;
  /** Granted time to live in seconds. */
  readonly ttl: number;
  /** Keys attached to the lease, in byte order. */
  readonly keys: Uint8Array[];
}
