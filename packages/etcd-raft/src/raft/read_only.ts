import type { Message } from "./message.js";

/** A pending ReadIndex request: the commit index when it arrived, and who acknowledged the leader since. */
export interface ReadIndexStatus {
  req: Message;
  index: number;
  acks: Set<number>;
}

function ctxKey(ctx: Uint8Array): string {
  let s = "";
  for (const b of ctx) s += b.toString(16).padStart(2, "0");
  return s;
}

/**
 * ReadOnly tracks ReadIndex requests waiting for a heartbeat round to confirm that the leader
 * is still the leader (§6.4 of the Raft thesis). Requests are answered in arrival order: a
 * quorum acknowledging a later request's heartbeat confirms every earlier one too.
 */
export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  /** Registers a request at commit index `index`. A duplicate ctx is ignored. */
  addRequest(index: number, m: Message): void {
    const ctx = m.context ?? new Uint8Array(0);
    const key = ctxKey(ctx);
    if (this.pending.has(key)) return;
    this.pending.set(key, { index, req: m, acks: new Set() });
    this.queue.push(key);
  }

  /** Records that `from` answered the heartbeat carrying ctx; returns the acks so far (undefined if unknown ctx). */
  recvAck(from: number, ctx: Uint8Array): Set<number> | undefined {
    const rs = this.pending.get(ctxKey(ctx));
    if (!rs) return undefined;
    rs.acks.add(from);
    return rs.acks;
  }

  /** Removes and returns the requests up to and including ctx, in arrival order. */
  advance(ctx: Uint8Array): ReadIndexStatus[] {
    const key = ctxKey(ctx);
    const i = this.queue.indexOf(key);
    if (i < 0) return [];
    const done = this.queue.slice(0, i + 1);
    this.queue = this.queue.slice(i + 1);
    const out: ReadIndexStatus[] = [];
    for (const k of done) {
      const rs = this.pending.get(k);
      if (rs) out.push(rs);
      this.pending.delete(k);
    }
    return out;
  }

  /** The ctx of the newest pending request (carried in heartbeats), or undefined. */
  lastPendingRequestCtx(): Uint8Array | undefined {
    const key = this.queue[this.queue.length - 1];
    if (key === undefined) return undefined;
    return this.pending.get(key)?.req.context;
  }

  pendingCount(): number {
    return this.queue.length;
  }
}
