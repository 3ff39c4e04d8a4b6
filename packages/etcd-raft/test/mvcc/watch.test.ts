import { describe, expect, it } from "vitest";
import { MvccStore, prefixEnd, type WatchMessage } from "@kubemu/etcd-raft";
import { drain, eventBrief, eventsOf } from "./helpers.js";

const pods = { key: "/registry/pods/", rangeEnd: prefixEnd("/registry/pods/") };

function put(s: MvccStore, name: string, value: string): void {
  s.apply({ type: "put", key: `/registry/pods/${name}`, value });
}

function names(msgs: WatchMessage[]): string[] {
  return eventsOf(msgs).map((e) => eventBrief(e).replace("/registry/pods/", ""));
}

describe("watch", () => {
  it("catches up from history, then receives live events, in order and once", () => {
    const s = new MvccStore();
    put(s, "a", "1"); // 2
    put(s, "b", "1"); // 3
    s.apply({ type: "put", key: "/registry/services/x", value: "no" }); // 4
    const w = s.watch({ ...pods, startRevision: 3 });
    put(s, "a", "2"); // 5
    s.apply({ type: "deleteRange", key: "/registry/pods/b" }); // 6
    expect(names(drain(w))).toEqual(["PUT b=1@3", "PUT a=2@5", "DELETE b@6"]);
    put(s, "c", "1"); // 7
    const msgs = drain(w);
    expect(msgs).toEqual([{ kind: "events", revision: 7, events: [expect.objectContaining({ type: "PUT" })] }]);
    expect(drain(w)).toEqual([]);
  });

  it("without startRevision sees only what happens next", () => {
    const s = new MvccStore();
    put(s, "a", "1");
    const w = s.watch(pods);
    expect(drain(w)).toEqual([]);
    put(s, "a", "2");
    expect(names(drain(w))).toEqual(["PUT a=2@3"]);
  });

  it("watches one key exactly, not its prefix", () => {
    const s = new MvccStore();
    const w = s.watch({ key: "/registry/pods/a" });
    put(s, "a", "1");
    put(s, "ab", "1");
    put(s, "a", "2");
    expect(names(drain(w))).toEqual(["PUT a=1@2", "PUT a=2@4"]);
  });

  it("waits for a future start revision", () => {
    const s = new MvccStore();
    const w = s.watch({ ...pods, startRevision: 4 });
    put(s, "a", "1"); // 2
    put(s, "a", "2"); // 3
    put(s, "a", "3"); // 4
    expect(names(drain(w))).toEqual(["PUT a=3@4"]);
  });

  it("groups the events of one txn into one message and adds prevKv only on request", () => {
    const s = new MvccStore();
    put(s, "a", "1");
    const plain = s.watch(pods);
    const withPrev = s.watch({ ...pods, prevKv: true });
    s.apply({
      type: "txn",
      compare: [],
      success: [
        { type: "put", key: "/registry/pods/a", value: "2" },
        { type: "put", key: "/registry/pods/b", value: "1" },
      ],
      failure: [],
    });
    const [m] = drain(plain);
    expect(m).toMatchObject({ kind: "events", revision: 3 });
    expect(m!.kind === "events" && m!.events.map((e) => e.prevKv)).toEqual([undefined, undefined]);
    const [p] = drain(withPrev);
    expect(p!.kind === "events" && p!.events[0]!.prevKv?.modRevision).toBe(2);
  });

  it("filters puts or deletes", () => {
    const s = new MvccStore();
    const noPut = s.watch({ ...pods, filters: ["noPut"] });
    const noDelete = s.watch({ ...pods, filters: ["noDelete"] });
    put(s, "a", "1");
    s.apply({ type: "deleteRange", key: "/registry/pods/a" });
    expect(names(drain(noPut))).toEqual(["DELETE a@3"]);
    expect(names(drain(noDelete))).toEqual(["PUT a=1@2"]);
  });

  it("moves a slow consumer to catch-up instead of dropping events, then back to live", () => {
    const s = new MvccStore();
    const w = s.watch({ ...pods, bufferEvents: 3 });
    for (let i = 0; i < 10; i++) put(s, `p${i}`, "v");
    expect(w.pending).toBe(3); // the buffer is bounded
    const seen: string[] = [];
    let polls = 0;
    while (w.pending > 0) {
      seen.push(...names(w.poll()));
      polls++;
      if (polls === 2) put(s, "late", "v"); // a live event while still behind
    }
    expect(seen).toEqual([...Array.from({ length: 10 }, (_, i) => `PUT p${i}=v@${i + 2}`), "PUT late=v@12"]);
    put(s, "live", "v");
    expect(w.pending).toBe(1); // synced again: live events land directly
    expect(names(w.poll())).toEqual(["PUT live=v@13"]);
  });

  it("never splits a revision, even one larger than the buffer", () => {
    const s = new MvccStore();
    const w = s.watch({ ...pods, bufferEvents: 2 });
    put(s, "first", "v");
    const success = ["a", "b", "c", "d"].map((n) => ({ type: "put" as const, key: `/registry/pods/${n}`, value: "v" }));
    s.apply({ type: "txn", compare: [], success, failure: [] });
    const msgs = drain(w);
    expect(msgs.map((m) => m.kind === "events" && m.events.length)).toEqual([1, 4]);
  });

  it("sends progress to idle caught-up watchers, and on request", () => {
    const s = new MvccStore();
    put(s, "a", "1");
    const idle = s.watch(pods);
    const busy = s.watch({ key: "/registry/", rangeEnd: prefixEnd("/registry/") });
    s.apply({ type: "put", key: "/registry/x", value: "1" }); // 3: busy has it queued
    s.progressNotify();
    expect(idle.poll()).toEqual([{ kind: "progress", revision: 3 }]);
    expect(busy.poll().map((m) => m.kind)).toEqual(["events"]);

    const behind = s.watch({ ...pods, startRevision: 2, bufferEvents: 1 });
    put(s, "b", "1"); // 4 (behind is full with revision 2)
    behind.requestProgress(); // deferred until it catches up
    const msgs = drain(behind);
    expect(msgs.map((m) => m.kind)).toEqual(["events", "events", "progress"]);
    expect(msgs.at(-1)).toEqual({ kind: "progress", revision: 4 });
    idle.requestProgress(); // a progress after queued events still promises "all up to 4 delivered"
    expect(idle.poll().map((m) => [m.kind, "revision" in m ? m.revision : 0])).toEqual([["events", 4], ["progress", 4]]);
  });

  it("cancel stops delivery and releases the watcher", () => {
    const s = new MvccStore();
    const w = s.watch(pods);
    put(s, "a", "1");
    expect(s.watcherCount).toBe(1);
    w.cancel();
    w.cancel();
    put(s, "a", "2");
    expect(w.canceled).toBe(true);
    expect(w.poll()).toEqual([]);
    expect(s.watcherCount).toBe(0);
  });

  it("calls onReady when messages arrive and resolves next()", async () => {
    const s = new MvccStore();
    let ready = 0;
    const w = s.watch({ ...pods, onReady: () => ready++ });
    const pending = w.next();
    put(s, "a", "1");
    put(s, "a", "2"); // queue already non-empty: no second onReady
    expect(ready).toBe(1);
    expect(names(await pending)).toEqual(["PUT a=1@2", "PUT a=2@3"]);
    const ended = w.next();
    w.cancel();
    expect(await ended).toEqual([]);
  });

  it("survives a throwing onReady", () => {
    const s = new MvccStore();
    const w = s.watch({ ...pods, onReady: () => { throw new Error("consumer bug"); } });
    const other = s.watch(pods);
    put(s, "a", "1");
    expect(names(w.poll())).toEqual(["PUT a=1@2"]);
    expect(names(other.poll())).toEqual(["PUT a=1@2"]);
  });

  it("rejects malformed watch options clearly", () => {
    const s = new MvccStore();
    expect(() => s.watch({ key: "b", rangeEnd: "a" })).toThrow(/rangeEnd must be greater/);
    expect(() => s.watch({ key: 5 as unknown as string })).toThrow(/key must be/);
    expect(() => s.watch({ key: "a", filters: ["noFoo" as "noPut"] })).toThrow(/unknown watch filter/);
    expect(() => s.watch({ key: "a", bufferEvents: 0 })).toThrow(/bufferEvents/);
  });
});

describe("watch callbacks and writes", () => {
  it("refuses a write from inside onReady (it would reorder revisions) and stays consistent", () => {
    const s = new MvccStore();
    const errors: unknown[] = [];
    const first = s.watch({ key: "a", onReady: () => {
      try {
        s.apply({ type: "put", key: "b", value: "from-callback" });
      } catch (e) {
        errors.push(e);
      }
    } });
    const second = s.watch({ key: "a", rangeEnd: "\0" });
    s.apply({ type: "put", key: "a", value: "1" });
    expect(errors).toMatchObject([{ code: "ErrReentrantApply" }]);
    expect(s.revision).toBe(2);
    expect(eventsOf(drain(second)).map(eventBrief)).toEqual(["PUT a=1@2"]);
    expect(eventsOf(drain(first)).map(eventBrief)).toEqual(["PUT a=1@2"]);
    s.apply({ type: "put", key: "b", value: "later" }); // outside the callback: fine
    expect(s.revision).toBe(3);
  });
});
