/**
 * The per-zone queue of nodes waiting to be tainted NoExecute (upstream's
 * nodelifecycle/scheduler RateLimitedTimedQueue over a flowcontrol token bucket): each node at
 * most once until removed, processed oldest first, no faster than the zone's rate allows.
 */
import type { Clock } from "@kubemu/common";

/** Burst of every eviction limiter (upstream's EvictionRateLimiterBurst). */
export const EVICTION_RATE_LIMITER_BURST = 1;

/** flowcontrol.RateLimiter's TryAccept side: a token bucket, or (qps ≤ 0) one that never accepts. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly qps: number,
    private readonly burst: number,
    private readonly clock: Clock,
  ) {
    this.tokens = qps > 0 ? burst : 0;
    this.last = clock.now();
  }

  /** Takes a token if one is there (never, for qps ≤ 0). */
  tryAccept(): boolean {
    if (this.qps <= 0) return false;
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.qps) / 1000);
    this.last = now;
    // Tenths added up in floating point fall a hair short of a whole token.
    if (this.tokens < 1 - 1e-9) return false;
    this.tokens = Math.max(0, this.tokens - 1);
    return true;
  }
}

export interface TimedValue {
  value: string;
  uid: string | undefined;
  addedAt: number;
  processAt: number;
}

export class RateLimitedTimedQueue {
  /** Ordered by processAt, then insertion. */
  private queue: TimedValue[] = [];
  /** Values added and not removed (processed ones stay here until removed: processed once). */
  private readonly set = new Set<string>();
  private limiter: TokenBucket;

  constructor(
    qps: number,
    private readonly clock: Clock,
  ) {
    this.limiter = new TokenBucket(qps, EVICTION_RATE_LIMITER_BURST, clock);
  }

  get qps(): number {
    return this.limiter.qps;
  }

  /** Adds a value not added before (or removed since); answers whether it was added. */
  add(value: string, uid: string | undefined): boolean {
    if (this.set.has(value)) return false;
    const now = this.clock.now();
    this.insert({ value, uid, addedAt: now, processAt: now });
    this.set.add(value);
    return true;
  }

  /** Forgets the value so it can be added again; answers whether it was known. */
  remove(value: string): boolean {
    if (!this.set.has(value)) return false;
    this.set.delete(value);
    this.queue = this.queue.filter((v) => v.value !== value);
    return true;
  }

  has(value: string): boolean {
    return this.set.has(value);
  }

  /** Values still waiting to be processed, in order. */
  pending(): readonly TimedValue[] {
    return this.queue;
  }

  /**
   * Processes due values oldest first while the limiter gives tokens. `fn` answers done, or not
   * done and how long to wait before trying that value again.
   */
  async try(fn: (v: TimedValue) => Promise<{ done: boolean; retryAfterMs?: number }>): Promise<void> {
    for (let head = this.queue[0]; head; head = this.queue[0]) {
      if (!this.limiter.tryAccept()) return;
      const now = this.clock.now();
      if (now < head.processAt) return;
      const r = await fn(head);
      // The value may have been removed (or re-added) while fn ran.
      const i = this.queue.indexOf(head);
      if (i === -1) continue;
      this.queue.splice(i, 1);
      if (!r.done) this.insert({ ...head, processAt: now + (r.retryAfterMs ?? 0) + 1 });
    }
  }

  /**
   * Swaps in a limiter of `qps` (0 stops processing) unless the rate is already that; a new
   * bucket starts empty when the old one was exhausted, so a swap never grants a free token.
   */
  swapLimiter(qps: number): void {
    if (this.limiter.qps === qps) return;
    const next = new TokenBucket(qps, EVICTION_RATE_LIMITER_BURST, this.clock);
    if (qps > 0 && !this.limiter.tryAccept()) next.tryAccept();
    this.limiter = next;
  }

  private insert(v: TimedValue): void {
    let i = this.queue.length;
    while (i > 0 && this.queue[i - 1]!.processAt > v.processAt) i--;
    this.queue.splice(i, 0, v);
  }
}
