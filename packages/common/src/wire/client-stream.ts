/**
 * The receiving half of a server-pushed stream: an AsyncIterable with credit-based flow control
 * that re-opens itself elsewhere after a connection loss when the caller supplies `resume`.
 */
import { fromStatus, newCancelled, newServiceUnavailable, StatusError, type Status } from "../status.js";
import type { ClientConnection, StreamSink } from "./client-connection.js";

/** Options for {@link WireClient.stream}. */
export interface StreamOptions<T, P> {
  /** Most items buffered client-side plus in flight (the credit window). Default: the client's. */
  window?: number;
  /** Aborting it cancels the stream; a pending next() rejects with a Cancelled StatusError. */
  signal?: AbortSignal;
  /**
   * Called after the stream broke (connection lost, failover, a gap) with the last item received,
   * or undefined if none came yet; returns the params to re-open it with on the next connection,
   * or undefined to give up (the iterator then throws the retriable error). Without `resume`, a
   * broken stream throws a ServiceUnavailable StatusError.
   */
  resume?: (lastItem: T | undefined) => P | undefined;
}

/** What a stream needs from its client. */
export interface StreamHost {
  /** Attaches the stream to the current connection now or once one is up. */
  dispatchStream(stream: WireStream<any>): void;
  /** Stops waiting for a connection on behalf of this stream. */
  undispatchStream(stream: WireStream<any>): void;
  /** Follows a NotLeader hint; false when it cannot (no hint, too many redirects). */
  redirect(status: Status, redirects: number): boolean;
}

/** A stream of items from the server. Iterate it once; break (or cancel()) to stop it. */
export class WireStream<T> implements AsyncIterable<T>, StreamSink {
  private receivedCount = 0;
  private resumeCount = 0;
  private readonly onAbort = () => this.stop(newCancelled("stream cancelled"));

  private params: unknown;
  private readonly window: number;
  private readonly buffer: T[] = [];
  private head = 0;
  private finished = false;
  private failure: StatusError | undefined;
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  private lastItem: T | undefined;
  private redirects = 0;

  // The current attachment (a stream id on one connection).
  private conn: ClientConnection | undefined;
  private id = 0;
  private seq = 0;
  private granted = 0;

  constructor(
    private readonly host: StreamHost,
    readonly method: string,
    params: unknown,
    private readonly opts: StreamOptions<T, any>,
    defaultWindow: number,
  ) {
    this.params = params;
    this.window = opts.window ?? defaultWindow;
    if (!Number.isInteger(this.window) || this.window < 1) throw new RangeError(`stream window must be a positive integer, got ${this.window}`);
    if (opts.signal) {
      if (opts.signal.aborted) this.stop(newCancelled("stream cancelled"));
      else opts.signal.addEventListener("abort", this.onAbort, { once: true });
    }
    if (!this.finished) host.dispatchStream(this);
  }

  /** Items received in total, across re-opens. */
  get received(): number {
    return this.receivedCount;
  }

  /** Times this stream was re-opened after a break. */
  get resumes(): number {
    return this.resumeCount;
  }

  /** Items waiting in the client buffer. */
  get buffered(): number {
    return this.buffer.length - this.head;
  }

  /** True once the stream ended, failed or was cancelled. */
  get done(): boolean {
    return this.finished;
  }

  /** Stops the stream: tells the server, ends iteration. */
  cancel(): void {
    this.stop(undefined);
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.next(),
      return: async () => {
        this.cancel();
        return { done: true, value: undefined };
      },
    };
  }

  /** The next item; resolves done at the end and rejects with a StatusError on failure. */
  next(): Promise<IteratorResult<T>> {
    if (this.head < this.buffer.length) return Promise.resolve({ done: false, value: this.take() });
    if (this.failure) return Promise.reject(this.failure);
    if (this.finished) return Promise.resolve({ done: true, value: undefined });
    if (this.waiter) return Promise.reject(new Error("WireStream supports one reader at a time"));
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** Called by the host to attach to `conn`. */
  attach(conn: ClientConnection): void {
    this.seq = 0;
    this.granted = Math.max(0, this.window - this.buffered);
    try {
      this.id = conn.openStream(this, this.method, this.params, this.granted);
    } catch (e) {
      this.stop(e instanceof StatusError ? e : newServiceUnavailable(String(e)));
      return;
    }
    this.conn = conn;
  }

  /** The connection this stream is attached to (for the host). */
  get connection(): ClientConnection | undefined {
    return this.conn;
  }

  onItem(seq: number, item: unknown): void {
    if (this.finished) return;
    if (seq !== this.seq) return this.broke(newServiceUnavailable(`stream ${this.method} skipped from item ${this.seq} to ${seq}`), true);
    this.seq++;
    this.receivedCount++;
    this.lastItem = item as T;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      // Delivered at once: it never occupied the buffer, so credit is replenished now.
      this.buffer.push(item as T);
      w.resolve({ done: false, value: this.take() });
      return;
    }
    this.buffer.push(item as T);
  }

  onEnd(count: number): void {
    this.conn = undefined;
    if (this.finished) return;
    if (count !== this.seq) return this.broke(newServiceUnavailable(`stream ${this.method} ended after ${count} items but ${this.seq} arrived`), false);
    this.finished = true;
    this.opts.signal?.removeEventListener("abort", this.onAbort);
    this.wake();
  }

  onError(status: Status): void {
    this.conn = undefined;
    if (this.finished) return;
    if (this.seq === 0 && this.host.redirect(status, this.redirects)) {
      this.redirects++;
      this.host.dispatchStream(this);
      return;
    }
    this.fail(fromStatus(status));
  }

  /** Called by the host when the connection carrying this stream is gone. */
  onConnectionLost(err: StatusError): void {
    this.conn = undefined;
    if (this.finished) return;
    this.broke(err, false);
  }

  /** Called by the host when no connection came up in time. */
  onNoConnection(err: StatusError): void {
    if (!this.finished) this.fail(err);
  }

  private take(): T {
    const item = this.buffer[this.head]!;
    this.buffer[this.head] = undefined as T;
    this.head++;
    if (this.head === this.buffer.length) {
      this.buffer.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.buffer.length) {
      this.buffer.splice(0, this.head);
      this.head = 0;
    }
    this.replenish();
    return item;
  }

  /** Grants more credit once at most half the window is buffered or in flight. */
  private replenish(): void {
    const conn = this.conn;
    if (!conn) return;
    const inFlight = this.granted - this.seq;
    if (this.buffered + inFlight > this.window / 2) return;
    this.granted = this.seq + (this.window - this.buffered);
    conn.grant(this.id, this.granted);
  }

  /** The stream broke mid-way: re-open it through `resume`, or fail retriably. */
  private broke(err: StatusError, detach: boolean): void {
    if (detach && this.conn) {
      this.conn.cancel(this.id);
      this.conn = undefined;
    }
    const resume = this.opts.resume;
    if (!resume) return this.fail(err);
    let next: unknown;
    try {
      next = this.receivedCount > 0 ? resume(this.lastItem) : this.params;
    } catch (e) {
      return this.fail(e instanceof StatusError ? e : newServiceUnavailable(`resume failed: ${e instanceof Error ? e.message : String(e)}`));
    }
    if (next === undefined) return this.fail(err);
    this.params = next;
    this.resumeCount++;
    this.host.dispatchStream(this);
  }

  private fail(err: StatusError): void {
    if (this.finished) return;
    this.finished = true;
    this.failure = err;
    this.opts.signal?.removeEventListener("abort", this.onAbort);
    this.host.undispatchStream(this);
    this.wake();
  }

  private stop(err: StatusError | undefined): void {
    if (this.finished) return;
    this.finished = true;
    this.opts.signal?.removeEventListener("abort", this.onAbort);
    this.host.undispatchStream(this);
    if (this.conn) {
      this.conn.cancel(this.id);
      this.conn = undefined;
    }
    this.buffer.length = 0;
    this.head = 0;
    if (err) this.failure = err;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    if (!w || this.head < this.buffer.length) return;
    this.waiter = undefined;
    if (this.failure) w.reject(this.failure);
    else w.resolve({ done: true, value: undefined });
  }
}
