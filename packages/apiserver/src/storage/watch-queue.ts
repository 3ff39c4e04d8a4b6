/**
 * EventQueue: the consumer side of every Watch. A bounded FIFO of WatchEvents that the
 * producer fills (waiting for room, or failing fast, as its policy needs) and the client
 * drains by async iteration.
 */
import type { Watch, WatchEvent } from "./interface.js";

export class EventQueue implements Watch {
  private items: WatchEvent[] = [];
  private ended = false;
  private stopped = false;
  private readerWake: (() => void) | undefined;
  private writerWakes: (() => void)[] = [];
  private iterating = false;

  /**
   * @param capacity events held before tryPush fails / push waits.
   * @param onStop called once when the watch stops (by the consumer or the producer).
   */
  constructor(
    readonly capacity: number,
    private readonly onStop?: () => void,
  ) {}

  /** Events waiting to be read. */
  get size(): number {
    return this.items.length;
  }

  /** True once stop() ran or the stream ended. */
  get done(): boolean {
    return this.stopped || this.ended;
  }

  /** Appends without waiting; false when full or finished (the caller applies its policy). */
  tryPush(ev: WatchEvent): boolean {
    if (this.done || this.items.length >= this.capacity) return false;
    this.items.push(ev);
    this.wakeReader();
    return true;
  }

  /** Appends once there is room; resolves false if the watch stopped meanwhile. */
  async push(ev: WatchEvent): Promise<boolean> {
    while (!this.done && this.items.length >= this.capacity) {
      await new Promise<void>((resolve) => this.writerWakes.push(resolve));
    }
    if (this.done) return false;
    this.items.push(ev);
    this.wakeReader();
    return true;
  }

  /** No more events: iteration ends after the queued ones are read. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.wakeReader();
    this.wakeWriters();
    this.fireStop();
  }

  /** Stops now: queued events are dropped and iteration ends. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.items = [];
    this.wakeReader();
    this.wakeWriters();
    this.fireStop();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    if (this.iterating) throw new Error("a Watch can be iterated once");
    this.iterating = true;
    try {
      for (;;) {
        if (this.stopped) return;
        const ev = this.items.shift();
        if (ev !== undefined) {
          this.wakeWriters();
          yield ev;
          continue;
        }
        if (this.ended) return;
        await new Promise<void>((resolve) => (this.readerWake = resolve));
      }
    } finally {
      this.stop();
    }
  }

  private fireStopped = false;
  private fireStop(): void {
    if (this.fireStopped) return;
    this.fireStopped = true;
    this.onStop?.();
  }

  private wakeReader(): void {
    const w = this.readerWake;
    this.readerWake = undefined;
    w?.();
  }

  private wakeWriters(): void {
    const ws = this.writerWakes;
    this.writerWakes = [];
    for (const w of ws) w();
  }
}
