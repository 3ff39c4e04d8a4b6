/**
 * How often a TCP connection to an endpoint may be sent from a chosen source address (the
 * client's, or the node's for masqueraded traffic). Binding a source address with port 0 makes
 * the kernel search that address's ports, and every recently closed connection lingers in
 * TIME_WAIT for a minute holding one; past a few thousand of them each bind slows down, and at
 * ~28,000 the address has no ports left. So each source address gets a token bucket; over it,
 * connections go out from the default source (127.0.0.1), which the kernel picks without that
 * search. Clients at ordinary rates keep their own address.
 */
import type { Clock } from "@kubemu/common";

/** The kernel's own choice for a loopback destination: binding it explicitly buys nothing. */
export const DEFAULT_SOURCE = "127.0.0.1";

interface Bucket {
  tokens: number;
  at: number;
}

export class SourceBudget {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly clock: Clock,
    /** Connections per second a source address may sustain. */
    private readonly perSecond = 20,
    /** Burst above the rate. */
    private readonly burst = 40,
  ) {}

  /** The address to bind for a new connection from `wanted`, or undefined to let the kernel choose. */
  source(wanted: string | undefined): string | undefined {
    if (wanted === undefined || wanted === DEFAULT_SOURCE) return undefined;
    const now = this.clock.monotonic();
    let b = this.buckets.get(wanted);
    if (!b) {
      if (this.buckets.size > 10_000) this.prune(now);
      b = { tokens: this.burst, at: now };
      this.buckets.set(wanted, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
      b.at = now;
    }
    if (b.tokens < 1) return undefined;
    b.tokens -= 1;
    return wanted;
  }

  /** Drops buckets that have refilled (their addresses are idle). */
  private prune(now: number): void {
    for (const [ip, b] of this.buckets) if (b.tokens + ((now - b.at) / 1000) * this.perSecond >= this.burst) this.buckets.delete(ip);
  }
}
