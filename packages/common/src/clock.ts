/** A cancellable timer handle returned by {@link Clock.setTimeout}. */
export interface Timer {
  cancel(): void;
}

/**
 * Time as every kubemu component sees it. Inject a Clock instead of calling Date.now() or
 * setTimeout directly so tests can run on virtual time with {@link FakeClock}.
 */
export interface Clock {
  /** Milliseconds since the epoch (wall time for RealClock, virtual for FakeClock). */
  now(): number;
  /**
   * Milliseconds on a clock that only moves forward at a steady rate (never stepped by NTP or an
   * operator), for measuring durations such as lease expiry; its origin is arbitrary.
   */
  monotonic(): number;
  /** Runs fn once after ms. */
  setTimeout(fn: () => void, ms: number): Timer;
  /** Runs fn every ms until cancelled. */
  setInterval(fn: () => void, ms: number): Timer;
  /** Resolves after ms; rejects with the signal's reason if aborted first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function sleepOn(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      timer.cancel();
      reject(signal?.reason);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The real clock: Date.now and Node timers. Timers are unref'd so they never keep a process alive alone. */
export class RealClock implements Clock {
  now(): number {
    return Date.now();
  }
  monotonic(): number {
    return performance.now();
  }
  setTimeout(fn: () => void, ms: number): Timer {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  }
  setInterval(fn: () => void, ms: number): Timer {
    const t = setInterval(fn, ms);
    return { cancel: () => clearInterval(t) };
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }
}

export const realClock: Clock = new RealClock();

interface Scheduled {
  at: number;
  seq: number;
  fn: () => void;
  every?: number;
  cancelled: boolean;
}

/**
 * Virtual time for tests. Nothing happens until {@link FakeClock.advance} moves time forward;
 * due timers then fire in (time, creation) order, each seeing now() equal to its due time.
 */
export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private queue: Scheduled[] = [];

  constructor(startMs = 0) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  monotonic(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    return this.schedule(fn, Math.max(0, ms));
  }

  setInterval(fn: () => void, ms: number): Timer {
    if (ms <= 0) throw new RangeError("interval must be positive");
    return this.schedule(fn, ms, ms);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }

  /** Number of timers still waiting to fire. */
  pending(): number {
    return this.queue.filter((s) => !s.cancelled).length;
  }

  /** Moves time forward by ms, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const next = this.popDue(target);
      if (!next) break;
      this.current = next.at;
      if (next.every !== undefined) {
        next.at += next.every;
        this.insert(next);
      }
      next.fn();
    }
    this.current = target;
  }

  /** Advances in small steps, letting promise continuations run between timers. */
  async advanceAsync(ms: number, stepMs = 1): Promise<void> {
    const target = this.current + ms;
    while (this.current < target) {
      this.advance(Math.min(stepMs, target - this.current));
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  private schedule(fn: () => void, ms: number, every?: number): Timer {
    const entry: Scheduled = { at: this.current + ms, seq: this.seq++, fn, every, cancelled: false };
    this.insert(entry);
    return { cancel: () => void (entry.cancelled = true) };
  }

  private insert(entry: Scheduled): void {
    this.queue.push(entry);
    this.queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
  }

  private popDue(target: number): Scheduled | undefined {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if (head.cancelled) {
        this.queue.shift();
        continue;
      }
      if (head.at > target) return undefined;
      this.queue.shift();
      return head;
    }
    return undefined;
  }
}
