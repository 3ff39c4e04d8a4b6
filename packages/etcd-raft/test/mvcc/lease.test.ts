import { describe, expect, it } from "vitest";
import { FakeClock } from "@kubemu/common";
import { LeaseTracker, MvccStore, isMvccError } from "@kubemu/etcd-raft";
import { drain, eventBrief, eventsOf, str } from "./helpers.js";

describe("leases in the store", () => {
  it("grants, attaches keys, and revokes them all in one revision", () => {
    const s = new MvccStore();
    expect(s.apply({ type: "leaseGrant", id: 10, ttl: 5 })).toEqual({ type: "leaseGrant", header: { revision: 1 }, id: 10, ttl: 5 });
    s.apply({ type: "put", key: "b", value: "1", lease: 10 }); // 2
    s.apply({ type: "put", key: "a", value: "1", lease: 10 }); // 3
    s.apply({ type: "put", key: "c", value: "1" }); // 4
    expect(s.timeToLive(10).keys.map(str)).toEqual(["a", "b"]);
    const w = s.watch({ key: "a", rangeEnd: "\0" });
    const r = s.apply({ type: "leaseRevoke", id: 10 });
    expect(r).toEqual({ type: "leaseRevoke", header: { revision: 5 }, deleted: 2 });
    expect(drain(w)).toMatchObject([{ kind: "events", revision: 5 }]);
    expect(eventsOf(drain(s.watch({ key: "a", rangeEnd: "\0", startRevision: 5 }))).map(eventBrief)).toEqual(["DELETE a@5", "DELETE b@5"]);
    expect(s.range({ key: "a", rangeEnd: "\0" }).kvs.map((kv) => str(kv.key))).toEqual(["c"]);
    expect(s.leases()).toEqual([]);
  });

  it("a revoke with no keys makes no revision", () => {
    const s = new MvccStore();
    s.apply({ type: "leaseGrant", id: 1, ttl: 5 });
    expect(s.apply({ type: "leaseRevoke", id: 1 })).toMatchObject({ header: { revision: 1 }, deleted: 0 });
  });

  it("moves a key between leases on put and detaches it on delete or lease 0", () => {
    const s = new MvccStore();
    s.apply({ type: "leaseGrant", id: 1, ttl: 5 });
    s.apply({ type: "leaseGrant", id: 2, ttl: 9 });
    s.apply({ type: "put", key: "k", value: "v", lease: 1 });
    s.apply({ type: "put", key: "k", value: "v", lease: 2 });
    s.apply({ type: "put", key: "j", value: "v", lease: 2 });
    s.apply({ type: "put", key: "j", value: "v" }); // lease 0 detaches
    expect(s.leases().map((l) => [l.id, l.ttl, l.keys.map(str)])).toEqual([[1, 5, []], [2, 9, ["k"]]]);
    s.apply({ type: "deleteRange", key: "k" });
    expect(s.timeToLive(2).keys).toEqual([]);
    s.apply({ type: "leaseRevoke", id: 1 });
    s.apply({ type: "leaseRevoke", id: 2 });
    expect(s.range({ key: "j" }).count).toBe(1); // j was detached, so it survives
  });

  it("names lease errors", () => {
    const s = new MvccStore();
    s.apply({ type: "leaseGrant", id: 3, ttl: 5 });
    const codes: string[] = [];
    for (const cmd of [{ type: "leaseGrant", id: 3, ttl: 5 }, { type: "leaseRevoke", id: 4 }, { type: "put", key: "k", value: "v", lease: 4 }]) {
      try {
        s.apply(cmd);
      } catch (e) {
        if (isMvccError(e)) codes.push(e.code);
      }
    }
    expect(codes).toEqual(["ErrLeaseExists", "ErrLeaseNotFound", "ErrLeaseNotFound"]);
    expect(() => s.timeToLive(4)).toThrow(/lease 4 not found/);
  });
});

describe("LeaseTracker (leader-side deadlines, virtual time)", () => {
  it("expires a lease ttl seconds after grant or the last keep-alive", () => {
    const clock = new FakeClock(1_000);
    const t = new LeaseTracker();
    t.grant(1, 5, clock.now());
    t.grant(2, 10, clock.now());
    clock.advance(4_000);
    expect(t.remaining(1, clock.now())).toBe(1);
    expect(t.keepAlive(1, clock.now())).toBe(5);
    clock.advance(4_999);
    expect(t.expired(clock.now())).toEqual([]);
    clock.advance(1);
    expect(t.expired(clock.now())).toEqual([1]); // kept alive at 5000: due at 10000
    clock.advance(1_000);
    expect(t.expired(clock.now())).toEqual([2]); // granted at 1000 with 10 s: due at 11000
  });

  it("reports the earliest deadline first and respects max", () => {
    const t = new LeaseTracker();
    t.grant(5, 3, 0);
    t.grant(4, 1, 0);
    t.grant(6, 1, 0);
    expect(t.expired(3_000, 2)).toEqual([4, 6]);
    expect(t.expired(3_000)).toEqual([5]);
  });

  it("does not repeat an expired lease until the retry interval passes, and forgets revoked ones", () => {
    const t = new LeaseTracker({ retryIntervalMs: 500 });
    t.grant(1, 1, 0);
    expect(t.expired(1_000)).toEqual([1]);
    expect(t.expired(1_200)).toEqual([]);
    expect(t.expired(1_500)).toEqual([1]); // the revoke did not commit in time: propose again
    t.revoke(1);
    expect(t.expired(10_000)).toEqual([]);
    expect(t.size).toBe(0);
  });

  it("renews every deadline when a replica becomes leader", () => {
    const s = new MvccStore();
    s.apply({ type: "leaseGrant", id: 1, ttl: 2 });
    s.apply({ type: "leaseGrant", id: 2, ttl: 60 });
    const oldLeader = new LeaseTracker();
    oldLeader.grant(1, 2, 0);
    oldLeader.grant(2, 60, 0);
    // The old leader dies at t=1.9s, just before lease 1 expires; a new leader takes over at 5s.
    const newLeader = new LeaseTracker();
    newLeader.promote(s.leases(), 5_000);
    expect(newLeader.expired(6_999)).toEqual([]);
    expect(newLeader.remaining(1, 6_000)).toBe(1);
    expect(newLeader.expired(7_000)).toEqual([1]);
    newLeader.demote();
    expect(newLeader.size).toBe(0);
  });

  it("names unknown leases", () => {
    const t = new LeaseTracker();
    expect(() => t.keepAlive(9, 0)).toThrow(/lease 9 not found/);
    expect(() => new LeaseTracker({ retryIntervalMs: 0 })).toThrow(/retryIntervalMs/);
  });
});
