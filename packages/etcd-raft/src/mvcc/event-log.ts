/**
 * EventLog holds the events of every retained revision, in order, so watchers can catch up
 * from history. Revisions are dense: every revision the store creates has at least one event.
 */
import type { MvccEvent } from "./types.js";

/** LoggedRevision is the changes of one revision: events in sub-revision order, with their byte-string keys. */
export interface LoggedRevision {
  readonly events: MvccEvent[];
  /** keys[i] is the byte-string form of events[i].kv.key (saves re-encoding on every watch match). */
  readonly keys: string[];
}

export class EventLog {
  /** Revision of entries[0]. */
  private start: number;
  private readonly entries: LoggedRevision[] = [];

  /** @param first the revision the next appended entry belongs to. */
  constructor(first: number) {
    this.start = first;
  }

  /** firstRevision is the oldest revision whose events are kept. */
  get firstRevision(): number {
    return this.start;
  }

  /** append records the changes of the next revision (firstRevision + number of entries). */
  append(entry: LoggedRevision): void {
    this.entries.push(entry);
  }

  /** at returns the changes of revision `rev`, or undefined when not retained or not yet made. */
  at(rev: number): LoggedRevision | undefined {
    return this.entries[rev - this.start];
  }

  /** compact forgets the events of revisions below `rev`. */
  compact(rev: number): void {
    const drop = Math.min(rev - this.start, this.entries.length);
    if (drop <= 0) return;
    this.entries.splice(0, drop);
    this.start += drop;
  }
}
