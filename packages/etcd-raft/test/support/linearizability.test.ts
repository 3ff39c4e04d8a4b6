import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkLinearizable, type KvInput, kvModel, type KvOutput, type Operation } from "./linearizability.js";

type Op = Operation<KvInput, KvOutput>;
const get = (client: number, key: string, value: string | null, call: number, ret: number): Op => ({ client, input: { op: "get", key }, output: { value }, call, ret });
const put = (client: number, key: string, value: string, call: number, ret: number): Op => ({ client, input: { op: "put", key, value }, output: {}, call, ret });
const cas = (client: number, key: string, from: string | null, to: string, ok: boolean, call: number, ret: number): Op => ({ client, input: { op: "cas", key, from, to }, output: { ok }, call, ret });
const unknownPut = (client: number, key: string, value: string, call: number): Op => ({ client, input: { op: "put", key, value }, call, ret: Infinity });

describe("checkLinearizable (kv model)", () => {
  it("accepts an empty history and a sequential one", () => {
    expect(checkLinearizable(kvModel, []).ok).toBe(true);
    expect(checkLinearizable(kvModel, [put(0, "x", "1", 0, 1), get(1, "x", "1", 2, 3), cas(0, "x", "1", "2", true, 4, 5), get(1, "x", "2", 6, 7)]).ok).toBe(true);
  });

  it("rejects a stale read after a completed write (hand-made non-linearizable history)", () => {
    // put(x=1) completes at t=1; a read that starts at t=2 still sees the initial value.
    const r = checkLinearizable(kvModel, [put(0, "x", "1", 0, 1), get(1, "x", null, 2, 3)]);
    expect(r.ok).toBe(false);
    expect(r.exhausted).toBeUndefined();
    expect(r.info).toContain("no linearization");
  });

  it("rejects two reads that disagree on the order of two concurrent writes", () => {
    // Writes 1 and 2 are concurrent; client 2 sees 1 then 2, client 3 sees 2 then 1 — impossible.
    const h = [
      put(0, "x", "1", 0, 10),
      put(1, "x", "2", 0, 10),
      get(2, "x", "1", 1, 2),
      get(2, "x", "2", 3, 4),
      get(3, "x", "2", 1, 2),
      get(3, "x", "1", 3, 4),
    ];
    expect(checkLinearizable(kvModel, h).ok).toBe(false);
  });

  it("accepts a read that overlaps a write seeing either value", () => {
    expect(checkLinearizable(kvModel, [put(0, "x", "1", 0, 10), get(1, "x", null, 1, 2), get(1, "x", "1", 3, 4)]).ok).toBe(true);
    // ...but not going back once the new value was seen.
    expect(checkLinearizable(kvModel, [put(0, "x", "1", 0, 10), get(1, "x", "1", 1, 2), get(1, "x", null, 3, 4)]).ok).toBe(false);
  });

  it("rejects two successful CAS from the same expected value", () => {
    const h = [put(0, "x", "a", 0, 1), cas(1, "x", "a", "b", true, 2, 5), cas(2, "x", "a", "c", true, 2, 5)];
    expect(checkLinearizable(kvModel, h).ok).toBe(false);
    const ok = [put(0, "x", "a", 0, 1), cas(1, "x", "a", "b", true, 2, 5), cas(2, "x", "a", "c", false, 2, 5)];
    expect(checkLinearizable(kvModel, ok).ok).toBe(true);
  });

  it("lets an unknown-outcome write take effect late or never", () => {
    expect(checkLinearizable(kvModel, [unknownPut(0, "x", "1", 0), get(1, "x", null, 5, 6), get(1, "x", "1", 7, 8)]).ok).toBe(true);
    expect(checkLinearizable(kvModel, [unknownPut(0, "x", "1", 0), get(1, "x", null, 5, 6)]).ok).toBe(true);
    // It cannot take effect before it was called.
    expect(checkLinearizable(kvModel, [get(1, "x", "1", 0, 1), unknownPut(0, "x", "1", 2)]).ok).toBe(false);
  });

  it("checks keys independently", () => {
    const h = [put(0, "x", "1", 0, 1), put(0, "y", "1", 0, 1), get(1, "y", "1", 2, 3), get(1, "x", null, 2, 3)];
    const r = checkLinearizable(kvModel, h);
    expect(r.ok).toBe(false);
  });

  it("reports a search that runs out of steps as unknown, never as ok", () => {
    const h: Op[] = [];
    for (let i = 0; i < 40; i++) h.push(put(i, "x", String(i), 0, 100));
    h.push(get(99, "x", "nope", 101, 102));
    const r = checkLinearizable(kvModel, h, { maxSteps: 1000 });
    expect(r.ok).toBe(false);
    expect(r.exhausted).toBe(true);
  });

  // Simulate a real linearizable register: each op takes effect atomically at a random instant
  // inside its [call, ret] window. Such histories must always pass; corrupting one read's value
  // to something never written must always fail.
  const arbHistory = fc
    .array(
      fc.record({
        client: fc.nat(4),
        kind: fc.constantFrom("get", "put", "cas"),
        key: fc.constantFrom("a", "b"),
        start: fc.nat(1000),
        len: fc.integer({ min: 1, max: 50 }),
        at: fc.double({ min: 0, max: 1, noNaN: true }),
        value: fc.nat(5),
      }),
      { minLength: 1, maxLength: 40 },
    )
    .map((specs) => {
      const timed = specs.map((s, i) => ({ ...s, i, effect: s.start + s.at * s.len }));
      const state = new Map<string, string | null>();
      const ops: Op[] = [];
      for (const s of [...timed].sort((x, y) => x.effect - y.effect || x.i - y.i)) {
        const cur = state.get(s.key) ?? null;
        const call = s.start;
        const ret = s.start + s.len;
        if (s.kind === "get") ops.push(get(s.client, s.key, cur, call, ret));
        else if (s.kind === "put") {
          state.set(s.key, String(s.value));
          ops.push(put(s.client, s.key, String(s.value), call, ret));
        } else {
          const from = String(s.value % 3);
          const ok = cur === from;
          if (ok) state.set(s.key, String(s.value));
          ops.push(cas(s.client, s.key, from, String(s.value), ok, call, ret));
        }
      }
      return ops;
    });

  it("accepts every history produced by an atomic register (property)", () => {
    fc.assert(fc.property(arbHistory, (h) => checkLinearizable(kvModel, h).ok), { numRuns: 300 });
  });

  it("rejects any such history once a read returns a value never written (property)", () => {
    fc.assert(
      fc.property(arbHistory, fc.nat(), (h, pick) => {
        const reads = h.filter((o) => o.input.op === "get");
        fc.pre(reads.length > 0);
        const victim = reads[pick % reads.length]!;
        victim.output = { value: "never-written" };
        return !checkLinearizable(kvModel, h).ok;
      }),
      { numRuns: 300 },
    );
  });
});
