import { SeededRng } from "@kubemu/common";
import { MemoryStorage, MessageType, newMessage, RawNode, type Ready, StateType, voteRespMsgType } from "@kubemu/etcd-raft";
import { describe, expect, it } from "vitest";
import { bytes } from "./helpers.js";

/** A leader (node 1 of 3) whose votes came from node 2; every Ready so far persisted and advanced. */
function electedLeader(leaderSelfAckOnPersist: boolean): { n: RawNode; st: MemoryStorage } {
  const st = MemoryStorage.bootstrap([1, 2, 3]);
  const n = new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage: st, rng: new SeededRng(1), leaderSelfAckOnPersist });
  const persist = (rd: Ready) => {
    st.append(rd.entries);
    if (rd.hardState) st.setHardState(rd.hardState);
    n.advance(rd);
  };
  while (n.hasReady()) persist(n.ready());
  n.campaign();
  for (let round = 0; round < 5 && n.status().softState.raftState !== StateType.Leader; round++) {
    const rd = n.ready();
    persist(rd);
    for (const m of rd.messages) {
      if (m.to === 2 && (m.type === MessageType.MsgPreVote || m.type === MessageType.MsgVote)) {
        n.step(newMessage({ type: voteRespMsgType(m.type), from: 2, to: 1, term: m.term }));
      }
    }
  }
  expect(n.status().softState.raftState).toBe(StateType.Leader);
  // Replicate the leader's no-op to node 2 so everything before the test's proposal is committed.
  const rd = n.ready();
  persist(rd);
  const last = st.lastIndex();
  n.step(newMessage({ type: MessageType.MsgAppResp, from: 2, to: 1, term: n.status().hardState.term, index: last }));
  while (n.hasReady()) persist(n.ready());
  expect(n.status().hardState.commit).toBe(last);
  return { n, st };
}

describe("leaderSelfAckOnPersist", () => {
  it("a follower's ack alone does not commit an entry the leader has not persisted", () => {
    const { n, st } = electedLeader(true);
    const { index, term } = n.propose(bytes("x"));
    const rd = n.ready(); // the driver would now send rd's MsgApp early and start its fsync
    expect(rd.entries.map((e) => e.index)).toEqual([index]);
    n.step(newMessage({ type: MessageType.MsgAppResp, from: 2, to: 1, term, index }));
    expect(n.status().hardState.commit).toBe(index - 1); // leader's copy is not durable yet
    st.append(rd.entries);
    n.advance(rd); // the fsync finished: the leader's own copy now counts
    expect(n.status().hardState.commit).toBe(index);
    const next = n.ready();
    expect(next.committedEntries.map((e) => e.index)).toEqual([index]);
    expect(next.messages.some((m) => m.type === MessageType.MsgApp && m.commit === index)).toBe(true);
  });

  it("without it the leader counts its own copy on append (safe only when it persists before sending)", () => {
    const { n } = electedLeader(false);
    const { index, term } = n.propose(bytes("x"));
    n.ready();
    n.step(newMessage({ type: MessageType.MsgAppResp, from: 2, to: 1, term, index }));
    expect(n.status().hardState.commit).toBe(index);
  });
});
