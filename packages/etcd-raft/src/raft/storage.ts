import { bootstrapState } from "./bootstrap.js";
import { InvariantError } from "./errors.js";
import { type ConfState, type Entry, type HardState, type Snapshot, emptySnapshot, entrySize } from "./types.js";

/**
 * ErrCompacted: thrown by Storage.entries/term when a requested index is at or below the last
 * compaction point (the entry is only available through the snapshot). The core reacts by
 * sending a snapshot instead of entries.
 */
export class ErrCompacted extends Error {
  override readonly name = "ErrCompacted";
  constructor() {
    super("requested index is unavailable due to compaction");
  }
}

/**
 * ErrSnapOutOfDate: thrown by MemoryStorage.applySnapshot/createSnapshot when the snapshot is
 * older than the one already held.
 */
export class ErrSnapOutOfDate extends Error {
  override readonly name = "ErrSnapOutOfDate";
  constructor() {
    super("requested index is older than the existing snapshot");
  }
}

/**
 * ErrUnavailable: thrown by Storage.entries/term when a requested index is above lastIndex()
 * (it was never appended). The core only asks for such indexes when racing a truncation.
 */
export class ErrUnavailable extends Error {
  override readonly name = "ErrUnavailable";
  constructor() {
    super("requested entry at index is unavailable");
  }
}

/**
 * ErrSnapshotTemporarilyUnavailable: thrown by Storage.snapshot() when a snapshot is being
 * produced and cannot be returned yet. The leader retries on a later heartbeat response.
 */
export class ErrSnapshotTemporarilyUnavailable extends Error {
  override readonly name = "ErrSnapshotTemporarilyUnavailable";
  constructor() {
    super("snapshot is temporarily unavailable");
  }
}

/**
 * Storage is the read side of the durable log, owned by the application. The core reads it;
 * only the application writes it (persisting each Ready before calling advance()).
 *
 * Any error other than the named ones above is treated as fatal by the core (it propagates out
 * of step/tick/ready and the node must be restarted from storage).
 */
export interface Storage {
  /** The persisted HardState and the membership at the last applied configuration. */
  initialState(): { hardState: HardState; confState: ConfState };
  /**
   * Entries in [lo, hi). Returns at least one entry if any is in range, then stops before the
   * total size would exceed maxBytes. Throws ErrCompacted if lo ≤ the compaction point,
   * ErrUnavailable if hi > lastIndex()+1.
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /**
   * The term of entry i, for i in [firstIndex()-1, lastIndex()] (firstIndex()-1 is the snapshot's
   * index, whose term is kept). Throws ErrCompacted below that range, ErrUnavailable above it.
   */
  term(i: number): number;
  /** The index of the first entry still available through entries() (snapshot index + 1). */
  firstIndex(): number;
  /** The index of the last entry. */
  lastIndex(): number;
  /** The latest snapshot. May throw ErrSnapshotTemporarilyUnavailable. */
  snapshot(): Snapshot;
}

/**
 * MemoryStorage is a Storage backed by arrays. The simulator and tests use it directly; a
 * server uses it as the in-memory cache in front of its WAL.
 *
 * ents[0] is a dummy entry holding the snapshot's index and term, so term(firstIndex()-1) works.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = { term: 0, vote: 0, commit: 0 };
  private snap: Snapshot = emptySnapshot();
  private ents: Entry[] = [{ term: 0, index: 0, type: 0, data: new Uint8Array(0) }];

  /**
   * Creates an empty storage. Passing confState records a membership at index 0 (enough for a
   * fixed set of members, as in tests); a cluster that will add members should persist
   * bootstrapState() instead (see MemoryStorage.bootstrap).
   */
  constructor(confState?: ConfState) {
    if (confState) this.snap.metadata.confState = { voters: [...confState.voters], learners: [...confState.learners] };
  }

  /** A storage holding bootstrapState(voters): a founding member of a new cluster. */
  static bootstrap(voters: readonly number[]): MemoryStorage {
    const b = bootstrapState(voters);
    const st = new MemoryStorage(b.confState);
    st.append(b.entries);
    st.setHardState(b.hardState);
    return st;
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    const cs = this.snap.metadata.confState;
    return { hardState: { ...this.hardState }, confState: { voters: [...cs.voters], learners: [...cs.learners] } };
  }

  /** Records the HardState (call when persisting a Ready). */
  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  private offset(): number {
    return this.ents[0]!.index;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.offset();
    if (lo <= offset) throw new ErrCompacted();
    if (hi > this.lastIndex() + 1) throw new ErrUnavailable();
    if (lo >= hi) return [];
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.ents[i - offset]!;
      size += entrySize(e);
      if (out.length > 0 && size > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  term(i: number): number {
    const offset = this.offset();
    if (i < offset) throw new ErrCompacted();
    if (i - offset >= this.ents.length) throw new ErrUnavailable();
    return this.ents[i - offset]!.term;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the contents with a snapshot (a follower installing one). Throws ErrSnapOutOfDate if older. */
  applySnapshot(snap: Snapshot): void {
    if (snap.metadata.index < this.snap.metadata.index) throw new ErrSnapOutOfDate();
    this.snap = snap;
    this.ents = [{ term: snap.metadata.term, index: snap.metadata.index, type: 0, data: new Uint8Array(0) }];
  }

  /**
   * Makes a snapshot at index i (≤ lastIndex) with the given state-machine data, and returns it.
   * Typically followed by compact(). Throws ErrSnapOutOfDate if i is at or below the current snapshot.
   */
  createSnapshot(i: number, confState: ConfState | undefined, data: Uint8Array): Snapshot {
    if (i <= this.snap.metadata.index) throw new ErrSnapOutOfDate();
    if (i > this.lastIndex()) throw new InvariantError(`snapshot index ${i} is beyond last index ${this.lastIndex()}`);
    const cs = confState ?? this.snap.metadata.confState;
    this.snap = {
      metadata: { index: i, term: this.ents[i - this.offset()]!.term, confState: { voters: [...cs.voters], learners: [...cs.learners] } },
      data,
    };
    return this.snap;
  }

  /** Discards entries before compactIndex (which must be ≤ lastIndex). Throws ErrCompacted if already compacted. */
  compact(compactIndex: number): void {
    const offset = this.offset();
    if (compactIndex <= offset) throw new ErrCompacted();
    if (compactIndex > this.lastIndex()) throw new InvariantError(`compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`);
    const i = compactIndex - offset;
    const head = this.ents[i]!;
    this.ents = [{ term: head.term, index: head.index, type: 0, data: new Uint8Array(0) }, ...this.ents.slice(i + 1)];
  }

  /**
   * Appends entries, truncating any conflicting suffix (entries at or after the first new index
   * are replaced). Entries at or below the compaction point are ignored. The new entries must be
   * contiguous with the existing log.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[entries.length - 1]!.index;
    if (last < first) return;
    let ents = entries;
    if (first > entries[0]!.index) ents = entries.slice(first - entries[0]!.index);
    const offset = ents[0]!.index - this.offset();
    if (offset > this.ents.length) {
      throw new InvariantError(`missing log entry [last: ${this.lastIndex()}, append at: ${ents[0]!.index}]`);
    }
    this.ents.length = offset;
    for (const e of ents) this.ents.push(e);
  }
}
