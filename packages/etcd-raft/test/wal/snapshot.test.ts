import { readdir, readFile, rename, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe as suite, expect, it, vi } from "vitest";
import {
  SnapshotCorruptError,
  SnapshotNotFoundError,
  listSnapshots,
  loadNewest,
  loadSnapshot,
  saveSnapshot,
  snapshotFileName,
} from "../../src/snap/index.js";
import { flipByte, tempDirs } from "./helpers.js";

const dirs = tempDirs();
afterEach(async () => {
  vi.restoreAllMocks();
  await dirs.cleanup();
});

const data = (s: string) => new Uint8Array(Buffer.from(s));

suite("snapshot files", () => {
  it("saves and loads the newest snapshot with its data intact", async () => {
    const dir = join(await dirs.make(), "snap");
    await saveSnapshot(dir, { index: 10, term: 1, data: data("ten") });
    const path = await saveSnapshot(dir, { index: 2 ** 40, term: 3, data: data("big") });
    await saveSnapshot(dir, { index: 20, term: 2, data: new Uint8Array(0) });
    expect(path).toBe(join(dir, snapshotFileName(2 ** 40, 3)));
    const loaded = await loadNewest(dir);
    expect(loaded.file).toBe(path);
    expect(loaded.skipped).toEqual([]);
    expect(loaded.snapshot?.index).toBe(2 ** 40);
    expect(loaded.snapshot?.term).toBe(3);
    expect(Buffer.from(loaded.snapshot?.data ?? []).toString()).toBe("big");
    const exact = await loadSnapshot(dir, { index: 20, term: 2 });
    expect(exact.data.length).toBe(0);
    await expect(loadSnapshot(dir, { index: 21, term: 2 })).rejects.toThrow(SnapshotNotFoundError);
  });

  it("a missing directory has no snapshot", async () => {
    const loaded = await loadNewest(join(await dirs.make(), "none"));
    expect(loaded).toEqual({ snapshot: undefined, file: undefined, skipped: [] });
  });

  it("skips and reports corrupt snapshots, falling back to the newest valid one", async () => {
    const dir = await dirs.make();
    await saveSnapshot(dir, { index: 100, term: 1, data: data("x".repeat(1000)) });
    const p200 = await saveSnapshot(dir, { index: 200, term: 1, data: data("y".repeat(1000)) });
    const p300 = await saveSnapshot(dir, { index: 300, term: 2, data: data("z".repeat(1000)) });
    const p400 = await saveSnapshot(dir, { index: 400, term: 2, data: data("w".repeat(1000)) });
    const buf = await readFile(p400);
    flipByte(buf, 500, 1); // bit rot in the data
    await writeFile(p400, buf);
    await truncate(p300, 600); // short file
    await writeFile(p200, Buffer.concat([Buffer.from("NOTSNAP!"), (await readFile(p200)).subarray(8)])); // bad magic
    const loaded = await loadNewest(dir);
    expect(loaded.snapshot?.index).toBe(100);
    expect(loaded.skipped.map((s) => s.file)).toEqual([p400, p300, p200]);
    for (const s of loaded.skipped) {
      expect(s.error).toBeInstanceOf(SnapshotCorruptError);
      expect(s.error.message).toContain(s.file);
    }
    expect(loaded.skipped[0]?.error.reason).toMatch(/checksum/);
    expect(loaded.skipped[1]?.error.reason).toMatch(/data bytes/);
    expect(loaded.skipped[2]?.error.reason).toMatch(/magic/);
    await expect(loadSnapshot(dir, { index: 400, term: 2 })).rejects.toThrow(SnapshotCorruptError);
  });

  it("rejects a file whose contents disagree with its name", async () => {
    const dir = await dirs.make();
    const p = await saveSnapshot(dir, { index: 7, term: 1, data: data("a") });
    await rename(p, join(dir, snapshotFileName(9, 1)));
    const loaded = await loadNewest(dir);
    expect(loaded.snapshot).toBeUndefined();
    expect(loaded.skipped[0]?.error.reason).toMatch(/name/);
  });

  it("accept() limits loading to snapshots the caller can use", async () => {
    const dir = await dirs.make();
    await saveSnapshot(dir, { index: 5, term: 1, data: data("5") });
    await saveSnapshot(dir, { index: 9, term: 1, data: data("9") });
    const loaded = await loadNewest(dir, { accept: (m) => m.index <= 5 });
    expect(loaded.snapshot?.index).toBe(5);
  });

  it("prunes to the newest N and removes leftovers of interrupted saves", async () => {
    const dir = await dirs.make();
    await writeFile(join(dir, `${snapshotFileName(1, 1)}.tmp-999-0`), "half-written");
    for (let i = 1; i <= 8; i++) await saveSnapshot(dir, { index: i * 10, term: 1, data: data(String(i)) }, { keep: 3 });
    expect(await listSnapshots(dir)).toEqual([80, 70, 60].map((i) => snapshotFileName(i, 1)));
    expect((await readdir(dir)).sort()).toEqual([60, 70, 80].map((i) => snapshotFileName(i, 1)));
    await expect(saveSnapshot(dir, { index: 1, term: 1, data: data("") }, { keep: 0 })).rejects.toThrow(TypeError);
    await expect(saveSnapshot(dir, { index: -1, term: 1, data: data("") })).rejects.toThrow(TypeError);
  });

  it("a save that fails before the rename leaves no snapshot and no temp file", async () => {
    const dir = await dirs.make();
    await saveSnapshot(dir, { index: 1, term: 1, data: data("one") });
    const fs = await import("node:fs/promises");
    const fh = await fs.open(join(dir, "probe"), "w");
    await fh.close();
    await fs.rm(join(dir, "probe"));
    const proto = Object.getPrototypeOf(fh) as { sync: () => Promise<void> };
    vi.spyOn(proto, "sync").mockRejectedValueOnce(Object.assign(new Error("ENOSPC: no space left"), { code: "ENOSPC" }));
    await expect(saveSnapshot(dir, { index: 2, term: 1, data: data("two") })).rejects.toThrow(/ENOSPC/);
    expect(await readdir(dir)).toEqual([snapshotFileName(1, 1)]);
    expect((await loadNewest(dir)).snapshot?.index).toBe(1);
  });
});
