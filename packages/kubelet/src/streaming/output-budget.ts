/**
 * How much of one session's output the kubelet holds for a slow client. Upstream copies a
 * command's stdout pipe to the stream with io.Copy, so a client that stops reading blocks the
 * write and the pipe is no longer read: the command blocks on a full pipe and nothing piles up in
 * the kubelet. Here writes to a WebSocket or an SPDY stream never block, so the session counts the
 * bytes handed to its transport and not yet written out to the network; above the high-water mark
 * it tells its producer to stop reading (`add` returns false) and calls the drain listeners once
 * the backlog has fallen to the low-water mark.
 */

/** Bytes a session may have queued before its producer is paused (1 MiB). */
export const OUTPUT_HIGH_WATER = 1024 * 1024;
/** The backlog at which a paused producer resumes. */
export const OUTPUT_LOW_WATER = OUTPUT_HIGH_WATER / 4;

export class OutputBudget {
  private queuedBytes = 0;
  private peakBytes = 0;
  private full = false;
  private readonly drainListeners: (() => void)[] = [];

  constructor(
    readonly highWater = OUTPUT_HIGH_WATER,
    readonly lowWater = Math.min(OUTPUT_LOW_WATER, highWater),
  ) {}

  /** Bytes handed to the transport and not yet written out. */
  get queued(): number {
    return this.queuedBytes;
  }

  /** The most that was ever queued at once (what a slow client cost). */
  get peak(): number {
    return this.peakBytes;
  }

  /** n more bytes were handed to the transport; false: the producer should stop until drained. */
  add(n: number): boolean {
    this.queuedBytes += n;
    if (this.queuedBytes > this.peakBytes) this.peakBytes = this.queuedBytes;
    if (this.queuedBytes > this.highWater) this.full = true;
    return !this.full;
  }

  /** n bytes left for the network (or were dropped with the connection). */
  done(n: number): void {
    this.queuedBytes = Math.max(0, this.queuedBytes - n);
    if (this.full && this.queuedBytes <= this.lowWater) {
      this.full = false;
      for (const cb of [...this.drainListeners]) cb();
    }
  }

  /** Called every time a full backlog has drained. */
  onDrain(cb: () => void): void {
    this.drainListeners.push(cb);
  }
}
