import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe as suite, expect, it } from "vitest";
import { loadNewest, saveSnapshot } from "../../src/snap/index.js";
import { Wal, type SnapshotMarker } from "../../src/wal/index.js";
import { entries, flipByte, tempDirs } from "./helpers.js";

const dirs = tempDirs();
afterEach(() => dirs.cleanup());

/** The boot sequence a store runs: newest snapshot file the WAL knows about, then the log after it. */
async function boot(walDir: string, snapDir: string) {
  const probe = await Wal.open(walDir);
  await probe.wal.close();
  const known = (m: SnapshotMarker) => probe.state.snapshots.some((s) => s.index === m.index && s.term === m.term);
  const loaded = await loadNewest(snapDir, { accept: known });
  const marker = loaded.snapshot ? { index: loaded.snapshot.index, term: loaded.snapshot.term } : { index: 0, term: 0 };
  const { wal, state } = await Wal.open(walDir, { snapshot: marker });
  await wal.close();
  return { loaded, state };
}

suite("booting from snapshot files + WAL", () => {
  it("ignores a snapshot file the WAL never recorded and falls back past a corrupt one", async () => {
    const root = await dirs.make();
    const walDir = join(root, "wal");
    const snapDir = join(root, "snap");
    const wal = await Wal.create(walDir, { memberId: "etcd-0", clusterId: "c" }, { segmentSize: 1024 });
    await wal.append({ term: 1, vote: 1, commit: 40 }, entries(1, 40, 1, 50));
    // Snapshot file first, then the WAL marker (so a marker never points at a missing file).
    await saveSnapshot(snapDir, { index: 20, term: 1, data: new Uint8Array([20]) });
    await wal.saveSnapshotMarker({ index: 20, term: 1 });
    await saveSnapshot(snapDir, { index: 30, term: 1, data: new Uint8Array([30]) });
    await wal.saveSnapshotMarker({ index: 30, term: 1 });
    // Crash between writing this file and its marker.
    await saveSnapshot(snapDir, { index: 35, term: 1, data: new Uint8Array([35]) });
    await wal.close();

    let { loaded, state } = await boot(walDir, snapDir);
    expect(state.snapshots).toEqual([{ index: 0, term: 0 }, { index: 20, term: 1 }, { index: 30, term: 1 }]);
    expect(loaded.snapshot?.index).toBe(30);
    expect(state.entries.map((e) => e.index)).toEqual(Array.from({ length: 10 }, (_, i) => 31 + i));

    const p30 = join(snapDir, "000000000000001e-0000000000000001.snap");
    const buf = await readFile(p30);
    flipByte(buf, buf.length - 1);
    await writeFile(p30, buf);
    ({ loaded, state } = await boot(walDir, snapDir));
    expect(loaded.snapshot?.index).toBe(20);
    expect(loaded.skipped.map((s) => s.file)).toEqual([p30]);
    expect(state.snapshot).toEqual({ index: 20, term: 1 });
    expect(state.entries[0]?.index).toBe(21);
    expect(state.entries.length).toBe(20);
  });
});
