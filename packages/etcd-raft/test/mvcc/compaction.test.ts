import { describe, expect, it } from "vitest";
import { ErrCompacted, MvccError, MvccStore, prefixEnd } from "@kubemu/etcd-raft";
import { brief, drain, eventBrief, eventsOf } from "./helpers.js";

function compactedAt(fn: () => unknown): number {
  try {
    fn();
  } catch (e) {
    if (e instanceof ErrCompacted) return e.compactRevision;
    throw e;
  }
  throw new Error("expected ErrCompacted");
}

/** revisions: 2 a=1, 3 b=1, 4 a=2, 5 del b, 6 c=1, 7 a=3 */
function history(): MvccStore {
  const s = new MvccStore();
  s.apply({ type: "put", key: "a", value: "1" });
  s.apply({ type: "put", key: "b", value: "1" });
  s.apply({ type: "put", key: "a", value: "2" });
  s.apply({ type: "deleteRange", key: "b" });
  s.apply({ type: "put", key: "c", value: "1" });
  s.apply({ type: "put", key: "a", value: "3" });
  return s;
}

const all = { key: "a", rangeEnd: "\0" } as const;

describe("compaction", () => {
  it("keeps reads at and above the compact revision, fails below with the compact revision", () => {
    const s = history();
    const before = [5, 6, 7].map((revision) => s.range({ ...all, revision }).kvs.map(brief));
    s.apply({ type: "compact", revision: 5 });
    expect(s.compactRevision).toBe(5);
    expect([5, 6, 7].map((revision) => s.range({ ...all, revision }).kvs.map(brief))).toEqual(before);
    expect(before[0]).toEqual(["a=2@4/v2"]);
    expect(compactedAt(() => s.range({ ...all, revision: 4 }))).toBe(5);
    expect(s.range(all).kvs.map(brief)).toEqual(["a=3@7/v3", "c=1@6/v1"]);
  });

  it("drops keys whose last change below the point is a delete", () => {
    const s = history();
    expect(s.keyCount).toBe(3);
    s.apply({ type: "compact", revision: 6 });
    expect(s.keyCount).toBe(2); // b was deleted at 5 < 6: nothing of it can be read any more
  });

  it("keeps the latest version of every live key even when it is far below the point", () => {
    const s = new MvccStore();
    s.apply({ type: "put", key: "old", value: "x" });
    for (let i = 0; i < 20; i++) s.apply({ type: "put", key: "hot", value: String(i) });
    s.apply({ type: "compact", revision: s.revision });
    expect(s.range({ key: "old" }).kvs.map(brief)).toEqual(["old=x@2/v1"]);
    expect(s.range({ key: "hot" }).kvs.map(brief)).toEqual(["hot=19@22/v20"]);
  });

  it("rejects compacting twice at the same point or into the future", () => {
    const s = history();
    s.apply({ type: "compact", revision: 4 });
    expect(compactedAt(() => s.apply({ type: "compact", revision: 4 }))).toBe(4);
    expect(compactedAt(() => s.apply({ type: "compact", revision: 3 }))).toBe(4);
    expect(() => s.apply({ type: "compact", revision: 8 })).toThrow(/future revision \(current revision 7\)/);
    expect(() => s.apply({ type: "compact", revision: 0 })).toThrow(MvccError);
  });

  it("refuses a watch below the point with the compact revision, serves one from it", () => {
    const s = history();
    s.apply({ type: "compact", revision: 5 });
    expect(compactedAt(() => s.watch({ ...all, startRevision: 4 }))).toBe(5);
    const w = s.watch({ ...all, startRevision: 5, prevKv: true });
    const evs = eventsOf(drain(w));
    expect(evs.map(eventBrief)).toEqual(["DELETE b@5", "PUT c=1@6", "PUT a=3@7"]);
    expect(evs[0]!.prevKv && brief(evs[0]!.prevKv)).toBe("b=1@3/v1");
    expect(evs[2]!.prevKv && brief(evs[2]!.prevKv)).toBe("a=2@4/v2");
  });

  it("cancels a lagging watcher when compaction passes the revision it still needs", () => {
    const s = new MvccStore();
    const w = s.watch({ key: "k", rangeEnd: prefixEnd("k"), startRevision: 1, bufferEvents: 2 });
    for (let i = 0; i < 6; i++) s.apply({ type: "put", key: `k${i}`, value: "v" });
    // The buffer took revisions 2 and 3; the watcher is now behind, needing revision 4.
    s.apply({ type: "compact", revision: 6 });
    const msgs = drain(w);
    expect(eventsOf(msgs).map(eventBrief)).toEqual(["PUT k0=v@2", "PUT k1=v@3"]);
    expect(msgs.at(-1)).toEqual({ kind: "canceled", reason: expect.stringContaining("compacted"), compactRevision: 6 });
    expect(w.canceled).toBe(true);
    expect(s.watcherCount).toBe(0);
  });
});
