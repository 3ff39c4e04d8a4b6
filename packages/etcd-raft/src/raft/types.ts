/**
 * Persisted and exchanged Raft data shapes. The WAL stores Entry, HardState and Snapshot exactly
 * as declared here, so changing a field is a storage-format change.
 */

/** The kind of a log entry. */
export enum EntryType {
  /** Application data (possibly empty: a new leader appends one empty entry of its term). */
  Normal = 0,
  /** A membership change; `data` is an encoded {@link ConfChange} (see encodeConfChange). */
  ConfChange = 1,
}

/** One log entry. `index` starts at 1; `term` is the term of the leader that created it. */
export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

/** The state that must be durable before any message promising it is sent. */
export interface HardState {
  /** The latest term this node has seen. */
  term: number;
  /** The node voted for in `term` (0 = none). */
  vote: number;
  /** The highest log index known to be committed. */
  commit: number;
}

/** A cluster membership: voting members and non-voting learners (disjoint sets). */
export interface ConfState {
  voters: number[];
  learners: number[];
}

/** What a snapshot covers: the log up to and including `index` (of `term`), and the membership then. */
export interface SnapshotMetadata {
  index: number;
  term: number;
  confState: ConfState;
}

/** A state-machine snapshot: `data` is the application's serialized state at `metadata.index`. */
export interface Snapshot {
  metadata: SnapshotMetadata;
  data: Uint8Array;
}

/** The kind of a membership change. */
export enum ConfChangeType {
  /** Adds a voter, or promotes an existing learner to voter. */
  AddNode = 0,
  /** Removes a voter or a learner. */
  RemoveNode = 1,
  /** Adds a learner (a non-voting member that receives the log). Demoting a voter is refused. */
  AddLearnerNode = 2,
}

/** A single-server membership change, proposed with proposeConfChange and applied with applyConfChange. */
export interface ConfChange {
  type: ConfChangeType;
  nodeId: number;
  /** Opaque application data (e.g. the new member's address). */
  context?: Uint8Array;
}

/** The role of a node. */
export enum StateType {
  Follower = 0,
  Candidate = 1,
  Leader = 2,
  PreCandidate = 3,
}

/** Volatile state that the application may want to observe (not persisted). */
export interface SoftState {
  lead: number;
  raftState: StateType;
}

/**
 * The outcome of a ReadIndex request: once the application has applied up to `index`, a read
 * served from its state machine is linearizable. `requestCtx` is the ctx passed to readIndex().
 */
export interface ReadState {
  index: number;
  requestCtx: Uint8Array;
}

/** Reports whether a HardState carries no information (a node that never voted nor saw a term). */
export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === 0 && hs.commit === 0;
}

/** Reports whether two HardStates are equal. */
export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** Reports whether a snapshot is the empty placeholder (index 0). */
export function isEmptySnapshot(s: Snapshot | undefined): boolean {
  return s === undefined || s.metadata.index === 0;
}

/** The empty snapshot: index 0, term 0, no members. */
export function emptySnapshot(): Snapshot {
  return { metadata: { index: 0, term: 0, confState: { voters: [], learners: [] } }, data: new Uint8Array(0) };
}

/** The number of payload bytes an entry contributes to size limits. */
export function entrySize(e: Entry): number {
  return e.data.byteLength + 16;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** Encodes a ConfChange as entry data (JSON, so the WAL and debug tools can read it). */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const obj: Record<string, unknown> = { type: cc.type, nodeId: cc.nodeId };
  if (cc.context !== undefined) obj["context"] = Array.from(cc.context);
  return textEncoder.encode(JSON.stringify(obj));
}

/** Decodes the data of a ConfChange entry; throws a TypeError naming the problem on malformed input. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  let obj: unknown;
  try {
    obj = JSON.parse(textDecoder.decode(data));
  } catch {
    throw new TypeError("conf change entry data is not valid JSON");
  }
  if (typeof obj !== "object" || obj === null) throw new TypeError("conf change entry data is not an object");
  const o = obj as Record<string, unknown>;
  const type = o["type"];
  const nodeId = o["nodeId"];
  if (type !== ConfChangeType.AddNode && type !== ConfChangeType.RemoveNode && type !== ConfChangeType.AddLearnerNode) {
    throw new TypeError(`conf change has unknown type ${String(type)}`);
  }
  if (typeof nodeId !== "number" || !Number.isInteger(nodeId) || nodeId <= 0) {
    throw new TypeError(`conf change nodeId must be a positive integer, got ${String(nodeId)}`);
  }
  const cc: ConfChange = { type, nodeId };
  const ctx = o["context"];
  if (Array.isArray(ctx)) cc.context = Uint8Array.from(ctx as number[]);
  return cc;
}
