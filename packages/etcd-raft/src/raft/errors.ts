/**
 * Named errors of the Raft core. Storage errors (ErrCompacted…) live in storage.ts.
 */

/**
 * ProposalDroppedError: the node could not accept a proposal — it has no leader, a leadership
 * transfer is in progress, the node was removed, or a configuration change is already pending.
 * The proposal had no effect; the caller may retry later or elsewhere.
 */
export class ProposalDroppedError extends Error {
  override readonly name: string = "ProposalDroppedError";
  constructor(message = "raft proposal dropped") {
    super(message);
  }
}

/**
 * NotLeaderError: a proposal reached a follower. `leaderId` is the leader this node knows of
 * (0 = none known), so the server layer can forward or redirect. The proposal had no effect.
 */
export class NotLeaderError extends ProposalDroppedError {
  override readonly name = "NotLeaderError";
  constructor(readonly leaderId: number) {
    super(leaderId === 0 ? "not the leader, and no leader is known" : `not the leader; the leader is ${leaderId}`);
  }
}

/** InvalidConfigError: the Raft Config is unusable; the message says which field and why. */
export class InvalidConfigError extends Error {
  override readonly name = "InvalidConfigError";
}

/** StepLocalMessageError: a local-only message type (MsgHup, MsgBeat…) arrived through step(). */
export class StepLocalMessageError extends Error {
  override readonly name = "StepLocalMessageError";
}

/** InvariantError: the Raft state is corrupt (a bug, or storage violating its contract). Not recoverable. */
export class InvariantError extends Error {
  override readonly name = "InvariantError";
}
