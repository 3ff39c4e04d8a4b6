import { type Rng, SeededRng } from "@kubemu/common";
import {
  type ConfState,
  ConfChangeType,
  type Entry,
  EntryType,
  type Message,
  MessageType,
  NotLeaderError,
  ProposalDroppedError,
  RawNode,
  type Ready,
  StateType,
  decodeConfChange,
  splitEarlyMessages,
} from "../../src/raft/index.js";
import { type KvInput, type KvOutput, type Operation, checkLinearizable, kvModel } from "../support/linearizability.js";
import { SafetyChecker, entryKey } from "./checker.js";
import { SimDisk } from "./disk.js";
import { KvStateMachine, decodeCommand, encodeCommand } from "./kv.js";
import { EventQueue } from "./queue.js";

/** Virtual milliseconds per Raft tick. */
export const TICK_MS = 10;
export const ELECTION_TICK = 10;
export const HEARTBEAT_TICK = 2;

/** Parameters of one simulated run. */
export interface SimOptions {
  seed: number;
  nodes: 3 | 5;
  /** Ticks of chaos before the heal phase. */
  ticks: number;
  /** Record a trace line per event (for debugging a failing seed). */
  traceLines?: boolean;
}

/** The outcome of one run. */
export interface SimResult {
  seed: number;
  nodes: number;
  violations: string[];
  /** A hash of every event processed: equal for equal runs. */
  traceHash: string;
  stats: {
    events: number;
    messages: number;
    ops: number;
    acked: number;
    unknown: number;
    crashes: number;
    partitions: number;
    confChanges: number;
    transfers: number;
    snapshotsSent: number;
    elections: number;
    lostRecords: number;
    healTicksToLeader: number;
    linearizabilityExhausted: boolean;
  };
  trace?: string[];
}

interface PendingWrite {
  client: number;
  op: Operation<KvInput, KvOutput>;
  id: string;
  index: number;
  term: number;
}

interface PendingRead {
  client: number;
  op: Operation<KvInput, KvOutput>;
  ctx: string;
  index: number | undefined;
}

/** One simulated server: its disk survives crashes; everything else is rebuilt on restart. */
class SimNode {
  raw: RawNode | undefined;
  kv = new KvStateMachine();
  confState: ConfState;
  incarnation = 0;
  /** A Ready is written and waiting for its fsync. */
  busy = false;
  /** This node applied its own removal: it is out of the cluster for good. */
  removed = false;
  applied = 0;
  writes = new Map<number, PendingWrite>();
  reads = new Map<string, PendingRead>();
  /** ReadStates received whose index this node has not applied yet. */
  readyReads: PendingRead[] = [];
  tickPhase: number;

  constructor(
    readonly id: number,
    readonly disk: SimDisk,
    readonly rng: Rng,
    tickPhase: number,
  ) {
    this.confState = disk.storage.initialState().confState;
    this.tickPhase = tickPhase;
  }

  get alive(): boolean {
    return this.raw !== undefined;
  }
}

interface Client {
  id: number;
  hint: number;
  busy: boolean;
  seq: number;
}

/**
 * Simulation runs a whole Raft cluster on virtual time, driven by one seeded Rng: nodes with
 * disks (fsync boundary, torn tails), a network with delay, jitter, loss, duplication and
 * partitions, clients running put/get/cas against a KV state machine, and a fault schedule with
 * crashes, restarts, membership changes and leader transfers. After every event it checks the
 * safety properties; at the end it checks linearizability, heals everything and checks liveness
 * and durability of every acknowledged write.
 */
export class Simulation {
  private readonly rng: Rng;
  private readonly q = new EventQueue();
  private now = 0;
  private readonly nodes = new Map<number, SimNode>();
  private nextNodeId: number;
  private readonly checker = new SafetyChecker();
  private readonly history: Operation<KvInput, KvOutput>[] = [];
  private readonly clients: Client[] = [];
  /** Directed links that currently drop everything: "from>to". */
  private readonly blocked = new Set<string>();
  private lossRate: number;
  private dupRate: number;
  private readonly maxSizePerMsg: number;
  private readonly maxInflightMsgs: number;
  private healing = false;
  private clientsStopped = false;
  private hash = 0x811c9dc5;
  private readonly trace: string[] | undefined;
  private eventCount = 0;
  private readonly acked: { index: number; id: string; key: string }[] = [];
  private readonly stats: SimResult["stats"] = {
    events: 0,
    messages: 0,
    ops: 0,
    acked: 0,
    unknown: 0,
    crashes: 0,
    partitions: 0,
    confChanges: 0,
    transfers: 0,
    snapshotsSent: 0,
    elections: 0,
    lostRecords: 0,
    healTicksToLeader: -1,
    linearizabilityExhausted: false,
  };
  private readonly keys = ["a", "b", "c"];

  constructor(private readonly opts: SimOptions) {
    this.rng = new SeededRng(opts.seed);
    this.lossRate = this.rng.pick([0, 0.01, 0.05]);
    this.dupRate = this.rng.pick([0, 0.01, 0.03]);
    // Small messages and windows split a leader's batch, which is how partial replication
    // (Figure 8 of the Raft paper) arises.
    this.maxSizePerMsg = this.rng.pick([1, 256, 4096]);
    this.maxInflightMsgs = this.rng.pick([1, 4, 16]);
    if (opts.traceLines) this.trace = [];
    const voters = Array.from({ length: opts.nodes }, (_, i) => i + 1);
    for (const id of voters) this.startNode(id, new SimDisk(voters));
    this.nextNodeId = opts.nodes + 1;
    for (let c = 1; c <= 3; c++) this.clients.push({ id: c, hint: 0, busy: false, seq: 0 });
  }

  // ---- tracing ------------------------------------------------------------------------------

  private mix(...nums: number[]): void {
    let h = this.hash;
    for (const n of nums) {
      h ^= n & 0xffff;
      h = Math.imul(h, 0x01000193);
      h ^= (n >>> 16) & 0xffff;
      h = Math.imul(h, 0x01000193);
    }
    this.hash = h >>> 0;
  }

  private log(line: string): void {
    this.trace?.push(`${String(this.now).padStart(6)} ${line}`);
  }

  // ---- nodes --------------------------------------------------------------------------------

  private startNode(id: number, disk: SimDisk): SimNode {
    const existing = this.nodes.get(id);
    const node = existing ?? new SimNode(id, disk, this.rng.fork(), this.rng.int(TICK_MS));
    node.incarnation++;
    const snap = disk.storage.snapshot();
    node.kv = KvStateMachine.restore(snap.data);
    node.applied = snap.metadata.index;
    node.confState = disk.storage.initialState().confState;
    node.busy = false;
    node.raw = new RawNode({
      id,
      electionTick: ELECTION_TICK,
      heartbeatTick: HEARTBEAT_TICK,
      storage: disk.storage,
      rng: node.rng.fork(),
      applied: snap.metadata.index,
      maxSizePerMsg: this.maxSizePerMsg,
      maxInflightMsgs: this.maxInflightMsgs,
      maxSnapshotChunkBytes: 64,
      checkQuorum: true,
      preVote: true,
      leaderSelfAckOnPersist: true, // as the server driver: replication may go out before the leader syncs
    });
    this.nodes.set(id, node);
    this.log(`start node ${id} (incarnation ${node.incarnation}, snapshot ${snap.metadata.index})`);
    this.scheduleTick(node);
    return node;
  }

  private scheduleTick(node: SimNode): void {
    const inc = node.incarnation;
    const next = (Math.floor(this.now / TICK_MS) + 1) * TICK_MS + node.tickPhase;
    this.q.push(next, () => {
      if (!node.raw || node.incarnation !== inc) return;
      this.mix(1, node.id);
      node.raw.tick();
      this.afterNodeEvent(node);
      this.scheduleTick(node);
    });
  }

  private crash(node: SimNode): void {
    if (!node.raw) return;
    this.stats.crashes++;
    node.disk.crash(node.rng);
    node.raw = undefined;
    node.incarnation++;
    node.busy = false;
    this.log(`crash node ${node.id}`);
    this.mix(2, node.id);
    // Clients waiting on this node: writes have an unknown outcome, reads tell nothing.
    for (const w of node.writes.values()) this.finishUnknown(w.client, w.op);
    for (const r of node.reads.values()) this.abandonRead(r.client);
    node.writes.clear();
    node.reads.clear();
    node.readyReads = [];
  }

  /** Processes Readys until the node is idle or waiting for a sync, then checks invariants. */
  private afterNodeEvent(node: SimNode): void {
    const raw = node.raw;
    if (!raw) return;
    this.checker.observe(this.now, raw.raft);
    if (node.busy || !raw.hasReady()) return;
    const rd = raw.ready();
    node.busy = true;
    if (rd.softState?.raftState === StateType.Leader) this.stats.elections++;
    // As the server's driver does: a leader's replication messages may go out before its own
    // write is synced (splitEarlyMessages says which); everything else waits for the sync.
    const durableHs = node.disk.storage.initialState().hardState;
    const { early, afterPersist } = splitEarlyMessages(rd, { term: durableHs.term, vote: durableHs.vote, lastIndex: node.disk.storage.lastIndex() });
    node.disk.write(rd);
    const sendEarly = !process.env.NO_EARLY;
    if (sendEarly) for (const m of early) this.sendMessage(m);
    const inc = node.incarnation;
    const mustSync = rd.mustSync;
    const latency = mustSync ? 1 + node.rng.int(8) : 0;
    const finish = () => {
      if (node.incarnation !== inc || !node.raw) return;
      this.mix(3, node.id, rd.entries.length, rd.messages.length);
      this.finishReady(node, rd, sendEarly ? afterPersist : rd.messages);
    };
    if (latency === 0) finish();
    else this.q.push(this.now + latency, finish);
  }

  /** Ready steps 1b–5 after the write: sync, send the messages that had to wait, apply, serve reads, advance. */
  private finishReady(node: SimNode, rd: Ready, messages: Message[]): void {
    const raw = node.raw!;
    node.disk.sync();
    for (const m of messages) {
      this.checkPromiseIsDurable(node, m);
      this.sendMessage(m);
    }
    if (rd.snapshot) {
      node.kv = KvStateMachine.restore(rd.snapshot.data);
      node.applied = rd.snapshot.metadata.index;
      node.confState = rd.snapshot.metadata.confState;
      // Writes pending at indexes the snapshot covers: we cannot tell whether ours won.
      for (const [idx, w] of node.writes) {
        if (idx <= node.applied) {
          node.writes.delete(idx);
          this.finishUnknown(w.client, w.op);
        }
      }
    }
    for (const e of rd.committedEntries) this.applyEntry(node, e);
    for (const rs of rd.readStates) {
      const ctx = new TextDecoder().decode(rs.requestCtx);
      const pr = node.reads.get(ctx);
      if (!pr) continue;
      pr.index = rs.index;
      node.readyReads.push(pr);
    }
    this.serveReads(node);
    raw.advance(rd);
    node.busy = false;
    this.maybeSnapshot(node);
    this.afterNodeEvent(node);
  }

  /**
   * A vote or an append acknowledgement promises durable state: the vote must be on disk, and
   * the acknowledged entries too. (Checked against the disk, which is exactly what survives a
   * crash.)
   */
  private checkPromiseIsDurable(node: SimNode, m: Message): void {
    const st = node.disk.storage;
    if (m.type === MessageType.MsgVoteResp && !m.reject) {
      const hs = st.initialState().hardState;
      if (hs.term !== m.term || hs.vote !== m.to) {
        this.checker.violations.push(`t=${this.now} durability: node ${node.id} granted its vote to ${m.to} in term ${m.term} but its disk says term ${hs.term} vote ${hs.vote}`);
      }
    } else if (m.type === MessageType.MsgAppResp && !m.reject) {
      const durable = Math.max(st.lastIndex(), st.snapshot().metadata.index);
      if (m.index > durable) {
        this.checker.violations.push(`t=${this.now} durability: node ${node.id} acknowledged index ${m.index} to ${m.to} but only ${durable} is on disk`);
      }
    }
  }

  private applyEntry(node: SimNode, e: Entry): void {
    if (e.index <= node.applied) return;
    this.checker.onApply(this.now, node.id, e);
    node.applied = e.index;
    if (e.type === EntryType.ConfChange) {
      const cc = decodeConfChange(e.data);
      node.confState = node.raw!.applyConfChange(cc);
      this.log(`node ${node.id} applied conf change ${ConfChangeType[cc.type]} ${cc.nodeId} -> voters [${node.confState.voters}] learners [${node.confState.learners}]`);
      if (cc.type === ConfChangeType.RemoveNode && cc.nodeId === node.id) node.removed = true;
    }
    const cmd = e.type === EntryType.Normal ? decodeCommand(e.data) : undefined;
    const output = cmd ? node.kv.apply(cmd.input) : undefined;
    const w = node.writes.get(e.index);
    if (w) {
      node.writes.delete(e.index);
      if (cmd && cmd.id === w.id) {
        this.acked.push({ index: e.index, id: w.id, key: entryKey(e) });
        this.finishOk(w.client, w.op, output ?? {});
      } else {
        // Another entry was committed at our index: our proposal can never commit.
        this.finishFailed(w.client, w.op);
      }
    }
  }

  private serveReads(node: SimNode): void {
    if (node.readyReads.length === 0) return;
    const rest: PendingRead[] = [];
    for (const r of node.readyReads) {
      if (r.index !== undefined && node.applied >= r.index) {
        node.reads.delete(r.ctx);
        const input = r.op.input;
        this.finishOk(r.client, r.op, node.kv.apply(input));
      } else rest.push(r);
    }
    node.readyReads = rest;
  }

  private maybeSnapshot(node: SimNode): void {
    const st = node.disk.storage;
    if (node.applied - st.firstIndex() < 30 || node.applied > st.lastIndex()) return;
    st.createSnapshot(node.applied, node.confState, node.kv.snapshot());
    const compactTo = node.applied - 5;
    if (compactTo > st.firstIndex()) st.compact(compactTo);
    this.log(`node ${node.id} snapshot at ${node.applied}, compacted to ${compactTo}`);
  }

  // ---- network ------------------------------------------------------------------------------

  private linkBlocked(from: number, to: number): boolean {
    return this.blocked.has(`${from}>${to}`);
  }

  private sendMessage(m: Message): void {
    this.stats.messages++;
    if (m.type === MessageType.MsgSnap && m.chunk?.index === 0) this.stats.snapshotsSent++;
    if (this.linkBlocked(m.from, m.to)) return;
    if (!this.healing && this.lossRate > 0 && this.rng.chance(this.lossRate)) return;
    const copies = !this.healing && this.dupRate > 0 && this.rng.chance(this.dupRate) ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      let delay = 1 + this.rng.int(8);
      if (!this.healing && this.rng.chance(0.05)) delay += 20 + this.rng.int(60);
      const wire = cloneMessage(m);
      this.q.push(this.now + delay, () => this.deliver(wire));
    }
  }

  private deliver(m: Message): void {
    const node = this.nodes.get(m.to);
    if (!node?.raw || this.linkBlocked(m.from, m.to)) return;
    this.mix(4, m.type, m.from, m.to, m.term, m.index);
    this.log(`deliver ${m.from}->${m.to} ${MessageType[m.type]} t${m.term} i${m.index} lt${m.logTerm} c${m.commit}${m.reject ? " reject" : ""} n${m.entries.length}`);
    node.raw.step(m);
    this.afterNodeEvent(node);
  }

  // ---- clients ------------------------------------------------------------------------------

  private scheduleClient(c: Client, delay: number): void {
    this.q.push(this.now + delay, () => this.clientStep(c));
  }

  private liveMembers(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.alive && !n.removed);
  }

  private clientStep(c: Client): void {
    if (c.busy || this.clientsStopped) return;
    const live = this.liveMembers();
    let node = this.nodes.get(c.hint);
    if (!node?.raw || node.removed) {
      if (live.length === 0) return this.scheduleClient(c, 20);
      node = this.rng.pick(live);
    }
    const raw = node.raw!;
    const key = this.rng.pick(this.keys);
    const id = `c${c.id}-${c.seq++}`;
    const kind = this.rng.int(10);
    let input: KvInput;
    if (kind < 4) input = { op: "get", key };
    else if (kind < 7) input = { op: "put", key, value: id };
    else input = { op: "cas", key, from: this.rng.chance(0.5) ? null : `c${this.rng.range(1, 3)}-${this.rng.int(Math.max(1, c.seq))}`, to: id };
    this.mix(5, c.id, kind);
    const op: Operation<KvInput, KvOutput> = { client: c.id, input, call: this.now, ret: Infinity };
    if (input.op === "get") {
      raw.readIndex(new TextEncoder().encode(id));
      const pr: PendingRead = { client: c.id, op, ctx: id, index: undefined };
      node.reads.set(id, pr);
      c.busy = true;
      const inc = node.incarnation;
      const target = node;
      this.q.push(this.now + 300, () => {
        // Read timed out: it tells nothing, drop it.
        if (target.incarnation === inc && target.reads.get(id) === pr) {
          target.reads.delete(id);
          target.readyReads = target.readyReads.filter((r) => r !== pr);
          this.abandonRead(c.id);
        }
      });
      this.afterNodeEvent(node);
      return;
    }
    let placed: { index: number; term: number };
    try {
      placed = raw.propose(encodeCommand({ id, input }));
    } catch (e) {
      if (e instanceof NotLeaderError) {
        c.hint = e.leaderId !== 0 ? e.leaderId : this.rng.pick(live.length > 0 ? live : [node]).id;
        return this.scheduleClient(c, 5);
      }
      if (e instanceof ProposalDroppedError) {
        c.hint = 0;
        return this.scheduleClient(c, 20);
      }
      throw e;
    }
    c.hint = node.id;
    this.stats.ops++;
    this.history.push(op);
    const pw: PendingWrite = { client: c.id, op, id, index: placed.index, term: placed.term };
    node.writes.set(placed.index, pw);
    c.busy = true;
    const inc = node.incarnation;
    const target = node;
    this.q.push(this.now + 1500, () => {
      if (target.incarnation === inc && target.writes.get(placed.index) === pw) {
        target.writes.delete(placed.index);
        this.finishUnknown(c.id, op);
      }
    });
    this.afterNodeEvent(node);
  }

  private client(id: number): Client {
    return this.clients[id - 1]!;
  }

  private finishOk(clientId: number, op: Operation<KvInput, KvOutput>, output: KvOutput): void {
    op.output = output;
    op.ret = this.now;
    if (op.input.op === "get") {
      this.stats.ops++;
      this.history.push(op);
    }
    this.stats.acked++;
    this.clientIdle(clientId);
  }

  private finishUnknown(clientId: number, op: Operation<KvInput, KvOutput>): void {
    op.ret = Infinity;
    op.output = undefined;
    this.stats.unknown++;
    this.clientIdle(clientId);
  }

  /** The write definitely did not take effect: remove it from the history. */
  private finishFailed(clientId: number, op: Operation<KvInput, KvOutput>): void {
    const c = this.client(clientId);
    const i = this.history.lastIndexOf(op);
    if (i >= 0) this.history.splice(i, 1);
    this.stats.ops--;
    c.hint = 0;
    this.clientIdle(clientId);
  }

  private abandonRead(clientId: number): void {
    this.client(clientId).hint = 0;
    this.clientIdle(clientId);
  }

  private clientIdle(clientId: number): void {
    const c = this.client(clientId);
    c.busy = false;
    this.scheduleClient(c, 1 + this.rng.int(40));
  }

  // ---- faults -------------------------------------------------------------------------------

  private leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      const r = n.raw?.raft;
      if (!r || r.state !== StateType.Leader) continue;
      if (!best || r.term > best.raw!.raft.term) best = n;
    }
    return best;
  }

  private scheduleFault(): void {
    this.q.push(this.now + 50 + this.rng.int(400), () => {
      if (this.healing) return;
      this.fault();
      this.scheduleFault();
    });
  }

  private fault(): void {
    const kind = this.rng.int(100);
    this.mix(6, kind);
    const members = [...this.nodes.values()].filter((n) => !n.removed);
    if (kind < 20) {
      // Crash a node; restart it later from its disk. Keep a quorum of the original size alive mostly.
      const live = members.filter((n) => n.alive);
      if (live.length === 0) return;
      if (live.length <= Math.floor(members.length / 2) + 1 && this.rng.chance(0.7)) return;
      // Prefer the leader, or a node in the middle of an fsync (that is where torn tails come from).
      const busy = live.filter((n) => n.busy);
      const victim = this.rng.chance(0.4) ? (this.leader() ?? this.rng.pick(live)) : busy.length > 0 && this.rng.chance(0.5) ? this.rng.pick(busy) : this.rng.pick(live);
      if (!victim?.alive) return;
      this.crash(victim);
      this.q.push(this.now + 20 + this.rng.int(600), () => {
        if (!victim.alive && !this.healing) this.startNode(victim.id, victim.disk);
      });
    } else if (kind < 35) {
      // Symmetric partition into two random groups.
      this.stats.partitions++;
      const ids = members.map((n) => n.id);
      const side = new Set(ids.filter(() => this.rng.chance(0.5)));
      for (const a of ids) for (const b of ids) if (side.has(a) !== side.has(b)) this.blocked.add(`${a}>${b}`);
      this.log(`partition [${[...side]}] | [${ids.filter((i) => !side.has(i))}]`);
      this.q.push(this.now + 100 + this.rng.int(800), () => this.healPartitions());
    } else if (kind < 45) {
      // Asymmetric: one direction of a few links drops everything.
      this.stats.partitions++;
      const ids = members.map((n) => n.id);
      for (let i = 0; i < 1 + this.rng.int(3); i++) {
        const a = this.rng.pick(ids);
        const b = this.rng.pick(ids);
        if (a !== b) this.blocked.add(`${a}>${b}`);
      }
      this.log(`asymmetric block [${[...this.blocked]}]`);
      this.q.push(this.now + 100 + this.rng.int(800), () => this.healPartitions());
    } else if (kind < 52) {
      // Isolate the leader.
      const l = this.leader();
      if (!l) return;
      this.stats.partitions++;
      for (const n of this.nodes.values()) {
        if (n.id === l.id) continue;
        this.blocked.add(`${l.id}>${n.id}`);
        this.blocked.add(`${n.id}>${l.id}`);
      }
      this.log(`isolate leader ${l.id}`);
      this.q.push(this.now + 100 + this.rng.int(800), () => this.healPartitions());
    } else if (kind < 67) {
      this.membershipChange();
    } else if (kind < 77) {
      const l = this.leader();
      if (!l) return;
      const voters = l.raw!.raft.tracker.voters.filter((v) => v !== l.id);
      if (voters.length === 0) return;
      const to = this.rng.pick(voters);
      this.stats.transfers++;
      this.log(`transfer leadership ${l.id} -> ${to}`);
      l.raw!.transferLeader(to);
      this.afterNodeEvent(l);
    }
    // else: a quiet period
  }

  private healPartitions(): void {
    if (this.blocked.size > 0) this.log("heal partitions");
    this.blocked.clear();
  }

  private membershipChange(): void {
    const l = this.leader();
    if (!l?.raw) return;
    const r = l.raw.raft;
    const voters = r.tracker.voters;
    const learners = r.tracker.learners;
    let cc: { type: ConfChangeType; nodeId: number } | undefined;
    const learner = learners[0];
    if (learner !== undefined) {
      // Promote a learner once it has caught up.
      const pr = r.tracker.progress.get(learner);
      if (pr && pr.match + 5 >= r.log.lastIndex()) cc = { type: ConfChangeType.AddNode, nodeId: learner };
      else if (this.rng.chance(0.2)) cc = { type: ConfChangeType.RemoveNode, nodeId: learner };
    } else if (voters.length <= this.opts.nodes && this.rng.chance(0.6)) {
      cc = { type: ConfChangeType.AddLearnerNode, nodeId: this.nextNodeId };
    } else if (voters.length >= 3) {
      cc = { type: ConfChangeType.RemoveNode, nodeId: this.rng.pick(voters) };
    }
    if (!cc) return;
    try {
      l.raw.proposeConfChange(cc);
    } catch (e) {
      if (e instanceof ProposalDroppedError) return;
      if (e instanceof Error && e.name === "ConfChangeError") return;
      throw e;
    }
    this.stats.confChanges++;
    this.log(`propose conf change ${ConfChangeType[cc.type]} ${cc.nodeId} at leader ${l.id}`);
    if (cc.type === ConfChangeType.AddLearnerNode) {
      // Start the new member with an empty disk: it learns everything from the leader.
      this.nextNodeId++;
      this.startNode(cc.nodeId, new SimDisk());
    }
    this.afterNodeEvent(l);
  }

  // ---- running ------------------------------------------------------------------------------

  private runUntil(deadline: number, stop?: () => boolean): void {
    for (;;) {
      const t = this.q.peekTime();
      if (t === undefined || t > deadline) break;
      const e = this.q.pop()!;
      this.now = e.time;
      e.run();
      this.eventCount++;
      if ((this.eventCount & 255) === 0) this.checkLogs();
      if (this.checker.violations.length > 0) return;
      if (stop && (this.eventCount & 7) === 0 && stop()) return;
    }
    this.now = Math.max(this.now, deadline);
  }

  private checkLogs(): void {
    const rafts = [...this.nodes.values()].filter((n) => n.raw).map((n) => n.raw!.raft);
    this.checker.checkLogMatching(this.now, rafts);
  }

  /** Runs the whole scenario and returns its result. */
  run(): SimResult {
    const violations: string[] = [];
    try {
      for (const c of this.clients) this.scheduleClient(c, 50 + this.rng.int(50));
      this.scheduleFault();
      this.runUntil(this.opts.ticks * TICK_MS);
      if (this.checker.violations.length === 0) this.heal(violations);
    } catch (e) {
      violations.push(`exception at t=${this.now}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
    violations.unshift(...this.checker.violations);
    if (violations.length === 0) {
      const res = checkLinearizable(kvModel, this.history, { maxSteps: 200_000 });
      if (res.exhausted) this.stats.linearizabilityExhausted = true;
      else if (!res.ok) violations.push(`linearizability: ${res.info ?? "history is not linearizable"}`);
    }
    this.stats.events = this.eventCount;
    this.stats.lostRecords = [...this.nodes.values()].reduce((s, n) => s + n.disk.lostRecords, 0);
    const result: SimResult = {
      seed: this.opts.seed,
      nodes: this.opts.nodes,
      violations,
      traceHash: this.hash.toString(16).padStart(8, "0"),
      stats: this.stats,
    };
    if (this.trace) result.trace = this.trace;
    return result;
  }

  /** Heals the network, restarts crashed members, and checks liveness and durability. */
  private heal(violations: string[]): void {
    this.healing = true;
    this.healPartitions();
    this.log("heal: network healed, restarting crashed nodes");
    for (const n of this.nodes.values()) if (!n.alive && !n.removed) this.startNode(n.id, n.disk);
    const healStart = this.now;
    const leaderBound = 30 * ELECTION_TICK * TICK_MS;
    const hasLeader = () => {
      const l = this.leader();
      if (!l) return false;
      const t = l.raw!.raft.term;
      return [...this.nodes.values()].every((n) => !n.raw || n.removed || n.raw.raft.term <= t);
    };
    this.runUntil(healStart + leaderBound, hasLeader);
    if (this.checker.violations.length > 0) return;
    if (!hasLeader()) {
      violations.push(`liveness: no leader within ${leaderBound / TICK_MS} ticks after healing`);
      return;
    }
    this.stats.healTicksToLeader = Math.ceil((this.now - healStart) / TICK_MS);
    // Let clients stop, and every member catch up with the leader's log.
    this.clientsStopped = true;
    const converged = () => {
      const l = this.leader();
      if (!l) return false;
      const r = l.raw!.raft;
      if (r.log.committed < r.log.lastIndex()) return false;
      const members = r.tracker.members();
      return members.every((id) => {
        const n = this.nodes.get(id);
        return n?.raw !== undefined && n.applied === r.log.committed && !n.busy;
      });
    };
    this.runUntil(this.now + 400 * TICK_MS, converged);
    if (this.checker.violations.length > 0) return;
    if (!converged()) {
      const l = this.leader();
      violations.push(
        `liveness: members did not converge after healing (leader ${l?.id ?? "none"} commit ${l?.raw?.raft.log.committed ?? "-"}; applied ${[...this.nodes.values()]
          .map((n) => `${n.id}:${n.alive ? n.applied : "down"}${n.removed ? "(removed)" : ""}`)
          .join(" ")}; progress ${l?.raw ? [...l.raw.raft.tracker.progress].map(([id, pr]) => `${id}:${pr.toString()}`).join(", ") : "-"})`,
      );
      return;
    }
    const l = this.leader()!;
    const members = l.raw!.raft.tracker.members();
    // Every acknowledged write is applied on every member, and members agree on the state.
    for (const a of this.acked) {
      if (this.checker.appliedAt(a.index) !== a.key) violations.push(`durability: acknowledged write ${a.id} at index ${a.index} is not what was applied there`);
      for (const id of members) {
        const n = this.nodes.get(id)!;
        if (n.applied < a.index) violations.push(`durability: member ${id} has not applied acknowledged write ${a.id} (index ${a.index})`);
      }
    }
    const fps = new Set(members.map((id) => this.nodes.get(id)!.kv.fingerprint()));
    if (fps.size > 1) violations.push(`state machine safety: members disagree on the final state: ${[...fps].join(" / ")}`);
    this.checkLogs();
  }
}

function cloneMessage(m: Message): Message {
  const c: Message = { ...m, entries: m.entries.map((e) => ({ ...e })) };
  return c;
}

/** Runs one seed. */
export function runSeed(opts: SimOptions): SimResult {
  return new Simulation(opts).run();
}
