/**
 * client-go's flowcontrol.Backoff as the kubelet uses it for CrashLoopBackOff and image pulls:
 * per key, the delay starts at `initial` and doubles up to `max` on each Next; an entry unused for
 * twice `max` starts over. The first failure restarts at once; from the second on the container
 * waits out the current delay counted from when it finished.
 */
export class Backoff {
  private readonly entries = new Map<string, { delayMs: number; lastUpdate: number }>();

  constructor(
    readonly initialMs: number,
    readonly maxMs: number,
  ) {}

  /** The current delay of key (0 when it has none). */
  get(key: string): number {
    return this.entries.get(key)?.delayMs ?? 0;
  }

  /** Records one more failure at eventTime: the delay doubles (or starts at initial). */
  next(key: string, eventTime: number): void {
    const e = this.entries.get(key);
    if (!e || this.expired(e, eventTime)) this.entries.set(key, { delayMs: this.initialMs, lastUpdate: eventTime });
    else this.entries.set(key, { delayMs: Math.min(e.delayMs * 2, this.maxMs), lastUpdate: eventTime });
  }

  /** Whether key is still backing off at now for something that happened at eventTime (a container's finishedAt). */
  isInBackOffSince(key: string, eventTime: number, now: number): boolean {
    const e = this.entries.get(key);
    if (!e || this.expired(e, now)) return false;
    return now - eventTime < e.delayMs;
  }

  /** Whether key is backing off at now, counted from its last update (image pulls). */
  isInBackOffSinceUpdate(key: string, now: number): boolean {
    const e = this.entries.get(key);
    if (!e || this.expired(e, now)) return false;
    return now - e.lastUpdate < e.delayMs;
  }

  /** When a key backing off since eventTime may go again. */
  readyAt(key: string, eventTime: number): number {
    return eventTime + this.get(key);
  }

  reset(key: string): void {
    this.entries.delete(key);
  }

  /** Drops entries unused for twice the cap. */
  gc(now: number): void {
    for (const [k, e] of this.entries) if (this.expired(e, now)) this.entries.delete(k);
  }

  private expired(e: { lastUpdate: number }, now: number): boolean {
    return now - e.lastUpdate > 2 * this.maxMs;
  }
}
