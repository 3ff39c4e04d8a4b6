import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MvccStore, isMvccError, type Command } from "@kubemu/etcd-raft";
import { abstractCmd, concretize, dumpStore, tryApply, type AbstractCmd } from "./model.js";
import { drain, eventBrief, eventsOf } from "./helpers.js";

/** feed applies abstract commands to a store, returning the concrete commands it used. */
function feed(s: MvccStore, cmds: AbstractCmd[]): Command[] {
  return cmds.map((a) => {
    const c = concretize(a, s.revision, s.compactRevision);
    tryApply(s, c);
    return c;
  });
}

const commands = fc.array(abstractCmd, { minLength: 1, maxLength: 60, size: "max" });

describe("determinism", () => {
  it("two stores fed the same commands have equal hashes and snapshots", () => {
    fc.assert(
      fc.property(commands, (cmds) => {
        const a = new MvccStore();
        const b = new MvccStore({ watchBufferEvents: 1 }); // watch settings are not state
        const w = b.watch({ key: "a", rangeEnd: "\0", startRevision: 1 });
        const applied = feed(a, cmds);
        applied.forEach((c) => tryApply(b, c));
        drain(w);
        expect(b.hash()).toBe(a.hash());
        expect(b.toSnapshot()).toEqual(a.toSnapshot());
      }),
      { numRuns: 150 },
    );
  });

  it("a different history gives a different hash", () => {
    const a = new MvccStore();
    const b = new MvccStore();
    a.apply({ type: "put", key: "k", value: "1" });
    b.apply({ type: "put", key: "k", value: "2" });
    expect(a.hash()).not.toBe(b.hash());
    b.apply({ type: "put", key: "k", value: "1" }); // same live value, different revision
    expect(a.hash()).not.toBe(b.hash());
  });
});

describe("snapshot", () => {
  it("round-trips to an identical hash, and the copy evolves identically", () => {
    fc.assert(
      fc.property(commands, commands, (before, after) => {
        const s = new MvccStore();
        feed(s, before);
        const copy = MvccStore.fromSnapshot(s.toSnapshot());
        expect(copy.hash()).toBe(s.hash());
        expect(s.snapshotSize()).toBe(s.toSnapshot().length);
        expect(copy.revision).toBe(s.revision);
        expect(copy.compactRevision).toBe(s.compactRevision);
        expect(copy.leases()).toEqual(s.leases());
        // History survives: a watch from the oldest readable revision replays the same events.
        const from = Math.max(s.compactRevision, 1);
        const replay = (x: MvccStore) => eventsOf(drain(x.watch({ key: "a", rangeEnd: "\0", startRevision: from, prevKv: true })));
        expect(replay(copy)).toEqual(replay(s));
        for (let rev = from; rev <= s.revision; rev++) {
          expect(copy.range({ key: "a", rangeEnd: "\0", revision: rev })).toEqual(s.range({ key: "a", rangeEnd: "\0", revision: rev }));
        }
        const applied = feed(s, after);
        applied.forEach((c) => tryApply(copy, c));
        expect(copy.hash()).toBe(s.hash());
        expect(dumpStore(copy)).toEqual(dumpStore(s));
      }),
      { numRuns: 100 },
    );
  });

  it("keeps leases, their keys and the compaction point", () => {
    const s = new MvccStore();
    s.apply({ type: "leaseGrant", id: 9, ttl: 30 });
    s.apply({ type: "put", key: "x", value: "1", lease: 9 });
    s.apply({ type: "put", key: "y", value: "1" });
    s.apply({ type: "put", key: "y", value: "2" });
    s.apply({ type: "compact", revision: 3 });
    const copy = MvccStore.fromSnapshot(s.toSnapshot());
    expect(copy.compactRevision).toBe(3);
    expect(copy.leases().map((l) => [l.id, l.ttl, l.keys.length])).toEqual([[9, 30, 1]]);
    expect(copy.apply({ type: "leaseRevoke", id: 9 })).toMatchObject({ deleted: 1, header: { revision: 5 } });
    expect(() => copy.range({ key: "y", revision: 2 })).toThrow(/compacted/);
    expect(eventsOf(drain(copy.watch({ key: "x", startRevision: 5 }))).map(eventBrief)).toEqual(["DELETE x@5"]);
  });

  it("an empty store round-trips", () => {
    const copy = MvccStore.fromSnapshot(new MvccStore().toSnapshot());
    expect(copy.revision).toBe(1);
    expect(copy.apply({ type: "put", key: "k", value: "v" }).header.revision).toBe(2);
  });

  it("rejects damaged snapshots with ErrBadSnapshot, never another error", () => {
    const s = new MvccStore();
    s.apply({ type: "leaseGrant", id: 1, ttl: 5 });
    for (let i = 0; i < 20; i++) s.apply({ type: "put", key: `k${i % 7}`, value: `v${i}`, lease: i % 3 === 0 ? 1 : 0 });
    s.apply({ type: "deleteRange", key: "k3" });
    s.apply({ type: "compact", revision: 10 });
    const good = s.toSnapshot();
    expect(() => MvccStore.fromSnapshot(good.slice(0, good.length - 1))).toThrow(/truncated/);
    expect(() => MvccStore.fromSnapshot(new Uint8Array([...good, 0]))).toThrow(/trailing/);
    expect(() => MvccStore.fromSnapshot(new TextEncoder().encode("hello"))).toThrow(/bad magic/);
    fc.assert(
      fc.property(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const bad = good.slice();
        bad[at] = (bad[at] as number) ^ flip;
        try {
          MvccStore.fromSnapshot(bad); // a flipped value byte is still a valid snapshot
        } catch (e) {
          expect(isMvccError(e, "ErrBadSnapshot")).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("snapshot consistency checks", () => {
  it("rejects a history with a missing or duplicated sub-revision", () => {
    const s = new MvccStore();
    s.apply({ type: "txn", compare: [], success: [{ type: "put", key: "a", value: "1" }, { type: "put", key: "b", value: "1" }], failure: [] });
    const good = s.toSnapshot();
    // Layout tail: ... key "b" (len 1, 'b'), 1 record: main=2, sub=1, live=1 ...; make b's sub 0 (duplicate) or 5 (gap).
    const at = good.findLastIndex((byte, i) => byte === 0x62 && good[i - 1] === 1) + 3; // the sub of b's record
    expect(good[at]).toBe(1);
    for (const sub of [0, 5]) {
      const bad = good.slice();
      bad[at] = sub;
      expect(() => MvccStore.fromSnapshot(bad)).toThrow(/sub-revision|gap/);
    }
  });
});
