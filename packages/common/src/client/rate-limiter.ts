/**
 * Rate limiters for the work queue, as client-go's: how long an item waits before it is handled
 * again after a failure.
 */
import type { Clock } from "../clock.js";

export interface RateLimiter<K> {
  /** How long to wait before handling `item` again (counts a failure). */
  when(item: K): number;
  /** Stops tracking `item` (it succeeded). */
  forget(item: K): void;
  /** Failures counted for `item` since the last forget. */
  numRequeues(item: K): number;
}

/** base × 2^failures, capped at max (client-go's ItemExponentialFailureRateLimiter). */
export class ItemExponentialRateLimiter<K> implements RateLimiter<K> {
  private readonly failures = new Map<K, number>();
  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
  ) {
    if (!(baseMs > 0) || !(maxMs >= baseMs)) throw new RangeError("exponential rate limiter needs 0 < base <= max");
  }
  when(item: K): number {
    const n = this.failures.get(item) ?? 0;
    this.failures.set(item, n + 1);
    // 2^n overflows to Infinity for large n; the cap keeps the result finite.
    return Math.min(this.baseMs * 2 ** n, this.maxMs);
  }
  forget(item: K): void {
    this.failures.delete(item);
  }
  numRequeues(item: K): number {
    return this.failures.get(item) ?? 0;
  }
}

/**
 * An overall token bucket (client-go's BucketRateLimiter over x/time/rate): `qps` tokens a second,
 * at most `burst` saved up. Each when() reserves a token and answers how long until it is due.
 */
export class BucketRateLimiter<K> implements RateLimiter<K> {
  private tokens: number;
  private last: number;
  constructor(
    private readonly qps: number,
    private readonly burst: number,
    private readonly clock: Clock,
  ) {
    if (!(qps > 0) || !(burst >= 1)) throw new RangeError("bucket rate limiter needs qps > 0 and burst >= 1");
    this.tokens = burst;
    this.last = clock.now();
  }
  when(_item: K): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.qps) / 1000);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.qps;
  }
  forget(_item: K): void {}
  numRequeues(_item: K): number {
    return 0;
  }
}

/** The longest wait any of the limiters asks for. */
export class MaxOfRateLimiter<K> implements RateLimiter<K> {
  private readonly limiters: RateLimiter<K>[];
  constructor(...limiters: RateLimiter<K>[]) {
    this.limiters = limiters;
  }
  when(item: K): number {
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.when(item));
    return max;
  }
  forget(item: K): void {
    for (const l of this.limiters) l.forget(item);
  }
  numRequeues(item: K): number {
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.numRequeues(item));
    return max;
  }
}

/** client-go's default for controllers: per item 5 ms doubling to 1000 s, overall 10 qps with a burst of 100. */
export function defaultControllerRateLimiter<K>(clock: Clock): RateLimiter<K> {
  return new MaxOfRateLimiter<K>(new ItemExponentialRateLimiter<K>(5, 1000_000), new BucketRateLimiter<K>(10, 100, clock));
}
