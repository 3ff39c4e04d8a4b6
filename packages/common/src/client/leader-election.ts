/**
 * LeaderElector: one leader among a component's replicas, on a coordination.k8s.io/v1 Lease, with
 * client-go's algorithm (tools/leaderelection):
 * - a candidate takes the lease when it is unheld, or when the record it last saw has not changed
 *   for leaseDuration — judged on this process's monotonic clock from the moment it saw the
 *   record change, never by comparing its clock with the holder's timestamps;
 * - every write is a compare-and-swap on the Lease's resourceVersion, so two candidates never
 *   both take it;
 * - the leader renews every retryPeriod; if no renew succeeds within renewDeadline of the start of
 *   the last successful one, it stops all its work at once (the signal given to
 *   onStartedLeading aborts). renewDeadline < leaseDuration, and every other candidate counts
 *   leaseDuration from a moment after that renew was sent, so the old leader has stopped before
 *   anyone else can take over. (Like client-go this is not fencing: a write the old leader sent
 *   before stopping may still land.)
 * - on graceful shutdown the leader releases the lease (holder "" and a 1 s duration) so a
 *   standby takes over at its next retry instead of waiting out the lease.
 */
import type { Logger } from "pino";
import type { KubeObject } from "../api/object.js";
import { realClock, type Clock, type Timer } from "../clock.js";
import { silentLogger } from "../logger.js";
import { randomRng, type Rng } from "../rng.js";
import { isAlreadyExists, isNotFound } from "../status.js";
import type { ApiClient } from "./api-client.js";
import { Resources } from "./resources.js";

/** The fields of a Lease's spec the election uses (times as RFC 3339 with microseconds). */
export interface LeaderElectionRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: string;
  renewTime: string;
  leaseTransitions: number;
}

/** The lock: reads and compare-and-swap writes of one record (client-go's resourcelock.Interface). */
export interface LeaseLock {
  /** The record and an opaque version of it, or undefined if there is none yet. */
  get(): Promise<{ record: LeaderElectionRecord; version: string } | undefined>;
  /** Creates the record; fails (AlreadyExists) if it exists. Answers the new version. */
  create(record: LeaderElectionRecord): Promise<string>;
  /** Replaces the record if it is still at `version`; fails (Conflict) otherwise. Answers the new version. */
  update(record: LeaderElectionRecord, version: string): Promise<string>;
  /** "kube-system/kube-scheduler" */
  describe(): string;
  /** The Lease object, for events about it. */
  eventObject(): KubeObject;
}

/** RFC 3339 with microseconds (metav1.MicroTime). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** A LeaseLock on a coordination.k8s.io/v1 Lease through the API. */
export class ApiLeaseLock implements LeaseLock {
  private last: KubeObject | undefined;
  constructor(
    private readonly client: Pick<ApiClient, "get" | "create" | "update">,
    readonly namespace: string,
    readonly name: string,
  ) {}

  async get(): Promise<{ record: LeaderElectionRecord; version: string } | undefined> {
    try {
      this.last = await this.client.get(Resources.leases, this.namespace, this.name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    return { record: recordOf(this.last), version: this.last.metadata.resourceVersion ?? "" };
  }

  async create(record: LeaderElectionRecord): Promise<string> {
    this.last = await this.client.create(Resources.leases, { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: this.name, namespace: this.namespace }, spec: { ...record } });
    return this.last.metadata.resourceVersion ?? "";
  }

  async update(record: LeaderElectionRecord, version: string): Promise<string> {
    const base = this.last ?? { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: this.name, namespace: this.namespace } };
    const next: KubeObject = { ...base, metadata: { ...base.metadata, resourceVersion: version }, spec: { ...((base.spec as object) ?? {}), ...record } };
    this.last = await this.client.update(Resources.leases, next);
    return this.last.metadata.resourceVersion ?? "";
  }

  describe(): string {
    return `${this.namespace}/${this.name}`;
  }

  eventObject(): KubeObject {
    return this.last ?? { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: this.name, namespace: this.namespace } };
  }
}

function recordOf(lease: KubeObject): LeaderElectionRecord {
  const s = (lease.spec ?? {}) as Partial<Record<keyof LeaderElectionRecord, unknown>>;
  return {
    holderIdentity: typeof s.holderIdentity === "string" ? s.holderIdentity : "",
    leaseDurationSeconds: typeof s.leaseDurationSeconds === "number" ? s.leaseDurationSeconds : 0,
    acquireTime: typeof s.acquireTime === "string" ? s.acquireTime : "",
    renewTime: typeof s.renewTime === "string" ? s.renewTime : "",
    leaseTransitions: typeof s.leaseTransitions === "number" ? s.leaseTransitions : 0,
  };
}

const sameRecord = (a: LeaderElectionRecord, b: LeaderElectionRecord) =>
  a.holderIdentity === b.holderIdentity && a.leaseDurationSeconds === b.leaseDurationSeconds && a.acquireTime === b.acquireTime && a.renewTime === b.renewTime && a.leaseTransitions === b.leaseTransitions;

export interface LeaderCallbacks {
  /** Runs the leader's work; stop everything when the signal aborts. */
  onStartedLeading(signal: AbortSignal): void;
  /** Always called once when run() ends, leader or not. */
  onStoppedLeading(): void;
  /** The holder this process saw changed (including to itself). */
  onNewLeader?(identity: string): void;
}

export interface LeaderElectionOptions {
  lock: LeaseLock;
  /** This candidate's identity: `<process name>_<random id>`. */
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  callbacks: LeaderCallbacks;
  /** Release the lease when run()'s signal aborts while leading (default true). */
  releaseOnCancel?: boolean;
  /** Awaited (at most renewDeadline) after the work's signal aborted and before the release: resolves once the work has stopped. */
  beforeRelease?: () => Promise<void>;
  /** Records the upstream LeaderElection events on the Lease. */
  recorder?: { event(obj: KubeObject, type: "Normal" | "Warning", reason: string, message: string): void };
  clock?: Clock;
  rng?: Rng;
  logger?: Logger;
}

/** client-go's JitterFactor: a candidate retries every retryPeriod × [1, 1.2). */
const JITTER = 1.2;

/** Checks the durations as client-go's NewLeaderElector does; returns the error text or undefined. */
export function leaderElectionProblem(o: Pick<LeaderElectionOptions, "leaseDurationMs" | "renewDeadlineMs" | "retryPeriodMs">): string | undefined {
  if (!(o.leaseDurationMs > o.renewDeadlineMs)) return "leaseDuration must be greater than renewDeadline";
  if (!(o.renewDeadlineMs > JITTER * o.retryPeriodMs)) return `renewDeadline must be greater than retryPeriod*JitterFactor`;
  if (!(o.leaseDurationMs >= 1)) return "leaseDuration must be greater than zero";
  if (!(o.renewDeadlineMs >= 1)) return "renewDeadline must be greater than zero";
  if (!(o.retryPeriodMs >= 1)) return "retryPeriod must be greater than zero";
  return undefined;
}

export class LeaderElector {
  readonly identity: string;
  private readonly lock: LeaseLock;
  private readonly clock: Clock;
  private readonly rng: Rng;
  private readonly log: Logger;
  private readonly o: LeaderElectionOptions;
  private observed: LeaderElectionRecord | undefined;
  private observedVersion = "";
  /** Monotonic time at which this process saw the current record change. */
  private observedAt = 0;
  private leading = false;
  private reportedLeader = "";

  constructor(o: LeaderElectionOptions) {
    const problem = leaderElectionProblem(o);
    if (problem) throw new RangeError(problem);
    if (!o.identity) throw new RangeError("Lock identity is empty");
    this.o = o;
    this.identity = o.identity;
    this.lock = o.lock;
    this.clock = o.clock ?? realClock;
    this.rng = o.rng ?? randomRng().rng;
    this.log = (o.logger ?? silentLogger).child({ lease: o.lock.describe() });
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The holder in the record this process saw last ("" if none). */
  get leader(): string {
    return this.observed?.holderIdentity ?? "";
  }

  /** The last record seen (leaseTransitions is the election's term). */
  get record(): LeaderElectionRecord | undefined {
    return this.observed;
  }

  /** Campaigns, leads until the lease is lost or the signal aborts, then returns (once). */
  async run(signal: AbortSignal): Promise<void> {
    try {
      const acquiredAt = await this.acquire(signal);
      if (acquiredAt === undefined) return;
      const work = new AbortController();
      this.leading = true;
      this.log.info({ identity: this.identity }, "successfully acquired lease");
      this.o.recorder?.event(this.lock.eventObject(), "Normal", "LeaderElection", `${this.identity} became leader`);
      try {
        this.o.callbacks.onStartedLeading(work.signal);
      } catch (e) {
        this.log.error({ err: e instanceof Error ? e.message : String(e) }, "onStartedLeading threw");
      }
      await this.renewUntilLost(signal, work, acquiredAt);
    } finally {
      this.leading = false;
      this.o.callbacks.onStoppedLeading();
    }
  }

  /**
   * Retries every retryPeriod (jittered) until it holds the lease. Answers the monotonic time the
   * successful write was sent (the lease is trusted from then, as a renew's is), or undefined if
   * the signal aborted first.
   */
  private async acquire(signal: AbortSignal): Promise<number | undefined> {
    this.log.info({ identity: this.identity }, `attempting to acquire leader lease ${this.lock.describe()}...`);
    while (!signal.aborted) {
      const start = await this.tryAcquireOrRenew();
      if (start !== undefined) {
        // Stopped while the request was in flight: give back what we just took, never lead on it.
        if (signal.aborted) {
          if (this.o.releaseOnCancel !== false) await this.release();
          return undefined;
        }
        // An answer slower than renewDeadline: others may count the lease as expired already.
        if (this.clock.monotonic() < start + this.o.renewDeadlineMs) return start;
        this.log.info({ identity: this.identity }, "acquired the lease too late to trust it; confirming with another renew");
      }
      try {
        await this.clock.sleep(this.o.retryPeriodMs * (1 + this.rng.float() * (JITTER - 1)), signal);
      } catch {
        return undefined;
      }
    }
    return undefined;
  }

  /**
   * Renews every retryPeriod. The deadline is renewDeadline after the *start* of the last renew
   * that succeeded: the write that succeeded was sent after that moment, so every other
   * candidate's leaseDuration is counted from later still.
   */
  private async renewUntilLost(signal: AbortSignal, work: AbortController, acquiredAt: number): Promise<void> {
    // The acquiring request was sent at acquiredAt: the first deadline counts from there, not from its answer.
    let lastRenewStart = acquiredAt;
    let deadline: Timer | undefined;
    let lost = false;
    const wake = new AbortController();
    // A graceful stop ends the work at once, even while a renew request is still in flight (the
    // deadline below no longer fires once the signal aborted).
    const onStop = () => {
      if (lost) return;
      this.leading = false;
      work.abort();
    };
    signal.addEventListener("abort", onStop, { once: true });
    const armDeadline = () => {
      deadline?.cancel();
      const remaining = lastRenewStart + this.o.renewDeadlineMs - this.clock.monotonic();
      deadline = this.clock.setTimeout(() => {
        if (lost || signal.aborted) return;
        lost = true;
        // Stop now, even while a renew request hangs: the lease may soon expire elsewhere.
        this.leading = false;
        work.abort();
        wake.abort();
        this.log.error({ identity: this.identity, renewDeadlineMs: this.o.renewDeadlineMs }, `failed to renew lease ${this.lock.describe()}: timed out waiting for the condition`);
        this.o.recorder?.event(this.lock.eventObject(), "Normal", "LeaderElection", `${this.identity} stopped leading`);
      }, Math.max(0, remaining));
    };
    armDeadline();
    const both = AbortSignal.any([signal, wake.signal]);
    try {
      while (!lost && !signal.aborted) {
        // Every retryPeriod, sooner when the deadline is nearer than that (after a slow acquire).
        const left = lastRenewStart + this.o.renewDeadlineMs - this.clock.monotonic();
        try {
          await this.clock.sleep(Math.min(this.o.retryPeriodMs, Math.max(this.o.retryPeriodMs / 5, left - this.o.retryPeriodMs)), both);
        } catch {
          break;
        }
        const sent = await this.tryAcquireOrRenew();
        if (lost || signal.aborted) break;
        if (sent !== undefined) {
          lastRenewStart = sent;
          armDeadline();
        }
      }
    } finally {
      deadline?.cancel();
      signal.removeEventListener("abort", onStop);
    }
    if (!lost) {
      // Graceful stop while leading: the work stops first (its writes must not land after a
      // standby took over), then the lease goes.
      this.leading = false;
      work.abort();
      if (this.o.beforeRelease) await Promise.race([this.o.beforeRelease().catch(() => undefined), this.clock.sleep(this.o.renewDeadlineMs)]);
      if (this.o.releaseOnCancel !== false) await this.release();
    }
  }

  /** Gives the lease up so a standby can take it at once. */
  private async release(): Promise<void> {
    if (!this.observed || this.observed.holderIdentity !== this.identity) return;
    const now = microTime(this.clock.now());
    const rec: LeaderElectionRecord = { holderIdentity: "", leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: this.observed.leaseTransitions };
    try {
      this.setObserved(rec, await this.lock.update(rec, this.observedVersion));
      this.log.info({ identity: this.identity }, "released the lease");
    } catch (e) {
      this.log.warn({ err: e instanceof Error ? e.message : String(e) }, "failed to release the lease");
    }
  }

  /**
   * client-go's tryAcquireOrRenew. Answers, when this process holds the lease after the call, the
   * monotonic time just before its successful write was sent (others can only have seen that
   * write later, so their leaseDuration counts from after it); undefined otherwise. The read
   * before the write (slow on a fresh connection) does not eat into the leader's renew deadline.
   */
  private async tryAcquireOrRenew(): Promise<number | undefined> {
    const wall = microTime(this.clock.now());
    const desired: LeaderElectionRecord = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000),
      acquireTime: wall,
      renewTime: wall,
      leaseTransitions: 0,
    };
    try {
      // 1. Fast path for the leader: update the record we wrote last.
      if (this.leading && this.observed?.holderIdentity === this.identity) {
        const rec = { ...desired, acquireTime: this.observed.acquireTime, leaseTransitions: this.observed.leaseTransitions };
        const sent = this.clock.monotonic();
        try {
          this.setObserved(rec, await this.lock.update(rec, this.observedVersion), sent);
          return sent;
        } catch (e) {
          this.log.info({ err: e instanceof Error ? e.message : String(e) }, "lease renew fast path failed; reading the lease");
        }
      }
      // 2. Read (or create) the record.
      const current = await this.lock.get();
      if (!current) {
        let version: string;
        const sent = this.clock.monotonic();
        try {
          version = await this.lock.create(desired);
        } catch (e) {
          if (!isAlreadyExists(e)) this.log.warn({ err: e instanceof Error ? e.message : String(e) }, "error initially creating the lease");
          return undefined;
        }
        this.setObserved(desired, version, sent);
        return sent;
      }
      const now = this.clock.monotonic();
      if (!this.observed || !sameRecord(this.observed, current.record) || this.observedVersion !== current.version) this.setObserved(current.record, current.version, now);
      // 3. Someone else holds it and it has not expired as we measure it.
      const held = current.record.holderIdentity !== "" && current.record.holderIdentity !== this.identity;
      if (held && this.observedAt + current.record.leaseDurationSeconds * 1000 > now) return undefined;
      // 4. Take or renew it.
      if (current.record.holderIdentity === this.identity) {
        desired.acquireTime = current.record.acquireTime;
        desired.leaseTransitions = current.record.leaseTransitions;
      } else {
        desired.leaseTransitions = current.record.leaseTransitions + 1;
      }
      const sent = this.clock.monotonic();
      this.setObserved(desired, await this.lock.update(desired, current.version), sent);
      return sent;
    } catch (e) {
      this.log.debug({ err: e instanceof Error ? e.message : String(e) }, "failed to acquire or renew the lease");
      return undefined;
    }
  }

  private setObserved(rec: LeaderElectionRecord, version: string, at = this.clock.monotonic()): void {
    this.observed = rec;
    this.observedVersion = version;
    this.observedAt = at;
    if (rec.holderIdentity !== this.reportedLeader) {
      this.reportedLeader = rec.holderIdentity;
      if (rec.holderIdentity !== "") {
        if (rec.holderIdentity !== this.identity) this.log.info({ leader: rec.holderIdentity }, "new leader elected");
        try {
          this.o.callbacks.onNewLeader?.(rec.holderIdentity);
        } catch (e) {
          this.log.error({ err: e instanceof Error ? e.message : String(e) }, "onNewLeader threw");
        }
      }
    }
  }
}
