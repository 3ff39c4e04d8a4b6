// Property: a watcher from any start revision, with any buffer size and any polling pattern,
// sees exactly the events a naive model computes, in revision order, each once — or is
// cancelled with the compact revision after a correct prefix when compaction overtakes it.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ErrCompacted, MvccStore, type MvccEvent, type WatchMessage } from "@kubemu/etcd-raft";
import { Model, abstractCmd, concretize, dumpStore, tryApply } from "./model.js";
import { str } from "./helpers.js";

const ranges: { key: string; rangeEnd?: string; has: (k: string) => boolean }[] = [
  { key: "a", rangeEnd: "\0", has: () => true },
  { key: "b", rangeEnd: "e", has: (k) => k >= "b" && k < "e" },
  { key: "c", has: (k) => k === "c" },
];

function render(ev: MvccEvent): string {
  const prev = ev.prevKv ? str(ev.prevKv.value) : "-";
  return ev.type === "PUT" ? `PUT ${str(ev.kv.key)}=${str(ev.kv.value)}@${ev.kv.modRevision} prev=${prev}` : `DELETE ${str(ev.kv.key)}@${ev.kv.modRevision} prev=${prev}`;
}

describe("watch exactly-once property", () => {
  it("matches the naive model for random commands, start revisions, buffers and polls", () => {
    fc.assert(
      fc.property(
        fc.array(abstractCmd, { minLength: 5, maxLength: 80, size: "max" }),
        fc.nat(25),
        fc.nat(70),
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom(...ranges),
        fc.constantFrom(0, 5, 30, 100), // poll rate in percent: from never (catch up at the end) to always
        fc.array(fc.nat(99), { minLength: 80, maxLength: 80 }),
        (cmds, watchAt, startPick, buffer, range, pollRate, dice) => {
          const s = new MvccStore();
          const m = new Model();
          let w: ReturnType<MvccStore["watch"]> | undefined;
          let start = 0;
          const got: WatchMessage[] = [];
          const openWatch = () => {
            // Pick 0 (= from now) or a revision from the compaction point to a little past the present.
            start = startPick % (m.rev + 3);
            try {
              w = s.watch({ key: range.key, rangeEnd: range.rangeEnd, startRevision: start, prevKv: true, bufferEvents: buffer });
              expect(start === 0 || start >= m.compactRev).toBe(true);
            } catch (e) {
              expect(e).toBeInstanceOf(ErrCompacted);
              expect((e as ErrCompacted).compactRevision).toBe(m.compactRev);
              expect(start).toBeLessThan(m.compactRev);
              w = undefined;
              start = -1;
            }
            if (start === 0) start = m.rev + 1;
          };
          cmds.forEach((a, i) => {
            if (i === watchAt) openWatch();
            const c = concretize(a, s.revision, s.compactRevision);
            expect(tryApply(s, c)).toBe(m.apply(c));
            expect(s.revision).toBe(m.rev);
            if (w && (dice[i] ?? 0) < pollRate) got.push(...w.poll());
          });
          if (watchAt >= cmds.length) openWatch();
          expect(dumpStore(s)).toEqual(m.dump());
          if (w === undefined) return;
          for (;;) {
            const batch = w.poll();
            if (batch.length === 0 && w.pending === 0) break;
            got.push(...batch);
          }
          const events = got.flatMap((msg) => (msg.kind === "events" ? msg.events.map(render) : []));
          const revs = got.flatMap((msg) => (msg.kind === "events" ? [msg.revision] : []));
          expect(revs).toEqual([...revs].sort((x, y) => x - y)); // revision order
          expect(new Set(revs).size).toBe(revs.length); // each revision once
          const expected = m.eventsFor(start, range.has);
          const last = got.at(-1);
          if (last?.kind === "canceled") {
            // Overtaken by compaction: what arrived is a correct prefix, and the compact point is past it.
            expect(expected.slice(0, events.length)).toEqual(events);
            expect(last.compactRevision).toBeGreaterThan(revs.at(-1) ?? start - 1);
            expect(w.canceled).toBe(true);
          } else {
            expect(events).toEqual(expected);
            expect(got.every((msg) => msg.kind === "events")).toBe(true);
          }
        },
      ),
      { numRuns: 250 },
    );
  });
});
