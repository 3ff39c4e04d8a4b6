import type { Clock, Timer } from "../clock.js";

/**
 * Delivers callbacks after a delay while keeping their order, as a TCP stream would: a frame
 * never overtakes one queued before it, even if its own delay is shorter.
 */
export class DelayLine {
  private readonly queue: { at: number; fn: () => void }[] = [];
  private head = 0;
  private timer: Timer | undefined;

  constructor(private readonly clock: Clock) {}

  /** True while frames are held, so later frames must queue behind them. */
  get busy(): boolean {
    return this.head < this.queue.length;
  }

  push(delayMs: number, fn: () => void): void {
    const last = this.queue[this.queue.length - 1];
    const at = Math.max(this.clock.now() + delayMs, this.busy && last ? last.at : 0);
    this.queue.push({ at, fn });
    if (!this.timer) this.arm();
  }

  /** Drops everything still held (the connection is gone). */
  clear(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.queue.length = 0;
    this.head = 0;
  }

  private arm(): void {
    const next = this.queue[this.head];
    if (!next) return;
    this.timer = this.clock.setTimeout(() => this.drain(), Math.max(0, next.at - this.clock.now()));
  }

  private drain(): void {
    this.timer = undefined;
    const now = this.clock.now();
    for (let e = this.queue[this.head]; e && e.at <= now; e = this.queue[this.head]) {
      this.head++;
      e.fn();
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (!this.timer) {
      this.arm();
    }
  }
}
