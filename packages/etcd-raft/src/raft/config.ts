import type { Rng } from "@kubemu/common";
import { InvalidConfigError } from "./errors.js";
import { type RaftLogger, discardLogger } from "./logger.js";
import type { Storage } from "./storage.js";

/** Configuration of one Raft node. Validated by validateConfig (and the RawNode constructor). */
export interface Config {
  /** This node's id: a positive integer, unique in the cluster. */
  id: number;
  /**
   * Ticks a follower waits without hearing from a leader before campaigning. The actual timeout
   * is drawn uniformly from [electionTick, 2*electionTick) after every reset.
   */
  electionTick: number;
  /** Ticks between leader heartbeats. Must be less than electionTick (typically a tenth). */
  heartbeatTick: number;
  /** The durable log. Read by the core, written only by the application. */
  storage: Storage;
  /** Randomness for election timeouts. Inject a seeded Rng to replay a run. */
  rng: Rng;
  /** The last index the application has already applied (on restart). Default: 0. */
  applied?: number;
  /** Upper bound of entry bytes per MsgApp (at least one entry is always sent). Default 1 MiB. */
  maxSizePerMsg?: number;
  /** Upper bound of committed entry bytes per Ready (at least one). Default 64 MiB. */
  maxCommittedSizePerReady?: number;
  /** Maximum MsgApp messages in flight to one follower in Replicate state. Default 256. */
  maxInflightMsgs?: number;
  /** Maximum entry bytes in flight to one follower (0 = unlimited). Default 0. */
  maxInflightBytes?: number;
  /** Snapshot data bytes per MsgSnap chunk. Default 512 KiB. */
  maxSnapshotChunkBytes?: number;
  /** Leader steps down if it heard from no quorum within an election timeout; enables the leader lease. Default true. */
  checkQuorum?: boolean;
  /** Run a pre-election before bumping the term, so a partitioned node cannot disrupt the cluster. Default true. */
  preVote?: boolean;
  /**
   * The leader counts its own entries toward the commit quorum only once advance() reports them
   * persisted, instead of as soon as it appends them. Required when the driver sends a leader's
   * replication messages before persisting (splitEarlyMessages): otherwise one follower's ack plus
   * the leader's unsynced copy would "commit" an entry that a leader crash can erase. Default false.
   */
  leaderSelfAckOnPersist?: boolean;
  logger?: RaftLogger;
}

/** A Config with every default filled in. */
export type ResolvedConfig = Required<Config>;

function positiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new InvalidConfigError(`${name} must be a positive integer, got ${v}`);
}

/** Checks a Config and fills in defaults. Throws InvalidConfigError with a plain-English reason. */
export function validateConfig(c: Config): ResolvedConfig {
  if (c === null || typeof c !== "object") throw new InvalidConfigError("config must be an object");
  if (!Number.isInteger(c.id) || c.id <= 0) throw new InvalidConfigError(`node id must be a positive integer (0 is reserved for "none"), got ${c.id}`);
  positiveInt("heartbeat tick", c.heartbeatTick);
  positiveInt("election tick", c.electionTick);
  if (c.electionTick <= c.heartbeatTick) {
    throw new InvalidConfigError(`election tick (${c.electionTick}) must be greater than heartbeat tick (${c.heartbeatTick})`);
  }
  if (!c.storage) throw new InvalidConfigError("storage cannot be nil");
  if (!c.rng) throw new InvalidConfigError("rng is required (inject a seeded Rng for deterministic runs)");
  const applied = c.applied ?? 0;
  if (!Number.isInteger(applied) || applied < 0) throw new InvalidConfigError(`applied must be a non-negative integer, got ${applied}`);
  const r: ResolvedConfig = {
    ...c,
    applied,
    maxSizePerMsg: c.maxSizePerMsg ?? 1024 * 1024,
    maxCommittedSizePerReady: c.maxCommittedSizePerReady ?? 64 * 1024 * 1024,
    maxInflightMsgs: c.maxInflightMsgs ?? 256,
    maxInflightBytes: c.maxInflightBytes ?? 0,
    maxSnapshotChunkBytes: c.maxSnapshotChunkBytes ?? 512 * 1024,
    checkQuorum: c.checkQuorum ?? true,
    preVote: c.preVote ?? true,
    leaderSelfAckOnPersist: c.leaderSelfAckOnPersist ?? false,
    logger: c.logger ?? discardLogger,
  };
  positiveInt("max size per msg", r.maxSizePerMsg);
  positiveInt("max committed size per ready", r.maxCommittedSizePerReady);
  positiveInt("max inflight msgs", r.maxInflightMsgs);
  positiveInt("max snapshot chunk bytes", r.maxSnapshotChunkBytes);
  if (!Number.isInteger(r.maxInflightBytes) || r.maxInflightBytes < 0) {
    throw new InvalidConfigError(`max inflight bytes must be a non-negative integer, got ${r.maxInflightBytes}`);
  }
  if (r.maxInflightBytes > 0 && r.maxInflightBytes < r.maxSizePerMsg) {
    throw new InvalidConfigError("max inflight bytes must be >= max message size");
  }
  return r;
}
