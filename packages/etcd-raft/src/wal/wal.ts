/**
 * The write-ahead log writer.
 *
 * Durability contract: the promise returned by `append`, `saveSnapshotMarker` or `sync` resolves
 * only after the bytes are written and `fdatasync`ed. Appends that arrive while a sync is in
 * flight are group-committed: they are written together with one `writev` and one
 * `fdatasync` once the current sync finishes. Order on disk is call order.
 *
 * After any write or sync failure the WAL is poisoned: the file state is unknown, so every
 * pending and later call rejects and the owner must reopen (recovery decides what survived).
 */
import { open as openFile, rename, rm, truncate, unlink, type FileHandle } from "node:fs/promises";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { WalError } from "./errors.js";
import { fsyncDir, writeFully } from "./fsutil.js";
import { lockDir, type DirLock } from "./lock.js";
import { checkMetadata, encodeMetadata, sameMetadata } from "./metadata.js";
import { readWal, type ReadWalOptions, type WalState } from "./reader.js";
import { encodeEntries, encodeHardState, encodeSnapshotMarker } from "./record.js";
import { listSegments, segmentFileName, type SegmentName } from "./segment.js";
import { EMPTY_HARD_STATE, type Entry, type HardState, type SnapshotMarker, type WalMetadata } from "./types.js";

/** Default segment size: a segment is cut once it reaches this many bytes. */
export const DEFAULT_SEGMENT_SIZE = 64 * 1024 * 1024;

export interface WalOptions {
  /** Cut a new segment before a write once the current one holds at least this many bytes. */
  segmentSize?: number;
}

/** Counters for tests and metrics. */
export interface WalStats {
  /** Calls to append/saveSnapshotMarker/sync. */
  appends: number;
  /** Group-commit batches written (one writev each). */
  batches: number;
  /** fdatasync/fsync calls on segment files (including new-segment headers). */
  fsyncs: number;
  bytesWritten: number;
  /** Segments cut after creation. */
  rotations: number;
}

/** One caller's contribution to a group commit. */
interface Pending {
  buffers: Buffer[];
  bytes: number;
  hardState?: HardState;
  lastIndex?: number;
  snapshot?: SnapshotMarker;
  resolve: () => void;
  reject: (e: unknown) => void;
}

const MAX_INDEX = Number.MAX_SAFE_INTEGER;

export class Wal {
  private readonly segmentSize: number;
  private pending: Pending[] = [];
  private flushing = false;
  private idleWaiters: (() => void)[] = [];
  private failure: Error | undefined;
  private closed = false;
  private readonly counters: WalStats = { appends: 0, batches: 0, fsyncs: 0, bytesWritten: 0, rotations: 0 };

  // State of what has been written (durable once the current batch's sync returns).
  private hardState: HardState;
  private snapshot: SnapshotMarker;
  private lastIndex: number;
  // Last index including appends still queued, for validating new appends.
  private queuedLastIndex: number;

  private constructor(
    readonly dir: string,
    readonly metadata: WalMetadata,
    private readonly lock: DirLock,
    private fh: FileHandle,
    private segments: SegmentName[],
    private size: number,
    state: { hardState: HardState; snapshot: SnapshotMarker; lastIndex: number },
    opts: WalOptions,
  ) {
    this.segmentSize = opts.segmentSize ?? DEFAULT_SEGMENT_SIZE;
    this.hardState = state.hardState;
    this.snapshot = state.snapshot;
    this.lastIndex = state.lastIndex;
    this.queuedLastIndex = state.lastIndex;
  }

  /** True if `dir` holds at least one WAL segment. */
  static async exists(dir: string): Promise<boolean> {
    return (await listSegments(dir)).length > 0;
  }

  /**
   * Creates a new WAL in `dir` (created if missing; must not already hold a WAL). The first
   * segment holds metadata, an empty HardState and a snapshot marker at index 0, and appears
   * atomically (written under a temporary name, synced, renamed, directory synced).
   */
  static async create(dir: string, metadata: WalMetadata, opts: WalOptions = {}): Promise<Wal> {
    checkMetadata(metadata);
    checkOptions(opts);
    await mkdir(dir, { recursive: true });
    const lock = await lockDir(dir);
    try {
      if (await Wal.exists(dir)) throw new WalError(`a WAL already exists in ${dir}`);
      const snapshot = { index: 0, term: 0 };
      const hardState = { ...EMPTY_HARD_STATE };
      const seg = { seq: 0, firstIndex: 0, file: segmentFileName(0, 0) };
      const { fh, size } = await createSegment(dir, seg.file, [encodeMetadata(metadata), encodeHardState(hardState), encodeSnapshotMarker(snapshot)]);
      const wal = new Wal(dir, metadata, lock, fh, [seg], size, { hardState, snapshot, lastIndex: 0 }, opts);
      wal.counters.fsyncs++;
      return wal;
    } catch (e) {
      await lock.release();
      throw e;
    }
  }

  /**
   * Opens an existing WAL for appending: recovers its state, cuts a torn tail off the last
   * segment (reported in `state.truncated`) and positions writes after the last valid record.
   * Throws WalCorruptError for damage that is not a torn tail.
   */
  static async open(dir: string, opts: WalOptions & ReadWalOptions = {}): Promise<{ wal: Wal; state: WalState }> {
    checkOptions(opts);
    if (!(await Wal.exists(dir))) throw new WalError(`no WAL segments in ${dir}`);
    const lock = await lockDir(dir);
    let rec: Awaited<ReturnType<typeof readWal>>;
    let fh: FileHandle;
    try {
      rec = await readWal(dir, opts);
      const last = rec.segments[rec.segments.length - 1] as SegmentName;
      const lastPath = join(dir, last.file);
      if (rec.truncated) await truncate(lastPath, rec.lastSegmentSize);
      fh = await openFile(lastPath, "a");
    } catch (e) {
      await lock.release();
      throw e;
    }
    try {
      if (rec.truncated) await fh.sync();
    } catch (e) {
      await fh.close();
      await lock.release();
      throw e;
    }
    const wal = new Wal(dir, rec.metadata, lock, fh, rec.segments, rec.lastSegmentSize, {
      hardState: rec.hardState,
      snapshot: rec.newestSnapshot,
      lastIndex: rec.lastIndex,
    }, opts);
    const state: WalState = { metadata: rec.metadata, hardState: rec.hardState, snapshot: rec.snapshot, entries: rec.entries, snapshots: rec.snapshots };
    if (rec.truncated) state.truncated = rec.truncated;
    return { wal, state };
  }

  /**
   * Opens the WAL in `dir` if there is one — checking it belongs to the same member and
   * cluster — or creates it. The usual way a store process starts.
   */
  static async openOrCreate(dir: string, metadata: WalMetadata, opts: WalOptions & ReadWalOptions = {}): Promise<{ wal: Wal; state: WalState }> {
    checkMetadata(metadata);
    if (!(await Wal.exists(dir))) {
      const wal = await Wal.create(dir, metadata, opts);
      const snapshot = { index: 0, term: 0 };
      return { wal, state: { metadata, hardState: { ...EMPTY_HARD_STATE }, snapshot, entries: [], snapshots: [snapshot] } };
    }
    const opened = await Wal.open(dir, opts);
    if (!sameMetadata(opened.state.metadata, metadata)) {
      await opened.wal.close();
      throw new WalError(
        `WAL in ${dir} belongs to member ${opened.state.metadata.memberId} of cluster ${opened.state.metadata.clusterId}, ` +
          `not member ${metadata.memberId} of cluster ${metadata.clusterId}`,
      );
    }
    return opened;
  }

  /** A copy of the counters. */
  get stats(): WalStats {
    return { ...this.counters };
  }

  /** Index of the last entry (or snapshot) written so far. */
  get lastWrittenIndex(): number {
    return this.lastIndex;
  }

  /**
   * Persists a HardState (if given) followed by entries. Entries must have consecutive indexes
   * and the first may not leave a gap after the log's last index (it may be lower: Raft
   * overwrite of a conflicting tail). Resolves once durable.
   */
  append(hardState: HardState | undefined, entries: readonly Entry[]): Promise<void> {
    let buffers: Buffer[];
    try {
      this.checkUsable();
      if (hardState !== undefined) checkHardState(hardState);
      checkEntries(entries, this.queuedLastIndex);
      buffers = [];
      if (hardState !== undefined) buffers.push(encodeHardState(hardState));
      if (entries.length > 0) buffers.push(encodeEntries(entries));
    } catch (e) {
      return Promise.reject(e);
    }
    const last = entries[entries.length - 1];
    if (last !== undefined) this.queuedLastIndex = last.index;
    return this.enqueue(buffers, {
      ...(hardState !== undefined ? { hardState: { term: hardState.term, vote: hardState.vote, commit: hardState.commit } } : {}),
      ...(last !== undefined ? { lastIndex: last.index } : {}),
    });
  }

  /** Records that a snapshot at `marker` exists. Resolves once durable. */
  saveSnapshotMarker(marker: SnapshotMarker): Promise<void> {
    try {
      this.checkUsable();
      checkIndex("snapshot index", marker?.index);
      checkIndex("snapshot term", marker?.term);
    } catch (e) {
      return Promise.reject(e);
    }
    const snapshot = { index: marker.index, term: marker.term };
    this.queuedLastIndex = Math.max(this.queuedLastIndex, snapshot.index);
    return this.enqueue([encodeSnapshotMarker(snapshot)], { snapshot });
  }

  /** Resolves once everything appended before this call is durable. */
  sync(): Promise<void> {
    try {
      this.checkUsable();
    } catch (e) {
      return Promise.reject(e);
    }
    return this.enqueue([], {});
  }

  /**
   * Deletes whole segments that hold only entries ≤ `index`. `index` must not exceed the newest
   * durable snapshot marker, or recovery would find entries missing. The last segment is kept.
   */
  async releaseTo(index: number): Promise<void> {
    this.checkUsable();
    checkIndex("release index", index);
    if (index > this.snapshot.index) {
      throw new WalError(`cannot release to ${index}: newest durable snapshot marker is at ${this.snapshot.index}`);
    }
    // Every live entry of the segments before segment k is < k's firstIndex, so the prefix
    // before the last segment whose firstIndex ≤ index + 1 can go.
    let keepFrom = 0;
    for (let k = 0; k < this.segments.length; k++) {
      if ((this.segments[k] as SegmentName).firstIndex <= index + 1) keepFrom = k;
    }
    if (keepFrom === 0) return;
    const doomed = this.segments.slice(0, keepFrom);
    this.segments = this.segments.slice(keepFrom);
    // Oldest first, so a crash leaves a contiguous run of segments.
    for (const seg of doomed) await unlink(join(this.dir, seg.file));
    await fsyncDir(this.dir);
  }

  /** Waits for pending writes, then closes the file and releases the directory lock. Later calls reject with WalError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.whenIdle();
    try {
      await this.fh.close();
    } finally {
      await this.lock.release();
    }
  }

  private checkUsable(): void {
    if (this.closed) throw new WalError("WAL is closed");
    if (this.failure) throw new WalError(`WAL failed earlier and must be reopened: ${this.failure.message}`, { cause: this.failure });
  }

  private enqueue(buffers: Buffer[], effects: Omit<Pending, "buffers" | "bytes" | "resolve" | "reject">): Promise<void> {
    this.counters.appends++;
    let bytes = 0;
    for (const b of buffers) bytes += b.length;
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ buffers, bytes, ...effects, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        void this.flushLoop();
      }
    });
  }

  private async flushLoop(): Promise<void> {
    // Let appends issued in the same tick join the first batch.
    await Promise.resolve();
    while (this.pending.length > 0 && !this.failure) {
      const batch = this.pending;
      this.pending = [];
      try {
        await this.writeBatch(batch);
      } catch (e) {
        this.failure = e instanceof Error ? e : new Error(String(e));
        for (const p of batch) p.reject(e);
        break;
      }
      for (const p of batch) p.resolve();
    }
    if (this.failure) {
      const err = new WalError(`WAL failed: ${this.failure.message}`, { cause: this.failure });
      for (const p of this.pending.splice(0)) p.reject(err);
    }
    this.flushing = false;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    const buffers: Buffer[] = [];
    let bytes = 0;
    for (const p of batch) {
      for (const b of p.buffers) buffers.push(b);
      bytes += p.bytes;
    }
    if (bytes === 0) return;
    if (this.size >= this.segmentSize) await this.rotate();
    await writeFully(this.fh, buffers);
    await this.fh.datasync();
    this.size += bytes;
    this.counters.batches++;
    this.counters.fsyncs++;
    this.counters.bytesWritten += bytes;
    for (const p of batch) {
      if (p.hardState) this.hardState = p.hardState;
      if (p.lastIndex !== undefined) this.lastIndex = p.lastIndex;
      if (p.snapshot) {
        this.snapshot = p.snapshot;
        this.lastIndex = Math.max(this.lastIndex, p.snapshot.index);
      }
    }
  }

  /** Cuts a new segment that starts with metadata, the current HardState and snapshot marker. */
  private async rotate(): Promise<void> {
    const prev = this.segments[this.segments.length - 1] as SegmentName;
    const seg = { seq: prev.seq + 1, firstIndex: this.lastIndex + 1, file: segmentFileName(prev.seq + 1, this.lastIndex + 1) };
    const header = [encodeMetadata(this.metadata), encodeHardState(this.hardState), encodeSnapshotMarker(this.snapshot)];
    const { fh, size } = await createSegment(this.dir, seg.file, header);
    const old = this.fh;
    this.fh = fh;
    this.size = size;
    this.segments.push(seg);
    this.counters.fsyncs++;
    this.counters.rotations++;
    await old.close();
  }

  private whenIdle(): Promise<void> {
    if (!this.flushing) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}

/**
 * Writes a segment under a temporary name, syncs it, renames it into place and syncs the
 * directory, so a segment either exists with its full header or not at all. Returns a handle
 * open for appending.
 */
async function createSegment(dir: string, file: string, header: Buffer[]): Promise<{ fh: FileHandle; size: number }> {
  const tmp = join(dir, `${file}.tmp`);
  const final = join(dir, file);
  await rm(tmp, { force: true });
  const fh = await openFile(tmp, "wx");
  let size: number;
  try {
    size = await writeFully(fh, header);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, final);
  await fsyncDir(dir);
  return { fh: await openFile(final, "a"), size };
}

function checkOptions(opts: WalOptions): void {
  const size = opts.segmentSize;
  if (size !== undefined && (!Number.isSafeInteger(size) || size <= 0)) {
    throw new WalError(`segmentSize must be a positive integer, got ${String(size)}`);
  }
}

function checkIndex(what: string, n: unknown): asserts n is number {
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0 || n > MAX_INDEX) {
    throw new WalError(`${what} must be a non-negative safe integer, got ${String(n)}`);
  }
}

function checkHardState(hs: HardState): void {
  checkIndex("hardState.term", hs.term);
  checkIndex("hardState.vote", hs.vote);
  checkIndex("hardState.commit", hs.commit);
}

function checkEntries(entries: readonly Entry[], lastIndex: number): void {
  if (!Array.isArray(entries)) throw new WalError("entries must be an array");
  let prev: number | undefined;
  for (const e of entries) {
    checkIndex("entry.index", e?.index);
    checkIndex("entry.term", e.term);
    if (e.index === 0) throw new WalError("entry.index must be ≥ 1");
    if (!Number.isInteger(e.type) || e.type < 0 || e.type > 255) throw new WalError(`entry.type must be an integer 0..255, got ${String(e.type)}`);
    if (!(e.data instanceof Uint8Array)) throw new WalError(`entry ${e.index}: data must be a Uint8Array`);
    if (prev === undefined) {
      if (e.index > lastIndex + 1) throw new WalError(`entry ${e.index} would leave a gap after last index ${lastIndex}`);
    } else if (e.index !== prev + 1) {
      throw new WalError(`entries must have consecutive indexes: ${e.index} follows ${prev}`);
    }
    prev = e.index;
  }
}
