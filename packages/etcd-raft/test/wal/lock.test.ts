import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readProcStat } from "@kubemu/common";
import { afterEach, describe as suite, expect, it } from "vitest";
import { Wal, WalError } from "../../src/wal/index.js";
import { entry, tempDirs } from "./helpers.js";

const dirs = tempDirs();
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await dirs.cleanup();
});

/** A real zombie: `sleep 0.1` backgrounded by a shell that then execs `sleep 5`, which never reaps it. */
async function zombiePid(): Promise<number> {
  const parent = spawn("sh", ["-c", "sleep 0.1 & echo $!; exec sleep 5"], { stdio: ["ignore", "pipe", "ignore"] });
  children.push(parent);
  const [chunk] = (await once(parent.stdout!, "data")) as [Buffer];
  const pid = Number(chunk.toString().trim());
  const deadline = Date.now() + 5_000;
  while (readProcStat(pid)?.state !== "Z") {
    if (Date.now() > deadline) throw new Error(`pid ${pid} did not become a zombie`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return pid;
}
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

  it("takes over a lock whose holder is a zombie (killed, not yet reaped by its parent)", async () => {
    const dir = await dirs.make();
    await (await Wal.create(dir, meta)).close();
    const pid = await zombiePid();
    expect(() => process.kill(pid, 0)).not.toThrow(); // signal 0 alone would call it running
    await writeFile(join(dir, "LOCK"), `${pid}\n`);
    const { wal } = await Wal.open(dir);
    expect((await readFile(join(dir, "LOCK"), "utf8")).trim()).toBe(String(process.pid));
    await wal.close();
  });

  it("an open that fails releases the lock", async () => {
    const dir = await dirs.make();
    await expect(Wal.open(dir)).rejects.toThrow(/no WAL segments/);
    await expect(Wal.create(dir, meta, { segmentSize: -1 })).rejects.toThrow(/segmentSize/);
    await (await Wal.create(dir, meta)).close();
  });
});
