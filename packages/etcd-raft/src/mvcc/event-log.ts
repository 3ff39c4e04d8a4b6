/**
 * EventLog holds the events of every retained revision, in order, so watchers can catch up
 * from history. Revisions are dense: every revision the store creates has at least one event.
 */
import type { MvccEvent } from "./types.js";

export class EventLog {
  /** Revision of entries[0]. */
  private start: number;
  private readonly entries: MvccEvent[][] = [];

  /** @param first the revision the next appended entry belongs to. */
  constructor(first: number) {
    this.start = first;
  }

  /** firstRevision is the oldest revision whose events are kept. */
  get firstRevision(): number {
    return this.start;
  }

  /** append records the events of the next revision (firstRevision + number of entries). */
  append(events: MvccEvent[]): void {
    this.entries.push(events);
  }

  /** eventsAt returns the events of revision `rev`, or undefined when not retained or not yet made. */
  eventsAt(rev: number): readonly MvccEvent[] | undefined {
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
