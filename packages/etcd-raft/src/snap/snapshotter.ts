/**
 * Snapshot files in one directory: atomic save, newest-valid load, pruning.
 *
 * Save is crash-safe: the file is written under a temporary name, fsynced, renamed into place
 * and the directory fsynced, so a snapshot file either exists complete or not at all. Load
 * still verifies every file, because disks rot; corrupt files are skipped and reported, never
 * deleted (an operator may want them).
 */
import { open, readdir, readFile, rename, rm } from "node:fs/promises";
import { mkdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { fsyncDir, readdirOrEmpty, writeFully } from "../wal/fsutil.js";
import { SnapshotCorruptError, SnapshotNotFoundError } from "./errors.js";
import { decodeSnapshot, encodeSnapshotHeader, parseSnapshotFileName, snapshotFileName, type PersistedSnapshot } from "./format.js";

/** Snapshots kept by default after a save. */
export const DEFAULT_SNAPSHOTS_KEPT = 5;

export interface SaveSnapshotOptions {
  /** Keep this many newest snapshot files after saving (≥ 1). Default 5. */
  keep?: number;
}

/** A snapshot file that failed verification during load. */
export interface SkippedSnapshot {
  file: string;
  error: SnapshotCorruptError;
}

export interface LoadedSnapshot {
  /** The newest valid acceptable snapshot, or undefined if there is none. */
  snapshot: PersistedSnapshot | undefined;
  /** Path of the file it came from. */
  file: string | undefined;
  /** Newer files that were corrupt and skipped, newest first. */
  skipped: SkippedSnapshot[];
}

export interface LoadNewestOptions {
  /**
   * Consider only snapshots this returns true for — e.g. ones whose marker is in the WAL, so
   * the log after them is still there.
   */
  accept?: (marker: { index: number; term: number }) => boolean;
}

// Temporary files of saves in progress in this process; pruning must not remove them.
const inFlight = new Set<string>();
let tmpCounter = 0;

/** Writes `snap` atomically into `dir` (created if missing) and prunes old ones. Returns its path. */
export async function saveSnapshot(dir: string, snap: PersistedSnapshot, opts: SaveSnapshotOptions = {}): Promise<string> {
  checkSnapshot(snap);
  const keep = opts.keep ?? DEFAULT_SNAPSHOTS_KEPT;
  if (!Number.isSafeInteger(keep) || keep < 1) throw new TypeError(`keep must be an integer ≥ 1, got ${keep}`);
  await mkdir(dir, { recursive: true });
  const name = snapshotFileName(snap.index, snap.term);
  const final = join(dir, name);
  const tmp = join(dir, `${name}.tmp-${process.pid}-${tmpCounter++}`);
  inFlight.add(tmp);
  try {
    const fh = await open(tmp, "wx");
    try {
      await writeFully(fh, [encodeSnapshotHeader(snap), Buffer.from(snap.data.buffer, snap.data.byteOffset, snap.data.byteLength)]);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, final);
    await fsyncDir(dir);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  } finally {
    inFlight.delete(tmp);
  }
  await pruneSnapshots(dir, keep);
  return final;
}

/** Snapshot file names in `dir`, newest (highest index, then term) first. */
export async function listSnapshots(dir: string): Promise<string[]> {
  const names = await readdirOrEmpty(dir);
  return names.filter((n) => parseSnapshotFileName(n) !== undefined).sort().reverse();
}

/** Loads the newest snapshot that verifies (and is accepted), reporting corrupt ones skipped. */
export async function loadNewest(dir: string, opts: LoadNewestOptions = {}): Promise<LoadedSnapshot> {
  const skipped: SkippedSnapshot[] = [];
  for (const name of await listSnapshots(dir)) {
    const marker = parseSnapshotFileName(name) as { index: number; term: number };
    if (opts.accept && !opts.accept(marker)) continue;
    const file = join(dir, name);
    try {
      const snap = await readSnapshotFile(file, marker);
      return { snapshot: snap, file, skipped };
    } catch (e) {
      if (!(e instanceof SnapshotCorruptError)) throw e;
      skipped.push({ file, error: e });
    }
  }
  return { snapshot: undefined, file: undefined, skipped };
}

/** Loads the snapshot at exactly (index, term). Throws SnapshotNotFoundError or SnapshotCorruptError. */
export async function loadSnapshot(dir: string, marker: { index: number; term: number }): Promise<PersistedSnapshot> {
  const file = join(dir, snapshotFileName(marker.index, marker.term));
  try {
    return await readSnapshotFile(file, marker);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      throw new SnapshotNotFoundError(`no snapshot index=${marker.index} term=${marker.term} in ${dir}`);
    }
    throw e;
  }
}

/**
 * Removes all but the `keep` newest snapshot files, and leftover temporary files of
 * interrupted saves. Returns the removed paths.
 */
export async function pruneSnapshots(dir: string, keep: number): Promise<string[]> {
  const removed: string[] = [];
  for (const name of (await listSnapshots(dir)).slice(keep)) {
    const file = join(dir, name);
    await rm(file, { force: true });
    removed.push(file);
  }
  for (const name of await readdir(dir)) {
    const file = join(dir, name);
    if (/\.snap\.tmp-/.test(name) && !inFlight.has(file)) {
      await rm(file, { force: true });
      removed.push(file);
    }
  }
  if (removed.length > 0) await fsyncDir(dir);
  return removed;
}

async function readSnapshotFile(file: string, expected: { index: number; term: number }): Promise<PersistedSnapshot> {
  const snap = decodeSnapshot(file, await readFile(file));
  if (snap.index !== expected.index || snap.term !== expected.term) {
    throw new SnapshotCorruptError(file, 8, `contents say index=${snap.index} term=${snap.term}, name ${basename(file)} says otherwise`);
  }
  return snap;
}

function checkSnapshot(snap: PersistedSnapshot): void {
  for (const [k, v] of [["index", snap?.index], ["term", snap?.term]] as const) {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new TypeError(`snapshot ${k} must be a non-negative safe integer, got ${String(v)}`);
  }
  if (!(snap.data instanceof Uint8Array)) throw new TypeError("snapshot data must be a Uint8Array");
}
