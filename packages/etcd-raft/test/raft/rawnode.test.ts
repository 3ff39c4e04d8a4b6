import { SeededRng } from "@kubemu/common";
import {
  ConfChangeType,
  EntryType,
  ErrLogCompacted,
  ErrSnapOutOfDate,
  ErrUnavailable,
  InvalidConfigError,
  InvalidMessageError,
  InvariantError,
  MESSAGE_TYPE_COUNT,
  MemoryStorage,
  MessageType,
  NotLeaderError,
  RawNode,
  type Ready,
  StateType,
  StepLocalMessageError,
  bootstrapState,
  decodeConfChange,
  describeReady,
  encodeConfChange,
  isLocalMsg,
  isResponseMsg,
  newMessage,
  validateConfig,
} from "@kubemu/etcd-raft";
import { describe, expect, it } from "vitest";
import { bytes, entry } from "./helpers.js";

function newNode(id: number, storage: MemoryStorage, applied = 0): RawNode {
  return new RawNode({ id, electionTick: 10, heartbeatTick: 1, storage, rng: new SeededRng(id), applied });
}

/** Handles a Ready the way a driver must: persist, (send), apply, advance. */
function handle(n: RawNode, st: MemoryStorage, rd: Ready, applied: string[] = []): void {
  if (rd.snapshot) st.applySnapshot(rd.snapshot);
  st.append(rd.entries);
  if (rd.hardState) st.setHardState(rd.hardState);
  for (const e of rd.committedEntries) {
    if (e.type === EntryType.ConfChange) n.applyConfChange(decodeConfChange(e.data));
    else if (e.data.length > 0) applied.push(new TextDecoder().decode(e.data));
  }
  n.advance(rd);
}

describe("RawNode", () => {
  it("a single-node cluster elects itself, commits proposals and hands them out once", () => {
    const st = MemoryStorage.bootstrap([1]);
    const n = newNode(1, st);
    const applied: string[] = [];
    while (n.hasReady()) handle(n, st, n.ready(), applied);
    n.campaign();
    let rd = n.ready();
    expect(rd.softState).toEqual({ lead: 1, raftState: StateType.Leader });
    expect(rd.hardState?.term).toBe(2);
    expect(rd.mustSync).toBe(true);
    handle(n, st, rd, applied);
    const placed = n.propose(bytes("hello"));
    expect(placed).toEqual({ index: 3, term: 2 }); // 1 = bootstrap entry, 2 = the leader's no-op
    rd = n.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([3]);
    expect(rd.committedEntries.map((e) => e.index)).toEqual([3]);
    handle(n, st, rd, applied);
    expect(applied).toEqual(["hello"]);
    expect(n.hasReady()).toBe(false);
    expect(n.status().applied).toBe(3);
    expect(describeReady({ readStates: [], entries: [], committedEntries: [], messages: [], mustSync: false })).toBe("<empty Ready>");
  });

  it("refuses a second ready() before advance(), and a stale advance()", () => {
    const st = MemoryStorage.bootstrap([1]);
    const n = newNode(1, st);
    const rd = n.ready();
    expect(() => n.ready()).toThrow(InvariantError);
    expect(n.hasReady()).toBe(false);
    n.advance(rd);
    expect(() => n.advance(rd)).toThrow(InvariantError);
  });

  it("a follower rejects proposals with NotLeaderError carrying the leader it knows", () => {
    const st = new MemoryStorage({ voters: [1, 2, 3], learners: [] });
    const n = newNode(2, st);
    expect(() => n.propose(bytes("x"))).toThrow(NotLeaderError);
    n.step(newMessage({ type: MessageType.MsgHeartbeat, from: 1, to: 2, term: 1 }));
    try {
      n.propose(bytes("x"));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(NotLeaderError);
      expect((e as NotLeaderError).leaderId).toBe(1);
    }
  });

  it("refuses local message types from the network and drops responses from unknown peers", () => {
    const n = newNode(1, new MemoryStorage({ voters: [1, 2, 3], learners: [] }));
    expect(() => n.step(newMessage({ type: MessageType.MsgHup, from: 2, to: 1 }))).toThrow(StepLocalMessageError);
    n.step(newMessage({ type: MessageType.MsgAppResp, from: 9, to: 1, term: 5 }));
    expect(n.status().hardState.term).toBe(0);
  });

  it("refuses malformed network messages with InvalidMessageError and keeps running", () => {
    const n = newNode(1, new MemoryStorage({ voters: [1, 2, 3], learners: [] }));
    const good = newMessage({ type: MessageType.MsgApp, from: 2, to: 1, term: 1, index: 0, logTerm: 0, entries: [entry(1, 1, "a")] });
    const bad: unknown[] = [
      null,
      { ...good, type: 99 },
      { ...good, term: -1 },
      { ...good, from: 0 },
      { ...good, entries: [entry(1, 5, "gap")] },
      { ...good, entries: [entry(7, 1, "future term")] },
      { ...good, entries: [{ term: 1, index: 1, type: 3, data: new Uint8Array() }] },
      { ...good, type: MessageType.MsgSnap, snapshot: undefined },
      { ...good, context: "not bytes" },
    ];
    for (const m of bad) expect(() => n.step(m as never), JSON.stringify(m)).toThrow(InvalidMessageError);
    n.step(good);
    expect(n.status().lastIndex).toBe(1);
  });

  it("restarts from storage with its term, vote and commit", () => {
    const st = MemoryStorage.bootstrap([1, 2, 3]);
    st.append([entry(2, 4, "a"), entry(2, 5, "b")]);
    st.setHardState({ term: 3, vote: 2, commit: 5 });
    const n = newNode(1, st, 3);
    const s = n.status();
    expect(s.hardState).toEqual({ term: 3, vote: 2, commit: 5 });
    expect(s.confState.voters).toEqual([1, 2, 3]);
    const rd = n.ready();
    expect(rd.committedEntries.map((e) => e.index)).toEqual([4, 5]);
  });

  it("messages in a Ready are only those produced before it (vote responses wait for the vote to persist)", () => {
    const st = new MemoryStorage({ voters: [1, 2, 3], learners: [] });
    const n = newNode(2, st);
    n.step(newMessage({ type: MessageType.MsgVote, from: 1, to: 2, term: 1, index: 0, logTerm: 0 }));
    const rd = n.ready();
    expect(rd.hardState).toEqual({ term: 1, vote: 1, commit: 0 });
    expect(rd.mustSync).toBe(true);
    expect(rd.messages.map((m) => [m.type, m.reject])).toEqual([[MessageType.MsgVoteResp, false]]);
  });
});

describe("Config validation", () => {
  const base = () => ({ id: 1, electionTick: 10, heartbeatTick: 1, storage: new MemoryStorage(), rng: new SeededRng(1) });
  it.each([
    [{ id: 0 }, /node id must be a positive integer/],
    [{ heartbeatTick: 0 }, /heartbeat tick must be a positive integer/],
    [{ electionTick: 1, heartbeatTick: 1 }, /election tick \(1\) must be greater than heartbeat tick \(1\)/],
    [{ storage: undefined }, /storage cannot be nil/],
    [{ rng: undefined }, /rng is required/],
    [{ maxInflightMsgs: 0 }, /max inflight msgs/],
    [{ applied: -1 }, /applied must be a non-negative integer/],
  ])("rejects %o", (patch, re) => {
    expect(() => validateConfig({ ...base(), ...patch } as never)).toThrow(InvalidConfigError);
    expect(() => validateConfig({ ...base(), ...patch } as never)).toThrow(re);
  });

  it("fills defaults: PreVote and CheckQuorum on", () => {
    const c = validateConfig(base());
    expect(c.preVote).toBe(true);
    expect(c.checkQuorum).toBe(true);
    expect(c.maxSizePerMsg).toBeGreaterThan(0);
  });
});

describe("MemoryStorage", () => {
  function filled(): MemoryStorage {
    const st = new MemoryStorage();
    st.append([entry(1, 1), entry(1, 2), entry(2, 3), entry(2, 4), entry(3, 5)]);
    return st;
  }

  it("serves entries and terms, and names out-of-range errors", () => {
    const st = filled();
    expect(st.firstIndex()).toBe(1);
    expect(st.lastIndex()).toBe(5);
    expect(st.term(0)).toBe(0);
    expect(st.term(3)).toBe(2);
    expect(st.entries(2, 4, Infinity).map((e) => e.index)).toEqual([2, 3]);
    expect(st.entries(2, 6, 1).map((e) => e.index)).toEqual([2]); // at least one
    expect(() => st.term(6)).toThrow(ErrUnavailable);
    expect(() => st.entries(2, 7, Infinity)).toThrow(ErrUnavailable);
  });

  it("compacts, keeping the term of the compaction point", () => {
    const st = filled();
    st.compact(3);
    expect(st.firstIndex()).toBe(4);
    expect(st.term(3)).toBe(2);
    expect(() => st.term(2)).toThrow(ErrLogCompacted);
    expect(() => st.entries(3, 5, Infinity)).toThrow(ErrLogCompacted);
    expect(() => st.compact(2)).toThrow(ErrLogCompacted);
  });

  it("append truncates a conflicting suffix and ignores compacted entries", () => {
    const st = filled();
    st.compact(2);
    st.append([entry(1, 2), entry(4, 3)]);
    expect(st.lastIndex()).toBe(3);
    expect(st.term(3)).toBe(4);
    expect(() => st.append([entry(4, 9)])).toThrow(InvariantError);
  });

  it("creates and applies snapshots, refusing older ones", () => {
    const st = filled();
    const snap = st.createSnapshot(4, { voters: [1, 2], learners: [] }, bytes("state"));
    expect(snap.metadata).toEqual({ index: 4, term: 2, confState: { voters: [1, 2], learners: [] } });
    expect(() => st.createSnapshot(3, undefined, bytes(""))).toThrow(ErrSnapOutOfDate);
    const other = new MemoryStorage();
    other.applySnapshot(snap);
    expect(other.firstIndex()).toBe(5);
    expect(other.lastIndex()).toBe(4);
    expect(other.initialState().confState.voters).toEqual([1, 2]);
    expect(() => other.applySnapshot({ ...snap, metadata: { ...snap.metadata, index: 2 } })).toThrow(ErrSnapOutOfDate);
  });

  it("bootstrap writes the founding membership as committed conf-change entries", () => {
    const b = bootstrapState([3, 1, 2]);
    expect(b.entries.map((e) => [e.index, e.term, e.type])).toEqual([
      [1, 1, EntryType.ConfChange],
      [2, 1, EntryType.ConfChange],
      [3, 1, EntryType.ConfChange],
    ]);
    expect(b.entries.map((e) => decodeConfChange(e.data))).toEqual([
      { type: ConfChangeType.AddNode, nodeId: 3 },
      { type: ConfChangeType.AddNode, nodeId: 1 },
      { type: ConfChangeType.AddNode, nodeId: 2 },
    ]);
    expect(b.hardState).toEqual({ term: 1, vote: 0, commit: 3 });
    expect(b.confState.voters).toEqual([1, 2, 3]);
    expect(() => bootstrapState([])).toThrow(InvalidConfigError);
    expect(() => bootstrapState([1, 1])).toThrow(/listed twice/);
  });
});

describe("messages and conf change encoding", () => {
  it("classifies every message type as etcd raft's isLocalMsg / isResponseMsg tables do", () => {
    const names = Object.keys(MessageType).filter((k) => Number.isNaN(Number(k)));
    expect(names).toHaveLength(MESSAGE_TYPE_COUNT);
    const all = Array.from({ length: MESSAGE_TYPE_COUNT }, (_, t) => t as MessageType);
    // etcd raft's util.go lists, less its MsgStorage* types (kubemu has no asynchronous storage
    // writes): local types never come from the network; response types answer a request
    // (MsgUnreachable is both there too).
    expect(all.filter(isLocalMsg).map((t) => MessageType[t])).toEqual(["MsgHup", "MsgBeat", "MsgUnreachable", "MsgSnapStatus", "MsgCheckQuorum"]);
    expect(all.filter(isResponseMsg).map((t) => MessageType[t])).toEqual(["MsgAppResp", "MsgVoteResp", "MsgHeartbeatResp", "MsgUnreachable", "MsgReadIndexResp", "MsgPreVoteResp"]);
    expect(isLocalMsg(99 as MessageType)).toBe(false);
    expect(isResponseMsg(99 as MessageType)).toBe(false);
  });

  it("RawNode.step refuses exactly the local message types", () => {
    const refused = (t: MessageType): boolean => {
      const n = newNode(1, new MemoryStorage({ voters: [1, 2, 3], learners: [] }));
      try {
        n.step(newMessage({ type: t, from: 2, to: 1, term: 1 }));
        return false;
      } catch (e) {
        return e instanceof StepLocalMessageError;
      }
    };
    const all = Array.from({ length: MESSAGE_TYPE_COUNT }, (_, t) => t as MessageType);
    expect(all.filter(refused)).toEqual(all.filter(isLocalMsg));
  });

  it("round-trips conf changes and rejects malformed data with a clear error", () => {
    const cc = { type: ConfChangeType.AddLearnerNode, nodeId: 7, context: bytes("127.0.10.4:2380") };
    expect(decodeConfChange(encodeConfChange(cc))).toEqual(cc);
    expect(() => decodeConfChange(bytes("nope"))).toThrow(/not valid JSON/);
    expect(() => decodeConfChange(bytes('{"type":9,"nodeId":1}'))).toThrow(/unknown type/);
    expect(() => decodeConfChange(bytes('{"type":0,"nodeId":0}'))).toThrow(/positive integer/);
  });
});
