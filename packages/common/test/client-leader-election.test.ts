/**
 * LeaderElector on an in-memory LeaseLock (compare-and-swap on a version counter, with injected
 * delays, failures, partitions and dead processes) on virtual time: the client-go algorithm's
 * behaviour, then the safety property — never two leaders at one virtual instant — and liveness
 * once the network is healthy again.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  FakeClock,
  LeaderElector,
  leaderElectionProblem,
  newAlreadyExists,
  newConflict,
  SeededRng,
  type KubeObject,
  type LeaderElectionOptions,
  type LeaderElectionRecord,
  type LeaseLock,
  type Rng,
  type Timer,
} from "@kubemu/common";

const flush = () => new Promise<void>((r) => setImmediate(r));

/**
 * A FakeClock that knows when its next timer is due, so a test can jump from event to event and
 * let promise continuations run at the exact virtual instant they belong to.
 */
class SteppingClock extends FakeClock {
  private readonly dues = new Map<number, number>();
  private ids = 0;
  /** Added to wall time only (now()), as an NTP step or an operator would; monotonic() is unaffected. */
  wallSkew = 0;

  override now(): number {
    return this.monotonic() + this.wallSkew;
  }

  override setTimeout(fn: () => void, ms: number): Timer {
    const id = this.ids++;
    this.dues.set(id, this.monotonic() + Math.max(0, ms));
    const t = super.setTimeout(() => {
      this.dues.delete(id);
      fn();
    }, ms);
    return {
      cancel: () => {
        this.dues.delete(id);
        t.cancel();
      },
    };
  }

  override setInterval(): Timer {
    throw new Error("SteppingClock: setInterval is not used by the code under test");
  }

  private nextDue(): number | undefined {
    let min: number | undefined;
    for (const at of this.dues.values()) if (min === undefined || at < min) min = at;
    return min;
  }

  /** Runs every timer due up to `t` (absolute), settling promises after each. */
  async runUntil(t: number): Promise<void> {
    for (let guard = 0; ; guard++) {
      if (guard > 5_000_000) throw new Error("runaway timers");
      await flush();
      const next = this.nextDue();
      if (next === undefined || next > t) break;
      this.advance(next - this.monotonic());
    }
    if (t > this.monotonic()) this.advance(t - this.monotonic());
    await flush();
  }

  run(ms: number): Promise<void> {
    return this.runUntil(this.monotonic() + ms);
  }
}

/** The shared Lease: one record, a version bumped by every write. */
class MemoryLease {
  record: LeaderElectionRecord | undefined;
  version = 0;
  /** Every successful write: when it was applied and by whom. */
  readonly writes: { at: number; by: string; record: LeaderElectionRecord }[] = [];
}

/** How requests of each process fare. */
class Network {
  readonly partitioned = new Set<string>();
  readonly dead = new Set<string>();
  /** Processes whose requests fail: before being applied, or after (the response is lost). */
  readonly failing = new Map<string, "before" | "after">();
  /** Fixed extra delays per process (request, response). */
  readonly delays = new Map<string, [number, number]>();
  /** Random trouble for everyone: a request is slow (0..maxDelay) with slowP, else fast (0..10 ms); it fails with failP. */
  chaos: { rng: Rng; maxDelay: number; slowP: number; failP: number } | undefined;
  /** Requests sent but not answered yet: their completion times. */
  readonly inFlight = new Set<{ until: number }>();
}

class MemoryLock implements LeaseLock {
  /** Start time of every request this lock made, with its outcome once known. */
  readonly calls: { op: string; start: number; ok?: boolean }[] = [];

  constructor(
    private readonly lease: MemoryLease,
    private readonly clock: SteppingClock,
    private readonly net: Network,
    readonly process: string,
  ) {}

  private call<T>(op: string, apply: () => T): Promise<T> {
    const net = this.net;
    const rec: { op: string; start: number; ok?: boolean } = { op, start: this.clock.monotonic() };
    this.calls.push(rec);
    return new Promise<T>((resolve, reject) => {
      // A dead process sends nothing and hears nothing.
      if (net.dead.has(this.process)) return;
      let [d1, d2] = net.delays.get(this.process) ?? [0, 0];
      let fail: "before" | "after" | undefined = net.failing.get(this.process);
      if (net.chaos) {
        const total = net.chaos.rng.int((net.chaos.rng.chance(net.chaos.slowP) ? net.chaos.maxDelay : 10) + 1);
        const first = net.chaos.rng.int(total + 1);
        d1 += first;
        d2 += total - first;
        if (!fail && net.chaos.rng.chance(net.chaos.failP)) fail = net.chaos.rng.chance(0.5) ? "before" : "after";
      }
      const flight = { until: this.clock.monotonic() + d1 + d2 };
      net.inFlight.add(flight);
      const answer = (fn: () => void) => {
        net.inFlight.delete(flight);
        if (net.dead.has(this.process)) return;
        if (net.partitioned.has(this.process)) {
          rec.ok = false;
          return reject(new Error(`${op}: ${this.process} is partitioned`));
        }
        fn();
      };
      this.clock.setTimeout(() => {
        if (net.partitioned.has(this.process) || fail === "before") {
          this.clock.setTimeout(() => answer(() => ((rec.ok = false), reject(new Error(`${op}: injected failure`)))), d2);
          return;
        }
        let result: T;
        try {
          result = apply();
        } catch (e) {
          this.clock.setTimeout(() => answer(() => ((rec.ok = false), reject(e))), d2);
          return;
        }
        this.clock.setTimeout(
          () =>
            answer(() => {
              if (fail === "after") {
                rec.ok = false;
                return reject(new Error(`${op}: response lost`));
              }
              rec.ok = true;
              resolve(result);
            }),
          d2,
        );
      }, d1);
    });
  }

  get(): Promise<{ record: LeaderElectionRecord; version: string } | undefined> {
    return this.call("get", () => (this.lease.record ? { record: { ...this.lease.record }, version: String(this.lease.version) } : undefined));
  }

  create(record: LeaderElectionRecord): Promise<string> {
    return this.call("create", () => {
      if (this.lease.record) throw newAlreadyExists({ group: "coordination.k8s.io", resource: "leases" }, "test");
      return this.write(record);
    });
  }

  update(record: LeaderElectionRecord, version: string): Promise<string> {
    return this.call("update", () => {
      if (!this.lease.record || String(this.lease.version) !== version)
        throw newConflict({ group: "coordination.k8s.io", resource: "leases" }, "test", "the object has been modified; please apply your changes to the latest version and try again");
      return this.write(record);
    });
  }

  private write(record: LeaderElectionRecord): string {
    this.lease.record = { ...record };
    this.lease.version++;
    this.lease.writes.push({ at: this.clock.monotonic(), by: this.process, record: { ...record } });
    return String(this.lease.version);
  }

  describe(): string {
    return "kube-system/test-lease";
  }

  eventObject(): KubeObject {
    return { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "test-lease", namespace: "kube-system" } };
  }
}

const LD = 3000;
const RD = 2000;
const RP = 500;
const MAX_RETRY = RP * 1.2;

interface Candidate {
  name: string;
  elector: LeaderElector;
  lock: MemoryLock;
  stop: AbortController;
  /** [start, end) of each time it led; end undefined while leading. */
  terms: { start: number; end?: number }[];
  stoppedLeading: number[];
  newLeaders: string[];
  events: string[];
  done: Promise<void>;
  ended: boolean;
}

function startCandidate(clock: SteppingClock, lease: MemoryLease, net: Network, name: string, over: Partial<LeaderElectionOptions> = {}, seed = 1): Candidate {
  const lock = new MemoryLock(lease, clock, net, name);
  const stop = new AbortController();
  const c: Candidate = { name, lock, stop, terms: [], stoppedLeading: [], newLeaders: [], events: [], ended: false } as unknown as Candidate;
  c.elector = new LeaderElector({
    lock,
    identity: name,
    leaseDurationMs: LD,
    renewDeadlineMs: RD,
    retryPeriodMs: RP,
    clock,
    rng: new SeededRng(seed),
    recorder: { event: (_o, type, reason, message) => c.events.push(`${type} ${reason} ${message}`) },
    callbacks: {
      onStartedLeading: (signal) => {
        const term: { start: number; end?: number } = { start: clock.monotonic() };
        c.terms.push(term);
        if (signal.aborted) term.end = clock.monotonic();
        else signal.addEventListener("abort", () => (term.end = clock.monotonic()), { once: true });
      },
      onStoppedLeading: () => c.stoppedLeading.push(clock.monotonic()),
      onNewLeader: (id) => c.newLeaders.push(id),
    },
    ...over,
  });
  c.done = c.elector.run(stop.signal).then(() => void (c.ended = true));
  return c;
}

const leading = (c: Candidate) => c.terms.length > 0 && c.terms[c.terms.length - 1]!.end === undefined;
/** When c began leading the first time at or after `from`. */
const ledAt = (c: Candidate, from = 0) => c.terms.find((t) => t.start >= from)?.start;

function setup() {
  return { clock: new SteppingClock(1_000_000), lease: new MemoryLease(), net: new Network() };
}

describe("LeaderElector", () => {
  it("one candidate acquires at once (creating the Lease), reports itself and renews every retryPeriod", async () => {
    const { clock, lease, net } = setup();
    const t0 = clock.monotonic();
    const a = startCandidate(clock, lease, net, "a");
    await clock.run(0);
    expect(a.terms).toEqual([{ start: t0 }]);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.elector.leader).toBe("a");
    expect(a.newLeaders).toEqual(["a"]);
    expect(a.events).toEqual(["Normal LeaderElection a became leader"]);
    expect(lease.record).toMatchObject({ holderIdentity: "a", leaseDurationSeconds: 3, leaseTransitions: 0 });
    expect(lease.writes[0]!.record.acquireTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    await clock.run(10_000);
    const renews = lease.writes.filter((w) => w.by === "a");
    expect(renews.length).toBeGreaterThanOrEqual(19); // every 500 ms
    expect(lease.record!.acquireTime).toBe(lease.writes[0]!.record.acquireTime);
    expect(lease.record!.renewTime).not.toBe(lease.writes[0]!.record.renewTime);
    expect(leading(a)).toBe(true);
  });

  it("a second candidate waits while the leader renews", async () => {
    const { clock, lease, net } = setup();
    const a = startCandidate(clock, lease, net, "a");
    await clock.run(0);
    const b = startCandidate(clock, lease, net, "b", {}, 2);
    await clock.run(30_000);
    expect(leading(a)).toBe(true);
    expect(b.terms).toEqual([]);
    expect(b.elector.leader).toBe("a");
    expect(b.newLeaders).toEqual(["a"]);
    expect(lease.record!.holderIdentity).toBe("a");
    // b only reads, every retryPeriod × [1, 1.2).
    const reads = b.lock.calls.filter((x) => x.op === "get");
    expect(reads.length).toBeGreaterThan(30_000 / MAX_RETRY - 2);
    expect(b.lock.calls.filter((x) => x.op !== "get")).toEqual([]);
  });

  it("the leader dies: the standby leads about leaseDuration (+ a retryPeriod) after the last renew, and leaseTransitions goes up", async () => {
    const { clock, lease, net } = setup();
    const a = startCandidate(clock, lease, net, "a");
    await clock.run(0);
    const b = startCandidate(clock, lease, net, "b", {}, 2);
    await clock.run(5000);
    const killedAt = clock.monotonic();
    net.dead.add("a");
    const lastRenew = lease.writes.filter((w) => w.by === "a").at(-1)!.at;
    await clock.run(10_000);
    const took = ledAt(b)!;
    expect(took).toBeDefined();
    expect(took - lastRenew).toBeGreaterThanOrEqual(LD);
    expect(took - lastRenew).toBeLessThanOrEqual(LD + 2 * MAX_RETRY);
    expect(took - killedAt).toBeLessThanOrEqual(LD + 2 * MAX_RETRY);
    // The dead one's own deadline stopped its work before anyone else started.
    expect(a.terms[0]!.end).toBeDefined();
    expect(a.terms[0]!.end!).toBeLessThanOrEqual(took);
    expect(lease.record).toMatchObject({ holderIdentity: "b", leaseTransitions: 1 });
    expect(b.newLeaders).toEqual(["a", "b"]);
    expect(b.events).toEqual(["Normal LeaderElection b became leader"]);
  });

  it("graceful stop releases the lease: the standby leads within about a retryPeriod", async () => {
    const { clock, lease, net } = setup();
    const a = startCandidate(clock, lease, net, "a");
    await clock.run(0);
    const b = startCandidate(clock, lease, net, "b", {}, 2);
    await clock.run(4000);
    const stopAt = clock.monotonic();
    a.stop.abort();
    await clock.run(0);
    expect(a.terms[0]!.end).toBe(stopAt); // work stops at once
    await clock.run(0);
    expect(a.ended).toBe(true);
    expect(a.stoppedLeading).toEqual([stopAt]);
    const release = lease.writes.find((w) => w.by === "a" && w.record.holderIdentity === "");
    expect(release).toBeDefined();
    expect(release!.record.leaseDurationSeconds).toBe(1);
    await clock.run(3000);
    const took = ledAt(b)!;
    expect(took - stopAt).toBeLessThanOrEqual(MAX_RETRY);
    expect(lease.record).toMatchObject({ holderIdentity: "b", leaseTransitions: 1 });
  });

  it("a graceful stop while a renew request hangs ends the work at once, not when the request returns", async () => {
    const { clock, lease, net } = setup();
    const a = startCandidate(clock, lease, net, "a");
    await clock.run(1000);
    net.delays.set("a", [30_000, 0]);
    await clock.run(MAX_RETRY + 10); // a renew is on the wire now
    expect(a.lock.calls.at(-1)!.ok).toBeUndefined();
    const stopAt = clock.monotonic();
    a.stop.abort();
    await clock.run(0);
    expect(a.terms[0]!.end).toBe(stopAt);
    expect(a.elector.isLeader()).toBe(false);
    net.delays.delete("a");
    await clock.run(31_000); // the hung renew returns; then it releases
    await clock.run(0);
    expect(a.ended).toBe(true);
    expect(lease.record!.holderIdentity).toBe("");
    expect(a.stoppedLeading).toHaveLength(1);
  });

  it("releaseOnCancel: false leaves the lease to expire", async () => {
    const { clock, lease, net } = setup();
    const a = startCandidate(clock, lease, net, "a", { releaseOnCancel: false });
    await clock.run(0);
    const b = startCandidate(clock, lease, net, "b", {}, 2);
    await clock.run(2000);
    const stopAt = clock.monotonic();
    a.stop.abort();
    await clock.run(LD - MAX_RETRY * 2);
    expect(b.terms).toEqual([]);
    await clock.run(4 * MAX_RETRY);
    expect(ledAt(b)! - stopAt).toBeGreaterThan(LD - RP);
    expect(lease.writes.some((w) => w.record.holderIdentity === "")).toBe(false);
  });

  it("a leader whose renews fail stops within renewDeadline of the start of its last successful renew", async () => {
    for (const mode of ["before", "after"] as const) {
      const { clock, lease, net } = setup();
      const a = startCandidate(clock, lease, net, "a");
      await clock.run(3200);
      net.failing.set("a", mode);
      await clock.run(5000);
      const lastOk = a.lock.calls.filter((c) => c.ok === true).at(-1)!;
      expect(a.terms).toHaveLength(1);
      const end = a.terms[0]!.end!;
      expect(end, mode).toBeDefined();
      expect(end - lastOk.start, mode).toBeLessThanOrEqual(RD);
      expect(end - lastOk.start, mode).toBeGreaterThan(RD - RP);
      await clock.run(0);
      expect(a.ended).toBe(true);
      expect(a.stoppedLeading).toHaveLength(1);
      expect(a.events.at(-1)).toBe("Normal LeaderElection a stopped leading");
    }
  });

  it("a leader whose renews hang (no answer) still stops at the renew deadline", async () => {
    const { clock, lease, net } = setup();
    const a = startCandidate(clock, lease, net, "a");
    await clock.run(1000);
    net.delays.set("a", [60_000, 0]);
    await clock.run(4000);
    const lastOk = a.lock.calls.filter((c) => c.ok === true).at(-1)!;
    expect(a.terms[0]!.end).toBeDefined();
    expect(a.terms[0]!.end! - lastOk.start).toBeLessThanOrEqual(RD);
  });

  it("the renew deadline counts from when the acquiring write was sent, not from its slow answer", async () => {
    const { clock, lease, net } = setup();
    // The acquiring get and create are each answered 600 ms late; after that nothing is answered.
    net.delays.set("a", [0, 600]);
    // The create goes out when the get's answer arrives, 600 ms in: no one can have seen it before.
    const sentAt = clock.monotonic() + 600;
    const a = startCandidate(clock, lease, net, "a");
    await clock.run(601);
    net.delays.set("a", [0, 60_000]);
    await clock.run(5000);
    expect(a.terms).toHaveLength(1);
    expect(a.terms[0]!.start).toBe(sentAt + 600);
    expect(a.terms[0]!.end! - sentAt).toBeLessThanOrEqual(RD);
  });

  it("an acquire answered after its renew deadline passed does not start leading on it", async () => {
    const { clock, lease, net } = setup();
    const t0 = clock.monotonic();
    net.delays.set("a", [0, RD + 200]);
    const a = startCandidate(clock, lease, net, "a");
    await clock.run(RD + 300);
    net.delays.delete("a");
    await clock.run(RD + 2000 + 3 * MAX_RETRY);
    // It holds the lease, but only leads once a prompt renew confirmed it.
    expect(lease.record!.holderIdentity).toBe("a");
    expect(a.terms.length).toBeGreaterThanOrEqual(1);
    for (const t of a.terms) expect(t.start).toBeGreaterThan(t0 + 2 * (RD + 200));
    expect(leading(a)).toBe(true);
  });

  it("expiry is judged on the monotonic clock: a wall clock stepped by hours changes nothing", async () => {
    const { clock, lease, net } = setup();
    const a = startCandidate(clock, lease, net, "a");
    await clock.run(0);
    const b = startCandidate(clock, lease, net, "b", {}, 2);
    await clock.run(2000);
    clock.wallSkew = 3_600_000; // an hour ahead
    await clock.run(5000);
    clock.wallSkew = -7_200_000; // and then an hour behind
    await clock.run(5000);
    expect(b.terms).toEqual([]);
    expect(leading(a)).toBe(true);
    const killedAt = clock.monotonic();
    net.dead.add("a");
    await clock.run(2 * MAX_RETRY); // b has seen a's last record by now
    clock.wallSkew = 86_400_000; // the wall clock leaps a day: by wall time, a's lease is long gone
    await clock.run(LD - 4 * MAX_RETRY);
    expect(b.terms).toEqual([]); // not early, however far the wall clock jumped
    await clock.run(6 * MAX_RETRY);
    expect(ledAt(b)! - killedAt).toBeGreaterThanOrEqual(LD - MAX_RETRY);
    expect(ledAt(b)! - killedAt).toBeLessThanOrEqual(LD + 2 * MAX_RETRY);
  });

  it("leaseTransitions counts every change of holder", async () => {
    const { clock, lease, net } = setup();
    const cs = [startCandidate(clock, lease, net, "a")];
    await clock.run(0);
    for (let i = 1; i <= 3; i++) {
      cs.push(startCandidate(clock, lease, net, `n${i}`, {}, i + 1));
      await clock.run(1000);
      const leader = cs.find(leading)!;
      leader.stop.abort();
      await clock.run(3000);
      expect(lease.record!.leaseTransitions).toBe(i);
    }
    const holders = lease.writes.map((w) => w.record.holderIdentity).filter((h, i, all) => h !== "" && h !== all[i - 1]);
    expect(new Set(holders).size).toBe(4);
  });

  it("stopping a candidate that never led ends run() and calls onStoppedLeading once, without writing", async () => {
    const { clock, lease, net } = setup();
    const a = startCandidate(clock, lease, net, "a");
    await clock.run(0);
    const b = startCandidate(clock, lease, net, "b", {}, 2);
    await clock.run(1000);
    b.stop.abort();
    await clock.run(0);
    await clock.run(0);
    expect(b.ended).toBe(true);
    expect(b.stoppedLeading).toHaveLength(1);
    expect(b.terms).toEqual([]);
    expect(lease.writes.every((w) => w.by === "a")).toBe(true);
    expect(leading(a)).toBe(true);
  });

  it("a stop that arrives while the acquiring request is in flight does not leave it leading", async () => {
    const { clock, lease, net } = setup();
    net.delays.set("a", [100, 100]);
    const a = startCandidate(clock, lease, net, "a");
    await clock.run(50);
    a.stop.abort();
    await clock.run(1000);
    await clock.run(0);
    expect(a.ended).toBe(true);
    expect(a.terms).toEqual([]);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.stoppedLeading).toHaveLength(1);
    // It released what it got.
    expect(lease.record?.holderIdentity ?? "").toBe("");
  });

  it("validates its durations as client-go does", () => {
    const base = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2000 };
    expect(leaderElectionProblem(base)).toBeUndefined();
    expect(leaderElectionProblem({ ...base, leaseDurationMs: 10_000 })).toBe("leaseDuration must be greater than renewDeadline");
    expect(leaderElectionProblem({ ...base, retryPeriodMs: 9000 })).toBe("renewDeadline must be greater than retryPeriod*JitterFactor");
    expect(leaderElectionProblem({ leaseDurationMs: 0.5, renewDeadlineMs: 0.4, retryPeriodMs: 0.1 })).toBe("leaseDuration must be greater than zero");
    expect(leaderElectionProblem({ leaseDurationMs: 2, renewDeadlineMs: 0.9, retryPeriodMs: 0.5 })).toBe("renewDeadline must be greater than zero");
    expect(leaderElectionProblem({ leaseDurationMs: 3, renewDeadlineMs: 2, retryPeriodMs: 0.5 })).toBe("retryPeriod must be greater than zero");
    const { clock, lease, net } = setup();
    const lock = new MemoryLock(lease, clock, net, "x");
    const callbacks = { onStartedLeading: () => {}, onStoppedLeading: () => {} };
    expect(() => new LeaderElector({ lock, identity: "x", callbacks, ...base, leaseDurationMs: 9000 })).toThrow("leaseDuration must be greater than renewDeadline");
    expect(() => new LeaderElector({ lock, identity: "", callbacks, ...base })).toThrow("Lock identity is empty");
  });
});

// ---- the property ----

interface Chaos {
  at: number;
  kind: "partition" | "heal" | "stop" | "kill" | "fail" | "recover";
  who: number;
}

const P_LD = 1000;
const P_RD = 700;
const P_RP = 200;
const CHAOS_MS = 20_000;

interface Process {
  slot: number;
  gen: number;
  c: Candidate;
  dead: boolean;
}

describe("LeaderElector property", () => {
  it("with random delays, failures, partitions, kills and stops: never two leaders at one instant; one leads soon after the network heals", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 4 }),
        fc.integer(),
        fc.double({ min: 0, max: 0.4, noNaN: true }),
        fc.double({ min: 0, max: 0.6, noNaN: true }),
        fc.array(
          fc.record({ at: fc.integer({ min: 0, max: CHAOS_MS }), kind: fc.constantFrom("partition", "heal", "stop", "kill", "fail", "recover") as fc.Arbitrary<Chaos["kind"]>, who: fc.integer({ min: 0, max: 3 }) }),
          { maxLength: 40 },
        ),
        async (n, seed, failP, slowP, chaosList) => {
          const clock = new SteppingClock(5_000_000);
          const t0 = clock.monotonic();
          const lease = new MemoryLease();
          const net = new Network();
          const rng = new SeededRng(seed);
          net.chaos = { rng: rng.fork(), maxDelay: P_LD, slowP, failP };
          const all: Candidate[] = [];
          const procs: Process[] = [];
          const spawn = (slot: number, gen: number): Process => {
            const name = `c${slot}.${gen}`;
            const lock = new MemoryLock(lease, clock, net, name);
            const stop = new AbortController();
            const c: Candidate = { name, lock, stop, terms: [], stoppedLeading: [], newLeaders: [], events: [], ended: false } as unknown as Candidate;
            c.elector = new LeaderElector({
              lock,
              identity: name,
              leaseDurationMs: P_LD,
              renewDeadlineMs: P_RD,
              retryPeriodMs: P_RP,
              clock,
              rng: rng.fork(),
              callbacks: {
                onStartedLeading: (signal) => {
                  const term: { start: number; end?: number } = { start: clock.monotonic() };
                  c.terms.push(term);
                  if (signal.aborted) term.end = clock.monotonic();
                  else signal.addEventListener("abort", () => (term.end ??= clock.monotonic()), { once: true });
                },
                onStoppedLeading: () => c.stoppedLeading.push(clock.monotonic()),
              },
            });
            all.push(c);
            const p: Process = { slot, gen, c, dead: false };
            c.done = c.elector.run(stop.signal).then(() => {
              c.ended = true;
              // The process exits and its supervisor starts a new one (a new identity) a little later.
              if (!p.dead) clock.setTimeout(() => restart(p), rng.int(1500));
            });
            return p;
          };
          const restart = (p: Process) => {
            if (procs[p.slot] !== p) return;
            procs[p.slot] = spawn(p.slot, p.gen + 1);
          };
          const kill = (p: Process) => {
            if (p.dead) return;
            p.dead = true;
            net.dead.add(p.c.name);
            // A dead process does no work from this instant.
            for (const t of p.c.terms) t.end ??= clock.monotonic();
            clock.setTimeout(() => {
              if (procs[p.slot] === p) procs[p.slot] = spawn(p.slot, p.gen + 1);
            }, rng.int(2000));
          };
          for (let i = 0; i < n; i++) procs.push(spawn(i, 0));

          const chaos = chaosList.filter((x) => x.who < n).sort((a, b) => a.at - b.at);
          for (const x of chaos) {
            await clock.runUntil(t0 + x.at);
            const p = procs[x.who]!;
            const name = p.c.name;
            if (x.kind === "partition") net.partitioned.add(name);
            else if (x.kind === "heal") net.partitioned.delete(name);
            else if (x.kind === "fail") net.failing.set(name, rng.chance(0.5) ? "before" : "after");
            else if (x.kind === "recover") net.failing.delete(name);
            else if (x.kind === "stop") p.c.stop.abort();
            else kill(p);
          }
          await clock.runUntil(t0 + CHAOS_MS);

          // Heal everything: no partitions, failures or delays from now on.
          const healAt = clock.monotonic();
          net.partitioned.clear();
          net.failing.clear();
          net.chaos = undefined;
          // Requests already on the wire still take their time.
          let quiet = healAt;
          for (const f of net.inFlight) quiet = Math.max(quiet, f.until);
          // Every process restarts within 2 s after its exit; give that time too.
          const bound = quiet + 2000 + P_LD + P_RD + 3 * P_RP * 1.2;
          await clock.runUntil(bound);
          const leaders = procs.filter((p) => !p.dead && leading(p.c));
          const state = () =>
            JSON.stringify({ n, seed, failP, slowP, chaos, healAt: healAt - t0, quiet: quiet - t0, record: lease.record, terms: all.map((c) => ({ name: c.name, terms: c.terms.map((t) => [t.start - t0, t.end === undefined ? null : t.end - t0]) })) });

          // Safety: the terms of different candidates never overlap.
          const terms = all.flatMap((c) => c.terms.map((t) => ({ who: c.name, start: t.start, end: t.end ?? Infinity })));
          terms.sort((a, b) => a.start - b.start);
          for (let i = 1; i < terms.length; i++) {
            const prev = terms.slice(0, i).reduce((m, t) => (t.end > m.end ? t : m), terms[0]!);
            if (prev.end > terms[i]!.start) throw new Error(`two leaders: ${prev.who} [${prev.start - t0}, ${prev.end - t0}) and ${terms[i]!.who} from ${terms[i]!.start - t0}\n${state()}`);
          }
          // Liveness: someone leads, and keeps leading while nothing goes wrong.
          if (leaders.length !== 1) throw new Error(`no leader ${bound - quiet} ms after the network healed\n${state()}`);
          const leader = leaders[0]!;
          const termsBefore = leader.c.terms.length;
          await clock.run(10 * P_LD);
          expect(leading(leader.c), state()).toBe(true);
          expect(leader.c.terms.length).toBe(termsBefore);
          expect(procs.filter((p) => leading(p.c))).toHaveLength(1);
          expect(lease.record!.holderIdentity).toBe(leader.c.name);
        },
      ),
      { numRuns: Number(process.env.KUBEMU_PROPERTY_RUNS ?? 500) },
    );
  }, 300_000);
});
