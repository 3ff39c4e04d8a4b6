import { describe, expect, it } from "vitest";
import { FakeClock, SeededRng } from "@kubemu/common";

describe("FakeClock", () => {
  it("fires timers in due order and only when advanced past them", () => {
    const clock = new FakeClock(1000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    const cancelled = clock.setTimeout(() => fired.push("never"), 15);
    cancelled.cancel();
    clock.advance(9);
    expect(fired).toEqual([]);
    clock.advance(11);
    expect(fired).toEqual(["a@1010", "b@1020"]);
    expect(clock.now()).toBe(1020);
  });

  it("repeats intervals and resolves sleeps on virtual time", async () => {
    const clock = new FakeClock();
    let ticks = 0;
    const t = clock.setInterval(() => ticks++, 5);
    let slept = false;
    const p = clock.sleep(12).then(() => (slept = true));
    clock.advance(12);
    await p;
    expect(slept).toBe(true);
    expect(ticks).toBe(2);
    t.cancel();
    clock.advance(100);
    expect(ticks).toBe(2);
  });

  it("rejects a sleep when its signal aborts", async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const p = clock.sleep(50, ac.signal);
    ac.abort(new Error("stop"));
    await expect(p).rejects.toThrow("stop");
    expect(clock.pending()).toBe(0);
  });
});

describe("SeededRng", () => {
  it("replays the same sequence for the same seed", () => {
    const a = new SeededRng(42);
    const b = new SeededRng(42);
    const seqA = Array.from({ length: 50 }, () => a.int(1000));
    const seqB = Array.from({ length: 50 }, () => b.int(1000));
    expect(seqA).toEqual(seqB);
    expect(new Set(seqA).size).toBeGreaterThan(30);
  });

  it("stays within bounds", () => {
    const rng = new SeededRng(7);
    for (let i = 0; i < 10_000; i++) {
      const r = rng.range(3, 9);
      expect(r >= 3 && r <= 9).toBe(true);
      const f = rng.float();
      expect(f >= 0 && f < 1).toBe(true);
    }
    expect(() => rng.int(0)).toThrow(RangeError);
  });
});
