// Commands travel through the Raft log as msgpack; errors travel back to clients the same way.
import fc from "fast-check";
import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { ErrCompacted, MvccError, MvccStore } from "@kubemu/etcd-raft";
import { abstractCmd, concretize, tryApply } from "./model.js";

const packr = new Packr({ useRecords: false });

describe("commands and errors over msgpack", () => {
  it("a store fed msgpack-decoded commands (Buffer keys and values) matches one fed the originals", () => {
    fc.assert(
      fc.property(fc.array(abstractCmd, { maxLength: 40, size: "max" }), fc.boolean(), (cmds, asBytes) => {
        const direct = new MvccStore();
        const viaWire = new MvccStore();
        const enc = new TextEncoder();
        for (const a of cmds) {
          const c = concretize(a, direct.revision, direct.compactRevision);
          // Send keys and values as bytes half the time, as a Go or binary client would.
          const sent = asBytes && c.type === "put" ? { ...c, key: enc.encode(c.key as string), value: enc.encode(c.value as string) } : c;
          const decoded: unknown = packr.unpack(packr.pack(sent));
          expect(tryApply(viaWire, decoded as typeof c)).toBe(tryApply(direct, c));
        }
        expect(viaWire.hash()).toBe(direct.hash());
      }),
      { numRuns: 60 },
    );
  });

  it("errors survive the trip with their code and revision", () => {
    const s = new MvccStore();
    s.apply({ type: "put", key: "k", value: "v" });
    s.apply({ type: "put", key: "k", value: "w" });
    s.apply({ type: "compact", revision: 3 });
    let err: unknown;
    try {
      s.range({ key: "k", revision: 2 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ErrCompacted);
    const back = MvccError.fromWire(packr.unpack(packr.pack((err as MvccError).toWire())));
    expect(back).toBeInstanceOf(ErrCompacted);
    expect(back).toMatchObject({ code: "ErrCompacted", compactRevision: 3, message: (err as Error).message });
    const plain = MvccError.fromWire({ code: "ErrLeaseNotFound", message: "mvcc: lease 4 not found" });
    expect(plain).toMatchObject({ code: "ErrLeaseNotFound", name: "MvccError" });
  });

  it("answers null-valued optional fields with a clear error instead of crashing", () => {
    const s = new MvccStore();
    expect(() => s.apply({ type: "put", key: "k", value: "v", lease: null })).toThrow(/lease must be a positive safe integer/);
    expect(() => s.apply({ type: "deleteRange", key: "k", rangeEnd: null })).toThrow(/rangeEnd must be a string or bytes/);
  });
});
