/**
 * LeaseTracker keeps lease deadlines on the Raft leader. As in etcd, keep-alives are not
 * replicated: only the leader knows when a lease expires, and it revokes expired leases by
 * proposing `leaseRevoke` through Raft. A new leader renews every deadline to a full ttl, so a
 * leader change never expires a lease early (it can only extend it).
 *
 * Time is passed in (`now`, milliseconds from an injected Clock) so tests drive it virtually.
 */
import { MvccError } from "./errors.js";

/** LeaseTrackerOptions tunes expiry handling. */
export interface LeaseTrackerOptions {
  /**
   * After `expired()` reports a lease, it is reported again only if still present this many ms
   * later (its revoke proposal may have been lost). Default 3000, etcd's retry interval.
   */
  retryIntervalMs?: number;
}

interface Deadline {
  readonly ttl: number;
  /** Absolute ms at which the lease expires. */
  deadline: number;
}

export class LeaseTracker {
  private readonly byId = new Map<number, Deadline>();
  private readonly retryMs: number;

  constructor(opts: LeaseTrackerOptions = {}) {
    this.retryMs = opts.retryIntervalMs ?? 3000;
    if (!(this.retryMs > 0)) throw new RangeError(`LeaseTracker: retryIntervalMs must be positive, got ${this.retryMs}`);
  }

  /** promote (re)starts tracking on becoming leader: every lease gets a fresh deadline now + ttl. */
  promote(leases: Iterable<{ id: number; ttl: number }>, now: number): void {
    this.byId.clear();
    for (const l of leases) this.byId.set(l.id, { ttl: l.ttl, deadline: now + l.ttl * 1000 });
  }

  /** demote stops tracking (this replica is no longer leader). */
  demote(): void {
    this.byId.clear();
  }

  /** grant starts tracking a lease whose leaseGrant has been applied. */
  grant(id: number, ttl: number, now: number): void {
    this.byId.set(id, { ttl, deadline: now + ttl * 1000 });
  }

  /** revoke stops tracking a lease whose leaseRevoke has been applied. */
  revoke(id: number): void {
    this.byId.delete(id);
  }

  /** keepAlive renews a lease to now + ttl and returns the ttl in seconds; ErrLeaseNotFound if unknown. */
  keepAlive(id: number, now: number): number {
    const d = this.get(id);
    d.deadline = now + d.ttl * 1000;
    return d.ttl;
  }

  /** remaining is the whole seconds left before the lease expires (rounded up, never negative). */
  remaining(id: number, now: number): number {
    return Math.max(0, Math.ceil((this.get(id).deadline - now) / 1000));
  }

  /**
   * expired returns up to `max` lease ids whose deadline has passed, earliest first (ties by
   * id), for the leader to revoke through Raft. Each returned lease is pushed back by the
   * retry interval so the same lease is not proposed on every tick while its revoke commits.
   */
  expired(now: number, max = Number.POSITIVE_INFINITY): number[] {
    const due: [number, Deadline][] = [];
    for (const entry of this.byId) if (entry[1].deadline <= now) due.push(entry);
    due.sort((a, b) => a[1].deadline - b[1].deadline || a[0] - b[0]);
    const out = due.slice(0, max);
    for (const [, d] of out) d.deadline = now + this.retryMs;
    return out.map(([id]) => id);
  }

  /** size is the number of tracked leases. */
  get size(): number {
    return this.byId.size;
  }

  private get(id: number): Deadline {
    const d = this.byId.get(id);
    if (d === undefined) throw new MvccError("ErrLeaseNotFound", `mvcc: lease ${id} not found`);
    return d;
  }
}
