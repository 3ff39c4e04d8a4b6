/**
 * Recovery: reads every segment in order and rebuilds the durable Raft state.
 *
 * Damage policy. Only the very end of the log may be cut short, because only the last write
 * can have been interrupted before its fsync (and so was never acknowledged). A bad record is
 * therefore a *torn tail* only when it is in the last segment and no valid record follows it;
 * anything else — a bad record in an earlier segment, a bad record with valid records after it,
 * a gap in the segment sequence — is a WalCorruptError naming the file and byte offset.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { WalCorruptError, WalError } from "./errors.js";
import { decodeMetadata, sameMetadata } from "./metadata.js";
import {
  decodeEntry,
  decodeHardState,
  decodeSnapshotMarker,
  HEADER_SIZE,
  readRecord,
  RecordType,
  type RecordRead,
} from "./record.js";
import { listSegments, type SegmentName } from "./segment.js";
import { EMPTY_HARD_STATE, type Entry, type HardState, type SnapshotMarker, type WalMetadata } from "./types.js";

/** Where recovery cut the log, and why. */
export interface TornTail {
  file: string;
  /** Byte offset of the first dropped byte; the file's valid length. */
  offset: number;
  droppedBytes: number;
  reason: string;
}

/** Everything recovery learned from a WAL directory. */
export interface WalState {
  metadata: WalMetadata;
  /** The last HardState written, or all zeros if none was. */
  hardState: HardState;
  /** The snapshot marker entries are returned after: the newest one, or the one asked for. */
  snapshot: SnapshotMarker;
  /** Entries with index > snapshot.index, contiguous, after Raft overwrite semantics. */
  entries: Entry[];
  /**
   * Every distinct snapshot marker in the log, oldest first. Boot code uses it to pick the
   * newest snapshot *file* that the WAL knows about (see `loadNewest`'s `accept`).
   */
  snapshots: SnapshotMarker[];
  /** Set when a torn tail was found (and, for `Wal.open`, cut off). */
  truncated?: TornTail;
}

/** Recovery internals the writer needs to continue the log. */
export interface WalRecovery extends WalState {
  segments: SegmentName[];
  /** Valid length of the last segment. */
  lastSegmentSize: number;
  /** Newest snapshot marker in the log (may differ from `snapshot` if an older one was asked for). */
  newestSnapshot: SnapshotMarker;
  /** Highest index the log covers: last entry or newest snapshot, whichever is higher. */
  lastIndex: number;
}

export interface ReadWalOptions {
  /**
   * Return entries after this marker instead of the newest one (e.g. when the newest snapshot
   * file turned out to be corrupt). It must have been saved in the WAL.
   */
  snapshot?: SnapshotMarker;
}

/** Reads a WAL directory without modifying it. Throws WalError if there is no WAL. */
export async function readWal(dir: string, opts: ReadWalOptions = {}): Promise<WalRecovery> {
  const segments = await listSegments(dir);
  if (segments.length === 0) throw new WalError(`no WAL segments in ${dir}`);
  checkSequence(dir, segments);

  const acc = new LogAccumulator();
  let truncated: TornTail | undefined;
  let lastSegmentSize = 0;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] as SegmentName;
    const path = join(dir, seg.file);
    const buf = await readFile(path);
    const isLast = i === segments.length - 1;
    const end = scanSegment(path, buf, isLast, acc);
    if (isLast) {
      lastSegmentSize = end;
      if (end < buf.length) truncated = { file: path, offset: end, droppedBytes: buf.length - end, reason: acc.tornReason };
    }
  }
  return acc.finish(dir, segments, lastSegmentSize, truncated, opts.snapshot);
}

function checkSequence(dir: string, segments: SegmentName[]): void {
  for (let i = 1; i < segments.length; i++) {
    const prev = segments[i - 1] as SegmentName;
    const cur = segments[i] as SegmentName;
    if (cur.seq !== prev.seq + 1) {
      throw new WalCorruptError(join(dir, cur.file), 0, `segment sequence gap: expected seq ${prev.seq + 1} after ${prev.file}, found ${cur.seq}`);
    }
  }
}

/** Applies every record of one segment; returns the end offset of its valid prefix. */
function scanSegment(path: string, buf: Buffer, isLast: boolean, acc: LogAccumulator): number {
  let off = 0;
  acc.beginSegment();
  while (off < buf.length) {
    const r = readRecord(buf, off);
    if (r.kind !== "ok") {
      checkTornTail(path, buf, off, r, isLast);
      if (off === 0) throw new WalCorruptError(path, 0, `segment header is unreadable: ${r.reason}`);
      acc.tornReason = r.reason;
      return off;
    }
    acc.apply(path, off, r.type, r.payload);
    off = r.end;
  }
  if (buf.length === 0) throw new WalCorruptError(path, 0, "segment is empty (missing header)");
  return off;
}

/** Throws unless the bad record at `off` can only be an interrupted final write. */
function checkTornTail(path: string, buf: Buffer, off: number, r: Exclude<RecordRead, { kind: "ok" }>, isLast: boolean): void {
  if (!isLast) throw new WalCorruptError(path, off, `${r.reason} (not in the last segment)`);
  const next = findValidRecord(buf, off + 1);
  if (next !== undefined) {
    throw new WalCorruptError(path, off, `${r.reason}; a valid record follows at byte ${next}, so this is not a torn tail`);
  }
}

/** First offset ≥ `from` where a complete, checksummed record starts, if any. */
function findValidRecord(buf: Buffer, from: number): number | undefined {
  for (let p = from; p + HEADER_SIZE <= buf.length; p++) {
    if (readRecord(buf, p).kind === "ok") return p;
  }
  return undefined;
}

/** Folds records into Raft state in log order. */
class LogAccumulator {
  metadata: WalMetadata | undefined;
  hardState: HardState = { ...EMPTY_HARD_STATE };
  markers: SnapshotMarker[] = [];
  entries: Entry[] = [];
  tornReason = "";
  private recordsInSegment = 0;

  /** Called before the first record of each segment. */
  beginSegment(): void {
    this.recordsInSegment = 0;
  }

  apply(path: string, off: number, type: RecordType, payload: Buffer): void {
    if (this.recordsInSegment++ === 0 && type !== RecordType.metadata) {
      throw new WalCorruptError(path, off, `segment must start with a metadata record, found type ${type}`);
    }
    try {
      switch (type) {
        case RecordType.metadata:
          this.applyMetadata(path, off, decodeMetadata(payload));
          break;
        case RecordType.hardState:
          this.hardState = decodeHardState(payload);
          break;
        case RecordType.snapshot:
          this.addMarker(decodeSnapshotMarker(payload));
          break;
        case RecordType.entry:
          this.applyEntry(path, off, decodeEntry(payload));
          break;
      }
    } catch (e) {
      if (e instanceof WalCorruptError) throw e;
      // The checksum matched, so this is a writer bug or an incompatible format, not bit rot.
      throw new WalCorruptError(path, off, `undecodable record of type ${type}: ${(e as Error).message}`);
    }
  }

  /** Segment headers repeat the newest marker; keep one copy. */
  private addMarker(m: SnapshotMarker): void {
    const last = this.markers[this.markers.length - 1];
    if (last === undefined || last.index !== m.index || last.term !== m.term) this.markers.push(m);
  }

  private applyMetadata(path: string, off: number, m: WalMetadata): void {
    if (this.metadata === undefined) this.metadata = m;
    else if (!sameMetadata(this.metadata, m)) {
      throw new WalCorruptError(path, off, `metadata ${JSON.stringify(m)} differs from earlier ${JSON.stringify(this.metadata)}`);
    }
  }

  /** Raft overwrite semantics: an entry at index i replaces i and drops everything after it. */
  private applyEntry(path: string, off: number, e: Entry): void {
    const first = this.entries[0];
    if (first === undefined || e.index < first.index) {
      this.entries = [e];
      return;
    }
    const next = first.index + this.entries.length;
    if (e.index > next) {
      // Legal only right after a snapshot that covers the hole (a follower installing a snapshot).
      const newest = this.markers[this.markers.length - 1];
      if (newest === undefined || newest.index < e.index - 1) {
        throw new WalCorruptError(path, off, `entry ${e.index} leaves a gap after entry ${next - 1} with no snapshot covering it`);
      }
      this.entries = [e];
      return;
    }
    this.entries.length = e.index - first.index;
    this.entries.push(e);
  }

  finish(dir: string, segments: SegmentName[], lastSegmentSize: number, truncated: TornTail | undefined, wanted: SnapshotMarker | undefined): WalRecovery {
    const firstFile = join(dir, (segments[0] as SegmentName).file);
    if (this.metadata === undefined) throw new WalCorruptError(firstFile, 0, "no metadata record");
    const newest = this.markers[this.markers.length - 1];
    if (newest === undefined) throw new WalCorruptError(firstFile, 0, "no snapshot marker record");
    let snapshot = newest;
    if (wanted !== undefined) {
      const found = this.markers.find((m) => m.index === wanted.index && m.term === wanted.term);
      if (!found) throw new WalError(`snapshot marker index=${wanted.index} term=${wanted.term} is not in the WAL at ${dir}`);
      snapshot = found;
    }
    const entries = this.entries.filter((e) => e.index > snapshot.index);
    const first = entries[0];
    if (first !== undefined && first.index !== snapshot.index + 1) {
      throw new WalCorruptError(firstFile, 0, `entries ${snapshot.index + 1}..${first.index - 1} after snapshot ${snapshot.index} are missing`);
    }
    const lastEntry = this.entries[this.entries.length - 1];
    const lastIndex = Math.max(lastEntry?.index ?? 0, newest.index);
    const state: WalRecovery = {
      metadata: this.metadata,
      hardState: this.hardState,
      snapshot,
      entries,
      snapshots: this.markers,
      segments,
      lastSegmentSize,
      newestSnapshot: newest,
      lastIndex,
    };
    if (truncated) state.truncated = truncated;
    return state;
  }
}
