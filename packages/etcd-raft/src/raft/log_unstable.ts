import { InvariantError } from "./errors.js";
import type { Entry, Snapshot } from "./types.js";

/**
 * Unstable holds entries (and possibly an incoming snapshot) that the application has not yet
 * persisted. entries[i] has log index offset+i. When a snapshot is pending, offset is
 * snapshot.index+1 and the entries (if any) follow it.
 */
export class Unstable {
  snapshot: Snapshot | undefined;
  entries: Entry[] = [];
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  /** The first index if a snapshot is pending (snapshot.index+1), else undefined. */
  maybeFirstIndex(): number | undefined {
    return this.snapshot ? this.snapshot.metadata.index + 1 : undefined;
  }

  /** The last index held here (entries, else the pending snapshot), else undefined. */
  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot ? this.snapshot.metadata.index : undefined;
  }

  /** The term of index i if this holds it, else undefined. */
  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      if (this.snapshot && this.snapshot.metadata.index === i) return this.snapshot.metadata.term;
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || i > last) return undefined;
    return this.entries[i - this.offset]!.term;
  }

  /** Marks entries up to (i, t) persisted, dropping them from here (unless since overwritten). */
  stableTo(i: number, t: number): void {
    const gt = this.maybeTerm(i);
    if (gt === undefined || i < this.offset) return;
    if (gt === t) {
      this.entries = this.entries.slice(i + 1 - this.offset);
      this.offset = i + 1;
    }
  }

  /** Marks the pending snapshot at index i persisted. */
  stableSnapTo(i: number): void {
    if (this.snapshot && this.snapshot.metadata.index === i) this.snapshot = undefined;
  }

  /** Replaces everything with a snapshot to persist. */
  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1;
    this.entries = [];
    this.snapshot = s;
  }

  /** Appends entries, first truncating anything at or after ents[0].index. */
  truncateAndAppend(ents: readonly Entry[]): void {
    const after = ents[0]!.index;
    if (after === this.offset + this.entries.length) {
      for (const e of ents) this.entries.push(e);
    } else if (after <= this.offset) {
      // Replaces all unstable entries (and possibly already-stable ones, which the application
      // will overwrite when it persists these).
      this.offset = after;
      this.entries = [...ents];
    } else {
      this.entries = [...this.slice(this.offset, after), ...ents];
    }
  }

  /** Entries in [lo, hi). */
  slice(lo: number, hi: number): Entry[] {
    const upper = this.offset + this.entries.length;
    if (lo > hi || lo < this.offset || hi > upper) {
      throw new InvariantError(`unstable.slice[${lo},${hi}) out of bound [${this.offset},${upper}]`);
    }
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
