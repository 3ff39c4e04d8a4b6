/**
 * The member's durable state: a WAL (`<data-dir>/wal`) and snapshot files (`<data-dir>/snap`),
 * and the in-memory Raft Storage rebuilt from them at boot.
 *
 * Boot: the newest snapshot file that the WAL has a marker for, then the WAL entries after it.
 * A brand-new member of a new cluster is bootstrapped with a snapshot at index 1, term 1 that
 * holds the initial membership and an empty store; every initial member writes the same one,
 * so their logs agree, and a member added later receives the membership through a snapshot.
 * The bootstrap is prepared in `wal.tmp` and renamed into place, so a crash mid-bootstrap
 * leaves either nothing or a complete WAL.
 */
import { rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "@kubemu/common";
import { MemoryStorage, type HardState, type Snapshot, type Entry } from "../raft/index.js";
import { loadNewest, saveSnapshot } from "../snap/index.js";
import { Wal, type SnapshotMarker } from "../wal/index.js";
import { decodeEnvelope, encodeEnvelope, type SnapshotEnvelope } from "./codec.js";

export interface BootOptions {
  dataDir: string;
  memberName: string;
  clusterId: string;
  /** Set for a member of a new cluster: the membership to bootstrap with if the data dir is empty. */
  bootstrap?: Omit<SnapshotEnvelope, "version">;
  log: Logger;
}

export interface Booted {
  disk: Disk;
  storage: MemoryStorage;
  /** The snapshot the state machine must be restored from (undefined: start empty). */
  envelope: SnapshotEnvelope | undefined;
  /** Index the restored state machine reflects. */
  appliedIndex: number;
  hardState: HardState;
  /** True if this boot created the data dir's state. */
  created: boolean;
}

/** Write side of the member's durable state. */
export class Disk {
  private constructor(
    readonly wal: Wal,
    readonly snapDir: string,
  ) {}

  /** Opens (or bootstraps/creates) the data dir and rebuilds Raft storage. */
  static async boot(opts: BootOptions): Promise<Booted> {
    const walDir = join(opts.dataDir, "wal");
    const snapDir = join(opts.dataDir, "snap");
    let created = false;
    if (!(await Wal.exists(walDir))) {
      created = true;
      await Disk.create(walDir, snapDir, opts);
    }
    const probe = await Wal.open(walDir);
    await probe.wal.close();
    const known = (m: SnapshotMarker) => probe.state.snapshots.some((s) => s.index === m.index && s.term === m.term);
    const loaded = await loadNewest(snapDir, { accept: known });
    for (const s of loaded.skipped) opts.log.warn({ file: s.file, err: s.error.message }, "skipping a corrupt snapshot file");
    const marker = loaded.snapshot ? { index: loaded.snapshot.index, term: loaded.snapshot.term } : { index: 0, term: 0 };
    const { wal, state } = await Wal.open(walDir, { snapshot: marker });
    if (state.truncated) opts.log.warn({ ...state.truncated }, "WAL had a torn tail (an unacknowledged write); cut it off");
    if (state.metadata.memberId !== opts.memberName) {
      await wal.close();
      throw new Error(`data dir ${opts.dataDir} belongs to member ${state.metadata.memberId}, not ${opts.memberName}`);
    }
    const storage = new MemoryStorage();
    let envelope: SnapshotEnvelope | undefined;
    if (loaded.snapshot && loaded.snapshot.index > 0) {
      envelope = decodeEnvelope(loaded.snapshot.data);
      storage.applySnapshot({
        metadata: { index: loaded.snapshot.index, term: loaded.snapshot.term, confState: envelope.confState },
        data: loaded.snapshot.data,
      });
    }
    storage.append(state.entries);
    // A HardState is written just before the entries of the same batch; if a crash tore those
    // entries off, its commit points past the log. Commit need not be durable, so clamp it.
    const hardState = { ...state.hardState, commit: Math.min(state.hardState.commit, storage.lastIndex()) };
    if (hardState.commit !== state.hardState.commit) opts.log.warn({ recorded: state.hardState.commit, clamped: hardState.commit }, "HardState commit beyond the recovered log; clamped");
    storage.setHardState(hardState);
    opts.log.info(
      { snapshotIndex: marker.index, entries: state.entries.length, lastIndex: storage.lastIndex(), hardState: state.hardState, created },
      "recovered durable state",
    );
    return { disk: new Disk(wal, snapDir), storage, envelope, appliedIndex: marker.index, hardState, created };
  }

  private static async create(walDir: string, snapDir: string, opts: BootOptions): Promise<void> {
    const tmp = `${walDir}.tmp`;
    await rm(tmp, { recursive: true, force: true });
    const wal = await Wal.create(tmp, { memberId: opts.memberName, clusterId: opts.clusterId });
    try {
      if (opts.bootstrap) {
        const data = encodeEnvelope({ version: 1, ...opts.bootstrap });
        await saveSnapshot(snapDir, { index: 1, term: 1, data });
        await wal.saveSnapshotMarker({ index: 1, term: 1 });
        await wal.append({ term: 1, vote: 0, commit: 1 }, []);
        opts.log.info({ voters: opts.bootstrap.confState.voters.length }, "bootstrapped a new cluster member");
      } else {
        opts.log.info("created an empty data dir; waiting for the leader to send a snapshot");
      }
    } finally {
      await wal.close();
    }
    if (await exists(walDir)) await rm(walDir, { recursive: true, force: true });
    await rename(tmp, walDir);
  }

  /** Persists a HardState and entries; resolves once they are on disk (group-committed). */
  append(hs: HardState | undefined, entries: readonly Entry[]): Promise<void> {
    return this.wal.append(hs, entries);
  }

  /** Saves a snapshot file, then its WAL marker (so a marker never points at a missing file). */
  async saveSnapshot(snap: Snapshot): Promise<void> {
    await saveSnapshot(this.snapDir, { index: snap.metadata.index, term: snap.metadata.term, data: snap.data });
    await this.wal.saveSnapshotMarker({ index: snap.metadata.index, term: snap.metadata.term });
  }

  /** Drops WAL segments that only hold entries up to index (≤ the newest snapshot). */
  releaseTo(index: number): Promise<void> {
    return this.wal.releaseTo(index);
  }

  close(): Promise<void> {
    return this.wal.close();
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
