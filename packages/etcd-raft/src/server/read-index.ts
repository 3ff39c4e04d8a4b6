/**
 * ReadIndexQueue batches linearizable reads into ReadIndex rounds.
 *
 * One round is in flight at a time; reads that arrive meanwhile wait and share the next round,
 * so a burst of reads costs one leader round trip, not one each. A round completes when its
 * ReadState arrives; its reads are released once the state machine has applied up to the read
 * index. A round that gets no answer within `timeoutMs` fails its reads with a retriable Timeout.
 */
import { newTimeout, type Clock, type StatusError, type Timer } from "@kubemu/common";
import type { ReadState } from "../raft/index.js";

interface Waiter {
  resolve: () => void;
  reject: (err: StatusError) => void;
}

export interface ReadIndexQueueOptions {
  clock: Clock;
  /** Distinguishes this member's request contexts. */
  prefix: string;
  timeoutMs: number;
  /** Starts a ReadIndex round with this context (RawNode.readIndex + schedule the Ready loop). */
  request: (ctx: Uint8Array) => void;
  /** The applied index now. */
  applied: () => number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class ReadIndexQueue {
  private queued: Waiter[] = [];
  private round: { ctx: string; waiters: Waiter[]; timer: Timer } | undefined;
  private readonly awaitingApply: { index: number; waiters: Waiter[] }[] = [];
  private seq = 0;

  constructor(private readonly o: ReadIndexQueueOptions) {}

  /** Resolves once a read served now would be linearizable. */
  wait(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queued.push({ resolve, reject });
      this.start();
    });
  }

  /** Starts a round for the queued reads if none is in flight. */
  start(): void {
    if (this.round || this.queued.length === 0) return;
    const ctx = `${this.o.prefix}:${++this.seq}`;
    const waiters = this.queued;
    this.queued = [];
    const timer = this.o.clock.setTimeout(() => {
      if (this.round?.ctx !== ctx) return;
      this.round = undefined;
      for (const w of waiters) w.reject(newTimeout("linearizable read timed out waiting for the leader (read index)"));
      this.start();
    }, this.o.timeoutMs);
    this.round = { ctx, waiters, timer };
    this.o.request(encoder.encode(ctx));
  }

  /** Takes the ReadStates of a Ready. */
  onReadStates(states: readonly ReadState[]): void {
    for (const rs of states) {
      if (!this.round || this.round.ctx !== decoder.decode(rs.requestCtx)) continue;
      this.round.timer.cancel();
      this.awaitingApply.push({ index: rs.index, waiters: this.round.waiters });
      this.round = undefined;
    }
  }

  /** Releases reads whose index has been applied, then starts the next round. */
  onApplied(): void {
    const applied = this.o.applied();
    for (let i = 0; i < this.awaitingApply.length; ) {
      const r = this.awaitingApply[i]!;
      if (r.index <= applied) {
        this.awaitingApply.splice(i, 1);
        for (const w of r.waiters) w.resolve();
      } else {
        i++;
      }
    }
    this.start();
  }

  /** The leader is gone: the round in flight will never be answered, so queue its reads again. */
  onLeaderLost(): void {
    const round = this.round;
    if (!round) return;
    round.timer.cancel();
    this.round = undefined;
    this.queued.unshift(...round.waiters);
  }

  /** Fails every read (shutdown). */
  failAll(err: StatusError): void {
    const all = [...this.queued, ...(this.round?.waiters ?? []), ...this.awaitingApply.flatMap((r) => r.waiters)];
    this.round?.timer.cancel();
    this.round = undefined;
    this.queued = [];
    this.awaitingApply.length = 0;
    for (const w of all) w.reject(err);
  }
}
