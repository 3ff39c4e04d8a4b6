import type { Config } from "./config.js";
import { InvariantError, StepLocalMessageError } from "./errors.js";
import { type Message, MessageType, isLocalMsg, isResponseMsg, newMessage, validateMessage } from "./message.js";
import { type Progress, ProgressState } from "./progress.js";
import { Raft } from "./raft.js";
import {
  type ConfChange,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type ReadState,
  type Snapshot,
  type SoftState,
  StateType,
  encodeConfChange,
  hardStateEqual,
} from "./types.js";

/**
 * Ready is a batch of work for the application. Handle it in THIS order, then call advance(rd):
 *
 * 1. Persist, durably (fsync), before anything else: `snapshot` (install it into the state
 *    machine too), then `entries` (appending; an entry at an existing index replaces it and
 *    everything after it), then `hardState`. Skip the sync only when `mustSync` is false.
 * 2. Send `messages`. They may promise the state persisted in step 1 (votes, append
 *    acknowledgements), so they must never leave earlier. If one is a MsgSnap and sending fails,
 *    call reportSnapshot(to, false); call reportUnreachable(to) when a peer cannot be reached.
 * 3. Apply `committedEntries` to the state machine in order. For a ConfChange entry, call
 *    applyConfChange(decodeConfChange(e.data)) (the change takes effect when applied).
 * 4. Serve reads: each ReadState may be answered once the state machine has applied up to its
 *    index.
 * 5. advance(rd).
 */
export interface Ready {
  /** The new leader/role, only when it changed since the last Ready. Informational. */
  softState?: SoftState;
  /** The new HardState to persist, only when it changed. */
  hardState?: HardState;
  /** Completed ReadIndex requests. */
  readStates: ReadState[];
  /** Entries to persist before sending messages. */
  entries: Entry[];
  /** A snapshot to persist and install, if the leader sent one. */
  snapshot?: Snapshot;
  /** Committed entries to apply, in order. They were persisted by this or an earlier Ready. */
  committedEntries: Entry[];
  /** Messages to send, after persisting. */
  messages: Message[];
  /** Whether entries/hardState must be synced to disk before sending (false: only a commit index moved). */
  mustSync: boolean;
}

/** RaftStatus is a read-only snapshot of a node's state for debugging and metrics. */
export interface RaftStatus {
  id: number;
  hardState: HardState;
  softState: SoftState;
  applied: number;
  lastIndex: number;
  leadTransferee: number;
  confState: ConfState;
  /** Only on the leader: each member's replication progress. */
  progress?: Map<number, { match: number; next: number; state: ProgressState; recentActive: boolean; isLearner: boolean }>;
}

/**
 * RawNode is the application's handle on one Raft node: it feeds inputs in and hands work out
 * as Ready batches. It is not thread-safe and performs no I/O; see src/raft/README.md for a
 * driver loop. Every method is synchronous.
 */
export class RawNode {
  readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  private outstanding: Ready | undefined;

  /** Creates a node from config. Throws InvalidConfigError on bad config. */
  constructor(config: Config) {
    this.raft = new Raft(config);
    this.prevSoftState = this.raft.softState();
    this.prevHardState = this.raft.hardState();
  }

  /** Advances the logical clock by one tick (the driver calls it every heartbeat/heartbeatTick ms or so). */
  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (PreVote first if enabled). */
  campaign(): void {
    this.raft.step(newMessage({ type: MessageType.MsgHup }));
  }

  /**
   * Proposes data to be appended to the log. Returns the index and term the entry got; it is
   * committed when it shows up in committedEntries at that index with that term (if another
   * entry shows up at that index, this proposal was lost). Throws NotLeaderError (with
   * leaderId) on a follower and ProposalDroppedError when no leader can accept it now.
   */
  propose(data: Uint8Array): { index: number; term: number } {
    return this.proposeEntry({ term: 0, index: 0, type: EntryType.Normal, data });
  }

  /**
   * Proposes a membership change. Only one change may be pending at a time: throws
   * ProposalDroppedError while the previous one is not yet applied on the leader, and
   * ConfChangeError if the change is invalid against the current membership.
   */
  proposeConfChange(cc: ConfChange): { index: number; term: number } {
    return this.proposeEntry({ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) });
  }

  private proposeEntry(e: Entry): { index: number; term: number } {
    this.raft.step(newMessage({ type: MessageType.MsgProp, from: this.raft.id, entries: [e] }));
    return { index: this.raft.log.lastIndex(), term: this.raft.term };
  }

  /** Applies a committed ConfChange (see Ready step 3) and returns the resulting membership. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /**
   * Steps a message received from the network. Malformed messages are refused
   * (InvalidMessageError) and local message types too (StepLocalMessageError); responses from unknown peers and proposals are dropped (followers
   * never forward proposals: use propose() on the leader).
   */
  step(m: Message): void {
    validateMessage(m);
    if (isLocalMsg(m.type)) throw new StepLocalMessageError(`cannot step raft local message ${MessageType[m.type]}`);
    if (m.type === MessageType.MsgProp) return;
    if (isResponseMsg(m.type) && !this.raft.tracker.progress.has(m.from) && m.type !== MessageType.MsgReadIndexResp) return;
    this.raft.step(m);
  }

  /**
   * Requests a linearizable read. The result arrives as a ReadState carrying ctx in a later
   * Ready; ctx should be unique per request. On a follower the request is forwarded to the
   * leader; with no known leader it is dropped (the caller retries after a timeout).
   */
  readIndex(ctx: Uint8Array): void {
    this.raft.step(newMessage({ type: MessageType.MsgReadIndex, context: ctx }));
  }

  /** Asks the leader to hand leadership to `to` (works on any member; followers forward it). */
  transferLeader(to: number): void {
    this.raft.step(newMessage({ type: MessageType.MsgTransferLeader, from: to }));
  }

  /** Tells the leader that `id` could not be reached (it stops pipelining and probes). */
  reportUnreachable(id: number): void {
    this.raft.step(newMessage({ type: MessageType.MsgUnreachable, from: id }));
  }

  /** Tells the leader whether sending a snapshot to `id` succeeded. */
  reportSnapshot(id: number, ok: boolean): void {
    this.raft.step(newMessage({ type: MessageType.MsgSnapStatus, from: id, reject: !ok }));
  }

  /** Whether a Ready with work is available. False while a Ready awaits advance(). */
  hasReady(): boolean {
    if (this.outstanding) return false;
    const r = this.raft;
    const ss = r.softState();
    if (ss.lead !== this.prevSoftState.lead || ss.raftState !== this.prevSoftState.raftState) return true;
    if (!hardStateEqual(r.hardState(), this.prevHardState)) return true;
    if (r.log.hasPendingSnapshot()) return true;
    if (r.msgs.length > 0 || r.log.unstableEntries().length > 0 || r.log.hasNextCommittedEnts()) return true;
    return r.readStates.length > 0;
  }

  /**
   * Returns the outstanding work. Must be followed by advance(rd) before the next ready(); throws
   * InvariantError if the previous Ready was not advanced.
   */
  ready(): Ready {
    if (this.outstanding) throw new InvariantError("ready() called again before advance() of the previous Ready");
    const r = this.raft;
    const rd: Ready = {
      readStates: r.readStates,
      entries: [...r.log.unstableEntries()],
      committedEntries: r.log.nextCommittedEnts(r.cfg.maxCommittedSizePerReady),
      messages: r.msgs,
      mustSync: false,
    };
    const ss = r.softState();
    if (ss.lead !== this.prevSoftState.lead || ss.raftState !== this.prevSoftState.raftState) rd.softState = ss;
    const hs = r.hardState();
    if (!hardStateEqual(hs, this.prevHardState)) rd.hardState = hs;
    if (r.log.unstable.snapshot) rd.snapshot = r.log.unstable.snapshot;
    rd.mustSync =
      rd.entries.length > 0 || rd.snapshot !== undefined || (rd.hardState !== undefined && (hs.term !== this.prevHardState.term || hs.vote !== this.prevHardState.vote));
    r.msgs = [];
    r.readStates = [];
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastCommitted) r.log.applyingTo(lastCommitted.index);
    this.outstanding = rd;
    return rd;
  }

  /** Acknowledges that rd was handled as its documentation requires. */
  advance(rd: Ready): void {
    if (rd !== this.outstanding) throw new InvariantError("advance() called with a Ready that is not the outstanding one");
    this.outstanding = undefined;
    const r = this.raft;
    if (rd.softState) this.prevSoftState = rd.softState;
    if (rd.hardState) this.prevHardState = rd.hardState;
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry) {
      r.log.stableTo(lastEntry.index, lastEntry.term);
      r.onPersisted(lastEntry.index, lastEntry.term);
    }
    if (rd.snapshot) {
      r.log.stableSnapTo(rd.snapshot.metadata.index);
      // The application installed the snapshot into its state machine while persisting it.
      if (r.log.applied < rd.snapshot.metadata.index) {
        r.log.applied = rd.snapshot.metadata.index;
        r.log.applying = Math.max(r.log.applying, rd.snapshot.metadata.index);
      }
    }
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastCommitted) r.log.appliedTo(lastCommitted.index);
  }

  /** A snapshot of this node's state. */
  status(): RaftStatus {
    const r = this.raft;
    const s: RaftStatus = {
      id: r.id,
      hardState: r.hardState(),
      softState: r.softState(),
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      leadTransferee: r.leadTransferee,
      confState: r.tracker.confState(),
    };
    if (r.state === StateType.Leader) {
      s.progress = new Map();
      for (const [id, pr] of r.tracker.progress) s.progress.set(id, progressView(pr));
    }
    return s;
  }
}

function progressView(pr: Progress) {
  return { match: pr.match, next: pr.next, state: pr.state, recentActive: pr.recentActive, isLearner: pr.isLearner };
}
