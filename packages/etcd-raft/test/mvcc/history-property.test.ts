// Property: reads at every revision return what the naive model held at that revision, and
// every revision below the compaction point fails with ErrCompacted — however history was
// compacted along the way.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ErrCompacted, MvccStore } from "@kubemu/etcd-raft";
import { Model, abstractCmd, concretize, tryApply } from "./model.js";

function dumpAt(s: MvccStore, revision: number): string[] {
  const dec = new TextDecoder();
  return s
    .range({ key: "\0", rangeEnd: "\0", revision })
    .kvs.map((kv) => `${dec.decode(kv.key)}=${dec.decode(kv.value)} c${kv.createRevision} m${kv.modRevision} v${kv.version} l${kv.lease}`);
}

describe("history property", () => {
  it("every retained revision reads as the model had it; older ones are compacted", () => {
    fc.assert(
      fc.property(fc.array(abstractCmd, { minLength: 1, maxLength: 80, size: "max" }), (cmds) => {
        const s = new MvccStore();
        const m = new Model();
        const states = new Map<number, string[]>([[1, []]]);
        for (const a of cmds) {
          const c = concretize(a, s.revision, s.compactRevision);
          expect(tryApply(s, c)).toBe(m.apply(c));
          states.set(m.rev, m.dump());
        }
        for (let rev = 1; rev <= s.revision; rev++) {
          if (rev < m.compactRev) {
            expect(() => s.range({ key: "a", revision: rev })).toThrow(ErrCompacted);
          } else {
            expect(dumpAt(s, rev)).toEqual(states.get(rev));
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
