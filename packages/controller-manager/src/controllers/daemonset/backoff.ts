/**
 * Per-key exponential backoff on an injected clock (client-go's flowcontrol.Backoff, without
 * jitter as the controller-manager builds it): the DaemonSet controller waits before killing a
 * failed daemon pod again on the same node, so it does not fight a kubelet that keeps
 * rejecting the pod in a hot loop.
 */
import type { Clock } from "@kubemu/common";

interface Entry {
  backoffMs: number;
  lastUpdate: number;
}

export class Backoff {
  private readonly entries = new Map<string, Entry>();

  constructor(
    readonly clock: Clock,
    private readonly initialMs: number,
    private readonly maxMs: number,
  ) {}

  /** The current delay of `id` (0 if none). */
  get(id: string): number {
    return this.entries.get(id)?.backoffMs ?? 0;
  }

  /** Records an attempt at `now`: the first (or first after a quiet 2×max) waits initialMs, each next one twice the last, up to max. */
  next(id: string, now: number): void {
    const e = this.entries.get(id);
    if (!e || this.expired(e, now)) this.entries.set(id, { backoffMs: this.initialMs, lastUpdate: now });
    else {
      e.backoffMs = Math.min(e.backoffMs * 2, this.maxMs);
      e.lastUpdate = now;
    }
  }

  /** True while less than the current delay has passed since the last attempt. */
  isInBackOffSinceUpdate(id: string, now: number): boolean {
    const e = this.entries.get(id);
    if (!e || this.expired(e, now)) return false;
    return now - e.lastUpdate < e.backoffMs;
  }

  /** Forgets keys quiet for twice the max delay. */
  gc(): void {
    const now = this.clock.now();
    for (const [id, e] of this.entries) if (this.expired(e, now)) this.entries.delete(id);
  }

  size(): number {
    return this.entries.size;
  }

  private expired(e: Entry, now: number): boolean {
    return now - e.lastUpdate > 2 * this.maxMs;
  }
}
