import type { Entry, SnapshotMetadata } from "./types.js";

/**
 * Every input to the Raft state machine is a Message, including local events (MsgHup, MsgBeat,
 * MsgProp…), so there is one entry point to test.
 *
 * NOTE: when adding a message type, update IS_LOCAL_MSG and IS_RESPONSE_MSG below, the switch in
 * the role step functions in raft.ts, and the table test in test/raft/rawnode.test.ts.
 */
export enum MessageType {
  /** Local: start an election (the election timer fired, or campaign() was called). */
  MsgHup = 0,
  /** Local: the leader's heartbeat timer fired. */
  MsgBeat = 1,
  /** A proposal of entries (local on the leader; followers reject with NotLeaderError). */
  MsgProp = 2,
  /**
   * Append entries. (index=100, logTerm=5, entries=[101..]) means: the entries start at 101 and
   * the sender's entry at 100 has term 5; `commit` is the sender's commit index.
   */
  MsgApp = 3,
  /** Reply to MsgApp/MsgSnap: `index` is the follower's last matching index, or on reject the rejected index with a hint. */
  MsgAppResp = 4,
  MsgVote = 5,
  MsgVoteResp = 6,
  /** One chunk of a snapshot; the follower reassembles chunks before installing. */
  MsgSnap = 7,
  MsgHeartbeat = 8,
  MsgHeartbeatResp = 9,
  /** Local: the transport could not reach `from`. */
  MsgUnreachable = 10,
  /** Local: the outcome of sending a snapshot to `from` (`reject` = failed). */
  MsgSnapStatus = 11,
  /** Local on the leader: check that a quorum was active within the last election timeout. */
  MsgCheckQuorum = 12,
  /** Ask the leader to transfer leadership to `from`. */
  MsgTransferLeader = 13,
  /** Tells the transfer target to campaign immediately, bypassing PreVote and the leader lease. */
  MsgTimeoutNow = 14,
  /** A ReadIndex request; `context` is the request context. */
  MsgReadIndex = 15,
  MsgReadIndexResp = 16,
  MsgPreVote = 17,
  MsgPreVoteResp = 18,
}

/** The number of message types (for table tests). */
export const MESSAGE_TYPE_COUNT = 19;

/** A snapshot chunk position carried by MsgSnap. */
export interface SnapshotChunk {
  /** 0-based chunk number. */
  index: number;
  /** Number of chunks in this snapshot (≥ 1). */
  count: number;
  /** Total size of the snapshot data in bytes. */
  totalBytes: number;
}

/**
 * A flat Raft message. Fields that a type does not use are 0/false/empty. `term` is 0 only for
 * local messages.
 */
export interface Message {
  type: MessageType;
  to: number;
  from: number;
  term: number;
  /** The term of the entry at `index` (MsgApp), the voter's last log term (MsgVote), or a reject hint's term (MsgAppResp). */
  logTerm: number;
  index: number;
  entries: Entry[];
  commit: number;
  reject: boolean;
  rejectHint: number;
  /** ReadIndex request context; the leader-transfer marker on MsgVote. */
  context?: Uint8Array;
  /** MsgSnap: the snapshot's metadata; `snapshotData` holds this chunk's bytes. */
  snapshot?: SnapshotMetadata;
  snapshotData?: Uint8Array;
  chunk?: SnapshotChunk;
}

/** Builds a message with defaults for every field not given. */
export function newMessage(m: Partial<Message> & Pick<Message, "type">): Message {
  return {
    to: 0,
    from: 0,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    ...m,
  };
}

const IS_LOCAL_MSG: Record<MessageType, boolean> = {
  [MessageType.MsgHup]: true,
  [MessageType.MsgBeat]: true,
  [MessageType.MsgProp]: false,
  [MessageType.MsgApp]: false,
  [MessageType.MsgAppResp]: false,
  [MessageType.MsgVote]: false,
  [MessageType.MsgVoteResp]: false,
  [MessageType.MsgSnap]: false,
  [MessageType.MsgHeartbeat]: false,
  [MessageType.MsgHeartbeatResp]: false,
  [MessageType.MsgUnreachable]: true,
  [MessageType.MsgSnapStatus]: true,
  [MessageType.MsgCheckQuorum]: true,
  [MessageType.MsgTransferLeader]: false,
  [MessageType.MsgTimeoutNow]: false,
  [MessageType.MsgReadIndex]: false,
  [MessageType.MsgReadIndexResp]: false,
  [MessageType.MsgPreVote]: false,
  [MessageType.MsgPreVoteResp]: false,
};

const IS_RESPONSE_MSG: Record<MessageType, boolean> = {
  [MessageType.MsgHup]: false,
  [MessageType.MsgBeat]: false,
  [MessageType.MsgProp]: false,
  [MessageType.MsgApp]: false,
  [MessageType.MsgAppResp]: true,
  [MessageType.MsgVote]: false,
  [MessageType.MsgVoteResp]: true,
  [MessageType.MsgSnap]: false,
  [MessageType.MsgHeartbeat]: false,
  [MessageType.MsgHeartbeatResp]: true,
  [MessageType.MsgUnreachable]: true,
  [MessageType.MsgSnapStatus]: false,
  [MessageType.MsgCheckQuorum]: false,
  [MessageType.MsgTransferLeader]: false,
  [MessageType.MsgTimeoutNow]: false,
  [MessageType.MsgReadIndex]: false,
  [MessageType.MsgReadIndexResp]: true,
  [MessageType.MsgPreVote]: false,
  [MessageType.MsgPreVoteResp]: true,
};

/** Reports whether a message type is generated locally and must never arrive from the network. */
export function isLocalMsg(t: MessageType): boolean {
  return IS_LOCAL_MSG[t] ?? false;
}

/** Reports whether a message type answers an earlier request (dropped if the peer is unknown). */
export function isResponseMsg(t: MessageType): boolean {
  return IS_RESPONSE_MSG[t] ?? false;
}

/** The response type that answers a vote request type. */
export function voteRespMsgType(t: MessageType): MessageType {
  switch (t) {
    case MessageType.MsgVote:
      return MessageType.MsgVoteResp;
    case MessageType.MsgPreVote:
      return MessageType.MsgPreVoteResp;
    default:
      throw new Error(`not a vote message: ${MessageType[t]}`);
  }
}

/** InvalidMessageError: a message from the network is malformed; it was not stepped. */
export class InvalidMessageError extends Error {
  override readonly name = "InvalidMessageError";
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Checks the shape of a message received from the network, so a corrupt or hostile frame is
 * refused with a clear error instead of corrupting the state machine. Throws InvalidMessageError.
 */
export function validateMessage(m: unknown): asserts m is Message {
  if (typeof m !== "object" || m === null) throw new InvalidMessageError("message is not an object");
  const o = m as Record<string, unknown>;
  const t = o["type"];
  if (typeof t !== "number" || !Number.isInteger(t) || t < 0 || t >= MESSAGE_TYPE_COUNT) throw new InvalidMessageError(`unknown message type ${String(t)}`);
  for (const f of ["to", "from", "term", "logTerm", "index", "commit", "rejectHint"]) {
    if (!isCount(o[f])) throw new InvalidMessageError(`${MessageType[t]}: field ${f} must be a non-negative integer, got ${String(o[f])}`);
  }
  if (o["from"] === 0) throw new InvalidMessageError(`${MessageType[t]}: from must name the sender`);
  if (typeof o["reject"] !== "boolean") throw new InvalidMessageError(`${MessageType[t]}: reject must be a boolean`);
  if (o["context"] !== undefined && !(o["context"] instanceof Uint8Array)) throw new InvalidMessageError(`${MessageType[t]}: context must be bytes`);
  const ents = o["entries"];
  if (!Array.isArray(ents)) throw new InvalidMessageError(`${MessageType[t]}: entries must be an array`);
  let prevTerm = o["logTerm"] as number;
  ents.forEach((e: unknown, i) => {
    const eo = e as Record<string, unknown> | null;
    if (typeof eo !== "object" || eo === null) throw new InvalidMessageError(`${MessageType[t]}: entry ${i} is not an object`);
    if (!isCount(eo["term"]) || !isCount(eo["index"])) throw new InvalidMessageError(`${MessageType[t]}: entry ${i} needs integer term and index`);
    if (eo["type"] !== 0 && eo["type"] !== 1) throw new InvalidMessageError(`${MessageType[t]}: entry ${i} has unknown type ${String(eo["type"])}`);
    if (!(eo["data"] instanceof Uint8Array)) throw new InvalidMessageError(`${MessageType[t]}: entry ${i} data must be bytes`);
    if (t === MessageType.MsgApp) {
      if (eo["index"] !== (o["index"] as number) + i + 1) throw new InvalidMessageError(`MsgApp: entry ${i} has index ${String(eo["index"])}, expected ${(o["index"] as number) + i + 1}`);
      if ((eo["term"] as number) < prevTerm || (eo["term"] as number) > (o["term"] as number)) throw new InvalidMessageError(`MsgApp: entry ${i} has term ${String(eo["term"])} out of order`);
      prevTerm = eo["term"] as number;
    }
  });
  if (t === MessageType.MsgSnap) {
    const meta = o["snapshot"] as Record<string, unknown> | undefined;
    const chunk = o["chunk"] as Record<string, unknown> | undefined;
    if (!meta || !isCount(meta["index"]) || !isCount(meta["term"]) || typeof meta["confState"] !== "object" || meta["confState"] === null) {
      throw new InvalidMessageError("MsgSnap: missing or malformed snapshot metadata");
    }
    const cs = meta["confState"] as Record<string, unknown>;
    if (!Array.isArray(cs["voters"]) || !Array.isArray(cs["learners"]) || ![...cs["voters"], ...cs["learners"]].every((id) => isCount(id) && id > 0)) {
      throw new InvalidMessageError("MsgSnap: malformed confState");
    }
    if (!(o["snapshotData"] instanceof Uint8Array)) throw new InvalidMessageError("MsgSnap: snapshotData must be bytes");
    if (!chunk || !isCount(chunk["index"]) || !isCount(chunk["count"]) || !isCount(chunk["totalBytes"]) || chunk["count"] === 0 || (chunk["index"] as number) >= (chunk["count"] as number)) {
      throw new InvalidMessageError("MsgSnap: malformed chunk position");
    }
  }
}
