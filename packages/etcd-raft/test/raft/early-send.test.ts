import { describe, expect, it } from "vitest";
import { MessageType, newMessage, type Ready, splitEarlyMessages } from "../../src/raft/index.js";

const ready = (over: Partial<Ready>): Ready => ({ readStates: [], entries: [], committedEntries: [], messages: [], mustSync: true, ...over });
const durable = { term: 3, vote: 1, lastIndex: 10 };

describe("splitEarlyMessages", () => {
  it("lets a leader's appends and heartbeats go before its own write", () => {
    const app = newMessage({ type: MessageType.MsgApp, from: 1, to: 2, term: 3, index: 10, commit: 10 });
    const hb = newMessage({ type: MessageType.MsgHeartbeat, from: 1, to: 3, term: 3, commit: 9 });
    const { early, afterPersist } = splitEarlyMessages(ready({ messages: [app, hb] }), durable);
    expect(early).toEqual([app, hb]);
    expect(afterPersist).toEqual([]);
  });

  it("holds back votes and acknowledgements: they promise what is being persisted", () => {
    const msgs = [
      newMessage({ type: MessageType.MsgVoteResp, from: 2, to: 1, term: 3 }),
      newMessage({ type: MessageType.MsgAppResp, from: 2, to: 1, term: 3, index: 11 }),
      newMessage({ type: MessageType.MsgHeartbeatResp, from: 2, to: 1, term: 3 }),
      newMessage({ type: MessageType.MsgVote, from: 2, to: 1, term: 3 }),
      newMessage({ type: MessageType.MsgSnap, from: 1, to: 2, term: 3 }),
    ];
    const { early, afterPersist } = splitEarlyMessages(ready({ messages: msgs }), durable);
    expect(early).toEqual([]);
    expect(afterPersist).toEqual(msgs);
  });

  it("holds back a commit index that covers entries not yet durable here (a single voter commits alone)", () => {
    const app = newMessage({ type: MessageType.MsgApp, from: 1, to: 4, term: 3, index: 10, commit: 11 });
    expect(splitEarlyMessages(ready({ messages: [app] }), durable)).toEqual({ early: [], afterPersist: [app] });
  });

  it("sends nothing early from a Ready that changes term or vote", () => {
    const app = newMessage({ type: MessageType.MsgApp, from: 1, to: 2, term: 4, commit: 5 });
    expect(splitEarlyMessages(ready({ messages: [app], hardState: { term: 4, vote: 1, commit: 5 } }), durable).early).toEqual([]);
    expect(splitEarlyMessages(ready({ messages: [app], hardState: { term: 3, vote: 2, commit: 5 } }), durable).early).toEqual([]);
    // A commit-only HardState change does not stop it.
    expect(splitEarlyMessages(ready({ messages: [app], hardState: { term: 3, vote: 1, commit: 10 } }), durable).early).toEqual([app]);
  });
});
