import { copyFile, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe as suite, expect, it } from "vitest";
import { Wal, WalCorruptError, readWal } from "../../src/wal/index.js";
import { describe, entries, entry, flipByte, tempDirs } from "./helpers.js";

const dirs = tempDirs();
afterEach(() => dirs.cleanup());
const meta = { memberId: "etcd-1", clusterId: "kubemu" };

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith(".wal")).sort().map((f) => join(dir, f));
}

/** Writes entries 1..n one record each and returns the byte offset where each record starts. */
async function writeLog(dir: string, n: number, size = 40): Promise<number[]> {
  const wal = await Wal.create(dir, meta);
  const offsets: number[] = [];
  const [seg] = await segmentFiles(dir);
  for (let i = 1; i <= n; i++) {
    offsets.push((await stat(seg as string)).size);
    await wal.append(undefined, [entry(i, 1, size)]);
  }
  await wal.close();
  return offsets;
}

async function expectCorrupt(p: Promise<unknown>, file: string, offset: number): Promise<WalCorruptError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WalCorruptError);
  const c = err as WalCorruptError;
  expect(c.file).toBe(file);
  expect(c.offset).toBe(offset);
  expect(c.message).toContain(file);
  expect(c.message).toContain(`byte ${offset}`);
  return c;
}

suite("WAL torn tail", () => {
  it("truncating the last record at every byte offset recovers all earlier records and reports it", async () => {
    const base = await dirs.make();
    const offsets = await writeLog(base, 6);
    const [seg] = await segmentFiles(base);
    const full = await readFile(seg as string);
    const lastStart = offsets[5] as number;
    const work = await dirs.make();
    const file = join(work, (seg as string).slice(base.length + 1));
    for (let cut = lastStart + 1; cut < full.length; cut++) {
      await writeFile(file, full.subarray(0, cut));
      const { wal, state } = await Wal.open(work);
      try {
        expect(state.entries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5]);
        expect(state.truncated).toMatchObject({ file, offset: lastStart, droppedBytes: cut - lastStart });
        expect((await stat(file)).size).toBe(lastStart); // cut off on disk
        await wal.append(undefined, [entry(6, 2)]); // and the log continues cleanly
      } finally {
        await wal.close();
      }
      const after = await readWal(work);
      expect(after.truncated).toBeUndefined();
      expect(describe(after.entries)).toEqual(describe([...entries(1, 5, 1, 40), entry(6, 2)]));
    }
  });

  it("treats a bad checksum on the final record as torn, and garbage after the last record too", async () => {
    const dir = await dirs.make();
    const offsets = await writeLog(dir, 4);
    const [seg] = await segmentFiles(dir);
    const buf = await readFile(seg as string);
    flipByte(buf, buf.length - 3, 0xff);
    await writeFile(seg as string, buf);
    let state = await readWal(dir);
    expect(state.entries.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(state.truncated?.offset).toBe(offsets[3]);
    expect(state.truncated?.reason).toMatch(/checksum/);

    flipByte(buf, buf.length - 3, 0xff);
    await writeFile(seg as string, Buffer.concat([buf, Buffer.alloc(3000), Buffer.from("garbage")]));
    state = await readWal(dir);
    expect(state.entries.map((e) => e.index)).toEqual([1, 2, 3, 4]);
    expect(state.truncated).toMatchObject({ offset: buf.length, droppedBytes: 3007 });
  });

  it("readWal reports a torn tail without modifying the file", async () => {
    const dir = await dirs.make();
    await writeLog(dir, 3);
    const [seg] = await segmentFiles(dir);
    const size = (await stat(seg as string)).size;
    await truncate(seg as string, size - 5);
    expect((await readWal(dir)).truncated).toBeDefined();
    expect((await stat(seg as string)).size).toBe(size - 5);
  });
});

suite("WAL corruption", () => {
  it("a flipped byte in any middle record stops recovery with the file and offset", async () => {
    const dir = await dirs.make();
    const offsets = await writeLog(dir, 8);
    const [seg] = await segmentFiles(dir);
    const pristine = await readFile(seg as string);
    for (const victim of [1, 3, 6]) {
      const start = offsets[victim] as number;
      const end = offsets[victim + 1] as number;
      for (const at of [start, start + 4, start + 8, start + 12, end - 1]) {
        const buf = Buffer.from(pristine);
        flipByte(buf, at, 0x10);
        await writeFile(seg as string, buf);
        await expectCorrupt(Wal.open(dir), seg as string, start);
      }
    }
  });

  it("a damaged record in a segment that is not the last is corruption even at its end", async () => {
    const dir = await dirs.make();
    const wal = await Wal.create(dir, meta, { segmentSize: 1024 });
    for (let i = 1; i <= 40; i++) await wal.append(undefined, [entry(i, 1, 100)]);
    await wal.close();
    const segs = await segmentFiles(dir);
    expect(segs.length).toBeGreaterThan(2);
    const victim = segs[1] as string;
    const size = (await stat(victim)).size;
    await truncate(victim, size - 1);
    const err = await expectCorrupt(readWal(dir), victim, (await lastRecordStart(victim)) as number);
    expect(err.reason).toMatch(/not in the last segment/);
  });

  it("a missing segment in the sequence is corruption naming the segment after the gap", async () => {
    const dir = await dirs.make();
    const wal = await Wal.create(dir, meta, { segmentSize: 1024 });
    for (let i = 1; i <= 40; i++) await wal.append(undefined, [entry(i, 1, 100)]);
    await wal.close();
    const segs = await segmentFiles(dir);
    await rm(segs[2] as string);
    const err = await expectCorrupt(readWal(dir), segs[3] as string, 0);
    expect(err.reason).toMatch(/sequence gap/);
  });

  it("a segment whose metadata disagrees is corruption", async () => {
    const a = await dirs.make();
    const b = await dirs.make();
    const walA = await Wal.create(a, meta, { segmentSize: 512 });
    const walB = await Wal.create(b, { memberId: "etcd-2", clusterId: "kubemu" }, { segmentSize: 512 });
    for (let i = 1; i <= 20; i++) {
      await walA.append(undefined, [entry(i, 1, 100)]);
      await walB.append(undefined, [entry(i, 1, 100)]);
    }
    await walA.close();
    await walB.close();
    const segsA = await segmentFiles(a);
    const segsB = await segmentFiles(b);
    expect(segsA.map((f) => f.slice(a.length))).toEqual(segsB.map((f) => f.slice(b.length)));
    await copyFile(segsB[1] as string, segsA[1] as string);
    const err = await expectCorrupt(readWal(a), segsA[1] as string, 0);
    expect(err.reason).toMatch(/metadata/);
  });

  it("an empty or headerless segment is corruption", async () => {
    const dir = await dirs.make();
    await writeLog(dir, 2);
    const [seg] = await segmentFiles(dir);
    await truncate(seg as string, 4);
    await expectCorrupt(readWal(dir), seg as string, 0);
    await truncate(seg as string, 0);
    await expectCorrupt(readWal(dir), seg as string, 0);
  });
});

/** Offset of the last complete record in a pristine segment, found by walking lengths. */
async function lastRecordStart(file: string): Promise<number | undefined> {
  const buf = await readFile(file);
  let off = 0;
  let last: number | undefined;
  while (off + 9 <= buf.length) {
    const end = off + 9 + buf.readUInt32LE(off);
    if (end > buf.length) return off;
    last = off;
    off = end;
  }
  return last;
}
