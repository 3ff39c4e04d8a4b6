/**
 * Tests named after the rules of the Raft paper ("In Search of an Understandable Consensus
 * Algorithm", extended version), §5. Each test: init, act, check. They use the paper's
 * algorithm (PreVote and CheckQuorum off) so the messages are exactly the paper's.
 */
import { MemoryStorage, MessageType, type Message, StateType, type Entry } from "@kubemu/etcd-raft";
import { describe, expect, it } from "vitest";
import { Network, becomeState, entry, msg, newTestRaft, nextEnts, propose, readMessages } from "./helpers.js";

function sortMsgs(ms: Message[]): Message[] {
  return [...ms].sort((a, b) => a.to - b.to || a.type - b.type);
}

function summary(ms: Message[]) {
  return sortMsgs(ms).map((m) => ({ from: m.from, to: m.to, type: MessageType[m.type], term: m.term }));
}

function commitNoopEntry(r: ReturnType<typeof newTestRaft>): void {
  // Replicate the leader's empty entry to everyone and apply it.
  r.bcastAppend();
  for (const m of readMessages(r)) {
    r.step(msg({ type: MessageType.MsgAppResp, from: m.to, to: r.id, term: r.term, index: m.index + m.entries.length }));
  }
  readMessages(r);
  nextEnts(r);
}

function acceptAndReply(m: Message): Message {
  return msg({ type: MessageType.MsgAppResp, from: m.to, to: m.from, term: m.term, index: m.index + m.entries.length });
}

describe("Raft paper §5.1: servers, terms, roles", () => {
  for (const state of [StateType.Follower, StateType.Candidate, StateType.Leader]) {
    it(`${StateType[state].toLowerCase()}UpdatesTermFromMessage: a server that sees a larger term adopts it and becomes follower`, () => {
      const r = newTestRaft(1, [1, 2, 3]);
      becomeState(r, state, 1);
      r.step(msg({ type: MessageType.MsgApp, from: 2, to: 1, term: 2 }));
      expect(r.term).toBe(2);
      expect(r.state).toBe(StateType.Follower);
    });
  }

  it("rejectStaleTermMessage: a request with a stale term is ignored", () => {
    const r = newTestRaft(1, [1, 2, 3]);
    r.becomeFollower(2, 0);
    r.step(msg({ type: MessageType.MsgApp, from: 2, to: 1, term: 1, entries: [entry(1, 1)] }));
    expect(r.log.lastIndex()).toBe(0);
    expect(readMessages(r)).toEqual([]);
  });

  it("startAsFollower: servers start up as followers", () => {
    expect(newTestRaft(1, [1, 2, 3]).state).toBe(StateType.Follower);
  });
});

describe("Raft paper §5.2: leader election", () => {
  it("leaderBcastBeat: the leader sends heartbeats to all followers every heartbeat interval", () => {
    const r = newTestRaft(1, [1, 2, 3], { heartbeatTick: 1 });
    r.becomeCandidate();
    r.becomeLeader();
    readMessages(r);
    r.tick();
    const ms = summary(readMessages(r));
    expect(ms).toEqual([
      { from: 1, to: 2, type: "MsgHeartbeat", term: 1 },
      { from: 1, to: 3, type: "MsgHeartbeat", term: 1 },
    ]);
  });

  for (const state of [StateType.Follower, StateType.Candidate]) {
    const name = state === StateType.Follower ? "followerStartsElection" : "candidateStartsNewElection";
    it(`${name}: without communication for an election timeout, a ${StateType[state].toLowerCase()} increments its term, votes for itself and requests votes`, () => {
      const r = newTestRaft(1, [1, 2, 3]);
      becomeState(r, state, 1);
      const before = r.term;
      for (let i = 0; i < 2 * r.electionTimeout; i++) r.tick();
      expect(r.term).toBeGreaterThan(before);
      expect(r.state).toBe(StateType.Candidate);
      expect(r.vote).toBe(1);
      const ms = summary(readMessages(r)).filter((m) => m.term === r.term);
      expect(ms).toEqual([
        { from: 1, to: 2, type: "MsgVote", term: r.term },
        { from: 1, to: 3, type: "MsgVote", term: r.term },
      ]);
    });
  }

  it("leaderElectionInOneRoundRPC: a candidate wins with a majority of votes, loses with a majority of rejections", () => {
    const cases: { size: number; votes: Record<number, boolean>; want: StateType }[] = [
      { size: 1, votes: {}, want: StateType.Leader },
      { size: 3, votes: { 2: true, 3: true }, want: StateType.Leader },
      { size: 3, votes: { 2: true }, want: StateType.Leader },
      { size: 5, votes: { 2: true, 3: true, 4: true, 5: true }, want: StateType.Leader },
      { size: 5, votes: { 2: true, 3: true }, want: StateType.Leader },
      { size: 3, votes: { 2: false, 3: false }, want: StateType.Follower },
      { size: 5, votes: { 2: false, 3: false, 4: false }, want: StateType.Follower },
      { size: 3, votes: {}, want: StateType.Candidate },
      { size: 5, votes: { 2: true }, want: StateType.Candidate },
      { size: 5, votes: { 2: false, 3: false }, want: StateType.Candidate },
    ];
    for (const tc of cases) {
      const ids = Array.from({ length: tc.size }, (_, i) => i + 1);
      const r = newTestRaft(1, ids);
      r.step(msg({ type: MessageType.MsgHup, from: 1 }));
      for (const [id, granted] of Object.entries(tc.votes)) {
        r.step(msg({ type: MessageType.MsgVoteResp, from: Number(id), to: 1, term: r.term, reject: !granted }));
      }
      expect(r.state, JSON.stringify(tc)).toBe(tc.want);
      expect(r.term).toBe(1);
    }
  });

  it("followerVote: each follower votes for at most one candidate per term, first come first served", () => {
    const cases = [
      { vote: 0, nvote: 2, reject: false },
      { vote: 0, nvote: 3, reject: false },
      { vote: 2, nvote: 2, reject: false },
      { vote: 3, nvote: 3, reject: false },
      { vote: 2, nvote: 3, reject: true },
      { vote: 3, nvote: 2, reject: true },
    ];
    for (const tc of cases) {
      const r = newTestRaft(1, [1, 2, 3]);
      r.term = 1;
      r.vote = tc.vote;
      r.step(msg({ type: MessageType.MsgVote, from: tc.nvote, to: 1, term: 1 }));
      const ms = readMessages(r);
      expect(ms.map((m) => ({ to: m.to, type: m.type, term: m.term, reject: m.reject }))).toEqual([
        { to: tc.nvote, type: MessageType.MsgVoteResp, term: 1, reject: tc.reject },
      ]);
    }
  });

  it("candidateFallback: a candidate that hears from a leader of at least its term becomes follower", () => {
    for (const term of [1, 2]) {
      const r = newTestRaft(1, [1, 2, 3]);
      r.step(msg({ type: MessageType.MsgHup, from: 1 }));
      expect(r.state).toBe(StateType.Candidate);
      r.step(msg({ type: MessageType.MsgApp, from: 2, to: 1, term }));
      expect(r.state).toBe(StateType.Follower);
      expect(r.term).toBe(term);
    }
  });

  for (const state of [StateType.Follower, StateType.Candidate]) {
    it(`${StateType[state].toLowerCase()}ElectionTimeoutRandomized: election timeouts are chosen randomly from [et, 2et)`, () => {
      const et = 10;
      const r = newTestRaft(1, [1, 2, 3], { electionTick: et });
      const seen = new Set<number>();
      for (let round = 0; round < 50 * et; round++) {
        becomeState(r, state, r.term + 1);
        let time = 0;
        while (readMessages(r).length === 0) {
          r.tick();
          time++;
        }
        seen.add(time);
      }
      for (let d = et + 1; d < 2 * et; d++) expect(seen.has(d), `timeout ${d} never chosen`).toBe(true);
      for (const t of seen) expect(t >= et && t <= 2 * et).toBe(true);
    });
  }

  it("followersElectionTimeoutNonconflict: in most cases only one server times out first", () => {
    const et = 10;
    const size = 5;
    let conflicts = 0;
    const rounds = 500;
    for (let round = 0; round < rounds; round++) {
      const rs = Array.from({ length: size }, (_, i) => newTestRaft(i + 1, [1, 2, 3, 4, 5], { electionTick: et }));
      let timeouts = 0;
      while (timeouts === 0) {
        for (const r of rs) {
          r.tick();
          if (readMessages(r).length > 0) timeouts++;
        }
      }
      if (timeouts > 1) conflicts++;
    }
    expect(conflicts / rounds).toBeLessThanOrEqual(0.3);
  });
});

describe("Raft paper §5.3: log replication", () => {
  it("leaderStartReplication: the leader appends a proposal to its log and sends AppendEntries in parallel", () => {
    const r = newTestRaft(1, [1, 2, 3]);
    r.becomeCandidate();
    r.becomeLeader();
    commitNoopEntry(r);
    const li = r.log.lastIndex();
    propose(r, "some data");
    expect(r.log.lastIndex()).toBe(li + 1);
    expect(r.log.committed).toBe(li);
    const ms = sortMsgs(readMessages(r));
    expect(ms.map((m) => ({ to: m.to, type: m.type, index: m.index, logTerm: m.logTerm, commit: m.commit, n: m.entries.length }))).toEqual([
      { to: 2, type: MessageType.MsgApp, index: li, logTerm: 1, commit: li, n: 1 },
      { to: 3, type: MessageType.MsgApp, index: li, logTerm: 1, commit: li, n: 1 },
    ]);
    expect(r.log.unstableEntries().map((e) => e.index)).toContain(li + 1);
  });

  it("leaderCommitEntry: once a majority has the entry the leader commits it, applies it, and tells followers", () => {
    const r = newTestRaft(1, [1, 2, 3]);
    r.becomeCandidate();
    r.becomeLeader();
    commitNoopEntry(r);
    const li = r.log.lastIndex();
    propose(r, "some data");
    for (const m of readMessages(r)) r.step(acceptAndReply(m));
    expect(r.log.committed).toBe(li + 1);
    expect(nextEnts(r).map((e) => e.index)).toEqual([li + 1]);
    const ms = sortMsgs(readMessages(r));
    expect(ms.map((m) => ({ to: m.to, type: m.type, commit: m.commit }))).toEqual([
      { to: 2, type: MessageType.MsgApp, commit: li + 1 },
      { to: 3, type: MessageType.MsgApp, commit: li + 1 },
    ]);
  });

  it("leaderAcknowledgeCommit: an entry is committed once the leader that created it replicated it on a majority", () => {
    const cases: { size: number; acceptors: number[]; wack: boolean }[] = [
      { size: 1, acceptors: [], wack: true },
      { size: 3, acceptors: [], wack: false },
      { size: 3, acceptors: [2], wack: true },
      { size: 3, acceptors: [2, 3], wack: true },
      { size: 5, acceptors: [], wack: false },
      { size: 5, acceptors: [2], wack: false },
      { size: 5, acceptors: [2, 3], wack: true },
      { size: 5, acceptors: [2, 3, 4, 5], wack: true },
    ];
    for (const tc of cases) {
      const ids = Array.from({ length: tc.size }, (_, i) => i + 1);
      const r = newTestRaft(1, ids);
      r.becomeCandidate();
      r.becomeLeader();
      commitNoopEntry(r);
      const li = r.log.lastIndex();
      propose(r, "some data");
      for (const m of readMessages(r)) if (tc.acceptors.includes(m.to)) r.step(acceptAndReply(m));
      expect(r.log.committed > li, JSON.stringify(tc)).toBe(tc.wack);
    }
  });

  it("leaderCommitPrecedingEntries: committing an entry commits all preceding entries, including earlier leaders'", () => {
    const cases: Entry[][] = [[], [entry(2, 1)], [entry(1, 1), entry(2, 2)], [entry(1, 1)]];
    for (const tt of cases) {
      const storage = new MemoryStorage({ voters: [1, 2, 3], learners: [] });
      storage.append(tt);
      const r = newTestRaft(1, [1, 2, 3], {}, storage);
      r.term = 2;
      r.becomeCandidate();
      r.becomeLeader();
      propose(r, "some data");
      for (const m of readMessages(r)) r.step(acceptAndReply(m));
      const li = tt.length;
      const got = nextEnts(r);
      expect(got.map((e) => [e.term, e.index])).toEqual([...tt.map((e) => [e.term, e.index]), [3, li + 1], [3, li + 2]]);
    }
  });

  it("followerCommitEntry: a follower applies an entry once it learns it is committed", () => {
    const cases: { ents: Entry[]; commit: number }[] = [
      { ents: [entry(1, 1, "some data")], commit: 1 },
      { ents: [entry(1, 1, "some data"), entry(1, 2, "some data2")], commit: 2 },
      { ents: [entry(1, 1, "some data2"), entry(1, 2, "some data")], commit: 2 },
      { ents: [entry(1, 1, "some data"), entry(1, 2, "some data2")], commit: 1 },
    ];
    for (const tc of cases) {
      const r = newTestRaft(1, [1, 2, 3]);
      r.becomeFollower(1, 2);
      r.step(msg({ type: MessageType.MsgApp, from: 2, to: 1, term: 1, entries: tc.ents, commit: tc.commit }));
      expect(r.log.committed).toBe(tc.commit);
      expect(nextEnts(r)).toEqual(tc.ents.slice(0, tc.commit));
    }
  });

  it("followerCheckMsgApp: a follower refuses AppendEntries whose preceding entry it lacks", () => {
    const ents = [entry(1, 1), entry(2, 2)];
    const cases = [
      // match with committed entries
      { term: 0, index: 0, windex: 1, wreject: false },
      { term: ents[0]!.term, index: ents[0]!.index, windex: 1, wreject: false },
      // match with uncommitted entries
      { term: ents[1]!.term, index: ents[1]!.index, windex: 2, wreject: false },
      // unmatch with existing entry
      { term: ents[0]!.term, index: ents[1]!.index, windex: ents[1]!.index, wreject: true },
      // unexisting entry
      { term: ents[1]!.term + 1, index: ents[1]!.index + 1, windex: ents[1]!.index + 1, wreject: true },
    ];
    for (const tc of cases) {
      const storage = new MemoryStorage({ voters: [1, 2, 3], learners: [] });
      storage.append(ents);
      const r = newTestRaft(1, [1, 2, 3], {}, storage);
      r.log.commitTo(1);
      r.becomeFollower(2, 2);
      r.step(msg({ type: MessageType.MsgApp, from: 2, to: 1, term: 2, logTerm: tc.term, index: tc.index }));
      const ms = readMessages(r);
      expect(ms).toHaveLength(1);
      expect({ type: ms[0]!.type, index: ms[0]!.index, reject: ms[0]!.reject }, JSON.stringify(tc)).toEqual({
        type: MessageType.MsgAppResp,
        index: tc.windex,
        reject: tc.wreject,
      });
    }
  });

  it("followerAppendEntries: a follower deletes conflicting entries and appends new ones", () => {
    const cases: { index: number; term: number; ents: Entry[]; wents: Entry[]; wunstable: Entry[] }[] = [
      { index: 2, term: 2, ents: [entry(3, 3)], wents: [entry(1, 1), entry(2, 2), entry(3, 3)], wunstable: [entry(3, 3)] },
      { index: 1, term: 1, ents: [entry(3, 2), entry(4, 3)], wents: [entry(1, 1), entry(3, 2), entry(4, 3)], wunstable: [entry(3, 2), entry(4, 3)] },
      { index: 0, term: 0, ents: [entry(1, 1)], wents: [entry(1, 1), entry(2, 2)], wunstable: [] },
      { index: 0, term: 0, ents: [entry(3, 1)], wents: [entry(3, 1)], wunstable: [entry(3, 1)] },
    ];
    for (const tc of cases) {
      const storage = new MemoryStorage({ voters: [1, 2, 3], learners: [] });
      storage.append([entry(1, 1), entry(2, 2)]);
      const r = newTestRaft(1, [1, 2, 3], {}, storage);
      r.becomeFollower(2, 2);
      r.step(msg({ type: MessageType.MsgApp, from: 2, to: 1, term: 2, logTerm: tc.term, index: tc.index, entries: tc.ents }));
      expect(r.log.allEntries()).toEqual(tc.wents);
      expect(r.log.unstableEntries()).toEqual(tc.wunstable);
    }
  });

  it("leaderSyncFollowerLog: the leader forces followers' logs to duplicate its own (Figure 7)", () => {
    const e = (t: number, i: number) => entry(t, i);
    const terms = (ts: number[]) => ts.map((t, i) => e(t, i + 1));
    const leaderLog = terms([1, 1, 1, 4, 4, 5, 5, 6, 6, 6]);
    const followers = [
      terms([1, 1, 1, 4, 4, 5, 5, 6, 6]), // (a)
      terms([1, 1, 1, 4]), // (b)
      terms([1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6]), // (c)
      terms([1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7]), // (d)
      terms([1, 1, 1, 4, 4, 4, 4]), // (e)
      terms([1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]), // (f)
    ];
    for (const fl of followers) {
      const ls = new MemoryStorage({ voters: [1, 2, 3], learners: [] });
      ls.append(leaderLog);
      const lead = newTestRaft(1, [1, 2, 3], {}, ls);
      lead.log.commitTo(leaderLog.length);
      lead.term = 8; // past every term in the figure
      const fs = new MemoryStorage({ voters: [1, 2, 3], learners: [] });
      fs.append(fl);
      const follower = newTestRaft(2, [1, 2, 3], {}, fs);
      follower.term = 7;
      // Node 3 has an empty log, so it grants its vote and node 1 wins even when node 2's log
      // is more up to date than the leader's.
      const n = new Network([lead, follower, undefined]);
      n.campaign(1);
      n.propose(1, "");
      expect(lead.state).toBe(StateType.Leader);
      const strip = (es: Entry[]) => es.map((x) => [x.term, x.index]);
      expect(strip(follower.log.allEntries())).toEqual(strip(lead.log.allEntries()));
    }
  });
});

describe("Raft paper §5.4: safety", () => {
  it("voteRequest: a candidate's RequestVote carries its last log index and term", () => {
    const cases = [
      { ents: [entry(1, 1)], wterm: 2 },
      { ents: [entry(1, 1), entry(2, 2)], wterm: 3 },
    ];
    for (const tc of cases) {
      const r = newTestRaft(1, [1, 2, 3]);
      r.step(msg({ type: MessageType.MsgApp, from: 2, to: 1, term: tc.wterm - 1, logTerm: 0, index: 0, entries: tc.ents }));
      readMessages(r);
      for (let i = 1; i < r.electionTimeout * 2; i++) r.tick();
      const ms = sortMsgs(readMessages(r));
      expect(ms).toHaveLength(2);
      const last = tc.ents[tc.ents.length - 1]!;
      for (const [i, m] of ms.entries()) {
        expect({ type: m.type, to: m.to, term: m.term, index: m.index, logTerm: m.logTerm }).toEqual({
          type: MessageType.MsgVote,
          to: i + 2,
          term: tc.wterm,
          index: last.index,
          logTerm: last.term,
        });
      }
    }
  });

  it("voteRequestRejectedIfLogNotUpToDate: a voter denies its vote when its own log is more up to date", () => {
    const ents = [entry(1, 1), entry(2, 2)];
    const cases = [
      // same logterm
      { logTerm: 2, index: 1, wreject: true },
      { logTerm: 2, index: 2, wreject: false },
      { logTerm: 2, index: 3, wreject: false },
      // higher logterm
      { logTerm: 3, index: 1, wreject: false },
      { logTerm: 3, index: 2, wreject: false },
      { logTerm: 3, index: 3, wreject: false },
      // lower logterm
      { logTerm: 1, index: 1, wreject: true },
      { logTerm: 1, index: 2, wreject: true },
      { logTerm: 1, index: 3, wreject: true },
    ];
    for (const tc of cases) {
      const storage = new MemoryStorage({ voters: [1, 2, 3], learners: [] });
      storage.append(ents);
      const r = newTestRaft(1, [1, 2, 3], {}, storage);
      r.step(msg({ type: MessageType.MsgVote, from: 2, to: 1, term: 3, logTerm: tc.logTerm, index: tc.index }));
      const ms = readMessages(r);
      expect(ms).toHaveLength(1);
      expect({ type: ms[0]!.type, reject: ms[0]!.reject }, JSON.stringify(tc)).toEqual({ type: MessageType.MsgVoteResp, reject: tc.wreject });
    }
  });

  it("leaderOnlyCommitsLogFromCurrentTerm: entries of earlier terms are committed only by committing one of the current term", () => {
    const ents = [entry(1, 1), entry(2, 2)];
    const cases = [
      // do not commit log entries in previous terms
      { index: 1, wcommit: 0 },
      { index: 2, wcommit: 0 },
      // commit log in current term
      { index: 3, wcommit: 3 },
    ];
    for (const tc of cases) {
      const storage = new MemoryStorage({ voters: [1, 2], learners: [] });
      storage.append(ents);
      const r = newTestRaft(1, [1, 2], {}, storage);
      r.term = 2;
      // become leader at term 3
      r.becomeCandidate();
      r.becomeLeader();
      readMessages(r);
      // propose an entry to the current term
      propose(r, "");
      r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, term: r.term, index: tc.index }));
      expect(r.log.committed, JSON.stringify(tc)).toBe(tc.wcommit);
    }
  });
  it("figure8: an old-term entry replicated on a majority is not committed, because a later leader may still overwrite it", () => {
    const n = Network.of(5, { maxSizePerMsg: 1 });
    n.campaign(1); // term 1; everyone has the no-op at index 1
    // (a) S1 appends index 2 (term 1) and reaches only S2.
    n.isolate(1);
    n.drop(1, 2, 0);
    n.drop(2, 1, 0);
    n.propose(1, "a");
    expect(n.node(2).log.lastIndex()).toBe(2);
    // (b) S5 wins term 2 with S3 and S4; its own entry at index 2 (term 2) goes nowhere.
    n.recover();
    n.isolate(1);
    n.isolate(2);
    n.ignore(MessageType.MsgApp);
    n.campaign(5);
    expect(n.node(5).state).toBe(StateType.Leader);
    expect(n.node(5).log.term(2)).toBe(2);
    // (c) S1 wins a later term and replicates index 2 (term 1) to a majority, but not its own entry.
    n.recover();
    n.isolate(5);
    n.node(1).becomeFollower(n.node(1).term, 0); // S1 restarted: it comes back as a follower
    // Strip S1's own new entry (index 3) from every MsgApp it sends.
    n.msgHook = (m) => {
      if (m.type === MessageType.MsgApp) m.entries = m.entries.filter((e) => e.index < 3);
      return true;
    };
    for (let i = 0; i < 3 && n.node(1).state !== StateType.Leader; i++) n.campaign(1);
    const r1 = n.node(1);
    expect(r1.state).toBe(StateType.Leader);
    expect([2, 3, 4].filter((id) => n.node(id).log.termOrUndefined(2) === 1).length).toBeGreaterThanOrEqual(2);
    expect(r1.log.committed).toBe(1); // NOT 2: that entry is from an earlier term
    // (d) S5 can indeed still win and overwrite index 2 with its term-2 entry.
    n.msgHook = undefined;
    n.recover();
    n.isolate(1);
    n.node(5).becomeFollower(n.node(5).term, 0); // S5 restarted
    for (let i = 0; i < 5 && n.node(5).state !== StateType.Leader; i++) n.campaign(5);
    expect(n.node(5).state).toBe(StateType.Leader);
    n.propose(5, "b");
    for (const id of [2, 3, 4, 5]) expect(n.node(id).log.termOrUndefined(2), `node ${id}`).toBe(2);
  });
});
