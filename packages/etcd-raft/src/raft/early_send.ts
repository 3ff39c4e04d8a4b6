import { type Message, MessageType } from "./message.js";
import type { Ready } from "./rawnode.js";

/** What is durable on this node before the Ready is persisted. */
export interface DurableState {
  term: number;
  vote: number;
  /** Index of the last entry on disk. */
  lastIndex: number;
}

/**
 * splitEarlyMessages picks the messages of a Ready that a leader may send BEFORE it persists the
 * Ready, so its own fsync overlaps the followers' (Raft thesis §10.2.1: "the leader can write to
 * its disk in parallel with replicating to the followers"). The rest go out after persisting.
 * Only for a RawNode configured with `leaderSelfAckOnPersist`: the leader's own unsynced copy must
 * not count toward a commit (the simulator finds lost committed entries otherwise).
 *
 * Only leader-to-follower replication traffic qualifies (MsgApp, MsgHeartbeat). These promise
 * nothing about the sender's disk; the risk is in what they carry:
 * - A term or vote this Ready changes: a leader that crashed before persisting it could be
 *   elected again in the same term and write different entries under it. So a Ready that changes
 *   term or vote sends nothing early.
 * - A commit index covering entries not yet durable here (a single voter commits on its own
 *   append): followers would apply entries a crash can still erase. So a message qualifies only
 *   if its commit is ≤ the durable last index.
 * Entries carried early are merely uncommitted replicas: with leaderSelfAckOnPersist a commit
 * needs a quorum of durable copies, the leader's counted only after advance().
 */
export function splitEarlyMessages(rd: Ready, durable: DurableState): { early: Message[]; afterPersist: Message[] } {
  const hs = rd.hardState;
  if (hs && (hs.term !== durable.term || hs.vote !== durable.vote)) return { early: [], afterPersist: rd.messages };
  const early: Message[] = [];
  const afterPersist: Message[] = [];
  for (const m of rd.messages) {
    const replication = m.type === MessageType.MsgApp || m.type === MessageType.MsgHeartbeat;
    (replication && m.commit <= durable.lastIndex ? early : afterPersist).push(m);
  }
  return { early, afterPersist };
}
