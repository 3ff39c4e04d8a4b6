/**
 * EtcdWatch: a watch that survives reconnects, member failures and leader changes.
 *
 * Two layers keep it gap-free and duplicate-free:
 * - the wire stream's `resume` re-opens the stream on another connection from (last received
 *   item's revision + 1) when a connection dies;
 * - this class re-opens it after a retriable server-side end (e.g. the member replaced its
 *   state from a snapshot) from (last delivered revision + 1).
 * Every item carries a revision, and anything at or below the last delivered revision is
 * dropped, so an event is never delivered twice. A compacted start revision ends the watch with
 * an Expired StatusError whose compact revision `compactRevisionOf(err)` returns. cancel() (or
 * the signal) ends iteration quietly.
 */
import type { Clock, WireClient, WireStream } from "@kubemu/common";
import { compactRevisionOf, Method, retriableRead, type WatchItem, type WatchParams } from "../api/index.js";
import type { MvccEvent } from "../mvcc/index.js";

/** One delivery: the events of one revision, or (progress: true, no events) a progress mark. */
export interface WatchResponse {
  revision: number;
  events: MvccEvent[];
  progress?: boolean;
}

export interface WatchOptions {
  rangeEnd?: Uint8Array | string;
  /** First revision to deliver; absent = changes after the watch is established. */
  startRevision?: number;
  prevKv?: boolean;
  filters?: ("noPut" | "noDelete")[];
  /** Ask the server for progress marks every this many ms while idle. */
  progressNotifyMs?: number;
  /** Deliver progress marks to the consumer (default false: they only advance the resume point). */
  includeProgress?: boolean;
  signal?: AbortSignal;
}

export class EtcdWatch implements AsyncIterable<WatchResponse> {
  /** Every event up to this revision has been delivered (0 before the watch is established). */
  lastRevision = 0;
  /** Times the watch was re-established (by either layer). */
  get reconnects(): number {
    return this.reopens + (this.stream?.resumes ?? 0) + this.previousResumes;
  }

  private stream: WireStream<WatchItem> | undefined;
  private reopens = 0;
  private previousResumes = 0;
  private closed = false;
  private iterating = false;

  constructor(
    private readonly wire: WireClient,
    private readonly clock: Clock,
    private readonly key: Uint8Array | string,
    private readonly opts: WatchOptions,
  ) {
    opts.signal?.addEventListener("abort", () => this.cancel(), { once: true });
  }

  /** Stops the watch; iteration ends. */
  cancel(): void {
    this.closed = true;
    this.stream?.cancel();
  }

  private params(startRevision: number | undefined): WatchParams {
    const p: WatchParams = { key: this.key };
    if (this.opts.rangeEnd !== undefined) p.rangeEnd = this.opts.rangeEnd;
    if (startRevision !== undefined && startRevision > 0) p.startRevision = startRevision;
    if (this.opts.prevKv) p.prevKv = true;
    if (this.opts.filters) p.filters = this.opts.filters;
    if (this.opts.progressNotifyMs) p.progressNotifyMs = this.opts.progressNotifyMs;
    return p;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchResponse> {
    if (this.iterating) throw new Error("an EtcdWatch can be iterated once");
    this.iterating = true;
    let failures = 0;
    let start = this.opts.startRevision;
    while (!this.closed) {
      const stream = this.wire.stream<WatchItem, WatchParams>(Method.watch, this.params(start), {
        resume: (last) => this.params(last ? last.revision + 1 : start),
      });
      if (this.stream) this.previousResumes += this.stream.resumes;
      this.stream = stream;
      if (this.closed) stream.cancel();
      try {
        for await (const item of stream) {
          failures = 0;
          if (item.kind === "created") {
            if (this.lastRevision === 0) this.lastRevision = item.revision;
            continue;
          }
          if (item.kind === "progress") {
            // Not an event: it may repeat the last revision, and it only moves the resume point forward.
            if (item.revision < this.lastRevision) continue;
            this.lastRevision = item.revision;
            if (this.opts.includeProgress) yield { revision: item.revision, events: [], progress: true };
            continue;
          }
          if (item.revision <= this.lastRevision) continue;
          this.lastRevision = item.revision;
          yield { revision: item.revision, events: item.events };
        }
        if (this.closed) return;
        // The server ended the stream without an error: re-establish it.
      } catch (e) {
        if (this.closed) return;
        if (compactRevisionOf(e) !== undefined || !retriableRead(e)) throw e;
        failures++;
        await this.clock.sleep(Math.min(1000, 25 * 2 ** Math.min(failures, 6)));
      } finally {
        stream.cancel();
      }
      this.reopens++;
      start = this.lastRevision > 0 ? this.lastRevision + 1 : start;
    }
  }
}
