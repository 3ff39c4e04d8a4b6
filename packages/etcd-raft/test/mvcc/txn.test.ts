import { describe, expect, it } from "vitest";
import { MvccError, MvccStore, type Compare, type TxnResult } from "@kubemu/etcd-raft";
import { brief, str } from "./helpers.js";

function txn(s: MvccStore, compare: Compare[], success: Parameters<MvccStore["apply"]>[0][] = [], failure: unknown[] = []): TxnResult {
  const r = s.apply({ type: "txn", compare, success, failure });
  if (r.type !== "txn") throw new Error("not a txn result");
  return r;
}

/** A store where key "k" has value "m", version 2, createRevision 2, modRevision 3, lease 5. */
function fixture(): MvccStore {
  const s = new MvccStore();
  s.apply({ type: "leaseGrant", id: 5, ttl: 30 });
  s.apply({ type: "put", key: "k", value: "a" }); // rev 2
  s.apply({ type: "put", key: "k", value: "m", lease: 5 }); // rev 3
  return s;
}

describe("txn compares", () => {
  // [target, given value, expected for = != < >] against k: value "m", version 2, create 2, mod 3, lease 5.
  const cases: [Compare["target"], string | number, [boolean, boolean, boolean, boolean]][] = [
    ["value", "m", [true, false, false, false]],
    ["value", "a", [false, true, false, true]],
    ["value", "z", [false, true, true, false]],
    ["value", "mm", [false, true, true, false]],
    ["version", 2, [true, false, false, false]],
    ["version", 3, [false, true, true, false]],
    ["version", 1, [false, true, false, true]],
    ["createRevision", 2, [true, false, false, false]],
    ["createRevision", 9, [false, true, true, false]],
    ["modRevision", 3, [true, false, false, false]],
    ["modRevision", 2, [false, true, false, true]],
    ["lease", 5, [true, false, false, false]],
    ["lease", 0, [false, true, false, true]],
  ];
  const ops = ["=", "!=", "<", ">"] as const;
  for (const [target, value, expected] of cases) {
    ops.forEach((result, i) => {
      it(`${target} ${result} ${JSON.stringify(value)} is ${expected[i]}`, () => {
        const s = fixture();
        const cmp = { key: "k", target, result, value } as Compare;
        expect(txn(s, [cmp]).succeeded).toBe(expected[i]);
      });
    });
  }

  it("treats a missing key as version/revisions/lease 0 and fails any value compare", () => {
    const s = fixture();
    expect(txn(s, [{ key: "nope", target: "version", result: "=", value: 0 }]).succeeded).toBe(true);
    expect(txn(s, [{ key: "nope", target: "createRevision", result: "=", value: 0 }]).succeeded).toBe(true);
    expect(txn(s, [{ key: "nope", target: "modRevision", result: "<", value: 1 }]).succeeded).toBe(true);
    expect(txn(s, [{ key: "nope", target: "lease", result: "=", value: 0 }]).succeeded).toBe(true);
    expect(txn(s, [{ key: "nope", target: "value", result: "!=", value: "x" }]).succeeded).toBe(false);
  });

  it("requires every compare (and every key of a range compare) to hold", () => {
    const s = fixture();
    s.apply({ type: "put", key: "k2", value: "m" });
    const both = { key: "k", rangeEnd: "k3", target: "value", result: "=", value: "m" } as const;
    expect(txn(s, [both]).succeeded).toBe(true);
    s.apply({ type: "put", key: "k2", value: "other" });
    expect(txn(s, [both]).succeeded).toBe(false);
    expect(
      txn(s, [
        { key: "k", target: "version", result: "=", value: 2 },
        { key: "k", target: "lease", result: "=", value: 6 },
      ]).succeeded,
    ).toBe(false);
    expect(txn(s, []).succeeded).toBe(true); // no compares: the success branch runs
  });
});

describe("txn branches", () => {
  it("runs then on success and else on failure, all writes in one revision", () => {
    const s = fixture();
    const ok = txn(
      s,
      [{ key: "k", target: "modRevision", result: "=", value: 3 }],
      [
        { type: "put", key: "k", value: "cas", prevKv: true },
        { type: "put", key: "n", value: "new" },
        { type: "range", key: "k", rangeEnd: "o" },
      ],
      [{ type: "range", key: "k" }],
    );
    expect(ok.succeeded).toBe(true);
    expect(ok.header.revision).toBe(4);
    expect(s.revision).toBe(4);
    const [put, , read] = ok.responses;
    expect(put!.type === "put" && brief(put!.prevKv!)).toBe("k=m@3/v2");
    // A read inside the txn sees the txn's own writes.
    expect(read!.type === "range" && read!.kvs.map(brief)).toEqual(["k=cas@4/v3", "n=new@4/v1"]);
    expect(ok.responses.every((r) => r.header.revision === 4)).toBe(true);

    // The same CAS again is now stale: the else branch runs (a read only, so no new revision).
    const stale = txn(
      s,
      [{ key: "k", target: "modRevision", result: "=", value: 3 }],
      [{ type: "put", key: "k", value: "lost" }],
      [{ type: "range", key: "k" }],
    );
    expect(stale.succeeded).toBe(false);
    expect(stale.header.revision).toBe(4);
    expect(stale.responses[0]!.type === "range" && str(stale.responses[0]!.kvs[0]!.value)).toBe("cas");
  });

  it("deletes in a txn and reports deleted counts", () => {
    const s = fixture();
    s.apply({ type: "put", key: "x1", value: "1" });
    s.apply({ type: "put", key: "x2", value: "2" });
    const r = txn(s, [], [{ type: "deleteRange", key: "x", rangeEnd: "y", prevKv: true }, { type: "put", key: "k", value: "z" }]);
    expect(r.responses[0]).toMatchObject({ type: "deleteRange", deleted: 2 });
    expect(s.revision).toBe(6);
    expect(s.range({ key: "x", rangeEnd: "y" }).count).toBe(0);
  });

  it("rejects a branch that writes a key twice, without applying any of it", () => {
    const s = fixture();
    const h = s.hash();
    const dup = [{ type: "put", key: "a", value: "1" }, { type: "put", key: "a", value: "2" }];
    const overlap = [{ type: "deleteRange", key: "a", rangeEnd: "c" }, { type: "put", key: "b", value: "2" }];
    for (const success of [dup, overlap]) {
      expect(() => s.apply({ type: "txn", compare: [], success, failure: [] })).toThrow(MvccError);
    }
    // A bad op in the branch that runs aborts the whole txn (the first put must not land).
    expect(() =>
      s.apply({ type: "txn", compare: [], success: [{ type: "put", key: "a", value: "1" }, { type: "put", key: "b", value: "2", lease: 99 }], failure: [] }),
    ).toThrow(/lease 99 not found/);
    // A bad op in the branch that does not run is irrelevant (etcd checks the chosen branch).
    expect(txn(s, [], [], [{ type: "put", key: "b", value: "2", lease: 99 }]).succeeded).toBe(true);
    expect(s.hash()).toBe(h);
  });

  it("enforces maxTxnOps", () => {
    const s = new MvccStore({ limits: { maxTxnOps: 2 } });
    const ops = ["a", "b", "c"].map((key) => ({ type: "put", key, value: "v" }));
    expect(() => s.apply({ type: "txn", compare: [], success: ops, failure: [] })).toThrow(/3 ops, over the 2-op limit/);
  });
});
