import { type Config, type ResolvedConfig, validateConfig } from "./config.js";
import { ConfChangeError, changeConfState } from "./confchange.js";
import { InvariantError, NotLeaderError, ProposalDroppedError } from "./errors.js";
import { RaftLog } from "./log.js";
import { type Message, MessageType, newMessage, voteRespMsgType } from "./message.js";
import { ProgressState } from "./progress.js";
import { VoteResult } from "./quorum.js";
import { ReadOnly } from "./read_only.js";
import { ErrCompacted, ErrSnapshotTemporarilyUnavailable, ErrUnavailable } from "./storage.js";
import { ProgressTracker } from "./tracker.js";
import {
  type ConfChange,
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
  entrySize,
  isEmptyHardState,
  isEmptySnapshot,
} from "./types.js";

/** Marks a MsgVote sent because of a leader transfer: it bypasses the receiver's leader lease. */
const CAMPAIGN_TRANSFER = new TextEncoder().encode("CampaignTransfer");

/** Why a node campaigns. */
export enum CampaignType {
  PreElection = "pre-election",
  Election = "election",
  Transfer = "transfer",
}

type StepFn = (r: Raft, m: Message) => void;

interface SnapshotAssembly {
  metadata: SnapshotMetadata;
  count: number;
  parts: (Uint8Array | undefined)[];
  received: number;
}

function isTransferContext(ctx: Uint8Array | undefined): boolean {
  if (!ctx || ctx.length !== CAMPAIGN_TRANSFER.length) return false;
  return ctx.every((b, i) => b === CAMPAIGN_TRANSFER[i]);
}

/**
 * Raft is the consensus state machine of one node. It performs no I/O: inputs arrive through
 * step() and tick(), outputs accumulate in `msgs`, `readStates` and the log's unstable part,
 * and RawNode packages them into a Ready. Applications use RawNode, not this class.
 *
 * Role behaviour is swapped wholesale on each transition (becomeFollower/PreCandidate/
 * Candidate/Leader set `stepFn` and `tickFn`).
 */
export class Raft {
  readonly id: number;
  term = 0;
  vote = 0;
  lead = 0;
  state = StateType.Follower;
  readonly log: RaftLog;
  readonly tracker: ProgressTracker;
  readonly cfg: ResolvedConfig;

  /** Outgoing messages; the application sends them only after persisting the Ready that carries them. */
  msgs: Message[] = [];
  /** ReadIndex results for the application. */
  readStates: ReadState[] = [];

  /** The leadership transfer target (0 = none). */
  leadTransferee = 0;
  /**
   * Index of the last conf change appended by this leader: a new one is refused until the
   * application has applied up to it (one membership change at a time).
   */
  pendingConfIndex = 0;
  /** @internal */
  readOnly = new ReadOnly();
  /** ReadIndex requests received before this leader committed an entry of its term. */
  /** @internal */
  pendingReadIndexMessages: Message[] = [];
  private snapshotAssembly: SnapshotAssembly | undefined;

  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  readonly electionTimeout: number;
  readonly heartbeatTimeout: number;

  private stepFn: StepFn = stepFollower;
  private tickFn: () => void = () => this.tickElection();

  constructor(config: Config) {
    this.cfg = validateConfig(config);
    this.id = this.cfg.id;
    this.electionTimeout = this.cfg.electionTick;
    this.heartbeatTimeout = this.cfg.heartbeatTick;
    this.log = new RaftLog(this.cfg.storage);
    this.tracker = new ProgressTracker(this.cfg.maxInflightMsgs, this.cfg.maxInflightBytes);
    const { hardState, confState } = this.cfg.storage.initialState();
    this.applyConfState(confState);
    if (!isEmptyHardState(hardState)) this.loadState(hardState);
    if (this.cfg.applied > 0) this.log.appliedTo(this.cfg.applied);
    this.becomeFollower(this.term, 0);
    this.cfg.logger.info(
      `newRaft ${this.id} [peers: [${this.tracker.voters.join(",")}], learners: [${this.tracker.learners.join(",")}], term: ${this.term}, commit: ${this.log.committed}, applied: ${this.log.applied}, lastindex: ${this.log.lastIndex()}, lastterm: ${this.log.lastTerm()}]`,
    );
  }

  private get logger() {
    return this.cfg.logger;
  }

  softState(): SoftState {
    return { lead: this.lead, raftState: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  private loadState(hs: HardState): void {
    if (hs.commit > this.log.lastIndex()) {
      throw new InvariantError(`${this.id} state.commit ${hs.commit} is out of range [${this.log.committed}, ${this.log.lastIndex()}]`);
    }
    // A commit below the snapshot index (the HardState write was lost after the snapshot was
    // saved) is harmless: a snapshot only ever holds committed entries.
    this.log.committed = Math.max(this.log.committed, hs.commit);
    this.term = hs.term;
    this.vote = hs.vote;
  }

  // ---- sending ----------------------------------------------------------------------------

  /**
   * Queues a message. Every queued message leaves only after the Ready carrying it has been
   * persisted, so a vote or append acknowledgement never promises state that could still be
   * lost in a crash (Raft thesis §3.8: a server must persist before responding).
   */
  /** @internal */
  send(m: Message): void {
    if (m.from === 0) m.from = this.id;
    if (m.type === MessageType.MsgVote || m.type === MessageType.MsgVoteResp || m.type === MessageType.MsgPreVote || m.type === MessageType.MsgPreVoteResp) {
      // Vote messages carry the term they are about (for PreVote, a future term), set by the caller.
      if (m.term === 0) throw new InvariantError(`term should be set when sending ${MessageType[m.type]}`);
    } else {
      if (m.term !== 0) throw new InvariantError(`term should not be set when sending ${MessageType[m.type]} (was ${m.term})`);
      // Proposals and forwarded ReadIndex requests are like local messages: no term.
      if (m.type !== MessageType.MsgProp && m.type !== MessageType.MsgReadIndex) m.term = this.term;
    }
    if (m.to === this.id) throw new InvariantError(`${this.id} attempted to send ${MessageType[m.type]} to itself`);
    this.msgs.push(m);
  }

  /** Sends entries (or a snapshot) to `to` if its progress allows. Returns whether a message was sent. */
  /** @internal */
  maybeSendAppend(to: number, sendIfEmpty: boolean): boolean {
    const pr = this.tracker.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.termOrUndefined(prevIndex);
    let ents: Entry[] | undefined;
    if (prevTerm !== undefined) {
      try {
        ents = this.log.entries(pr.next, this.cfg.maxSizePerMsg);
      } catch (e) {
        if (!(e instanceof ErrCompacted || e instanceof ErrUnavailable)) throw e;
      }
    }
    if (prevTerm === undefined || ents === undefined) return this.maybeSendSnapshot(to);
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.send(newMessage({ type: MessageType.MsgApp, to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: this.log.committed }));
    if (ents.length > 0) {
      const last = ents[ents.length - 1]!.index;
      switch (pr.state) {
        case ProgressState.Replicate: {
          let bytes = 0;
          for (const e of ents) bytes += entrySize(e);
          pr.optimisticUpdate(last);
          pr.inflights.add(last, bytes);
          break;
        }
        case ProgressState.Probe:
          pr.msgAppProbesPaused = true;
          break;
        default:
          throw new InvariantError(`${this.id} is sending append in unhandled state ${ProgressState[pr.state]}`);
      }
    }
    return true;
  }

  /** @internal */
  sendAppend(to: number): void {
    this.maybeSendAppend(to, true);
  }

  /**
   * Sends the current snapshot to a follower whose next entry was compacted away, as chunks of
   * maxSnapshotChunkBytes that the follower reassembles. If any chunk is lost, the follower never
   * answers; the leader retries after an election timeout (see tickHeartbeat) or when the
   * application reports the failure (reportSnapshot).
   */
  private maybeSendSnapshot(to: number): boolean {
    const pr = this.tracker.progress.get(to)!;
    if (!pr.recentActive) {
      this.logger.debug(`${this.id} ignored sending snapshot to ${to} since it is not recently active`);
      return false;
    }
    let snap: Snapshot;
    try {
      snap = this.log.snapshot();
    } catch (e) {
      if (e instanceof ErrSnapshotTemporarilyUnavailable) {
        this.logger.debug(`${this.id} failed to send snapshot to ${to} because snapshot is temporarily unavailable`);
        return false;
      }
      throw e;
    }
    if (isEmptySnapshot(snap)) throw new InvariantError(`${this.id} needs a non-empty snapshot to catch up ${to}`);
    pr.becomeSnapshot(snap.metadata.index);
    this.logger.debug(`${this.id} [firstindex: ${this.log.firstIndex()}, commit: ${this.log.committed}] sent snapshot[index: ${snap.metadata.index}, term: ${snap.metadata.term}] to ${to} [${pr}]`);
    const total = snap.data.byteLength;
    const chunkBytes = this.cfg.maxSnapshotChunkBytes;
    const count = Math.max(1, Math.ceil(total / chunkBytes));
    for (let i = 0; i < count; i++) {
      this.send(
        newMessage({
          type: MessageType.MsgSnap,
          to,
          snapshot: snap.metadata,
          snapshotData: snap.data.subarray(i * chunkBytes, Math.min(total, (i + 1) * chunkBytes)),
          chunk: { index: i, count, totalBytes: total },
        }),
      );
    }
    return true;
  }

  private sendHeartbeat(to: number, ctx: Uint8Array | undefined): void {
    const pr = this.tracker.progress.get(to)!;
    // Never advance a follower's commit past what it is known to hold: it may not have those entries.
    const commit = Math.min(pr.match, this.log.committed);
    const m = newMessage({ type: MessageType.MsgHeartbeat, to, commit });
    if (ctx) m.context = ctx;
    this.send(m);
  }

  private forEachPeer(fn: (id: number) => void): void {
    for (const id of this.tracker.members()) if (id !== this.id) fn(id);
  }

  bcastAppend(): void {
    this.forEachPeer((id) => this.sendAppend(id));
  }

  /** @internal */
  bcastHeartbeat(): void {
    this.bcastHeartbeatWithCtx(this.readOnly.lastPendingRequestCtx());
  }

  private bcastHeartbeatWithCtx(ctx: Uint8Array | undefined): void {
    this.forEachPeer((id) => this.sendHeartbeat(id, ctx));
  }

  /** Advances the commit index to what a quorum has; returns whether it moved. */
  /** @internal */
  maybeCommit(): boolean {
    return this.log.maybeCommit(this.tracker.committed(), this.term);
  }

  // ---- role transitions -------------------------------------------------------------------

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = 0;
    }
    this.lead = 0;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.tracker.resetVotes();
    const last = this.log.lastIndex();
    for (const [id, pr] of this.tracker.progress) {
      const fresh = this.tracker.newProgress(last + 1, pr.isLearner);
      // A new term starts with nobody known to be active: CheckQuorum needs fresh evidence.
      fresh.recentActive = id === this.id;
      if (id === this.id) fresh.match = this.cfg.leaderSelfAckOnPersist ? this.log.stableLastIndex() : last;
      this.tracker.progress.set(id, fresh);
    }
    this.pendingConfIndex = 0;
    this.readOnly = new ReadOnly();
    this.pendingReadIndexMessages = [];
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + this.cfg.rng.int(this.electionTimeout);
  }

  becomeFollower(term: number, lead: number): void {
    this.stepFn = stepFollower;
    this.reset(term);
    this.tickFn = () => this.tickElection();
    this.lead = lead;
    this.state = StateType.Follower;
    this.logger.info(`${this.id} became follower at term ${this.term}`);
  }

  becomeCandidate(): void {
    if (this.state === StateType.Leader) throw new InvariantError("invalid transition [leader -> candidate]");
    this.stepFn = stepCandidate;
    this.reset(this.term + 1);
    this.tickFn = () => this.tickElection();
    this.vote = this.id;
    this.state = StateType.Candidate;
    this.logger.info(`${this.id} became candidate at term ${this.term}`);
  }

  becomePreCandidate(): void {
    if (this.state === StateType.Leader) throw new InvariantError("invalid transition [leader -> pre-candidate]");
    // A pre-candidate changes neither term nor vote: the pre-election is not binding on anyone.
    this.stepFn = stepCandidate;
    this.tracker.resetVotes();
    this.tickFn = () => this.tickElection();
    this.lead = 0;
    this.state = StateType.PreCandidate;
    this.logger.info(`${this.id} became pre-candidate at term ${this.term}`);
  }

  becomeLeader(): void {
    if (this.state === StateType.Follower) throw new InvariantError("invalid transition [follower -> leader]");
    this.stepFn = stepLeader;
    this.reset(this.term);
    this.tickFn = () => this.tickHeartbeat();
    this.lead = this.id;
    this.state = StateType.Leader;
    this.tracker.progress.get(this.id)?.becomeReplicate();
    // Conservatively treat every uncommitted entry as a possible conf change: no new membership
    // change until this leader has applied its whole log (fixes the single-server change bug
    // described by Ongaro on raft-dev, 2015).
    this.pendingConfIndex = this.log.lastIndex();
    // An empty entry of the new term: committing it commits every earlier entry (§5.4.2) and
    // lets ReadIndex serve reads.
    this.appendEntry([{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) }]);
    this.logger.info(`${this.id} became leader at term ${this.term}`);
  }

  /** @internal */
  appendEntry(ents: Entry[]): void {
    let li = this.log.lastIndex();
    const stamped = ents.map((e) => ({ ...e, term: this.term, index: ++li }));
    li = this.log.append(stamped);
    // With leaderSelfAckOnPersist the leader's own copy counts only once persisted (onPersisted).
    if (this.cfg.leaderSelfAckOnPersist) return;
    // Otherwise it counts at once: safe only because the application then persists them before
    // sending any message (and so before any follower can acknowledge them).
    this.tracker.progress.get(this.id)?.maybeUpdate(li);
    if (this.maybeCommit()) this.releasePendingReadIndexMessages();
  }

  /**
   * @internal RawNode.advance reports entries up to (index, term) persisted. With
   * leaderSelfAckOnPersist this is the leader's own acknowledgement: it may complete a quorum.
   */
  onPersisted(index: number, term: number): void {
    if (!this.cfg.leaderSelfAckOnPersist || this.state !== StateType.Leader) return;
    if (!this.log.matchTerm(index, term)) return; // overwritten meanwhile: not this log's entry
    const pr = this.tracker.progress.get(this.id);
    if (!pr?.maybeUpdate(index)) return;
    if (this.maybeCommit()) {
      this.releasePendingReadIndexMessages();
      this.bcastAppend();
    }
  }

  // ---- timers -----------------------------------------------------------------------------

  /** Advances the logical clock by one tick. */
  tick(): void {
    this.tickFn();
  }

  private pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.step(newMessage({ type: MessageType.MsgHup, from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum) this.step(newMessage({ type: MessageType.MsgCheckQuorum, from: this.id }));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.state === StateType.Leader && this.leadTransferee !== 0) this.abortLeaderTransfer();
    }
    if (this.state !== StateType.Leader) return;
    for (const pr of this.tracker.progress.values()) {
      if (pr.state !== ProgressState.Snapshot) continue;
      // A snapshot chunk may have been lost: retry after two election timeouts without an answer.
      if (++pr.snapshotElapsed > 2 * this.electionTimeout) {
        pr.pendingSnapshot = 0;
        pr.becomeProbe();
      }
    }
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(newMessage({ type: MessageType.MsgBeat, from: this.id }));
    }
  }

  /** Whether this node may become leader: a voter with no snapshot waiting to be persisted. */
  promotable(): boolean {
    return this.tracker.isVoter(this.id) && !this.log.hasPendingSnapshot();
  }

  // ---- elections --------------------------------------------------------------------------

  /** @internal */
  hup(t: CampaignType): void {
    if (this.state === StateType.Leader) {
      this.logger.debug(`${this.id} ignoring MsgHup because already leader`);
      return;
    }
    if (!this.promotable()) {
      this.logger.warn(`${this.id} is unpromotable and can not campaign`);
      return;
    }
    if (this.hasUnappliedConfChanges()) {
      this.logger.warn(`${this.id} cannot campaign at term ${this.term} since there are still pending configuration changes to apply`);
      return;
    }
    this.logger.info(`${this.id} is starting a new election at term ${this.term}`);
    this.campaign(t);
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.log.applied >= this.log.committed) return false;
    let lo = Math.max(this.log.applied + 1, this.log.firstIndex());
    const hi = this.log.committed + 1;
    while (lo < hi) {
      const ents = this.log.slice(lo, hi, this.cfg.maxCommittedSizePerReady);
      if (ents.some((e) => e.type === EntryType.ConfChange)) return true;
      lo += ents.length;
    }
    return false;
  }

  /** @internal */
  campaign(t: CampaignType): void {
    if (!this.promotable()) throw new InvariantError(`${this.id} is unpromotable; campaign() should have been called`);
    let term: number;
    let voteMsg: MessageType;
    if (t === CampaignType.PreElection) {
      this.becomePreCandidate();
      voteMsg = MessageType.MsgPreVote;
      // PreVote RPCs are sent for the next term before we've incremented r.term.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.MsgVote;
      term = this.term;
    }
    if (this.poll(this.id, voteRespMsgType(voteMsg), true) === VoteResult.Won) {
      // A single-voter cluster wins at once.
      if (t === CampaignType.PreElection) this.campaign(CampaignType.Election);
      else this.becomeLeader();
      return;
    }
    for (const id of this.tracker.voters) {
      if (id === this.id) continue;
      const m = newMessage({ type: voteMsg, to: id, term, index: this.log.lastIndex(), logTerm: this.log.lastTerm() });
      if (t === CampaignType.Transfer) m.context = CAMPAIGN_TRANSFER;
      this.logger.info(`${this.id} [logterm: ${m.logTerm}, index: ${m.index}] sent ${MessageType[voteMsg]} request to ${id} at term ${this.term}`);
      this.send(m);
    }
  }

  /** @internal */
  poll(id: number, t: MessageType, granted: boolean): VoteResult {
    this.logger.debug(`${this.id} received ${MessageType[t]} ${granted ? "" : "rejection "}from ${id} at term ${this.term}`);
    this.tracker.recordVote(id, granted);
    return this.tracker.tallyVotes().result;
  }

  // ---- the single input path --------------------------------------------------------------

  /**
   * Processes one message. Throws NotLeaderError/ProposalDroppedError for proposals that cannot
   * be accepted; any other throw is an invariant violation.
   */
  step(m: Message): void {
    if (m.term === 0) {
      // local message
    } else if (m.term > this.term) {
      if (m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote) {
        const force = isTransferContext(m.context);
        const inLease = this.cfg.checkQuorum && this.lead !== 0 && this.electionElapsed < this.electionTimeout;
        if (!force && inLease) {
          // Leader lease: we heard from a live leader within the minimum election timeout, so
          // this candidate is likely partitioned or has a stale view; do not help it disrupt.
          this.logger.info(
            `${this.id} [logterm: ${this.log.lastTerm()}, index: ${this.log.lastIndex()}, vote: ${this.vote}] ignored ${MessageType[m.type]} from ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}: lease is not expired (remaining ticks: ${this.electionTimeout - this.electionElapsed})`,
          );
          return;
        }
      }
      if (m.type === MessageType.MsgPreVote) {
        // Never change our term in response to a PreVote.
      } else if (m.type === MessageType.MsgPreVoteResp && !m.reject) {
        // A granted pre-vote carries the future term we asked about; we bump the term only when
        // the pre-election is won.
      } else {
        this.logger.info(`${this.id} [term: ${this.term}] received a ${MessageType[m.type]} message with higher term from ${m.from} [term: ${m.term}]`);
        if (m.type === MessageType.MsgApp || m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgSnap) {
          this.becomeFollower(m.term, m.from);
        } else {
          this.becomeFollower(m.term, 0);
        }
      }
    } else if (m.term < this.term) {
      if ((this.cfg.checkQuorum || this.cfg.preVote) && (m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgApp)) {
        // A stale leader (e.g. one that was partitioned away) would otherwise never learn of the
        // new term if this node ignores its votes (lease/PreVote): tell it, so it steps down.
        this.send(newMessage({ type: MessageType.MsgAppResp, to: m.from }));
      } else if (m.type === MessageType.MsgPreVote) {
        this.send(newMessage({ type: MessageType.MsgPreVoteResp, to: m.from, term: this.term, reject: true }));
      } else {
        this.logger.debug(`${this.id} [term: ${this.term}] ignored a ${MessageType[m.type]} message with lower term from ${m.from} [term: ${m.term}]`);
      }
      return;
    }

    switch (m.type) {
      case MessageType.MsgHup:
        this.hup(this.cfg.preVote ? CampaignType.PreElection : CampaignType.Election);
        break;
      case MessageType.MsgVote:
      case MessageType.MsgPreVote: {
        // We can vote if this is a repeat of a vote we cast, or we have not voted and know of no
        // leader in this term, or it is a PreVote for a future term.
        const canVote = this.vote === m.from || (this.vote === 0 && this.lead === 0) || (m.type === MessageType.MsgPreVote && m.term > this.term);
        if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
          this.logger.info(`${this.id} cast ${MessageType[m.type]} for ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}`);
          // Reply with the term from the message: for a PreVote it is a future term we did not adopt.
          this.send(newMessage({ type: voteRespMsgType(m.type), to: m.from, term: m.term }));
          if (m.type === MessageType.MsgVote) {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.logger.info(`${this.id} rejected ${MessageType[m.type]} from ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}`);
          this.send(newMessage({ type: voteRespMsgType(m.type), to: m.from, term: this.term, reject: true }));
        }
        break;
      }
      default:
        this.stepFn(this, m);
    }
  }

  // ---- follower-side handlers -------------------------------------------------------------

  handleAppendEntries(m: Message): void {
    if (m.index < this.log.committed) {
      this.send(newMessage({ type: MessageType.MsgAppResp, to: m.from, index: this.log.committed }));
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send(newMessage({ type: MessageType.MsgAppResp, to: m.from, index: lastNew }));
      return;
    }
    // Reject with a hint: the largest index ≤ m.index whose term is ≤ m.logTerm. The leader can
    // skip every entry after it in one round trip instead of probing one index at a time.
    const hintIndex = Math.min(m.index, this.log.lastIndex());
    const hint = this.log.findConflictByTerm(hintIndex, m.logTerm);
    this.logger.debug(`${this.id} [logterm: ${this.log.termOrUndefined(m.index) ?? 0}, index: ${m.index}] rejected MsgApp [logterm: ${m.logTerm}, index: ${m.index}] from ${m.from}`);
    this.send(newMessage({ type: MessageType.MsgAppResp, to: m.from, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term }));
  }

  handleHeartbeat(m: Message): void {
    this.log.commitTo(m.commit);
    const resp = newMessage({ type: MessageType.MsgHeartbeatResp, to: m.from });
    if (m.context) resp.context = m.context;
    this.send(resp);
  }

  /** Collects one MsgSnap chunk; installs the snapshot once every chunk has arrived. */
  handleSnapshotChunk(m: Message): void {
    const meta = m.snapshot;
    const chunk = m.chunk;
    const data = m.snapshotData;
    if (!meta || !chunk || !data || !(chunk.count >= 1) || !(chunk.index >= 0 && chunk.index < chunk.count)) {
      this.logger.warn(`${this.id} ignored a malformed MsgSnap from ${m.from}`);
      return;
    }
    if (meta.index <= this.log.committed) {
      this.snapshotAssembly = undefined;
      this.send(newMessage({ type: MessageType.MsgAppResp, to: m.from, index: this.log.committed }));
      return;
    }
    let a = this.snapshotAssembly;
    if (!a || a.metadata.index !== meta.index || a.metadata.term !== meta.term || a.count !== chunk.count) {
      a = { metadata: meta, count: chunk.count, parts: new Array<Uint8Array | undefined>(chunk.count), received: 0 };
      this.snapshotAssembly = a;
    }
    if (a.parts[chunk.index] === undefined) {
      a.parts[chunk.index] = data;
      a.received++;
    }
    if (a.received < a.count) return;
    this.snapshotAssembly = undefined;
    let size = 0;
    for (const p of a.parts) size += p!.byteLength;
    if (size !== chunk.totalBytes) {
      this.logger.warn(`${this.id} reassembled snapshot has ${size} bytes, expected ${chunk.totalBytes}; dropping it`);
      return;
    }
    const whole = new Uint8Array(size);
    let off = 0;
    for (const p of a.parts) {
      whole.set(p!, off);
      off += p!.byteLength;
    }
    this.handleSnapshot({ metadata: meta, data: whole });
  }

  private handleSnapshot(s: Snapshot): void {
    const { index, term } = s.metadata;
    if (this.restore(s)) {
      this.logger.info(`${this.id} [commit: ${this.log.committed}] restored snapshot [index: ${index}, term: ${term}]`);
      this.send(newMessage({ type: MessageType.MsgAppResp, to: this.lead, index: this.log.lastIndex() }));
    } else {
      this.logger.info(`${this.id} [commit: ${this.log.committed}] ignored snapshot [index: ${index}, term: ${term}]`);
      this.send(newMessage({ type: MessageType.MsgAppResp, to: this.lead, index: this.log.committed }));
    }
  }

  /** Resets the log and membership to a snapshot. Returns false if the snapshot is not newer than our commit. */
  restore(s: Snapshot): boolean {
    if (s.metadata.index <= this.log.committed) return false;
    if (this.state !== StateType.Follower) {
      // Defense in depth: only followers install snapshots. Move to a new term so a leader
      // cannot keep acting with a log it just replaced.
      this.logger.warn(`${this.id} attempted to restore snapshot as ${StateType[this.state]}; should never happen`);
      this.becomeFollower(this.term + 1, 0);
      return false;
    }
    if (this.log.matchTerm(s.metadata.index, s.metadata.term)) {
      // We already have the snapshot's last entry: just fast-forward the commit index.
      this.log.commitTo(s.metadata.index);
      return false;
    }
    this.log.restore(s);
    this.applyConfState(s.metadata.confState);
    return true;
  }

  // ---- membership -------------------------------------------------------------------------

  /** Replaces the membership (on start and on snapshot restore). */
  private applyConfState(cs: ConfState): void {
    const voters = new Set(cs.voters);
    const learners = new Set(cs.learners);
    for (const id of voters) if (learners.has(id)) throw new InvariantError(`node ${id} is both voter and learner in ${JSON.stringify(cs)}`);
    this.tracker.voters = [...voters].sort((a, b) => a - b);
    this.tracker.learners = [...learners].sort((a, b) => a - b);
    const next = this.log.lastIndex() + 1;
    for (const id of [...this.tracker.progress.keys()]) {
      if (!voters.has(id) && !learners.has(id)) this.tracker.progress.delete(id);
    }
    for (const id of [...voters, ...learners]) {
      const pr = this.tracker.progress.get(id);
      if (pr) pr.isLearner = learners.has(id);
      else {
        const fresh = this.tracker.newProgress(next, learners.has(id));
        if (id === this.id) fresh.match = next - 1;
        this.tracker.progress.set(id, fresh);
      }
    }
  }

  /**
   * Applies a committed membership change and returns the new ConfState. Called by the
   * application when it applies a ConfChange entry, in log order, on every member. An invalid
   * change (committed by an older leader, or raced) leaves the membership unchanged.
   */
  applyConfChange(cc: ConfChange): ConfState {
    let next: ConfState;
    try {
      next = changeConfState(this.tracker.confState(), cc);
    } catch (e) {
      if (!(e instanceof ConfChangeError)) throw e;
      this.logger.warn(`${this.id} ignored conf change: ${e.message}`);
      return this.tracker.confState();
    }
    this.applyConfState(next);
    if (this.state !== StateType.Leader) return next;
    if (!this.tracker.isVoter(this.id)) {
      // This leader was removed: step down so the remaining voters elect one of themselves.
      this.becomeFollower(this.term, 0);
      return next;
    }
    if (this.leadTransferee !== 0 && !this.tracker.isVoter(this.leadTransferee)) this.abortLeaderTransfer();
    // The quorum changed: the commit index may advance, and new members need the log.
    if (this.maybeCommit()) this.releasePendingReadIndexMessages();
    this.bcastAppend();
    return next;
  }

  // ---- leader-side helpers ----------------------------------------------------------------

  abortLeaderTransfer(): void {
    this.leadTransferee = 0;
  }

  /** @internal */
  sendTimeoutNow(to: number): void {
    this.send(newMessage({ type: MessageType.MsgTimeoutNow, to }));
  }

  /** @internal */
  committedEntryInCurrentTerm(): boolean {
    return this.log.termOrUndefined(this.log.committed) === this.term;
  }

  /** Answers a confirmed ReadIndex request: locally, or to the follower that forwarded it. */
  /** @internal */
  responseToReadIndexReq(req: Message, readIndex: number): void {
    const ctx = req.context ?? new Uint8Array(0);
    if (req.from === 0 || req.from === this.id) {
      this.readStates.push({ index: readIndex, requestCtx: ctx });
      return;
    }
    this.send(newMessage({ type: MessageType.MsgReadIndexResp, to: req.from, index: readIndex, context: ctx }));
  }

  /** @internal */
  sendMsgReadIndexResponse(m: Message): void {
    if (this.tracker.voters.length === 1 && this.tracker.isVoter(this.id)) {
      // A single voter is always a quorum of itself.
      this.responseToReadIndexReq(m, this.log.committed);
      return;
    }
    // Remember the commit index now; answer once a quorum confirms we are still the leader.
    const ctx = m.context ?? new Uint8Array(0);
    this.readOnly.addRequest(this.log.committed, m);
    this.readOnly.recvAck(this.id, ctx);
    this.bcastHeartbeatWithCtx(ctx);
  }

  /** @internal */
  releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) this.sendMsgReadIndexResponse(m);
  }
}

// ---- role step functions ------------------------------------------------------------------

function stepLeader(r: Raft, m: Message): void {
  // Messages that do not need a progress entry.
  switch (m.type) {
    case MessageType.MsgBeat:
      r.bcastHeartbeat();
      return;
    case MessageType.MsgCheckQuorum: {
      const self = r.tracker.progress.get(r.id);
      if (self) self.recentActive = true;
      if (!r.tracker.quorumActive()) {
        r.cfg.logger.warn(`${r.id} stepped down to follower since quorum is not active`);
        r.becomeFollower(r.term, 0);
      }
      // Mark everyone (but ourselves) inactive for the next round.
      for (const [id, pr] of r.tracker.progress) if (id !== r.id) pr.recentActive = false;
      return;
    }
    case MessageType.MsgProp: {
      if (m.entries.length === 0) throw new InvariantError(`${r.id} stepped empty MsgProp`);
      if (!r.tracker.progress.has(r.id)) {
        // Removed from the configuration while leader: refuse, the caller will find the new leader.
        throw new ProposalDroppedError(`${r.id} is no longer a member of the cluster`);
      }
      if (r.leadTransferee !== 0) {
        throw new ProposalDroppedError(`${r.id} [term ${r.term}] is transferring leadership to ${r.leadTransferee}`);
      }
      for (const e of m.entries) {
        if (e.type !== EntryType.ConfChange) continue;
        if (r.pendingConfIndex > r.log.applied) {
          throw new ProposalDroppedError(`a configuration change is already pending (index ${r.pendingConfIndex}, applied ${r.log.applied})`);
        }
        const cc = decodeConfChange(e.data);
        changeConfState(r.tracker.confState(), cc); // throws ConfChangeError if invalid
      }
      r.appendEntry(m.entries.map((e) => ({ ...e })));
      if (m.entries.some((e) => e.type === EntryType.ConfChange)) r.pendingConfIndex = r.log.lastIndex();
      r.bcastAppend();
      return;
    }
    case MessageType.MsgReadIndex:
      if (r.tracker.voters.length === 1 && r.tracker.isVoter(r.id)) {
        r.responseToReadIndexReq(m, r.log.committed);
        return;
      }
      // Until this leader has committed an entry of its own term it does not know the true commit
      // index (entries of earlier terms may be committed without it knowing): postpone.
      if (!r.committedEntryInCurrentTerm()) {
        r.pendingReadIndexMessages.push(m);
        return;
      }
      r.sendMsgReadIndexResponse(m);
      return;
    default:
      break;
  }

  const pr = r.tracker.progress.get(m.from);
  if (!pr) {
    r.cfg.logger.debug(`${r.id} no progress available for ${m.from}`);
    return;
  }
  switch (m.type) {
    case MessageType.MsgAppResp: {
      pr.recentActive = true;
      if (m.reject) {
        r.cfg.logger.debug(`${r.id} received MsgAppResp(rejected, hint: (index ${m.rejectHint}, term ${m.logTerm})) from ${m.from} for index ${m.index}`);
        let nextProbeIdx = m.rejectHint;
        if (m.logTerm > 0) {
          // Skip, in one step, every entry of ours whose term is above the follower's term at
          // the hint index: none of them can match.
          nextProbeIdx = r.log.findConflictByTerm(m.rejectHint, m.logTerm).index;
        }
        if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
          if (pr.state === ProgressState.Replicate) pr.becomeProbe();
          r.sendAppend(m.from);
        }
        return;
      }
      if (pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === ProgressState.Probe)) {
        if (pr.state === ProgressState.Probe) pr.becomeReplicate();
        else if (pr.state === ProgressState.Snapshot && (pr.match >= pr.pendingSnapshot || pr.match + 1 >= r.log.firstIndex())) {
          pr.becomeProbe();
          pr.becomeReplicate();
        } else if (pr.state === ProgressState.Replicate) pr.inflights.freeLE(m.index);

        if (r.maybeCommit()) {
          r.releasePendingReadIndexMessages();
          r.bcastAppend();
        } else {
          // Fill the pipeline window again.
          while (r.maybeSendAppend(m.from, false)) {
            /* keep sending */
          }
        }
        if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) {
          r.cfg.logger.info(`${r.id} sent MsgTimeoutNow to ${m.from} after received MsgAppResp`);
          r.sendTimeoutNow(m.from);
        }
      }
      return;
    }
    case MessageType.MsgHeartbeatResp: {
      pr.recentActive = true;
      pr.msgAppProbesPaused = false;
      // The follower is alive but the window is full: appends or their acks were lost. Free one
      // slot so a new MsgApp goes out; if it does not match, the rejection rewinds `next`.
      if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirstOne();
      if (pr.match < r.log.lastIndex() || pr.state === ProgressState.Probe) r.sendAppend(m.from);
      if (!m.context || m.context.length === 0) return;
      const acks = r.readOnly.recvAck(m.from, m.context);
      if (!acks) return;
      if (r.tracker.voters.length === 0) return;
      const granted = r.tracker.voters.filter((id) => acks.has(id)).length;
      if (granted < Math.floor(r.tracker.voters.length / 2) + 1) return;
      for (const rs of r.readOnly.advance(m.context)) r.responseToReadIndexReq(rs.req, rs.index);
      return;
    }
    case MessageType.MsgSnapStatus: {
      if (pr.state !== ProgressState.Snapshot) return;
      if (m.reject) {
        pr.pendingSnapshot = 0;
        r.cfg.logger.debug(`${r.id} snapshot failed, resumed sending replication messages to ${m.from} [${pr}]`);
      } else {
        r.cfg.logger.debug(`${r.id} snapshot succeeded, resumed sending replication messages to ${m.from} [${pr}]`);
      }
      pr.becomeProbe();
      // Wait for the next heartbeat response before probing, in case the follower is slow to install.
      pr.msgAppProbesPaused = true;
      return;
    }
    case MessageType.MsgUnreachable:
      // Sending failed: stop pipelining blindly and probe again.
      if (pr.state === ProgressState.Replicate) pr.becomeProbe();
      return;
    case MessageType.MsgTransferLeader: {
      if (pr.isLearner) {
        r.cfg.logger.debug(`${r.id} is learner. Ignored transferring leadership`);
        return;
      }
      const transferee = m.from;
      const last = r.leadTransferee;
      if (last !== 0) {
        if (last === transferee) return;
        r.abortLeaderTransfer();
      }
      if (transferee === r.id) return;
      // The transfer must finish within one election timeout or it is abandoned.
      r.electionElapsed = 0;
      r.leadTransferee = transferee;
      r.cfg.logger.info(`${r.id} [term ${r.term}] starts to transfer leadership to ${transferee}`);
      if (pr.match === r.log.lastIndex()) r.sendTimeoutNow(transferee);
      else r.sendAppend(transferee);
      return;
    }
    default:
      return;
  }
}

function stepCandidate(r: Raft, m: Message): void {
  // A pre-candidate counts PreVote responses; a candidate counts Vote responses. Stale
  // responses of the other kind are ignored.
  const myVoteRespType = r.state === StateType.PreCandidate ? MessageType.MsgPreVoteResp : MessageType.MsgVoteResp;
  switch (m.type) {
    case MessageType.MsgProp:
      throw new ProposalDroppedError(`${r.id} no leader at term ${r.term}; dropping proposal`);
    case MessageType.MsgApp:
      r.becomeFollower(m.term, m.from);
      r.handleAppendEntries(m);
      return;
    case MessageType.MsgHeartbeat:
      r.becomeFollower(m.term, m.from);
      r.handleHeartbeat(m);
      return;
    case MessageType.MsgSnap:
      r.becomeFollower(m.term, m.from);
      r.handleSnapshotChunk(m);
      return;
    case myVoteRespType: {
      const res = r.poll(m.from, m.type, !m.reject);
      if (res === VoteResult.Won) {
        if (r.state === StateType.PreCandidate) r.campaign(CampaignType.Election);
        else {
          r.becomeLeader();
          r.bcastAppend();
        }
      } else if (res === VoteResult.Lost) {
        // MsgPreVoteResp carries a future term; stay in our own term.
        r.becomeFollower(r.term, 0);
      }
      return;
    }
    case MessageType.MsgTimeoutNow:
      r.cfg.logger.debug(`${r.id} [term ${r.term} state ${StateType[r.state]}] ignored MsgTimeoutNow from ${m.from}`);
      return;
    default:
      return;
  }
}

function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.MsgProp:
      throw new NotLeaderError(r.lead);
    case MessageType.MsgApp:
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleAppendEntries(m);
      return;
    case MessageType.MsgHeartbeat:
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleHeartbeat(m);
      return;
    case MessageType.MsgSnap:
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleSnapshotChunk(m);
      return;
    case MessageType.MsgTransferLeader:
      if (r.lead === 0) {
        r.cfg.logger.info(`${r.id} no leader at term ${r.term}; dropping leader transfer msg`);
        return;
      }
      r.send({ ...m, to: r.lead, term: 0 });
      return;
    case MessageType.MsgTimeoutNow:
      r.cfg.logger.info(`${r.id} [term ${r.term}] received MsgTimeoutNow from ${m.from} and starts an election to get leadership`);
      // Leadership transfers never use pre-vote: the current leader asked for it.
      r.hup(CampaignType.Transfer);
      return;
    case MessageType.MsgReadIndex:
      if (r.lead === 0) {
        r.cfg.logger.info(`${r.id} no leader at term ${r.term}; dropping index reading msg`);
        return;
      }
      // Keep `from` of a request forwarded twice (the original asker gets the answer); a local
      // request has from = 0 and send() names us.
      r.send({ ...m, to: r.lead, term: 0 });
      return;
    case MessageType.MsgReadIndexResp:
      r.readStates.push({ index: m.index, requestCtx: m.context ?? new Uint8Array(0) });
      return;
    default:
      return;
  }
}
