/**
 * Behaviour beyond the basic paper rules: PreVote, CheckQuorum and the leader lease, ReadIndex,
 * chunked snapshots, membership changes and learners, leader transfer, fast backtracking.
 */
import {
  ConfChangeError,
  ConfChangeType,
  EntryType,
  MemoryStorage,
  type Message,
  MessageType,
  ProgressState,
  ProposalDroppedError,
  type Raft,
  StateType,
  encodeConfChange,
} from "@kubemu/etcd-raft";
import { describe, expect, it } from "vitest";
import { Network, bytes, entry, msg, newTestRaft, nextEnts, persist, propose, readMessages } from "./helpers.js";

const dec = new TextDecoder();

function proposeConfChange(n: Network, leader: number, type: ConfChangeType, nodeId: number): void {
  n.node(leader).step(msg({ type: MessageType.MsgProp, from: leader, entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange({ type, nodeId }) }] }));
  n.stabilize();
}

/** Ticks the given nodes (default: all) in lockstep, as real clocks would. */
function tickAll(n: Network, rounds: number, ids = [...n.peers.keys()]): void {
  for (let i = 0; i < rounds; i++) for (const id of ids) n.tick(id, 1);
}

function leaderOf(n: Network): Raft[] {
  return [...n.peers.values()].filter((r) => r.state === StateType.Leader);
}

describe("PreVote", () => {
  it("a partitioned node with PreVote keeps its term and does not disrupt the leader when it rejoins", () => {
    const n = Network.of(3, { preVote: true });
    n.campaign(1);
    n.isolate(3);
    n.propose(1, "while 3 is away");
    n.tick(3, 50);
    expect(n.node(3).term).toBe(1);
    expect(n.node(3).state).toBe(StateType.PreCandidate);
    n.recover();
    tickAll(n, 50); // heartbeats reach 3 again; it follows the leader
    expect(n.node(1).state).toBe(StateType.Leader);
    expect(n.node(1).term).toBe(1);
    expect(n.node(3).term).toBe(1);
    expect(n.node(3).state).toBe(StateType.Follower);
  });

  it("without PreVote the same partitioned node inflates its term and deposes the leader on return", () => {
    const n = Network.of(3, { preVote: false });
    n.campaign(1);
    n.isolate(3);
    n.propose(1, "while 3 is away");
    n.tick(3, 50);
    expect(n.node(3).term).toBeGreaterThan(1);
    n.recover();
    tickAll(n, 50);
    expect(n.node(1).term).toBeGreaterThan(1);
  });

  it("a pre-candidate that wins the pre-election campaigns for real at term+1", () => {
    const n = Network.of(3, { preVote: true });
    n.campaign(1);
    expect(n.node(1).state).toBe(StateType.Leader);
    expect(n.node(1).term).toBe(1);
    expect(n.trace.some((l) => l.includes("MsgPreVote "))).toBe(true);
  });
});

describe("CheckQuorum and the leader lease", () => {
  it("a leader that hears from no quorum within an election timeout steps down", () => {
    const n = Network.of(3, { checkQuorum: true });
    n.campaign(1);
    n.isolate(1);
    // The followers answered within the current window, so the first check passes; the next fails.
    n.tick(1, n.node(1).electionTimeout);
    expect(n.node(1).state).toBe(StateType.Leader);
    n.tick(1, n.node(1).electionTimeout);
    expect(n.node(1).state).toBe(StateType.Follower);
  });

  it("a leader that keeps hearing from a quorum stays leader", () => {
    const n = Network.of(3, { checkQuorum: true });
    n.campaign(1);
    n.isolate(3);
    n.tick(1, 5 * n.node(1).electionTimeout);
    expect(n.node(1).state).toBe(StateType.Leader);
  });

  it("a follower that heard from the leader recently ignores a vote request of a higher term", () => {
    const n = Network.of(3, { checkQuorum: true });
    n.campaign(1);
    const r2 = n.node(2);
    readMessages(r2);
    r2.step(msg({ type: MessageType.MsgVote, from: 3, to: 2, term: 5, index: 100, logTerm: 5 }));
    expect(r2.term).toBe(1);
    expect(r2.vote).toBe(1);
    expect(readMessages(r2)).toEqual([]);
  });

  it("a stale leader learns the new term from a follower's reply to its heartbeat and steps down", () => {
    const n = Network.of(3, { checkQuorum: true, preVote: true });
    n.campaign(1);
    n.isolate(1);
    tickAll(n, 3 * n.node(2).electionTimeout, [2, 3]);
    expect(leaderOf(n).map((r) => r.id).some((id) => id !== 1)).toBe(true);
    n.recover();
    // Node 1 still thinks it leads term 1 until it hears otherwise.
    n.tick(1, 2);
    expect(n.node(1).state).toBe(StateType.Follower);
    expect(n.node(1).term).toBe(Math.max(n.node(2).term, n.node(3).term));
  });
});

describe("ReadIndex", () => {
  it("the leader answers with its commit index after a heartbeat round", () => {
    const n = Network.of(3);
    n.campaign(1);
    n.propose(1, "x");
    const r1 = n.node(1);
    n.stepLocal(1, msg({ type: MessageType.MsgReadIndex, context: bytes("ctx1") }));
    expect(r1.readStates).toHaveLength(1);
    expect(r1.readStates[0]!.index).toBe(r1.log.committed);
    expect(dec.decode(r1.readStates[0]!.requestCtx)).toBe("ctx1");
    expect(n.trace.some((l) => l.includes("MsgHeartbeat ") && l.includes('"ctx1"'))).toBe(true);
  });

  it("a follower forwards the request to the leader and gets the leader's commit index", () => {
    const n = Network.of(3);
    n.campaign(1);
    n.propose(1, "x");
    n.stepLocal(2, msg({ type: MessageType.MsgReadIndex, context: bytes("f") }));
    const r2 = n.node(2);
    expect(r2.readStates).toEqual([{ index: n.node(1).log.committed, requestCtx: bytes("f") }]);
  });

  it("a new leader delays reads until it has committed an entry of its own term", () => {
    const r = newTestRaft(1, [1, 2, 3]);
    r.becomeCandidate();
    r.becomeLeader();
    readMessages(r);
    r.step(msg({ type: MessageType.MsgReadIndex, from: 0, context: bytes("early") }));
    expect(readMessages(r)).toEqual([]);
    expect(r.readStates).toEqual([]);
    // The no-op of term 1 commits: the delayed read goes out with a heartbeat.
    r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, term: 1, index: r.log.lastIndex() }));
    const hb = readMessages(r).filter((m) => m.type === MessageType.MsgHeartbeat);
    expect(hb.length).toBe(2);
    expect(dec.decode(hb[0]!.context!)).toBe("early");
    r.step(msg({ type: MessageType.MsgHeartbeatResp, from: 2, to: 1, term: 1, context: bytes("early") }));
    expect(r.readStates).toEqual([{ index: r.log.committed, requestCtx: bytes("early") }]);
  });

  it("a leader cut off from the quorum never confirms a read", () => {
    const n = Network.of(3);
    n.campaign(1);
    n.isolate(1);
    n.stepLocal(1, msg({ type: MessageType.MsgReadIndex, context: bytes("lonely") }));
    n.tick(1, 5);
    expect(n.node(1).readStates).toEqual([]);
  });
});

describe("snapshots", () => {
  function compactLeader(r: Raft, data: string): number {
    nextEnts(r);
    const st = r.log.storage as MemoryStorage;
    const i = r.log.applied;
    st.createSnapshot(i, r.tracker.confState(), bytes(data));
    st.compact(i);
    return i;
  }

  it("a follower behind the leader's first index is caught up with a snapshot sent in chunks", () => {
    const n = Network.of(3, { maxSnapshotChunkBytes: 4 });
    n.campaign(1);
    n.isolate(3);
    for (let i = 0; i < 5; i++) n.propose(1, `v${i}`);
    const snapIndex = compactLeader(n.node(1), "0123456789abcdef!");
    n.recover();
    n.propose(1, "after");
    const chunks = n.trace.filter((l) => l.includes("MsgSnap"));
    expect(chunks.length).toBe(5); // 17 bytes in chunks of 4
    expect(chunks[4]).toContain("chunk 5/5");
    const r3 = n.node(3);
    expect(r3.log.storage.snapshot().metadata.index).toBe(snapIndex);
    expect(dec.decode(r3.log.storage.snapshot().data)).toBe("0123456789abcdef!");
    expect(r3.log.lastIndex()).toBe(n.node(1).log.lastIndex());
    expect(n.node(1).tracker.progress.get(3)!.state).toBe(ProgressState.Replicate);
  });

  function chunksOf(data: string, size: number, index: number, term: number, from = 1, to = 2): Message[] {
    const b = bytes(data);
    const count = Math.ceil(b.length / size);
    return Array.from({ length: count }, (_, i) =>
      msg({
        type: MessageType.MsgSnap,
        from,
        to,
        term,
        snapshot: { index, term, confState: { voters: [1, 2, 3], learners: [] } },
        snapshotData: b.subarray(i * size, (i + 1) * size),
        chunk: { index: i, count, totalBytes: b.length },
      }),
    );
  }

  it("reassembles chunks that arrive reordered and duplicated, and installs the snapshot once", () => {
    const r = newTestRaft(2, [1, 2, 3]);
    const [c0, c1, c2] = chunksOf("abcdefghij", 4, 10, 2);
    for (const m of [c2!, c0!, c2!, c1!]) r.step(m);
    expect(r.log.unstable.snapshot?.metadata.index).toBe(10);
    expect(dec.decode(r.log.unstable.snapshot!.data)).toBe("abcdefghij");
    const resps = readMessages(r).filter((m) => m.type === MessageType.MsgAppResp);
    expect(resps.map((m) => m.index)).toEqual([10]);
    r.step(c1!); // a late duplicate: the snapshot is no newer than our commit now
    expect(readMessages(r).map((m) => [m.type, m.index])).toEqual([[MessageType.MsgAppResp, 10]]);
  });

  it("does not install a snapshot with a missing chunk, and a newer snapshot replaces a partial one", () => {
    const r = newTestRaft(2, [1, 2, 3]);
    const old = chunksOf("abcdefghij", 4, 10, 2);
    r.step(old[0]!);
    r.step(old[1]!);
    expect(r.log.unstable.snapshot).toBeUndefined();
    const newer = chunksOf("ABCDEFGHIJKL", 4, 12, 2);
    for (const m of newer) r.step(m);
    r.step(old[2]!); // completes nothing: the old assembly was discarded
    expect(r.log.unstable.snapshot?.metadata.index).toBe(12);
    expect(dec.decode(r.log.unstable.snapshot!.data)).toBe("ABCDEFGHIJKL");
  });

  it("the leader resends a snapshot whose chunks were lost", () => {
    const n = Network.of(3, { maxSnapshotChunkBytes: 4 });
    n.campaign(1);
    n.isolate(3);
    for (let i = 0; i < 3; i++) n.propose(1, `v${i}`);
    compactLeader(n.node(1), "snapshot-data");
    n.recover();
    n.ignore(MessageType.MsgSnap);
    n.propose(1, "after");
    const pr = n.node(1).tracker.progress.get(3)!;
    expect(pr.state).toBe(ProgressState.Snapshot);
    n.recover();
    n.tick(1, 3 * n.node(1).electionTimeout);
    expect(n.node(3).log.lastIndex()).toBe(n.node(1).log.lastIndex());
  });

  it("reportSnapshot(failure) returns the follower to probing", () => {
    const r = newTestRaft(1, [1, 2]);
    r.becomeCandidate();
    r.becomeLeader();
    r.tracker.progress.get(2)!.becomeSnapshot(10);
    r.step(msg({ type: MessageType.MsgSnapStatus, from: 2, to: 1, reject: true }));
    const pr = r.tracker.progress.get(2)!;
    expect(pr.state).toBe(ProgressState.Probe);
    expect(pr.pendingSnapshot).toBe(0);
  });
});

/** A cluster whose founding membership is in the log (MemoryStorage.bootstrap), so new members learn it. */
function bootstrapped(size: number): Network {
  const ids = Array.from({ length: size }, (_, i) => i + 1);
  const n = new Network(ids.map((id) => newTestRaft(id, ids, {}, MemoryStorage.bootstrap(ids))));
  // The bootstrap entries are committed conf changes: they must be applied before anyone may campaign.
  n.settle();
  n.campaign(1);
  n.settle();
  return n;
}

describe("membership changes", () => {
  it("adds a voter that starts with an empty log; the quorum grows to include it", () => {
    const n = bootstrapped(3);
    n.add(4, newTestRaft(4, [], {}, new MemoryStorage()));
    proposeConfChange(n, 1, ConfChangeType.AddNode, 4);
    n.settle();
    for (const id of [1, 2, 3, 4]) expect(n.node(id).tracker.voters, `node ${id}`).toEqual([1, 2, 3, 4]);
    expect(n.node(4).log.lastIndex()).toBe(n.node(1).log.lastIndex());
    // Now 3 of 4 are needed: with two nodes cut off nothing commits.
    n.isolate(3);
    n.isolate(4);
    const before = n.node(1).log.committed;
    n.propose(1, "needs 3 of 4");
    expect(n.node(1).log.committed).toBe(before);
  });

  it("allows only one pending change at a time", () => {
    const n = Network.of(3);
    n.campaign(1);
    n.settle();
    proposeConfChange(n, 1, ConfChangeType.AddLearnerNode, 4);
    expect(() => n.node(1).step(msg({ type: MessageType.MsgProp, from: 1, entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 5 }) }] }))).toThrow(ProposalDroppedError);
    n.settle();
    proposeConfChange(n, 1, ConfChangeType.AddLearnerNode, 5);
    n.settle();
    expect(n.node(1).tracker.learners).toEqual([4, 5]);
  });

  it("a new leader accepts no conf change until it has applied its whole log", () => {
    const r = newTestRaft(1, [1, 2, 3]);
    r.becomeCandidate();
    r.becomeLeader();
    expect(r.pendingConfIndex).toBe(r.log.lastIndex() - 1);
    expect(() => r.step(msg({ type: MessageType.MsgProp, from: 1, entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange({ type: ConfChangeType.AddNode, nodeId: 4 }) }] }))).not.toThrow();
  });

  it("refuses invalid changes at proposal time", () => {
    const n = Network.of(3);
    n.campaign(1);
    n.settle();
    const demote = () => n.node(1).step(msg({ type: MessageType.MsgProp, from: 1, entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 2 }) }] }));
    expect(demote).toThrow(ConfChangeError);
  });

  it("a learner catches up, never campaigns, and is not counted for commit; then it is promoted", () => {
    const n = bootstrapped(3);
    n.add(4, newTestRaft(4, [], {}, new MemoryStorage()));
    proposeConfChange(n, 1, ConfChangeType.AddLearnerNode, 4);
    n.settle();
    const r4 = n.node(4);
    expect(r4.tracker.learners).toEqual([4]);
    expect(r4.log.lastIndex()).toBe(n.node(1).log.lastIndex());
    readMessages(r4);
    for (let i = 0; i < 100; i++) r4.tick();
    expect(readMessages(r4).filter((m) => m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote)).toEqual([]);
    // Two voters cut: the learner's ack does not make a quorum.
    n.isolate(2);
    n.isolate(3);
    const before = n.node(1).log.committed;
    n.propose(1, "learner is no quorum");
    expect(n.node(1).log.committed).toBe(before);
    n.recover();
    n.settle();
    proposeConfChange(n, 1, ConfChangeType.AddNode, 4);
    n.settle();
    expect(n.node(1).tracker.voters).toEqual([1, 2, 3, 4]);
    expect(n.node(4).promotable()).toBe(true);
  });

  it("a removed leader steps down and the others elect a new one", () => {
    const n = Network.of(3);
    n.campaign(1);
    n.settle();
    proposeConfChange(n, 1, ConfChangeType.RemoveNode, 1);
    n.settle();
    expect(n.node(1).state).toBe(StateType.Follower);
    expect(n.node(2).tracker.voters).toEqual([2, 3]);
    n.tick(2, 3 * n.node(2).electionTimeout);
    n.tick(3, 3 * n.node(3).electionTimeout);
    expect(leaderOf(n).map((r) => r.id).filter((id) => id !== 1)).toHaveLength(1);
  });
});

describe("leader transfer", () => {
  it("transfers to an up-to-date follower with TimeoutNow", () => {
    const n = Network.of(3, { checkQuorum: true, preVote: true });
    n.campaign(1);
    n.stepLocal(1, msg({ type: MessageType.MsgTransferLeader, from: 2 }));
    expect(n.node(2).state).toBe(StateType.Leader);
    expect(n.node(1).state).toBe(StateType.Follower);
    expect(n.trace.some((l) => l.startsWith("1->2 MsgTimeoutNow"))).toBe(true);
  });

  it("catches a lagging transferee up first, then hands over", () => {
    const n = Network.of(3);
    n.campaign(1);
    n.isolate(3);
    n.propose(1, "3 misses this");
    n.recover();
    n.stepLocal(1, msg({ type: MessageType.MsgTransferLeader, from: 3 }));
    expect(n.node(3).state).toBe(StateType.Leader);
    expect(n.node(3).log.lastIndex()).toBeGreaterThanOrEqual(3);
  });

  it("a follower forwards a transfer request to the leader", () => {
    const n = Network.of(3);
    n.campaign(1);
    n.stepLocal(3, msg({ type: MessageType.MsgTransferLeader, from: 3 }));
    expect(n.node(3).state).toBe(StateType.Leader);
  });

  it("drops proposals during a transfer and aborts it after an election timeout", () => {
    const n = Network.of(3);
    n.campaign(1);
    n.isolate(3);
    n.stepLocal(1, msg({ type: MessageType.MsgTransferLeader, from: 3 }));
    const r1 = n.node(1);
    expect(r1.leadTransferee).toBe(3);
    expect(() => propose(r1)).toThrow(ProposalDroppedError);
    n.tick(1, r1.electionTimeout);
    expect(r1.leadTransferee).toBe(0);
    expect(() => propose(r1)).not.toThrow();
  });

  it("ignores a transfer to a learner", () => {
    const r = newTestRaft(1, [1, 2], {}, new MemoryStorage({ voters: [1, 2], learners: [3] }));
    r.becomeCandidate();
    r.becomeLeader();
    r.step(msg({ type: MessageType.MsgTransferLeader, from: 3 }));
    expect(r.leadTransferee).toBe(0);
  });
});

describe("log replication details", () => {
  it("fast backtracking skips a whole divergent term in one round trip", () => {
    // Common prefix 1..10 (term 1); the leader has 11..60 of term 3, the follower 11..100 of term 2.
    const prefix = Array.from({ length: 10 }, (_, i) => entry(1, i + 1));
    const ls = new MemoryStorage({ voters: [1, 2, 3], learners: [] });
    ls.append([...prefix, ...Array.from({ length: 50 }, (_, i) => entry(3, 11 + i))]);
    ls.setHardState({ term: 3, vote: 0, commit: 10 });
    const fs = new MemoryStorage({ voters: [1, 2, 3], learners: [] });
    fs.append([...prefix, ...Array.from({ length: 90 }, (_, i) => entry(2, 11 + i))]);
    fs.setHardState({ term: 3, vote: 0, commit: 10 });
    const n = new Network([newTestRaft(1, [1, 2, 3], {}, ls), newTestRaft(2, [1, 2, 3], {}, fs), undefined]);
    n.isolate(2);
    n.campaign(1);
    n.recover();
    n.tick(1, 1); // a heartbeat: node 2 answers, the leader starts probing it
    const rejects = n.trace.filter((l) => l.startsWith("2->1 MsgAppResp") && l.includes("Rejected"));
    expect(rejects.length).toBeLessThanOrEqual(2);
    expect(n.node(2).log.lastIndex()).toBe(n.node(1).log.lastIndex());
    expect(n.node(2).log.term(11)).toBe(3);
  });

  it("pipelines up to maxInflightMsgs appends in Replicate state, then pauses", () => {
    const r = newTestRaft(1, [1, 2], { maxInflightMsgs: 3, maxSizePerMsg: 1 });
    r.becomeCandidate();
    r.becomeLeader();
    r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, term: 1, index: r.log.lastIndex() }));
    readMessages(r);
    expect(r.tracker.progress.get(2)!.state).toBe(ProgressState.Replicate);
    for (let i = 0; i < 5; i++) propose(r, `p${i}`);
    const apps = readMessages(r).filter((m) => m.type === MessageType.MsgApp && m.entries.length > 0);
    expect(apps).toHaveLength(3);
    expect(r.tracker.progress.get(2)!.isPaused()).toBe(true);
    // An ack frees the window and the rest flows.
    r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, term: 1, index: apps[2]!.entries[0]!.index }));
    expect(readMessages(r).filter((m) => m.type === MessageType.MsgApp && m.entries.length > 0).length).toBeGreaterThan(0);
  });

  it("batches entries into one MsgApp up to maxSizePerMsg", () => {
    const r = newTestRaft(1, [1, 2], { maxSizePerMsg: 1024 * 1024 });
    r.becomeCandidate();
    r.becomeLeader();
    r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, term: 1, index: 0, reject: true, rejectHint: 0 }));
    readMessages(r);
    for (let i = 0; i < 10; i++) r.log.append([entry(1, r.log.lastIndex() + 1, `e${i}`)]);
    r.tracker.progress.get(2)!.becomeProbe();
    r.tracker.progress.get(2)!.next = 1;
    r.bcastAppend();
    const apps = readMessages(r).filter((m) => m.type === MessageType.MsgApp);
    expect(apps).toHaveLength(1);
    expect(apps[0]!.entries.length).toBe(r.log.lastIndex());
  });

  it("heartbeats never advance a follower's commit past what it is known to hold", () => {
    const n = Network.of(3);
    n.campaign(1);
    n.isolate(3);
    n.propose(1, "x");
    const r1 = n.node(1);
    readMessages(r1);
    r1.step(msg({ type: MessageType.MsgBeat, from: 1 }));
    const hb3 = readMessages(r1).find((m) => m.to === 3)!;
    expect(hb3.commit).toBeLessThanOrEqual(r1.tracker.progress.get(3)!.match);
    persist(r1);
  });
});
