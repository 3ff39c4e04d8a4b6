import { SeededRng } from "@kubemu/common";
import {
  type Config,
  type Entry,
  EntryType,
  MemoryStorage,
  type Message,
  MessageType,
  Raft,
  StateType,
  decodeConfChange,
  describeMessage,
  newMessage,
} from "@kubemu/etcd-raft";

/** Options for test nodes; by default the original paper's algorithm (no PreVote/CheckQuorum). */
export type TestOpts = Partial<Omit<Config, "id" | "storage">>;

let seedCounter = 1;

/** A Raft node with id `id`, voters `peers` (bootstrapped in its MemoryStorage), ticks 10/1. */
export function newTestRaft(id: number, peers: number[], opts: TestOpts = {}, storage?: MemoryStorage): Raft {
  const st = storage ?? new MemoryStorage({ voters: peers, learners: [] });
  return new Raft({
    id,
    electionTick: 10,
    heartbeatTick: 1,
    storage: st,
    rng: new SeededRng(seedCounter++),
    checkQuorum: false,
    preVote: false,
    ...opts,
  });
}

/** A raft whose storage holds learners too. */
export function newTestLearnerRaft(id: number, voters: number[], learners: number[], opts: TestOpts = {}): Raft {
  return newTestRaft(id, voters, opts, new MemoryStorage({ voters, learners }));
}

/** Takes (and clears) a node's outgoing messages. */
export function readMessages(r: Raft): Message[] {
  const msgs = r.msgs;
  r.msgs = [];
  return msgs;
}

export function msg(m: Partial<Message> & Pick<Message, "type">): Message {
  return newMessage(m);
}

const enc = new TextEncoder();
export function bytes(s: string): Uint8Array {
  return enc.encode(s);
}

export function entry(term: number, index: number, data = ""): Entry {
  return { term, index, type: EntryType.Normal, data: bytes(data) };
}

/** Proposes data through the leader's step path. */
export function propose(r: Raft, data = "somedata"): void {
  r.step(msg({ type: MessageType.MsgProp, from: r.id, entries: [{ term: 0, index: 0, type: EntryType.Normal, data: bytes(data) }] }));
}

/** Persists unstable entries to the node's MemoryStorage (as a driver would), marking them stable. */
export function persist(r: Raft): void {
  const st = r.log.storage as MemoryStorage;
  const snap = r.log.unstable.snapshot;
  if (snap) {
    st.applySnapshot(snap);
    r.log.stableSnapTo(snap.metadata.index);
    if (r.log.applied < snap.metadata.index) {
      r.log.applied = snap.metadata.index;
      r.log.applying = snap.metadata.index;
    }
  }
  const ents = r.log.unstableEntries();
  if (ents.length > 0) {
    const last = ents[ents.length - 1]!;
    st.append([...ents]);
    r.log.stableTo(last.index, last.term);
  }
  st.setHardState(r.hardState());
}

/** Entries committed but not applied; marks them applied. */
export function nextEnts(r: Raft): Entry[] {
  persist(r);
  const ents = r.log.nextCommittedEnts(Number.MAX_SAFE_INTEGER);
  const last = ents[ents.length - 1];
  if (last) r.log.appliedTo(last.index);
  return ents;
}

/** Puts the node in the given role at term via the normal transitions. */
export function becomeState(r: Raft, state: StateType, term: number): void {
  switch (state) {
    case StateType.Follower:
      r.becomeFollower(term, 2);
      break;
    case StateType.PreCandidate:
      r.becomeFollower(term, 0);
      r.becomePreCandidate();
      break;
    case StateType.Candidate:
      r.becomeFollower(term - 1, 0);
      r.becomeCandidate();
      break;
    case StateType.Leader:
      r.becomeFollower(term - 1, 0);
      r.becomeCandidate();
      r.becomeLeader();
      break;
  }
}

interface ConnKey {
  from: number;
  to: number;
}

/**
 * Network is an in-memory cluster of Raft nodes that delivers messages synchronously until none
 * remain (send). Links can be cut, nodes isolated, message types ignored, and drops made
 * probabilistic with a seeded Rng. Nodes persist every step (no crash modelling here: the
 * simulator in test/sim does that).
 */
export class Network {
  readonly peers = new Map<number, Raft>();
  private readonly dropm = new Map<string, number>();
  private readonly ignorem = new Set<MessageType>();
  private readonly rng = new SeededRng(42);
  /** Every message delivered, for assertions and debugging. */
  readonly trace: string[] = [];
  /** Optional interceptor: return false to drop. */
  msgHook: ((m: Message) => boolean) | undefined;

  /** Builds nodes 1..n; pass a Raft to use it, or undefined for a fresh default node. */
  constructor(nodes: (Raft | undefined)[], opts: TestOpts = {}) {
    const ids = nodes.map((_, i) => i + 1);
    nodes.forEach((n, i) => {
      const id = i + 1;
      this.peers.set(id, n ?? newTestRaft(id, ids, opts));
    });
  }

  static of(n: number, opts: TestOpts = {}): Network {
    return new Network(new Array<Raft | undefined>(n).fill(undefined), opts);
  }

  /** Adds a node (e.g. a new member that starts with an empty log). */
  add(id: number, r: Raft): void {
    this.peers.set(id, r);
  }

  node(id: number): Raft {
    const r = this.peers.get(id);
    if (!r) throw new Error(`no node ${id}`);
    return r;
  }

  private key(k: ConnKey): string {
    return `${k.from}->${k.to}`;
  }

  /** Delivers msgs and everything they cause, until the network is quiet. */
  send(...msgs: Message[]): void {
    const queue = [...msgs];
    let guard = 0;
    while (queue.length > 0) {
      if (++guard > 1_000_000) throw new Error("network did not stabilize");
      const m = queue.shift()!;
      const r = this.peers.get(m.to);
      if (!r) continue;
      if (!this.pass(m)) continue;
      this.trace.push(describeMessage(m));
      try {
        r.step(m);
      } catch (e) {
        if (!(e instanceof Error && (e.name === "ProposalDroppedError" || e.name === "NotLeaderError"))) throw e;
      }
      persist(r);
      queue.push(...this.filter(readMessages(r)));
    }
  }

  /** Steps a local message into node m.to... or m.from for local types, then delivers the fallout. */
  stepLocal(id: number, m: Message): void {
    const r = this.node(id);
    try {
      r.step(m);
    } catch (e) {
      if (!(e instanceof Error && (e.name === "ProposalDroppedError" || e.name === "NotLeaderError"))) throw e;
    }
    persist(r);
    this.send(...this.filter(readMessages(r)));
  }

  campaign(id: number): void {
    this.stepLocal(id, msg({ type: MessageType.MsgHup, from: id }));
  }

  propose(id: number, data = "somedata"): void {
    this.stepLocal(id, msg({ type: MessageType.MsgProp, from: id, entries: [{ term: 0, index: 0, type: EntryType.Normal, data: bytes(data) }] }));
  }

  /** Ticks node `id` n times, delivering what each tick causes. */
  tick(id: number, n = 1): void {
    for (let i = 0; i < n; i++) {
      const r = this.node(id);
      r.tick();
      persist(r);
      this.send(...this.filter(readMessages(r)));
    }
  }

  private pass(m: Message): boolean {
    if (this.ignorem.has(m.type)) return false;
    const p = this.dropm.get(this.key(m)) ?? 0;
    if (p >= 1 || (p > 0 && this.rng.chance(p))) return false;
    if (this.msgHook && !this.msgHook(m)) return false;
    return true;
  }

  private filter(msgs: Message[]): Message[] {
    return msgs.filter((m) => m.type !== MessageType.MsgHup);
  }

  /** Drops messages from → to with probability p. */
  drop(from: number, to: number, p: number): void {
    this.dropm.set(this.key({ from, to }), p);
  }

  cut(a: number, b: number): void {
    this.drop(a, b, 2);
    this.drop(b, a, 2);
  }

  isolate(id: number): void {
    for (const other of this.peers.keys()) if (other !== id) this.cut(id, other);
  }

  ignore(t: MessageType): void {
    this.ignorem.add(t);
  }

  recover(): void {
    this.dropm.clear();
    this.ignorem.clear();
  }

  /**
   * Applies every node's committed entries (conf changes through applyConfChange), then
   * delivers what that caused. Returns how many entries were applied.
   */
  applyCommitted(): number {
    let n = 0;
    for (const r of this.peers.values()) {
      for (const e of nextEnts(r)) {
        n++;
        if (e.type === EntryType.ConfChange) r.applyConfChange(decodeConfChange(e.data));
      }
    }
    this.stabilize();
    return n;
  }

  /** Applies committed entries until nothing more commits. */
  settle(): void {
    for (let i = 0; i < 20 && this.applyCommitted() > 0; i++) {
      /* keep applying */
    }
  }

  /** Drains every node's outbox through the network (after out-of-band steps). */
  stabilize(): void {
    const all: Message[] = [];
    for (const r of this.peers.values()) {
      persist(r);
      all.push(...readMessages(r));
    }
    this.send(...all);
  }
}
