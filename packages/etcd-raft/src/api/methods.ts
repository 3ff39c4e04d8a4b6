/**
 * The client API of a kubemu-etcd member: method names and their param/result types, defined once
 * and shared by the server (src/server/kv-service.ts) and the client (src/client/).
 *
 * Every method is a wire request except `watch` and `snapshot`, which are server streams.
 * Keys and values travel as raw bytes (Uint8Array) or UTF-8 strings; results always carry bytes.
 */
import type {
  Bytes,
  DeleteRangeCommand,
  DeleteRangeResult,
  KeyValue,
  MvccEvent,
  PutCommand,
  PutResult,
  RangeRequest,
  RangeResult,
  TxnCommand,
  TxnResult,
  WatchFilter,
} from "../mvcc/index.js";

/** Method names on the client URL. */
export const Method = {
  range: "kv.range",
  put: "kv.put",
  deleteRange: "kv.deleteRange",
  txn: "kv.txn",
  compact: "kv.compact",
  watch: "watch",
  leaseGrant: "lease.grant",
  leaseRevoke: "lease.revoke",
  leaseKeepAlive: "lease.keepAlive",
  leaseTimeToLive: "lease.timeToLive",
  leaseLeases: "lease.leases",
  memberList: "cluster.memberList",
  memberAdd: "cluster.memberAdd",
  memberRemove: "cluster.memberRemove",
  status: "maintenance.status",
  hashKV: "maintenance.hashKV",
  moveLeader: "maintenance.moveLeader",
  snapshot: "maintenance.snapshot",
} as const;
export type MethodName = (typeof Method)[keyof typeof Method];

/** The method name peers use to exchange Raft messages on the peer URL. */
export const PEER_METHOD_MESSAGES = "raft.messages";

/** Read request. Linearizable (ReadIndex) unless serializable is set. */
export type RangeParams = RangeRequest & {
  /** Serve from this member's local state without a ReadIndex round (may be stale). */
  serializable?: boolean;
};
export type RangeResponse = RangeResult & { memberId: number; raftTerm: number };

export type PutParams = Omit<PutCommand, "type">;
export type PutResponse = Omit<PutResult, "type">;

export type DeleteRangeParams = Omit<DeleteRangeCommand, "type">;
export type DeleteRangeResponse = Omit<DeleteRangeResult, "type">;

export type TxnParams = Omit<TxnCommand, "type">;
export type TxnResponse = Omit<TxnResult, "type">;

export interface CompactParams {
  revision: number;
}
export interface CompactResponse {
  header: { revision: number };
}

/** Watch stream params. startRevision absent = from the next revision this member creates. */
export interface WatchParams {
  key: Bytes;
  rangeEnd?: Bytes;
  startRevision?: number;
  prevKv?: boolean;
  filters?: WatchFilter[];
  /** Send a progress item every this many ms while idle (0/absent = never). */
  progressNotifyMs?: number;
}

/**
 * Items of the watch stream, in order. `created` comes first: every event with a revision above
 * its `revision` will follow. `events` carries one revision's changes; `progress` says every
 * event up to `revision` has been sent. A client resumes from (last item's revision + 1).
 */
export type WatchItem =
  | { kind: "created"; revision: number }
  | { kind: "events"; revision: number; events: MvccEvent[] }
  | { kind: "progress"; revision: number };

export interface LeaseGrantParams {
  /** Seconds, a positive integer. */
  ttl: number;
  /** Requested id (positive); absent = the leader picks one. */
  id?: number;
}
export interface LeaseGrantResponse {
  id: number;
  ttl: number;
  header: { revision: number };
}

export interface LeaseIdParams {
  id: number;
}
export interface LeaseRevokeResponse {
  header: { revision: number };
  deleted: number;
}
export interface LeaseKeepAliveResponse {
  id: number;
  /** The renewed time to live in seconds. */
  ttl: number;
}
export interface LeaseTimeToLiveParams {
  id: number;
  keys?: boolean;
}
export interface LeaseTimeToLiveResponse {
  id: number;
  /** Seconds left before expiry. */
  ttl: number;
  grantedTtl: number;
  keys: Uint8Array[];
}
export interface LeaseLeasesResponse {
  leases: { id: number; ttl: number }[];
}

/** A cluster member as the replicated member registry knows it. */
export interface Member {
  id: number;
  name: string;
  peerUrls: string[];
  /** Empty until the member has published its client URL (it does so once it starts). */
  clientUrls: string[];
}
export interface MemberListResponse {
  members: Member[];
  leader: number;
}
export interface MemberAddParams {
  name: string;
  peerUrl: string;
}
export interface MemberAddResponse {
  member: Member;
  members: Member[];
}
/** Identify the member by id or by name. */
export interface MemberRemoveParams {
  id?: number;
  name?: string;
}
export interface MemberRemoveResponse {
  members: Member[];
}

export type RaftRole = "leader" | "follower" | "candidate";

export interface StatusResponse {
  name: string;
  memberId: number;
  leader: number;
  leaderName: string;
  role: RaftRole;
  raftTerm: number;
  /** Last index in this member's Raft log. */
  raftIndex: number;
  commitIndex: number;
  raftAppliedIndex: number;
  revision: number;
  compactRevision: number;
  /** Size in bytes of the serialized key-value state. */
  dbSize: number;
  isLearner: boolean;
}

export interface HashKVResponse {
  memberId: number;
  hash: string;
  revision: number;
  compactRevision: number;
  raftAppliedIndex: number;
}

/** Move leadership to the member with this id or name. */
export interface MoveLeaderParams {
  targetId?: number;
  name?: string;
}
export interface MoveLeaderResponse {
  leader: number;
}

/** Items of the snapshot stream: the state in chunks, then a trailer with its SHA-256. */
export type SnapshotItem =
  | { kind: "chunk"; data: Uint8Array }
  | { kind: "done"; revision: number; raftIndex: number; sha256: string; size: number };

export type { KeyValue };
