import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe as suite, expect, it } from "vitest";
import { Wal, WalError } from "../../src/wal/index.js";
import { entry, tempDirs } from "./helpers.js";

const dirs = tempDirs();
afterEach(() => dirs.cleanup());
const meta = { memberId: "etcd-0", clusterId: "kubemu" };

suite("WAL directory lock", () => {
  it("allows one open WAL per directory in a process, released by close", async () => {
    const dir = await dirs.make();
    const wal = await Wal.create(dir, meta);
    expect((await readFile(join(dir, "LOCK"), "utf8")).trim()).toBe(String(process.pid));
    await expect(Wal.open(dir)).rejects.toThrow(/already open in this process/);
    await wal.close();
    const { wal: again } = await Wal.open(dir);
    await again.append(undefined, [entry(1, 1)]);
    await again.close();
  });

  it("refuses a directory locked by another running process", async () => {
    const dir = await dirs.make();
    await (await Wal.create(dir, meta)).close();
    await writeFile(join(dir, "LOCK"), `${process.ppid}\n`); // our parent is certainly alive
    const err = await Wal.open(dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WalError);
    expect((err as Error).message).toContain(`locked by running process ${process.ppid}`);
  });

  it("takes over a lock left by a process that is gone, or one that is garbage", async () => {
    const dir = await dirs.make();
    await (await Wal.create(dir, meta)).close();
    await writeFile(join(dir, "LOCK"), "2147483646\n"); // beyond pid_max: no such process
    await (await Wal.open(dir)).wal.close();
    await writeFile(join(dir, "LOCK"), "not a pid");
    await (await Wal.open(dir)).wal.close();
  });

  it("an open that fails releases the lock", async () => {
    const dir = await dirs.make();
    await expect(Wal.open(dir)).rejects.toThrow(/no WAL segments/);
    await expect(Wal.create(dir, meta, { segmentSize: -1 })).rejects.toThrow(/segmentSize/);
    await (await Wal.create(dir, meta)).close();
  });
});
