/**
 * Pod deletions waiting for their time (upstream's tainteviction TimedWorkerQueue): one timer per
 * pod key on the injected clock; a key with work scheduled or running takes no second one; the
 * key is free again once the work finished.
 */
import type { Clock, Timer } from "@kubemu/common";

export interface TimedWorker {
  createdAt: number;
  fireAt: number;
  timer: Timer;
}

export class TimedWorkerQueue {
  /** null: the work is running (it needed no timer or its timer fired). */
  private readonly workers = new Map<string, TimedWorker | null>();

  constructor(
    private readonly clock: Clock,
    private readonly work: (key: string, fireAt: number) => Promise<void>,
    private readonly onError: (key: string, e: unknown) => void,
  ) {}

  /** Schedules work for `key` to run at `fireAt` (at once when due); does nothing (false) if the key has work already. */
  addWork(key: string, createdAt: number, fireAt: number): boolean {
    if (this.workers.has(key)) return false;
    const delay = fireAt - this.clock.now();
    if (delay <= 0) {
      this.workers.set(key, null);
      this.fire(key, fireAt);
      return true;
    }
    const timer = this.clock.setTimeout(() => {
      if (this.workers.get(key)?.timer !== timer) return;
      this.workers.set(key, null);
      this.fire(key, fireAt);
    }, delay);
    this.workers.set(key, { createdAt, fireAt, timer });
    return true;
  }

  /** Cancels the key's scheduled work; answers whether a timer was cancelled (running work is only forgotten). */
  cancelWork(key: string): boolean {
    if (!this.workers.has(key)) return false;
    const w = this.workers.get(key);
    this.workers.delete(key);
    if (!w) return false;
    w.timer.cancel();
    return true;
  }

  /** Work is scheduled or running for the key. */
  has(key: string): boolean {
    return this.workers.has(key);
  }

  /** The key's scheduled work, if it waits on a timer. */
  getWorker(key: string): TimedWorker | undefined {
    return this.workers.get(key) ?? undefined;
  }

  /** Cancels every timer (the controller stops). */
  cancelAll(): void {
    for (const w of this.workers.values()) w?.timer.cancel();
    this.workers.clear();
  }

  private fire(key: string, fireAt: number): void {
    void this.work(key, fireAt)
      .catch((e: unknown) => this.onError(key, e))
      .finally(() => {
        if (this.workers.get(key) === null) this.workers.delete(key);
      });
  }
}
