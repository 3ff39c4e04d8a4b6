import type { Entry, SnapshotMetadata } from "./types.js";

/**
 * Every input to the Raft state machine is a Message, including local events (MsgHup, MsgBeat,
 * MsgProp…), so there is one entry point to test.
 *
 * NOTE: when adding a message type, update IS_LOCAL_MSG and IS_RESPONSE_MSG below, the switch in
 * the role step functions in raft.ts, and the table test in test/raft/message.test.ts.
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
