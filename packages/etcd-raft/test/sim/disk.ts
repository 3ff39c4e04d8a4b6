import type { Rng } from "@kubemu/common";
import { type Entry, type HardState, MemoryStorage, type Ready, type Snapshot } from "../../src/raft/index.js";

type WalRecord = { kind: "snap"; snap: Snapshot } | { kind: "entry"; entry: Entry } | { kind: "hardState"; hs: HardState };

/**
 * SimDisk models a node's disk with an explicit fsync boundary. `storage` is what is durable.
 * write() queues a Ready's records in WAL order (snapshot, entries, then the HardState, so a
 * recovered commit index never points past the recovered entries); sync() makes them durable;
 * crash() keeps only a random prefix of what was written but not synced (a torn tail) and
 * loses the rest. The driver sends a Ready's messages only after sync(), so nothing lost in
 * a crash was ever promised to anyone.
 */
export class SimDisk {
  storage: MemoryStorage;
  private unsynced: WalRecord[] = [];
  /** Records lost to crashes (for the run summary). */
  lostRecords = 0;

  /** An empty disk (a member joining later), or a founding member's disk holding bootstrapState(voters). */
  constructor(voters?: readonly number[]) {
    this.storage = voters ? MemoryStorage.bootstrap(voters) : new MemoryStorage();
  }

  write(rd: Ready): void {
    if (rd.snapshot) this.unsynced.push({ kind: "snap", snap: rd.snapshot });
    for (const e of rd.entries) this.unsynced.push({ kind: "entry", entry: e });
    if (rd.hardState) this.unsynced.push({ kind: "hardState", hs: rd.hardState });
  }

  sync(): void {
    for (const r of this.unsynced) this.applyRecord(r);
    this.unsynced = [];
  }

  /** Loses power: a random prefix of the unsynced records survives (possibly none, possibly all). */
  crash(rng: Rng): void {
    const keep = this.unsynced.length === 0 ? 0 : rng.int(this.unsynced.length + 1);
    for (const r of this.unsynced.slice(0, keep)) this.applyRecord(r);
    this.lostRecords += this.unsynced.length - keep;
    this.unsynced = [];
  }

  private applyRecord(r: WalRecord): void {
    switch (r.kind) {
      case "snap":
        if (r.snap.metadata.index > this.storage.snapshot().metadata.index) this.storage.applySnapshot(r.snap);
        break;
      case "entry":
        if (r.entry.index <= this.storage.lastIndex() + 1) this.storage.append([r.entry]);
        break;
      case "hardState":
        this.storage.setHardState(r.hs);
        break;
    }
  }
}
