import { open, readdir, stat, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe as suite, expect, it, vi } from "vitest";
import { Wal, WalError, readWal } from "../../src/wal/index.js";
import { entry, tempDirs } from "./helpers.js";

const dirs = tempDirs();
afterEach(async () => {
  vi.restoreAllMocks();
  await dirs.cleanup();
});
const meta = { memberId: "etcd-2", clusterId: "kubemu" };
const ENTRY_OVERHEAD = 9 + 17;

/** FileHandle.prototype, reached through a real handle (the class is not exported by node). */
async function fileHandleProto(dir: string): Promise<FileHandle> {
  const fh = await open(join(dir, "probe"), "w");
  await fh.close();
  return Object.getPrototypeOf(fh) as FileHandle;
}

suite("WAL group commit", () => {
  it("batches concurrent appends into fewer fsyncs, keeps order, and resolves each only after its bytes are synced", async () => {
    const dir = await dirs.make();
    const proto = await fileHandleProto(dir);
    const wal = await Wal.create(dir, meta);
    const [seg] = (await readdir(dir)).filter((f) => f.endsWith(".wal"));
    const segPath = join(dir, seg as string);
    const headerSize = (await stat(segPath)).size;

    // Track how many bytes of the segment each completed fdatasync covered.
    let syncedSize = 0;
    const realDatasync = proto.datasync;
    vi.spyOn(proto, "datasync").mockImplementation(async function (this: FileHandle) {
      const size = (await this.stat()).size;
      await realDatasync.call(this);
      syncedSize = Math.max(syncedSize, size);
    });

    const n = 300;
    let end = headerSize;
    const order: number[] = [];
    const done: Promise<void>[] = [];
    for (let i = 1; i <= n; i++) {
      const e = entry(i, 1, 20 + (i % 50));
      end += ENTRY_OVERHEAD + e.data.length;
      const myEnd = end;
      done.push(
        wal.append(undefined, [e]).then(() => {
          expect(syncedSize).toBeGreaterThanOrEqual(myEnd);
          order.push(i);
        }),
      );
      // Spread the appends over several ticks so some arrive while a sync is in flight.
      if (i % 37 === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(done);
    expect(order).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    const stats = wal.stats;
    expect(stats.appends).toBe(n);
    expect(stats.batches).toBeGreaterThan(1);
    expect(stats.fsyncs).toBeLessThan(n / 4);
    expect(stats.bytesWritten).toBe(end - headerSize);
    await wal.close();
    const state = await readWal(dir);
    expect(state.entries.map((e) => e.index)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(state.entries.every((e, i) => Buffer.from(e.data).toString().startsWith(`e${i + 1}t1`))).toBe(true);
  });

  it("sync() waits for earlier appends; close() drains the queue", async () => {
    const dir = await dirs.make();
    const wal = await Wal.create(dir, meta);
    const settled: string[] = [];
    void wal.append({ term: 1, vote: 0, commit: 0 }, [entry(1, 1)]).then(() => settled.push("a1"));
    void wal.append(undefined, [entry(2, 1)]).then(() => settled.push("a2"));
    await wal.sync().then(() => settled.push("sync"));
    expect(settled).toEqual(["a1", "a2", "sync"]);
    const last = wal.append(undefined, [entry(3, 1)]);
    await wal.close();
    await last;
    expect((await readWal(dir)).entries.map((e) => e.index)).toEqual([1, 2, 3]);
  });

  it("an fsync failure rejects the batch and everything queued, poisons the WAL, and reopening recovers", async () => {
    const dir = await dirs.make();
    const proto = await fileHandleProto(dir);
    const wal = await Wal.create(dir, meta);
    await wal.append(undefined, [entry(1, 1)]);
    const realDatasync = proto.datasync;
    let fail = true;
    vi.spyOn(proto, "datasync").mockImplementation(async function (this: FileHandle) {
      if (fail) {
        fail = false;
        throw Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" });
      }
      return realDatasync.call(this);
    });
    const a = wal.append(undefined, [entry(2, 1)]);
    const b = wal.append(undefined, [entry(3, 1)]);
    await expect(a).rejects.toThrow(/EIO/);
    await expect(b).rejects.toThrow(/EIO/);
    await expect(wal.append(undefined, [entry(4, 1)])).rejects.toThrow(WalError);
    await expect(wal.sync()).rejects.toThrow(/reopened/);
    await wal.close();
    const { wal: again, state } = await Wal.open(dir);
    // Entry 1 was acknowledged and must be there; 2 and 3 were never acknowledged.
    expect(state.entries[0]?.index).toBe(1);
    await again.close();
  });
});
