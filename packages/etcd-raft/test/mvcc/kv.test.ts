import { describe, expect, it } from "vitest";
import { ErrCompacted, ErrFutureRev, MvccError, MvccStore, isMvccError, prefixEnd } from "@kubemu/etcd-raft";
import { brief, str } from "./helpers.js";

function storeWith(...pairs: [string, string][]): MvccStore {
  const s = new MvccStore();
  for (const [key, value] of pairs) s.apply({ type: "put", key, value });
  return s;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof MvccError) return e.code;
    throw e;
  }
  throw new Error("expected an MvccError");
}

describe("MvccStore put and range", () => {
  it("starts at revision 1 and gives each put the next revision", () => {
    const s = new MvccStore();
    expect(s.revision).toBe(1);
    expect(s.apply({ type: "put", key: "a", value: "1" }).header.revision).toBe(2);
    expect(s.apply({ type: "put", key: "b", value: "2" }).header.revision).toBe(3);
    expect(s.revision).toBe(3);
  });

  it("tracks createRevision, modRevision and version per key", () => {
    const s = storeWith(["a", "1"], ["b", "x"], ["a", "2"], ["a", "3"]);
    const [kv] = s.range({ key: "a" }).kvs;
    expect(kv).toMatchObject({ createRevision: 2, modRevision: 5, version: 3, lease: 0 });
    expect(str(kv!.value)).toBe("3");
  });

  it("gets a single key, or nothing for a missing one", () => {
    const s = storeWith(["a", "1"], ["ab", "2"]);
    expect(s.range({ key: "a" }).kvs.map(brief)).toEqual(["a=1@2/v1"]);
    const miss = s.range({ key: "zz" });
    expect(miss).toMatchObject({ kvs: [], count: 0, more: false, header: { revision: 3 } });
  });

  it("scans [key, rangeEnd) in byte order, a prefix, and everything from a key with \\0", () => {
    const s = storeWith(["/registry/pods/b", "2"], ["/registry/pods/a", "1"], ["/registry/podsx", "9"], ["/registry/services/a", "3"]);
    const pods = s.range({ key: "/registry/pods/", rangeEnd: prefixEnd("/registry/pods/") });
    expect(pods.kvs.map((kv) => str(kv.key))).toEqual(["/registry/pods/a", "/registry/pods/b"]);
    const span = s.range({ key: "/registry/pods/b", rangeEnd: "/registry/services/a" });
    expect(span.kvs.map((kv) => str(kv.key))).toEqual(["/registry/pods/b", "/registry/podsx"]);
    const all = s.range({ key: "/registry/podsx", rangeEnd: "\0" });
    expect(all.kvs.map((kv) => str(kv.key))).toEqual(["/registry/podsx", "/registry/services/a"]);
    expect(s.range({ key: "\0", rangeEnd: "\0" }).count).toBe(4);
  });

  it("orders binary keys as unsigned bytes (0xff after 0x7f, multi-byte UTF-8 after ASCII)", () => {
    const s = new MvccStore();
    s.apply({ type: "put", key: new Uint8Array([0xff]), value: "hi" });
    s.apply({ type: "put", key: new Uint8Array([0x7f]), value: "lo" });
    s.apply({ type: "put", key: "é", value: "utf8" }); // 0xc3 0xa9
    s.apply({ type: "put", key: "\uffff", value: "bmp" }); // 0xef 0xbf 0xbf
    s.apply({ type: "put", key: "😀", value: "astral" }); // 0xf0 ...: after U+FFFF in bytes, before it in UTF-16
    const r = s.range({ key: new Uint8Array([0]), rangeEnd: "\0" });
    expect(r.kvs.map((kv) => str(kv.value))).toEqual(["lo", "utf8", "bmp", "astral", "hi"]);
  });

  it("applies limit after counting, and reports more", () => {
    const s = storeWith(["k1", "a"], ["k2", "b"], ["k3", "c"]);
    const r = s.range({ key: "k", rangeEnd: prefixEnd("k"), limit: 2 });
    expect(r.kvs.map((kv) => str(kv.key))).toEqual(["k1", "k2"]);
    expect(r).toMatchObject({ count: 3, more: true });
    expect(s.range({ key: "k", rangeEnd: prefixEnd("k"), limit: 3 }).more).toBe(false);
  });

  it("keysOnly drops values and countOnly drops kvs", () => {
    const s = storeWith(["k1", "a"], ["k2", "b"]);
    const keys = s.range({ key: "k", rangeEnd: prefixEnd("k"), keysOnly: true });
    expect(keys.kvs.map((kv) => [str(kv.key), kv.value.length])).toEqual([["k1", 0], ["k2", 0]]);
    // keysOnly must not have emptied the stored values.
    expect(str(s.range({ key: "k1" }).kvs[0]!.value)).toBe("a");
    expect(s.range({ key: "k", rangeEnd: prefixEnd("k"), countOnly: true })).toMatchObject({ kvs: [], count: 2, more: false });
  });

  it("sorts by key descending and by other targets, limiting after the sort", () => {
    const s = storeWith(["a", "3"], ["b", "1"], ["c", "2"], ["b", "1b"]);
    const desc = s.range({ key: "a", rangeEnd: "\0", sortOrder: "descend", limit: 2 });
    expect(desc.kvs.map((kv) => str(kv.key))).toEqual(["c", "b"]);
    expect(desc).toMatchObject({ count: 3, more: true });
    const byValue = s.range({ key: "a", rangeEnd: "\0", sortTarget: "value" });
    expect(byValue.kvs.map((kv) => str(kv.value))).toEqual(["1b", "2", "3"]);
    const byMod = s.range({ key: "a", rangeEnd: "\0", sortTarget: "modRevision", sortOrder: "descend" });
    expect(byMod.kvs.map((kv) => str(kv.key))).toEqual(["b", "c", "a"]);
    const byVersion = s.range({ key: "a", rangeEnd: "\0", sortTarget: "version", sortOrder: "descend", limit: 1 });
    expect(byVersion.kvs.map((kv) => str(kv.key))).toEqual(["b"]);
  });

  it("returns prevKv on request and copies caller buffers", () => {
    const s = new MvccStore();
    const value = new Uint8Array([1, 2, 3]);
    s.apply({ type: "put", key: "k", value });
    value[0] = 99;
    expect([...s.range({ key: "k" }).kvs[0]!.value]).toEqual([1, 2, 3]);
    const r = s.apply({ type: "put", key: "k", value: "new", prevKv: true });
    expect(r.type === "put" && r.prevKv && [...r.prevKv.value]).toEqual([1, 2, 3]);
    const fresh = s.apply({ type: "put", key: "other", value: "x", prevKv: true });
    expect(fresh.type === "put" && fresh.prevKv).toBeFalsy();
  });

  it("ignoreValue keeps the value and ignoreLease keeps the lease; both need an existing key", () => {
    const s = new MvccStore();
    s.apply({ type: "leaseGrant", id: 7, ttl: 10 });
    s.apply({ type: "put", key: "k", value: "v1", lease: 7 });
    s.apply({ type: "put", key: "k", ignoreValue: true, lease: 7 });
    expect(s.range({ key: "k" }).kvs.map(brief)).toEqual(["k=v1@3/v2"]);
    s.apply({ type: "put", key: "k", value: "v2", ignoreLease: true });
    expect(s.range({ key: "k" }).kvs[0]).toMatchObject({ lease: 7, version: 3 });
    expect(codeOf(() => s.apply({ type: "put", key: "missing", ignoreValue: true }))).toBe("ErrKeyNotFound");
    expect(codeOf(() => s.apply({ type: "put", key: "missing", value: "x", ignoreLease: true }))).toBe("ErrKeyNotFound");
    expect(s.revision).toBe(4);
  });
});

describe("MvccStore delete and history", () => {
  it("deletes a key, a range, and reports how many; an empty delete makes no revision", () => {
    const s = storeWith(["a", "1"], ["b", "2"], ["c", "3"]);
    const one = s.apply({ type: "deleteRange", key: "a", prevKv: true });
    expect(one).toMatchObject({ type: "deleteRange", deleted: 1, header: { revision: 5 } });
    expect(one.type === "deleteRange" && one.prevKvs!.map(brief)).toEqual(["a=1@2/v1"]);
    const none = s.apply({ type: "deleteRange", key: "a" });
    expect(none).toMatchObject({ deleted: 0, header: { revision: 5 } });
    const rest = s.apply({ type: "deleteRange", key: "a", rangeEnd: "\0" });
    expect(rest).toMatchObject({ deleted: 2, header: { revision: 6 } });
    expect(s.range({ key: "a", rangeEnd: "\0" }).count).toBe(0);
  });

  it("re-creating a deleted key resets createRevision and restarts version", () => {
    const s = storeWith(["k", "1"], ["k", "2"]);
    s.apply({ type: "deleteRange", key: "k" });
    s.apply({ type: "put", key: "k", value: "again" });
    expect(s.range({ key: "k" }).kvs[0]).toMatchObject({ createRevision: 5, modRevision: 5, version: 1 });
  });

  it("reads any retained old revision as it was", () => {
    const s = storeWith(["a", "1"], ["b", "1"], ["a", "2"]);
    s.apply({ type: "deleteRange", key: "b" });
    s.apply({ type: "put", key: "b", value: "3" });
    const at = (revision: number) => s.range({ key: "a", rangeEnd: "\0", revision }).kvs.map(brief);
    expect(at(1)).toEqual([]);
    expect(at(2)).toEqual(["a=1@2/v1"]);
    expect(at(3)).toEqual(["a=1@2/v1", "b=1@3/v1"]);
    expect(at(4)).toEqual(["a=2@4/v2", "b=1@3/v1"]);
    expect(at(5)).toEqual(["a=2@4/v2"]);
    expect(at(6)).toEqual(["a=2@4/v2", "b=3@6/v1"]);
    expect(s.range({ key: "a", revision: 3 }).header.revision).toBe(6);
  });

  it("refuses a future revision with the current one attached", () => {
    const s = storeWith(["a", "1"]);
    try {
      s.range({ key: "a", revision: 3 });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ErrFutureRev);
      expect((e as ErrFutureRev).currentRevision).toBe(2);
      expect(MvccError.fromWire((e as ErrFutureRev).toWire())).toMatchObject({ code: "ErrFutureRev", currentRevision: 2 });
    }
    expect(ErrCompacted.name).toBe("ErrCompacted");
  });
});

describe("MvccStore input errors", () => {
  it("names each bad input and changes nothing", () => {
    const s = new MvccStore({ limits: { maxKeyBytes: 8, maxValueBytes: 4 } });
    s.apply({ type: "put", key: "a", value: "1" });
    const h = s.hash();
    expect(codeOf(() => s.apply({ type: "put", key: "", value: "x" }))).toBe("ErrEmptyKey");
    expect(codeOf(() => s.apply({ type: "put", key: "123456789", value: "x" }))).toBe("ErrKeyTooLarge");
    expect(codeOf(() => s.apply({ type: "put", key: "k", value: "12345" }))).toBe("ErrValueTooLarge");
    expect(codeOf(() => s.apply({ type: "put", key: "k", value: "1", lease: 5 }))).toBe("ErrLeaseNotFound");
    expect(codeOf(() => s.apply({ type: "deleteRange", key: "b", rangeEnd: "a" }))).toBe("ErrBadRange");
    expect(codeOf(() => s.range({ key: "b", rangeEnd: "b" }))).toBe("ErrBadRange");
    for (const junk of [null, 42, "put", [], { type: "nope" }, { type: "put", key: 5, value: "x" }, { type: "put", key: "k" },
      { type: "put", key: "k", value: "v", lease: -1 }, { type: "put", key: "k", value: "v", prevKv: "yes" },
      { type: "compact", revision: 1.5 }, { type: "leaseGrant", id: 1, ttl: 0 }, { type: "txn", compare: {}, success: [], failure: [] },
      { type: "txn", compare: [{ key: "k", target: "version", result: "~", value: 1 }], success: [], failure: [] },
      { type: "txn", compare: [{ key: "k", target: "version", result: "=", value: "1" }], success: [], failure: [] },
      { type: "txn", compare: [], success: [{ type: "compact", revision: 1 }], failure: [] }]) {
      expect(codeOf(() => s.apply(junk))).toBe("ErrInvalidCommand");
    }
    expect(codeOf(() => s.range({ key: "a", limit: -1 }))).toBe("ErrInvalidCommand");
    expect(s.hash()).toBe(h);
    expect(s.revision).toBe(2);
  });

  it("says which limit a value broke", () => {
    const s = new MvccStore({ limits: { maxValueBytes: 4 } });
    try {
      s.apply({ type: "put", key: "k", value: "12345" });
      expect.unreachable();
    } catch (e) {
      expect(isMvccError(e, "ErrValueTooLarge")).toBe(true);
      expect((e as Error).message).toContain("5 bytes, over the 4-byte limit");
    }
  });

  it("rejects bad limits at construction", () => {
    expect(() => new MvccStore({ limits: { maxValueBytes: 0 } })).toThrow(/maxValueBytes/);
    expect(() => new MvccStore({ watchBufferEvents: -1 })).toThrow(/buffer/);
  });
});
