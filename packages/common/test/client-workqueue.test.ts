/**
 * The work queue, its rate limiters and the worker loop on virtual time: client-go's
 * util/workqueue semantics, then a model-based property over random interleavings of every
 * operation with up to three workers.
 */
import fc from "fast-check";
import pino from "pino";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { BucketRateLimiter, defaultControllerRateLimiter, FakeClock, ItemExponentialRateLimiter, MaxOfRateLimiter, runWorkers, WorkQueue, type RateLimiter } from "@kubemu/common";

const flush = () => new Promise<void>((r) => setImmediate(r));

/** A get() whose result is readable synchronously once it settled. */
function track<K>(p: Promise<K | undefined>): { settled: boolean; value: K | undefined } {
  const t = { settled: false, value: undefined as K | undefined };
  void p.then((v) => {
    t.settled = true;
    t.value = v;
  });
  return t;
}

/** A logger whose lines are collected (to check what was logged). */
function captureLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split("\n")) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: "debug" }, stream), lines };
}

describe("WorkQueue basics", () => {
  it("hands keys out in the order they were first added, each once however often it was added", async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    for (const k of ["a", "b", "a", "c", "b", "a"]) q.add(k);
    expect(q.len()).toBe(3);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(["a", "b", "c"]);
    expect(q.len()).toBe(0);
  });

  it("never hands a key being processed to a second worker; a re-add while processing comes back after done()", async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    q.add("a");
    expect(await q.get()).toBe("a");
    expect(q.isProcessing("a")).toBe(true);
    q.add("a");
    q.add("a");
    expect(q.len()).toBe(0); // dirty, not queued: nobody may take it now
    const second = track(q.get());
    await flush();
    expect(second.settled).toBe(false);
    q.done("a");
    await flush();
    expect(second).toEqual({ settled: true, value: "a" }); // the re-adds collapsed into one
    q.done("a");
    expect(q.len()).toBe(0);
    const third = track(q.get());
    await flush();
    expect(third.settled).toBe(false);
    q.shutDown();
    await flush();
    expect(third).toEqual({ settled: true, value: undefined });
  });

  it("a key added while processing goes behind the keys queued meanwhile", async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    q.add("a");
    expect(await q.get()).toBe("a");
    q.add("a");
    q.add("b");
    q.done("a");
    expect([await q.get(), await q.get()]).toEqual(["b", "a"]);
  });

  it("a waiting worker gets the next key added at once; waiting workers are served first come, first served", async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    const w1 = track(q.get());
    const w2 = track(q.get());
    q.add("x");
    await flush();
    expect(w1).toEqual({ settled: true, value: "x" });
    expect(w2.settled).toBe(false);
    q.add("x"); // processing by w1: stays dirty, w2 keeps waiting
    await flush();
    expect(w2.settled).toBe(false);
    q.add("y");
    await flush();
    expect(w2).toEqual({ settled: true, value: "y" });
  });

  it("done() of a key that is not being processed changes nothing", async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    q.add("a");
    q.done("a");
    q.done("zzz");
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe("a");
  });

  it("addAfter delays the key on the clock; an earlier pending addAfter of the same key wins", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock });
    q.addAfter("a", 100);
    expect(q.len()).toBe(0);
    expect(q.delayed()).toBe(1);
    clock.advance(99);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(q.len()).toBe(1);
    expect(q.delayed()).toBe(0);
    expect(await q.get()).toBe("a");
    q.done("a");

    q.addAfter("b", 100);
    q.addAfter("b", 300); // later: ignored
    clock.advance(100);
    expect(q.len()).toBe(1);
    clock.advance(500);
    expect(q.len()).toBe(1); // fired once only
    expect(await q.get()).toBe("b");
    q.done("b");

    q.addAfter("c", 300);
    q.addAfter("c", 50); // earlier: replaces
    expect(q.delayed()).toBe(1);
    clock.advance(50);
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe("c");
    q.done("c");
    clock.advance(1000);
    expect(q.len()).toBe(0); // the replaced 300 ms timer does not fire

    q.addAfter("d", 0);
    q.addAfter("e", -5);
    expect(q.len()).toBe(2);
    expect(q.delayed()).toBe(0);
  });

  it("a delayed key that is already queued or processing is not handed out twice", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock });
    q.add("a");
    q.addAfter("a", 10);
    clock.advance(10);
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe("a");
    q.addAfter("a", 10);
    clock.advance(10);
    expect(q.len()).toBe(0); // dirty while processing
    q.done("a");
    expect(q.len()).toBe(1);
  });

  it("addRateLimited backs a key off 5, 10, 20, 40 ms…; forget() resets it to 5 ms", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock });
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      const from = clock.now();
      q.addRateLimited("k");
      let t = 0;
      while (q.len() === 0) {
        clock.advance(1);
        if (++t > 10_000) throw new Error("never re-added");
      }
      waits.push(clock.now() - from);
      expect(await q.get()).toBe("k");
      q.done("k");
    }
    expect(waits).toEqual([5, 10, 20, 40, 80]);
    expect(q.numRequeues("k")).toBe(5);
    expect(q.numRequeues("other")).toBe(0);
    q.forget("k");
    expect(q.numRequeues("k")).toBe(0);
    q.addRateLimited("k");
    clock.advance(4);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(q.len()).toBe(1);
  });
});

describe("rate limiters", () => {
  it("item exponential: base × 2^failures per item, capped, counted per item, forget resets", () => {
    const r = new ItemExponentialRateLimiter<string>(5, 1000_000);
    const seq = Array.from({ length: 20 }, () => r.when("a"));
    expect(seq.slice(0, 5)).toEqual([5, 10, 20, 40, 80]);
    // 5 × 2^17 = 655 360 ms; 5 × 2^18 = 1 310 720 ms > 1000 s
    expect(seq[17]).toBe(655_360);
    expect(seq[18]).toBe(1000_000);
    expect(seq[19]).toBe(1000_000);
    expect(r.when("b")).toBe(5);
    expect(r.numRequeues("a")).toBe(20);
    expect(r.numRequeues("b")).toBe(1);
    r.forget("a");
    expect(r.numRequeues("a")).toBe(0);
    expect(r.when("a")).toBe(5);
    for (let i = 0; i < 5000; i++) r.when("c");
    expect(r.when("c")).toBe(1000_000); // 2^5000 overflows; still the cap
    expect(() => new ItemExponentialRateLimiter(0, 10)).toThrow(RangeError);
    expect(() => new ItemExponentialRateLimiter(10, 5)).toThrow(RangeError);
  });

  it("token bucket: a burst of 100 at once, then one every 100 ms (10 qps), refilled by time", () => {
    const clock = new FakeClock();
    const r = new BucketRateLimiter<string>(10, 100, clock);
    const burst = Array.from({ length: 100 }, (_, i) => r.when(`k${i}`));
    expect(burst.every((d) => d === 0)).toBe(true);
    expect(r.when("x")).toBeCloseTo(100, 6);
    expect(r.when("y")).toBeCloseTo(200, 6);
    expect(r.when("z")).toBeCloseTo(300, 6);
    // 1 s later 10 tokens came back; 3 were owed.
    clock.advance(1000);
    const after = Array.from({ length: 8 }, (_, i) => r.when(`n${i}`));
    expect(after.slice(0, 7).every((d) => d === 0)).toBe(true);
    expect(after[7]).toBeCloseTo(100, 6);
    // Never more than the burst saved up.
    clock.advance(3_600_000);
    const again = Array.from({ length: 101 }, (_, i) => r.when(`m${i}`));
    expect(again.filter((d) => d === 0)).toHaveLength(100);
    expect(r.numRequeues("x")).toBe(0);
    expect(() => new BucketRateLimiter(0, 1, clock)).toThrow(RangeError);
    expect(() => new BucketRateLimiter(1, 0, clock)).toThrow(RangeError);
  });

  it("the controller default is the max of both: per-item 5 ms doubling, and 10 qps over everything after a burst of 100", () => {
    const clock = new FakeClock();
    const r: RateLimiter<string> = defaultControllerRateLimiter<string>(clock);
    const first = Array.from({ length: 100 }, (_, i) => r.when(`k${i}`));
    expect(first.every((d) => d === 5)).toBe(true);
    expect(r.when("k100")).toBeCloseTo(100, 6); // the bucket is empty: 100 ms beats 5 ms
    clock.advance(60_000);
    expect(r.when("k0")).toBe(10); // second failure of k0: 10 ms, bucket refilled
    expect(r.numRequeues("k0")).toBe(2);
    r.forget("k0");
    expect(r.numRequeues("k0")).toBe(0);
    expect(r.when("k0")).toBe(5);
    // Max-of reports the largest requeue count of its limiters.
    const m = new MaxOfRateLimiter<string>(new ItemExponentialRateLimiter(1, 10), new ItemExponentialRateLimiter(1, 10));
    m.when("a");
    expect(m.numRequeues("a")).toBe(1);
  });
});

describe("shutdown", () => {
  it("shutDown: no new keys, delayed ones dropped, queued ones still handed out, then undefined", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock });
    q.add("a");
    q.add("b");
    q.addAfter("later", 10);
    q.shutDown();
    expect(q.shuttingDown).toBe(true);
    q.add("c");
    q.addAfter("d", 1);
    q.addRateLimited("e");
    clock.advance(100);
    expect(q.delayed()).toBe(0);
    expect(await q.get()).toBe("a");
    expect(await q.get()).toBe("b");
    expect(await q.get()).toBeUndefined();
    expect(await q.get()).toBeUndefined();
    q.shutDown(); // twice is fine
  });

  it("shutDown wakes every waiting worker with undefined", async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    const ws = [track(q.get()), track(q.get()), track(q.get())];
    await flush();
    expect(ws.some((w) => w.settled)).toBe(false);
    q.shutDown();
    await flush();
    expect(ws).toEqual([0, 1, 2].map(() => ({ settled: true, value: undefined })));
  });

  it("a key re-added before shutDown is handed out again after its done()", async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    q.add("a");
    expect(await q.get()).toBe("a");
    q.add("a");
    q.shutDown();
    expect(await q.get()).toBeUndefined(); // nothing queued right now
    q.done("a");
    expect(await q.get()).toBe("a");
    q.done("a");
    expect(await q.get()).toBeUndefined();
  });

  it("shutDownWithDrain resolves only once every queued and processing key is done", async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    q.add("a");
    q.add("b");
    expect(await q.get()).toBe("a");
    let drained = false;
    const p = q.shutDownWithDrain().then(() => (drained = true));
    await flush();
    expect(drained).toBe(false);
    q.done("a");
    await flush();
    expect(drained).toBe(false); // b is still queued
    expect(await q.get()).toBe("b");
    await flush();
    expect(drained).toBe(false); // b is processing
    q.done("b");
    await p;
    expect(drained).toBe(true);
    expect(await q.get()).toBeUndefined();
    // Already drained: resolves at once.
    await q.shutDownWithDrain();
  });
});

describe("runWorkers", () => {
  it("reconciles every key, retries failures with backoff, forgets successes, and ends on shutDown", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock });
    const calls: string[] = [];
    let failB = 2;
    const running = new Set<string>();
    let overlap = false;
    const done = runWorkers(
      q,
      async (k) => {
        if (running.has(k)) overlap = true;
        running.add(k);
        calls.push(k);
        await flush();
        running.delete(k);
        if (k === "b" && failB-- > 0) throw new Error("b is not ready");
      },
      { workers: 3 },
    );
    q.add("a");
    q.add("b");
    await flush();
    await flush();
    expect(calls.sort()).toEqual(["a", "b"]);
    expect(q.numRequeues("a")).toBe(0);
    expect(q.numRequeues("b")).toBe(1);
    await clock.advanceAsync(5); // first retry after 5 ms
    await flush();
    expect(calls.filter((c) => c === "b")).toHaveLength(2);
    await clock.advanceAsync(10); // second after 10 ms more
    await flush();
    expect(calls.filter((c) => c === "b")).toHaveLength(3);
    expect(q.numRequeues("b")).toBe(0); // succeeded: forgotten
    q.shutDown();
    await done;
    expect(overlap).toBe(false);
  });

  it("a key re-added while a worker reconciles it waits for that worker, even with many idle workers", async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    let active = 0;
    let maxActive = 0;
    let calls = 0;
    let release: (() => void) | undefined;
    const done = runWorkers(
      q,
      async () => {
        calls++;
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise<void>((r) => (release = r));
        active--;
      },
      { workers: 4 },
    );
    q.add("k");
    await flush();
    for (let i = 0; i < 5; i++) q.add("k");
    await flush();
    expect(calls).toBe(1);
    release!();
    await flush();
    await flush();
    expect(calls).toBe(2); // the five re-adds: one more pass
    release!();
    await flush();
    q.shutDown();
    await done;
    expect(maxActive).toBe(1);
    expect(calls).toBe(2);
  });

  it("maxRetries: a key failing that many times is dropped (logged) and forgotten", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock });
    const { logger, lines } = captureLogger();
    let calls = 0;
    const done = runWorkers(
      q,
      async () => {
        calls++;
        throw new Error("always broken");
      },
      { maxRetries: 3, logger },
    );
    q.add("bad");
    await clock.advanceAsync(1000);
    expect(calls).toBe(4); // the first try and 3 retries
    expect(q.numRequeues("bad")).toBe(0);
    expect(q.delayed()).toBe(0);
    expect(lines.some((l) => l.msg === "dropping key out of the queue" && l.key === "bad")).toBe(true);
    q.shutDown();
    await done;
  });
});

// ---- the property ----

type Cmd =
  | { t: "add"; k: string }
  | { t: "addAfter"; k: string; ms: number }
  | { t: "addRateLimited"; k: string }
  | { t: "forget"; k: string }
  | { t: "get"; w: number }
  | { t: "done"; w: number }
  | { t: "retry"; w: number }
  | { t: "advance"; ms: number }
  | { t: "shutDown" };

const KEYS = ["a", "b", "c", "d"];
const WORKERS = 3;

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant("add" as const), k: fc.constantFrom(...KEYS) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("addAfter" as const), k: fc.constantFrom(...KEYS), ms: fc.integer({ min: -1, max: 60 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("addRateLimited" as const), k: fc.constantFrom(...KEYS) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("forget" as const), k: fc.constantFrom(...KEYS) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("get" as const), w: fc.integer({ min: 0, max: WORKERS - 1 }) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("done" as const), w: fc.integer({ min: 0, max: WORKERS - 1 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("retry" as const), w: fc.integer({ min: 0, max: WORKERS - 1 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 80 }) }) },
);

/**
 * An independent model of client-go's queue (queue/dirty/processing sets, delays as timers in
 * (due, creation) order, per-item exponential backoff and a 10 qps / 100 token bucket).
 */
class Model {
  queue: string[] = [];
  dirty = new Set<string>();
  processing = new Set<string>();
  getters: number[] = [];
  waiting = new Map<string, { at: number; seq: number }>();
  seq = 0;
  shutting = false;
  now = 0;
  failures = new Map<string, number>();
  tokens = 100;
  last = 0;
  held: (string | undefined)[] = Array.from({ length: WORKERS }, () => undefined);
  inGet: boolean[] = Array.from({ length: WORKERS }, () => false);
  /** Key → the event count of its last effective add (a call, or a delay running out). */
  lastAdd = new Map<string, number>();

  constructor(private readonly tick: () => number) {}

  add(k: string): void {
    if (this.shutting) return;
    this.lastAdd.set(k, this.tick());
    if (this.dirty.has(k)) return;
    this.dirty.add(k);
    if (this.processing.has(k)) return;
    const w = this.getters.shift();
    if (w !== undefined) return this.handTo(w, k);
    this.queue.push(k);
  }
  handTo(w: number, k: string): void {
    this.dirty.delete(k);
    this.processing.add(k);
    this.held[w] = k;
    this.inGet[w] = false;
  }
  addAfter(k: string, ms: number): void {
    if (this.shutting) return;
    if (ms <= 0) return this.add(k);
    const at = this.now + ms;
    const prev = this.waiting.get(k);
    if (prev && prev.at <= at) return;
    this.waiting.set(k, { at, seq: this.seq++ });
  }
  when(k: string): number {
    const n = this.failures.get(k) ?? 0;
    this.failures.set(k, n + 1);
    const exp = Math.min(5 * 2 ** n, 1000_000);
    this.tokens = Math.min(100, this.tokens + ((this.now - this.last) * 10) / 1000);
    this.last = this.now;
    this.tokens -= 1;
    const bucket = this.tokens >= 0 ? 0 : (-this.tokens * 1000) / 10;
    return Math.max(exp, bucket);
  }
  /** Returns "wait" when the worker blocks, else what get() answers. */
  get(w: number): string | undefined | "wait" {
    const k = this.queue.shift();
    if (k !== undefined) {
      this.handTo(w, k);
      return k;
    }
    if (this.shutting) return undefined;
    this.getters.push(w);
    this.inGet[w] = true;
    return "wait";
  }
  done(w: number): void {
    const k = this.held[w]!;
    this.held[w] = undefined;
    this.processing.delete(k);
    if (this.dirty.has(k)) {
      const g = this.getters.shift();
      if (g !== undefined) this.handTo(g, k);
      else this.queue.push(k);
    }
  }
  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      let next: [string, { at: number; seq: number }] | undefined;
      for (const e of this.waiting) if (e[1].at <= target && (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[1].seq < next[1].seq))) next = e;
      if (!next) break;
      this.waiting.delete(next[0]);
      this.now = next[1].at;
      this.add(next[0]);
    }
    this.now = target;
  }
  shutDown(): void {
    this.shutting = true;
    this.waiting.clear();
    for (const w of this.getters.splice(0)) this.inGet[w] = false;
  }
}

describe("WorkQueue property", () => {
  it("random interleavings with 3 workers: matches the model, never one key on two workers, never loses or over-processes a key", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmdArb, { minLength: 1, maxLength: 80, size: "max" }), fc.option(fc.integer({ min: 0, max: 79 }), { nil: undefined }), async (cmds, shutAt) => {
        const clock = new FakeClock();
        const q = new WorkQueue<string>({ clock });
        let events = 0;
        const tick = () => ++events;
        const m = new Model(tick);
        // What each worker holds on the queue side, written when its get() settles.
        const held: (string | undefined)[] = Array.from({ length: WORKERS }, () => undefined);
        const pending: boolean[] = Array.from({ length: WORKERS }, () => false);
        const adds = new Map<string, number>();
        const processed = new Map<string, number>();
        // Liveness: the event count at which each key was last handed out (vs. the model's lastAdd).
        const lastGet = new Map<string, number>();
        let step = 0;
        const countAdd = (k: string) => {
          if (!m.shutting) adds.set(k, (adds.get(k) ?? 0) + 1);
        };
        const startGet = (w: number) => {
          pending[w] = true;
          void q.get().then((k) => {
            pending[w] = false;
            held[w] = k;
            if (k === undefined) return;
            const other = held.findIndex((h, i) => i !== w && h === k);
            if (other !== -1) throw new Error(`key ${k} on workers ${other} and ${w} at once`);
            processed.set(k, (processed.get(k) ?? 0) + 1);
            lastGet.set(k, tick());
          });
        };
        const check = () => {
          for (let w = 0; w < WORKERS; w++) {
            expect(held[w], `worker ${w} at step ${step}`).toBe(m.held[w]);
            expect(pending[w], `worker ${w} waiting at step ${step}`).toBe(m.inGet[w]);
          }
          const keys = held.filter((h) => h !== undefined);
          expect(new Set(keys).size).toBe(keys.length);
          expect(q.len()).toBe(m.queue.length);
          expect(q.delayed()).toBe(m.waiting.size);
          for (const k of KEYS) {
            expect(q.isProcessing(k)).toBe(m.processing.has(k));
            expect(processed.get(k) ?? 0).toBeLessThanOrEqual(adds.get(k) ?? 0);
          }
        };
        const doGet = async (w: number) => {
          if (pending[w] || held[w] !== undefined) return;
          const want = m.get(w);
          startGet(w);
          await flush();
          if (want !== "wait") expect(held[w]).toBe(want);
        };
        const doDone = (w: number) => {
          if (held[w] === undefined) return;
          const k = held[w]!;
          held[w] = undefined;
          m.done(w);
          q.done(k);
        };
        for (const [i, c] of cmds.entries()) {
          step = i;
          if (shutAt === i) {
            m.shutDown();
            q.shutDown();
          }
          switch (c.t) {
            case "add":
              countAdd(c.k);
              m.add(c.k);
              q.add(c.k);
              break;
            case "addAfter":
              countAdd(c.k);
              m.addAfter(c.k, c.ms);
              q.addAfter(c.k, c.ms);
              break;
            case "addRateLimited":
              countAdd(c.k);
              m.addAfter(c.k, m.when(c.k));
              q.addRateLimited(c.k);
              break;
            case "forget":
              m.failures.delete(c.k);
              q.forget(c.k);
              break;
            case "get":
              await doGet(c.w);
              break;
            case "done":
              doDone(c.w);
              break;
            case "retry": {
              // The worker loop's failure path: addRateLimited(key), then done(key).
              const k = held[c.w];
              if (k === undefined) break;
              countAdd(k);
              m.addAfter(k, m.when(k));
              q.addRateLimited(k);
              doDone(c.w);
              break;
            }
            case "advance":
              m.advance(c.ms);
              clock.advance(c.ms);
              break;
          }
          await flush();
          check();
        }
        // Run everything out: every delay expires, workers finish what they hold and take the rest.
        step = cmds.length;
        m.advance(2_000_000);
        clock.advance(2_000_000);
        await flush();
        check();
        for (let round = 0; round < 100; round++) {
          for (let w = 0; w < WORKERS; w++) doDone(w);
          await flush();
          for (let w = 0; w < WORKERS; w++) await doGet(w);
          await flush();
          step++;
          check();
          if (held.every((h) => h === undefined) && q.len() === 0) break;
        }
        expect(q.len()).toBe(0);
        expect(held.every((h) => h === undefined)).toBe(true);
        if (shutAt === undefined || shutAt >= cmds.length) {
          // Liveness: every key handed out after its last add.
          for (const [k, at] of m.lastAdd) expect(lastGet.get(k) ?? -1, `key ${k} last added at event ${at}`).toBeGreaterThan(at);
          expect(pending.every((p) => p)).toBe(true); // all idle workers wait in get()
        } else {
          // Shut down: every get answers undefined now, and nothing is left delayed.
          expect(q.delayed()).toBe(0);
          expect(await q.get()).toBeUndefined();
        }
        q.shutDown();
        await flush();
        expect(held.every((h) => h === undefined)).toBe(true);
      }),
      { numRuns: 400 },
    );
  }, 120_000);
});
