import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe as suite, expect, it } from "vitest";
import { Wal, WalError, readWal } from "../../src/wal/index.js";
import { describe, entries, entry, tempDirs } from "./helpers.js";

const dirs = tempDirs();
afterEach(() => dirs.cleanup());
const meta = { memberId: "etcd-0", clusterId: "kubemu" };

suite("WAL round trip", () => {
  it("recovers metadata, the last HardState and all entries", async () => {
    const dir = await dirs.make();
    const wal = await Wal.create(dir, meta);
    await wal.append({ term: 1, vote: 2, commit: 0 }, entries(1, 3, 1, 100));
    await wal.append({ term: 2, vote: 3, commit: 3 }, entries(4, 5, 2));
    await wal.append(undefined, [entry(6, 2)]);
    await wal.close();

    const { wal: reopened, state } = await Wal.open(dir);
    expect(state.metadata).toEqual(meta);
    expect(state.hardState).toEqual({ term: 2, vote: 3, commit: 3 });
    expect(state.snapshot).toEqual({ index: 0, term: 0 });
    expect(describe(state.entries)).toEqual(describe([...entries(1, 3, 1, 100), ...entries(4, 5, 2), entry(6, 2)]));
    expect(state.truncated).toBeUndefined();
    // Appending continues the same log.
    await reopened.append(undefined, [entry(7, 2)]);
    await reopened.close();
    expect((await readWal(dir)).entries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it("applies Raft overwrite semantics: a later entry at i replaces i and drops the rest", async () => {
    const dir = await dirs.make();
    const wal = await Wal.create(dir, meta);
    await wal.append(undefined, entries(1, 10, 1));
    await wal.append({ term: 3, vote: 1, commit: 4 }, entries(6, 7, 3)); // conflicting tail from a new leader
    await wal.append(undefined, [entry(8, 3)]);
    await wal.append(undefined, entries(3, 4, 4)); // and again, shorter
    await wal.close();
    const state = await readWal(dir);
    expect(describe(state.entries)).toEqual(describe([...entries(1, 2, 1), ...entries(3, 4, 4)]));
  });

  it("returns only entries after the newest snapshot marker, or after one asked for", async () => {
    const dir = await dirs.make();
    const wal = await Wal.create(dir, meta);
    await wal.append(undefined, entries(1, 10, 1));
    await wal.saveSnapshotMarker({ index: 5, term: 1 });
    await wal.append(undefined, entries(11, 12, 1));
    await wal.saveSnapshotMarker({ index: 8, term: 1 });
    await wal.close();
    const newest = await readWal(dir);
    expect(newest.snapshot).toEqual({ index: 8, term: 1 });
    expect(newest.entries.map((e) => e.index)).toEqual([9, 10, 11, 12]);
    const older = await readWal(dir, { snapshot: { index: 5, term: 1 } });
    expect(older.entries.map((e) => e.index)).toEqual([6, 7, 8, 9, 10, 11, 12]);
    await expect(readWal(dir, { snapshot: { index: 6, term: 1 } })).rejects.toThrow(/not in the WAL/);
  });

  it("accepts the jump after a follower installs a snapshot", async () => {
    const dir = await dirs.make();
    const wal = await Wal.create(dir, meta);
    await wal.append(undefined, entries(1, 5, 1));
    await expect(wal.append(undefined, [entry(50, 2)])).rejects.toThrow(WalError);
    await wal.saveSnapshotMarker({ index: 49, term: 2 });
    await wal.append(undefined, entries(50, 52, 2));
    await wal.close();
    const state = await readWal(dir);
    expect(state.snapshot).toEqual({ index: 49, term: 2 });
    expect(state.entries.map((e) => e.index)).toEqual([50, 51, 52]);
  });

  it("rejects bad input with WalError and stays usable", async () => {
    const dir = await dirs.make();
    const wal = await Wal.create(dir, meta);
    await expect(wal.append(undefined, [entry(1, 1), entry(3, 1)])).rejects.toThrow(/consecutive/);
    await expect(wal.append({ term: -1, vote: 0, commit: 0 }, [])).rejects.toThrow(WalError);
    await expect(wal.append(undefined, [{ index: 1, term: 1, type: 0, data: "x" as unknown as Uint8Array }])).rejects.toThrow(/Uint8Array/);
    await expect(wal.append(undefined, [{ ...entry(1, 1), type: 300 }])).rejects.toThrow(/0\.\.255/);
    await expect(wal.append(undefined, [entry(0, 1)])).rejects.toThrow(WalError);
    await expect(wal.append(undefined, [entry(1, 2 ** 60)])).rejects.toThrow(WalError);
    await expect(wal.releaseTo(3)).rejects.toThrow(/snapshot marker/);
    await wal.append(undefined, [entry(1, 1)]);
    await wal.close();
    await expect(wal.append(undefined, [entry(2, 1)])).rejects.toThrow(/closed/);
    expect((await readWal(dir)).entries.map((e) => e.index)).toEqual([1]);
  });

  it("refuses to create over an existing WAL and to open a missing one", async () => {
    const dir = await dirs.make();
    await (await Wal.create(dir, meta)).close();
    await expect(Wal.create(dir, meta)).rejects.toThrow(/already exists/);
    await expect(Wal.open(join(dir, "nope"))).rejects.toThrow(WalError);
    await expect(Wal.create(await dirs.make(), { memberId: "", clusterId: "c" })).rejects.toThrow(TypeError);
  });

  it("openOrCreate creates once, then reopens and checks the member identity", async () => {
    const dir = await dirs.make();
    const first = await Wal.openOrCreate(dir, meta);
    expect(first.state).toEqual({ metadata: meta, hardState: { term: 0, vote: 0, commit: 0 }, snapshot: { index: 0, term: 0 }, entries: [], snapshots: [{ index: 0, term: 0 }] });
    await first.wal.append({ term: 1, vote: 1, commit: 0 }, [entry(1, 1)]);
    await first.wal.close();
    const second = await Wal.openOrCreate(dir, meta);
    expect(second.state.entries.map((e) => e.index)).toEqual([1]);
    await second.wal.close();
    await expect(Wal.openOrCreate(dir, { memberId: "etcd-9", clusterId: "kubemu" })).rejects.toThrow(/belongs to member etcd-0/);
  });

  it("round-trips indexes and terms above 2^32", async () => {
    const dir = await dirs.make();
    const wal = await Wal.create(dir, meta);
    const big = 2 ** 40 + 7;
    await wal.saveSnapshotMarker({ index: big - 1, term: 2 ** 33 });
    await wal.append({ term: 2 ** 45, vote: 2 ** 50, commit: big }, [entry(big, 2 ** 45)]);
    await wal.close();
    const state = await readWal(dir);
    expect(state.hardState).toEqual({ term: 2 ** 45, vote: 2 ** 50, commit: big });
    expect(describe(state.entries)).toEqual(describe([entry(big, 2 ** 45)]));
  });
});

suite("WAL segments", () => {
  it("rotates across many segments and recovers every entry in order", async () => {
    const dir = await dirs.make();
    const wal = await Wal.create(dir, meta, { segmentSize: 4096 });
    let hs = { term: 1, vote: 1, commit: 0 };
    for (let i = 1; i <= 400; i += 4) {
      hs = { term: 1 + Math.floor(i / 100), vote: 1, commit: i };
      await wal.append(hs, entries(i, i + 3, hs.term, 200));
    }
    await wal.close();
    const files = (await readdir(dir)).filter((f) => f.endsWith(".wal")).sort();
    expect(files.length).toBeGreaterThanOrEqual(15);
    expect(wal.stats.rotations).toBe(files.length - 1);
    for (const f of files) expect((await stat(join(dir, f))).size).toBeLessThan(4096 + 4 * 250 + 200);
    // Names carry consecutive sequence numbers and non-decreasing first indexes.
    const parsed = files.map((f) => f.slice(0, -4).split("-").map((h) => parseInt(h, 16)));
    parsed.forEach(([seq], i) => expect(seq).toBe(i));
    const state = await readWal(dir);
    expect(state.entries.map((e) => e.index)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    expect(state.hardState).toEqual(hs);
  });

  it("releaseTo deletes only segments whose entries are all ≤ index, and recovery still works", async () => {
    const dir = await dirs.make();
    const wal = await Wal.create(dir, meta, { segmentSize: 2048 });
    for (let i = 1; i <= 200; i += 5) await wal.append({ term: 1, vote: 1, commit: i + 4 }, entries(i, i + 4, 1, 100));
    await wal.saveSnapshotMarker({ index: 120, term: 1 });
    const before = (await readdir(dir)).filter((f) => f.endsWith(".wal")).sort();
    await wal.releaseTo(120);
    const after = (await readdir(dir)).filter((f) => f.endsWith(".wal")).sort();
    expect(after.length).toBeLessThan(before.length);
    expect(before.slice(before.length - after.length)).toEqual(after);
    // The first kept segment starts at or before 121; the one after it starts past it.
    const firsts = after.map((f) => parseInt(f.slice(17, 33), 16));
    expect(firsts[0]).toBeLessThanOrEqual(121);
    if (firsts.length > 1) expect(firsts[1]).toBeGreaterThan(121);
    await wal.append(undefined, entries(201, 210, 2));
    await wal.close();
    const { wal: again, state } = await Wal.open(dir);
    await again.close();
    expect(state.metadata).toEqual(meta);
    expect(state.snapshot).toEqual({ index: 120, term: 1 });
    expect(state.hardState).toEqual({ term: 1, vote: 1, commit: 200 });
    expect(state.entries.map((e) => e.index)).toEqual(Array.from({ length: 90 }, (_, i) => i + 121));
  });

  it("keeps the last segment even when everything in it is released", async () => {
    const dir = await dirs.make();
    const wal = await Wal.create(dir, meta, { segmentSize: 1024 });
    for (let i = 1; i <= 50; i++) await wal.append(undefined, [entry(i, 1, 100)]);
    await wal.saveSnapshotMarker({ index: 50, term: 1 });
    await wal.releaseTo(50);
    await wal.close();
    expect((await readdir(dir)).filter((f) => f.endsWith(".wal")).length).toBe(1);
    const state = await readWal(dir);
    expect(state.snapshot).toEqual({ index: 50, term: 1 });
    expect(state.entries).toEqual([]);
  });

  it("each new segment repeats metadata, HardState and snapshot marker, so releasing the originals loses nothing", async () => {
    const dir = await dirs.make();
    const wal = await Wal.create(dir, meta, { segmentSize: 1 }); // every write cuts a segment
    await wal.append({ term: 5, vote: 2, commit: 50 }, entries(1, 50, 5));
    await wal.saveSnapshotMarker({ index: 50, term: 5 });
    await wal.append(undefined, entries(51, 55, 5));
    await wal.append(undefined, entries(56, 60, 5));
    expect(wal.stats.rotations).toBe(4); // the header-only first segment counts as full too
    await wal.releaseTo(50);
    await wal.close();
    const files = (await readdir(dir)).filter((f) => f.endsWith(".wal")).sort();
    // Segments: 0 header, 1 entries 1..50, 2 marker, 3 entries 51..55, 4 entries 56..60.
    // Segment 3 is the newest with firstIndex ≤ 51, so it is the oldest one kept.
    expect(files).toEqual(["0000000000000003-0000000000000033.wal", "0000000000000004-0000000000000038.wal"]);
    const state = await readWal(dir);
    expect(state.metadata).toEqual(meta);
    expect(state.hardState).toEqual({ term: 5, vote: 2, commit: 50 });
    expect(state.snapshot).toEqual({ index: 50, term: 5 });
    expect(state.entries.map((e) => e.index)).toEqual(Array.from({ length: 10 }, (_, i) => 51 + i));
  });
});
