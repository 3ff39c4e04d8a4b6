/**
 * sessionAffinity ClientIP: which endpoint a client IP last used for a Service port, kept while
 * the client keeps coming back within the timeout (each new connection restarts it, as
 * iptables' `recent --rcheck --seconds T --reap` and `--set` do).
 */
export interface AffinityEntry {
  endpoint: string;
  lastUsedMs: number;
}

export class AffinityTable {
  private readonly entries = new Map<string, AffinityEntry>();

  constructor(private readonly maxEntries = 65_536) {}

  private static key(serviceKey: string, clientIp: string): string {
    return `${serviceKey}|${clientIp}`;
  }

  /** The endpoint this client sticks to, if its entry has not timed out. */
  lookup(serviceKey: string, clientIp: string, timeoutSeconds: number, nowMs: number): string | undefined {
    const k = AffinityTable.key(serviceKey, clientIp);
    const e = this.entries.get(k);
    if (!e) return undefined;
    if (nowMs - e.lastUsedMs > timeoutSeconds * 1000) {
      this.entries.delete(k);
      return undefined;
    }
    return e.endpoint;
  }

  /** Records (or refreshes) the client's endpoint. */
  record(serviceKey: string, clientIp: string, endpoint: string, nowMs: number): void {
    const k = AffinityTable.key(serviceKey, clientIp);
    // Re-inserting keeps the Map in last-used order, so the oldest entry is first when trimming.
    this.entries.delete(k);
    this.entries.set(k, { endpoint, lastUsedMs: nowMs });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  /** Drops entries that timed out or whose Service port is gone (timeouts per Service port). */
  sweep(timeoutSecondsOf: (serviceKey: string) => number | undefined, nowMs: number): number {
    let dropped = 0;
    for (const [k, e] of this.entries) {
      const timeout = timeoutSecondsOf(k.slice(0, k.lastIndexOf("|")));
      if (timeout === undefined || nowMs - e.lastUsedMs > timeout * 1000) {
        this.entries.delete(k);
        dropped++;
      }
    }
    return dropped;
  }

  get size(): number {
    return this.entries.size;
  }
}
