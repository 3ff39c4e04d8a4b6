/**
 * RaftDriver runs one RawNode: the tick timer, the Ready loop, proposals and ReadIndex reads.
 *
 * Ready loop (one Ready at a time, in the order the RawNode contract demands):
 *   1. install a received snapshot (file + WAL marker, then the state machine),
 *   2. send the leader's replication messages that may go early (splitEarlyMessages), then
 *      persist HardState + entries to the WAL and wait for the fsync — so the leader's fsync
 *      overlaps its followers' instead of preceding them,
 *   3. send the other messages (votes, acks: they promise what was just persisted),
 *   4. apply committed entries and settle the proposals waiting on them,
 *   5. complete ReadIndex reads, advance, and make a snapshot every `snapshotCount` entries.
 * Everything proposed while a Ready is being persisted goes into the next one, so writes that
 * arrive together share one WAL write and one fsync (group commit); there is never one fsync
 * per write.
 *
 * A proposal is identified by the (index, term) its entry got: it succeeded if the entry
 * applied at that index has that term; any other entry there means it was lost (and will never
 * apply), which is reported as "not executed" so the client may retry it.
 */
import type { Clock, Logger, Rng, Timer } from "@kubemu/common";
import { newServiceUnavailable, StatusError } from "@kubemu/common";
import { notProposed, toStatusError } from "../api/index.js";
import {
  type ConfChange,
  ConfChangeType,
  type ConfState,
  decodeConfChange,
  type Entry,
  EntryType,
  type HardState,
  isEmptySnapshot,
  type Message,
  MemoryStorage,
  NotLeaderError,
  ProposalDroppedError,
  type RaftLogger,
  RawNode,
  type Ready,
  type Snapshot,
  type SoftState,
  splitEarlyMessages,
  StateType,
} from "../raft/index.js";
import { CodecError, decodeCommand, decodeEnvelope, decodeMemberContext, type LogCommand } from "./codec.js";
import type { Disk } from "./disk.js";
import type { ServerMetrics } from "./metrics.js";
import { ReadIndexQueue } from "./read-index.js";
import type { StateMachine } from "./state-machine.js";
import type { PeerTransport } from "./transport.js";

/** The leader snapshots this many times less often than followers (see snapshotThreshold). */
export const LEADER_SNAPSHOT_FACTOR = 3;

export interface DriverOptions {
  id: number;
  name: string;
  clock: Clock;
  rng: Rng;
  log: Logger;
  storage: MemoryStorage;
  disk: Disk;
  transport: PeerTransport;
  sm: StateMachine;
  metrics: ServerMetrics;
  appliedIndex: number;
  heartbeatMs: number;
  electionMs: number;
  snapshotCount: number;
  snapshotCatchUpEntries: number;
  /** Called once on an unrecoverable error (e.g. the WAL failed); the process must exit. */
  onFatal: (err: unknown) => void;
  /** Called when this member applies its own removal. */
  onRemoved: () => void;
  /** Called on every leader/role change, after the driver's own bookkeeping. */
  onSoftState?: (ss: SoftState, prev: SoftState) => void;
  /** Called after each applied normal entry that carried a key-value command. */
  onApplied?: (cmd: LogCommand, result: unknown) => void;
}

interface ProposalWaiter {
  term: number;
  resolve: (result: unknown) => void;
  reject: (err: StatusError) => void;
}

/** The result of applying an entry, or the error that rejected it. */
type Outcome = { ok: true; value: unknown } | { ok: false; err: StatusError };

export class RaftDriver {
  readonly node: RawNode;
  private readonly o: DriverOptions;
  private readonly log: Logger;
  private appliedIndex: number;
  private snapshotIndex: number;
  private confState: ConfState;
  private soft: SoftState = { lead: 0, raftState: StateType.Follower };
  private ticker: Timer | undefined;
  private scheduled = false;
  private running = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  private readonly proposals = new Map<number, ProposalWaiter>();
  private readonly reads: ReadIndexQueue;
  private snapshotBytes = 0;
  /** Our own snapshot being written to disk (the Ready loop goes on meanwhile). */
  private snapshotting: Promise<void> | undefined;
  /** Jitter (entries) added to this member's snapshot threshold, drawn anew after each snapshot. */
  private snapshotJitter: number;
  private readonly snapshotRng: Rng;
  private stage = "idle";
  private stageSince = 0;
  private deferredHardState: HardState | undefined;

  constructor(opts: DriverOptions) {
    this.o = opts;
    this.log = opts.log;
    this.appliedIndex = opts.appliedIndex;
    this.snapshotIndex = opts.storage.snapshot().metadata.index;
    this.snapshotRng = opts.rng.fork();
    this.snapshotJitter = this.drawSnapshotJitter();
    this.confState = opts.storage.initialState().confState;
    this.reads = new ReadIndexQueue({
      clock: opts.clock,
      prefix: String(opts.id),
      timeoutMs: opts.electionMs * 2,
      request: (ctx) => {
        if (this.stopped) return;
        this.node.readIndex(ctx);
        this.schedule();
      },
      applied: () => this.appliedIndex,
    });
    const heartbeatTick = 1;
    const electionTick = Math.max(2, Math.round(opts.electionMs / opts.heartbeatMs));
    this.node = new RawNode({
      id: opts.id,
      electionTick,
      heartbeatTick,
      storage: opts.storage,
      rng: opts.rng,
      applied: opts.appliedIndex,
      checkQuorum: true,
      preVote: true,
      // The leader sends replication before its own fsync (splitEarlyMessages), so its own copy
      // may count toward a commit only once persisted.
      leaderSelfAckOnPersist: true,
      logger: raftLogger(opts.log),
    });
  }

  /** Starts ticking. */
  start(): void {
    this.ticker = this.o.clock.setInterval(() => {
      if (this.stopped) return;
      this.node.tick();
      this.schedule();
    }, this.o.heartbeatMs);
    this.schedule();
  }

  /** Stops ticking, fails waiting requests, and waits for the current Ready to finish. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.ticker?.cancel();
    const err = newServiceUnavailable("member is shutting down");
    for (const w of this.proposals.values()) w.reject(err);
    this.proposals.clear();
    this.reads.failAll(err);
    if (this.running) await new Promise<void>((r) => this.idleWaiters.push(r));
    await this.snapshotting;
    const hs = this.deferredHardState;
    this.deferredHardState = undefined;
    if (hs) await this.o.disk.append(hs, []).catch(() => {});
  }

  // ---- state for callers -------------------------------------------------------------------

  get leader(): number {
    return this.soft.lead;
  }
  get isLeader(): boolean {
    return this.soft.raftState === StateType.Leader;
  }
  get role(): "leader" | "follower" | "candidate" {
    switch (this.soft.raftState) {
      case StateType.Leader:
        return "leader";
      case StateType.Candidate:
      case StateType.PreCandidate:
        return "candidate";
      default:
        return "follower";
    }
  }
  get applied(): number {
    return this.appliedIndex;
  }
  get members(): ConfState {
    return this.confState;
  }
  /** Ready-loop diagnostics: whether a Ready is being handled, and for how long (ms). */
  get loopState(): { running: boolean; stage: string; forMs: number } {
    return { running: this.running, stage: this.stage, forMs: this.running ? this.o.clock.now() - this.stageSince : 0 };
  }

  /** Size of the newest snapshot this member made or installed (an estimate of the state size). */
  get lastSnapshotBytes(): number {
    return this.snapshotBytes;
  }
  get pendingProposals(): number {
    return this.proposals.size;
  }

  // ---- inputs ---------------------------------------------------------------------------------

  /** Steps a message from a peer. Bad messages are logged and dropped. */
  step(m: Message): void {
    if (this.stopped) return;
    try {
      this.node.step(m);
    } catch (e) {
      this.log.warn({ err: e instanceof Error ? e.message : String(e), from: m.from, type: m.type }, "dropped a peer message");
      return;
    }
    this.schedule();
  }

  reportUnreachable(id: number): void {
    if (this.stopped) return;
    this.node.reportUnreachable(id);
  }

  reportSnapshot(id: number, ok: boolean): void {
    if (this.stopped) return;
    this.node.reportSnapshot(id, ok);
    this.schedule();
  }

  /**
   * Proposes entry data (leader only) and resolves with the apply result once it is committed
   * and applied here. Rejects with NotLeader-style errors before proposing when not leader.
   */
  propose(data: Uint8Array): Promise<unknown> {
    return this.track(() => this.node.propose(data));
  }

  /** Proposes a membership change; resolves once applied. */
  proposeConfChange(cc: ConfChange): Promise<unknown> {
    return this.track(() => this.node.proposeConfChange(cc));
  }

  private track(proposeFn: () => { index: number; term: number }): Promise<unknown> {
    if (this.stopped) return Promise.reject(notProposed("member is shutting down"));
    let pos: { index: number; term: number };
    try {
      pos = proposeFn();
    } catch (e) {
      if (e instanceof NotLeaderError || e instanceof ProposalDroppedError) {
        return Promise.reject(notProposed(`proposal not accepted: ${e.message}`));
      }
      return Promise.reject(toStatusError(e));
    }
    this.schedule();
    this.o.metrics.proposalsPending.set(this.proposals.size + 1);
    return new Promise((resolve, reject) => this.proposals.set(pos.index, { term: pos.term, resolve, reject }));
  }

  /**
   * Resolves once this member has applied everything committed before the call (ReadIndex):
   * a read served after that is linearizable. Rejects (retriable) if no leader answers in time.
   */
  readIndex(): Promise<void> {
    if (this.stopped) return Promise.reject(newServiceUnavailable("member is shutting down"));
    if (this.soft.lead === 0) return Promise.reject(newServiceUnavailable("no leader: cannot serve a linearizable read"));
    return this.reads.wait();
  }

  /** Asks for leadership to move to `to`. */
  transferLeader(to: number): void {
    this.node.transferLeader(to);
    this.schedule();
  }

  /** Campaigns now (tests and single-member clusters). */
  campaign(): void {
    this.node.campaign();
    this.schedule();
  }

  // ---- the Ready loop -------------------------------------------------------------------------

  /** Runs the Ready loop soon (coalesces calls made in the same turn). */
  schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (!this.stopped && this.node.hasReady()) {
        const rd = this.node.ready();
        await this.handleReady(rd);
        this.node.advance(rd);
        if (!this.snapshotting && this.appliedIndex - this.snapshotIndex >= this.snapshotThreshold()) this.startSnapshot();
      }
    } catch (e) {
      this.stopped = true;
      this.ticker?.cancel();
      this.o.onFatal(e);
    } finally {
      this.running = false;
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private setStage(stage: string): void {
    this.stage = stage;
    this.stageSince = this.o.clock.now();
  }

  private sendMessages(messages: Message[]): void {
    if (messages.length === 0) return;
    this.o.metrics.peerMessagesSent.inc(messages.length);
    this.o.transport.send(messages);
  }

  private async handleReady(rd: Ready): Promise<void> {
    this.setStage("ready");
    if (rd.softState) this.onSoftState(rd.softState);
    if (rd.snapshot && !isEmptySnapshot(rd.snapshot)) await this.installSnapshot(rd);
    // What is durable now: term/vote changes are always synced before storage learns them.
    const { hardState: durableHs } = this.o.storage.initialState();
    const { early, afterPersist } = splitEarlyMessages(rd, { term: durableHs.term, vote: durableHs.vote, lastIndex: this.o.storage.lastIndex() });
    this.sendMessages(early);
    if (rd.mustSync) {
      this.setStage("persist");
      // The newest HardState rides along; a commit-only change deferred earlier is included.
      const hs = rd.hardState ?? this.deferredHardState;
      this.deferredHardState = undefined;
      const started = performance.now();
      await this.o.disk.append(hs, rd.entries);
      this.o.metrics.fsyncSeconds.observe((performance.now() - started) / 1000);
      this.o.storage.append(rd.entries);
    } else if (rd.hardState) {
      // Only the commit index moved. It need not be durable (a restarted member re-learns it
      // from the leader), so it is written with the next entries instead of costing an fsync.
      this.deferredHardState = rd.hardState;
    }
    if (rd.hardState) this.o.storage.setHardState(rd.hardState);
    this.setStage("send");
    this.sendMessages(afterPersist);
    if (rd.committedEntries.length > 0) {
      const started = performance.now();
      for (const e of rd.committedEntries) this.applyEntry(e);
      this.o.metrics.applySeconds.observe((performance.now() - started) / 1000);
      this.o.metrics.appliedIndex.set(this.appliedIndex);
    }
    const hs = rd.hardState;
    if (hs) {
      this.o.metrics.commitIndex.set(hs.commit);
      this.o.metrics.term.set(hs.term);
    }
    this.reads.onReadStates(rd.readStates);
    this.reads.onApplied();
  }

  private onSoftState(ss: SoftState): void {
    const prev = this.soft;
    this.soft = ss;
    if (ss.lead !== prev.lead) {
      if (ss.lead !== 0) this.o.metrics.leaderChanges.inc();
      this.log.info({ leader: ss.lead, role: this.roleOf(ss.raftState), term: this.node.raft.term }, ss.lead === 0 ? "lost the leader" : "leader elected");
    }
    this.o.metrics.hasLeader.set(ss.lead !== 0 ? 1 : 0);
    this.o.metrics.isLeader.set(ss.raftState === StateType.Leader ? 1 : 0);
    this.o.metrics.term.set(this.node.raft.term);
    if (ss.lead === 0) this.reads.onLeaderLost();
    if (prev.raftState === StateType.Leader && ss.raftState !== StateType.Leader) {
      // Proposals of the lost term resolve when a newer leader's entries reach them, unless this
      // member stays cut off: then say so rather than leave the clients hanging.
      this.o.clock.setTimeout(() => this.failStaleProposals(), this.o.electionMs * 2);
    }
    this.o.onSoftState?.(ss, prev);
  }

  private failStaleProposals(): void {
    const term = this.node.raft.term;
    for (const [index, w] of this.proposals) {
      if (w.term >= term || this.isLeader) continue;
      this.proposals.delete(index);
      this.o.metrics.proposalsFailed.inc();
      w.reject(newServiceUnavailable("leadership was lost before the write committed; its outcome is unknown"));
    }
    this.o.metrics.proposalsPending.set(this.proposals.size);
  }

  private roleOf(s: StateType): string {
    return s === StateType.Leader ? "leader" : s === StateType.Follower ? "follower" : "candidate";
  }

  private async installSnapshot(rd: Ready): Promise<void> {
    // Our own snapshot must not land (and compact) after the leader's newer one.
    await this.snapshotting;
    const snap = rd.snapshot!;
    const env = decodeEnvelope(snap.data);
    await this.o.disk.saveSnapshot(snap);
    this.o.storage.applySnapshot(snap);
    this.o.sm.restore(env);
    this.confState = snap.metadata.confState;
    this.appliedIndex = snap.metadata.index;
    this.snapshotIndex = snap.metadata.index;
    this.snapshotBytes = snap.data.length;
    for (const m of env.members) if (m.peerUrls[0]) this.o.transport.setPeer(m.id, m.peerUrls[0]);
    this.o.metrics.snapshotsInstalled.inc();
    // Proposals at or below the snapshot were decided elsewhere; we cannot tell their results.
    for (const [index, w] of this.proposals) {
      if (index <= snap.metadata.index) {
        this.proposals.delete(index);
        w.reject(newServiceUnavailable("result unknown: this member installed a snapshot past the proposal"));
      }
    }
    this.log.info({ index: snap.metadata.index, term: snap.metadata.term, bytes: snap.data.length }, "installed snapshot from the leader");
  }

  private applyEntry(e: Entry): void {
    if (e.index <= this.appliedIndex) return;
    let outcome: Outcome = { ok: true, value: undefined };
    if (e.type === EntryType.ConfChange) outcome = this.applyConfChange(e);
    else if (e.data.length > 0) outcome = this.applyNormal(e);
    this.appliedIndex = e.index;
    const w = this.proposals.get(e.index);
    if (!w) return;
    this.proposals.delete(e.index);
    this.o.metrics.proposalsPending.set(this.proposals.size);
    if (w.term !== e.term) {
      this.o.metrics.proposalsFailed.inc();
      w.reject(notProposed("proposal was lost in a leader change; it did not execute"));
    } else if (outcome.ok) {
      this.o.metrics.proposalsCommitted.inc();
      w.resolve(outcome.value);
    } else {
      this.o.metrics.proposalsFailed.inc();
      w.reject(outcome.err);
    }
  }

  private applyNormal(e: Entry): Outcome {
    let cmd;
    try {
      cmd = decodeCommand(e.data);
    } catch (err) {
      // Every member skips the same undecodable entry, so they stay in step.
      this.log.error({ index: e.index, err: err instanceof CodecError ? err.message : String(err) }, "skipping an undecodable log entry");
      return { ok: false, err: toStatusError(err) };
    }
    try {
      const value = this.o.sm.apply(cmd);
      this.o.onApplied?.(cmd, value);
      return { ok: true, value };
    } catch (err) {
      return { ok: false, err: toStatusError(err) };
    }
  }

  private applyConfChange(e: Entry): Outcome {
    let cc: ConfChange;
    try {
      cc = decodeConfChange(e.data);
    } catch (err) {
      this.log.error({ index: e.index, err: String(err) }, "skipping an undecodable conf change");
      return { ok: false, err: toStatusError(err) };
    }
    try {
      this.confState = this.node.applyConfChange(cc);
    } catch (err) {
      this.log.warn({ index: e.index, err: err instanceof Error ? err.message : String(err) }, "conf change refused");
      return { ok: false, err: toStatusError(err) };
    }
    const reg = this.o.sm.members;
    if (cc.type === ConfChangeType.RemoveNode) {
      const gone = reg.get(cc.nodeId);
      reg.remove(cc.nodeId);
      this.o.transport.removePeer(cc.nodeId);
      this.log.info({ member: gone?.name ?? cc.nodeId }, "member removed from the cluster");
      if (cc.nodeId === this.o.id) this.o.onRemoved();
    } else {
      let ctx;
      try {
        ctx = decodeMemberContext(cc.context);
      } catch {
        ctx = undefined;
      }
      if (ctx) {
        reg.upsert(cc.nodeId, ctx.name, ctx.peerUrl);
        this.o.transport.setPeer(cc.nodeId, ctx.peerUrl);
        this.log.info({ member: ctx.name, peerUrl: ctx.peerUrl }, "member added to the cluster");
      }
    }
    return { ok: true, value: this.confState };
  }

  /**
   * Applied entries between this member's snapshots. Encoding the state is synchronous (it
   * pauses this process for a moment per ~10k objects), so: members add their own jitter, so
   * they do not all pause at the same index (a paused follower costs nothing while the other
   * one answers), and the leader, whose pause delays every write, waits for
   * LEADER_SNAPSHOT_FACTOR times as many entries (its in-memory log grows that much longer).
   */
  private snapshotThreshold(): number {
    const base = this.o.snapshotCount * (this.isLeader ? LEADER_SNAPSHOT_FACTOR : 1);
    return base + this.snapshotJitter;
  }

  private drawSnapshotJitter(): number {
    return this.snapshotRng.int(Math.floor(this.o.snapshotCount / 4) + 1);
  }

  /**
   * Snapshots the state machine at the applied index now (synchronously: the state must not move
   * under it), then writes it to disk and compacts the log in the background, so the Ready loop
   * (commits, replies) does not stall for the file write and fsync of the whole state. The log
   * is compacted only once the snapshot is durable; a failure is fatal, as in the Ready loop.
   */
  private startSnapshot(): void {
    this.setStage("snapshot");
    const index = this.appliedIndex;
    const data = this.o.sm.snapshot(this.confState);
    const snap = this.o.storage.createSnapshot(index, this.confState, data);
    this.snapshotting = this.persistSnapshot(snap, index, data.length)
      .catch((e: unknown) => {
        if (this.stopped) return;
        this.stopped = true;
        this.ticker?.cancel();
        this.o.onFatal(e);
      })
      .finally(() => {
        this.snapshotting = undefined;
        this.snapshotJitter = this.drawSnapshotJitter();
        // The next snapshot may be due already.
        this.schedule();
      });
  }

  private async persistSnapshot(snap: Snapshot, index: number, bytes: number): Promise<void> {
    await this.o.disk.saveSnapshot(snap);
    // A snapshot installed from the leader meanwhile is newer (installSnapshot waits for us, so
    // this cannot happen today, but never move backwards).
    if (index <= this.snapshotIndex) return;
    this.snapshotIndex = index;
    this.snapshotBytes = bytes;
    const compactTo = index - this.o.snapshotCatchUpEntries;
    if (compactTo > this.o.storage.firstIndex()) this.o.storage.compact(compactTo);
    if (compactTo > 0) await this.o.disk.releaseTo(compactTo);
    this.o.metrics.snapshots.inc();
    this.log.info({ index, bytes, compactTo }, "saved snapshot and compacted the log");
  }
}

function raftLogger(log: Logger): RaftLogger {
  const l = log.child({ sub: "raft" });
  return {
    debug: (m) => l.debug(m),
    info: (m) => l.info(m),
    warn: (m) => l.warn(m),
    error: (m) => l.error(m),
  };
}
