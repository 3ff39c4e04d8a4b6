/**
 * The work queue controllers pull keys from, with client-go's semantics (util/workqueue):
 * - fair: keys come out in the order they were added;
 * - stingy: a key added many times before it is handled is handled once, and a key is never
 *   handed to two workers at once — adding it while it is being processed marks it dirty, and
 *   done() puts it back;
 * - delays (addAfter) and failure backoff (addRateLimited, forget) on an injected clock;
 * - shutDown() takes no new keys; get() still hands out the queued ones and then answers
 *   undefined; shutDownWithDrain() also waits until every queued and processing key is done.
 */
import type { Clock, Timer } from "../clock.js";
import { realClock } from "../clock.js";
import { defaultControllerRateLimiter, type RateLimiter } from "./rate-limiter.js";

export interface WorkQueueOptions<K> {
  clock?: Clock;
  rateLimiter?: RateLimiter<K>;
}

export class WorkQueue<K> {
  private readonly clock: Clock;
  private readonly rateLimiter: RateLimiter<K>;
  /** Keys waiting to be handed out, in order (each at most once). */
  private queue: K[] = [];
  private head = 0;
  /** Keys that need processing: queued, or re-added while processing. */
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly waiting = new Map<K, { at: number; timer: Timer }>();
  private readonly getters: ((k: K | undefined) => void)[] = [];
  private drainWaiters: (() => void)[] = [];
  private shutting = false;

  constructor(opts: WorkQueueOptions<K> = {}) {
    this.clock = opts.clock ?? realClock;
    this.rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter<K>(this.clock);
  }

  /** Marks `key` for processing. */
  add(key: K): void {
    if (this.shutting || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    const getter = this.getters.shift();
    if (getter) {
      this.dirty.delete(key);
      this.processing.add(key);
      getter(key);
      return;
    }
    this.queue.push(key);
  }

  /** Adds `key` after ms (an earlier pending addAfter of the same key wins, as client-go's). */
  addAfter(key: K, ms: number): void {
    if (this.shutting) return;
    if (ms <= 0) return this.add(key);
    const at = this.clock.now() + ms;
    const prev = this.waiting.get(key);
    if (prev && prev.at <= at) return;
    prev?.timer.cancel();
    const timer = this.clock.setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, ms);
    this.waiting.set(key, { at, timer });
  }

  /** Adds `key` after the rate limiter's delay (a failure: the per-item backoff grows). */
  addRateLimited(key: K): void {
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** The key succeeded: reset its backoff. */
  forget(key: K): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.rateLimiter.numRequeues(key);
  }

  /** The next key to process (it is yours until done()), or undefined once shut down and empty. */
  get(): Promise<K | undefined> {
    if (this.head < this.queue.length) {
      const key = this.queue[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      this.dirty.delete(key);
      this.processing.add(key);
      if (this.shutting) this.checkDrained();
      return Promise.resolve(key);
    }
    if (this.shutting) return Promise.resolve(undefined);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Processing of `key` finished; if it was added meanwhile, it is queued again. */
  done(key: K): void {
    if (!this.processing.delete(key)) return;
    if (this.dirty.has(key)) {
      // Re-added while processing: hand it out again (even while shutting down, as client-go).
      const getter = this.getters.shift();
      if (getter) {
        this.dirty.delete(key);
        this.processing.add(key);
        getter(key);
      } else this.queue.push(key);
    }
    this.checkDrained();
  }

  /** Keys waiting to be handed out (not counting delayed ones). */
  len(): number {
    return this.queue.length - this.head;
  }

  /** Keys waiting out a delay. */
  delayed(): number {
    return this.waiting.size;
  }

  isProcessing(key: K): boolean {
    return this.processing.has(key);
  }

  get shuttingDown(): boolean {
    return this.shutting;
  }

  /** Takes no new keys (delayed ones are dropped); get() hands out what is queued, then undefined. */
  shutDown(): void {
    if (this.shutting) return;
    this.shutting = true;
    for (const w of this.waiting.values()) w.timer.cancel();
    this.waiting.clear();
    // Getters only wait while the queue is empty, so nothing is left for them.
    for (const g of this.getters.splice(0)) g(undefined);
    this.checkDrained();
  }

  /** shutDown(), then resolves once every queued key has been handed out and every key is done. */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.drained()) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private drained(): boolean {
    return this.processing.size === 0 && this.head >= this.queue.length;
  }

  private checkDrained(): void {
    if (!this.shutting || !this.drained()) return;
    // Workers blocked in get() after the last key went out learn of the end now.
    for (const g of this.getters.splice(0)) g(undefined);
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const r of w) r();
  }
}
