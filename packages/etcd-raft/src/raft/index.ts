/**
 * The pure Raft core: see README.md in this directory for how a driver uses RawNode.
 * ErrCompacted is exported as ErrLogCompacted because the MVCC store has its own ErrCompacted.
 */
export { type BootstrapState, bootstrapState } from "./bootstrap.js";
export { type Config, type ResolvedConfig, validateConfig } from "./config.js";
export { ConfChangeError, changeConfState, confStateEqual } from "./confchange.js";
export { describeConfState, describeEntries, describeEntry, describeHardState, describeMessage, describeReady, describeSnapshot } from "./describe.js";
export { InvalidConfigError, InvariantError, NotLeaderError, ProposalDroppedError, StepLocalMessageError } from "./errors.js";
export { type RaftLogger, discardLogger } from "./logger.js";
export {
  InvalidMessageError,
  MESSAGE_TYPE_COUNT,
  type Message,
  MessageType,
  type SnapshotChunk,
  isLocalMsg,
  isResponseMsg,
  newMessage,
  validateMessage,
  voteRespMsgType,
} from "./message.js";
export { type DurableState, splitEarlyMessages } from "./early_send.js";
export { ProgressState } from "./progress.js";
export { VoteResult, committedIndex, voteResult } from "./quorum.js";
export { Raft } from "./raft.js";
export { type RaftStatus, RawNode, type Ready } from "./rawnode.js";
export {
  ErrCompacted as ErrLogCompacted,
  ErrSnapOutOfDate,
  ErrSnapshotTemporarilyUnavailable,
  ErrUnavailable,
  MemoryStorage,
  type Storage,
} from "./storage.js";
export {
  type ConfChange,
  ConfChangeType,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type ReadState,
  type Snapshot,
  type SnapshotMetadata,
  type SoftState,
  StateType,
  decodeConfChange,
  emptySnapshot,
  encodeConfChange,
  entrySize,
  hardStateEqual,
  isEmptyHardState,
  isEmptySnapshot,
} from "./types.js";
