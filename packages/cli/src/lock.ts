import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from "node:fs";
import type { Clock } from "@kubemu/common";
import { CliError } from "./errors.js";
import { isOurProcessAlive, readProcStat } from "./proc.js";

/** How long a command waits for another kubemu command on the same cluster to finish. */
export const lockWaitMs = 30_000;

/**
 * Holds `<state>/lock` while a command changes cluster.json, so two commands never interleave.
 * The file records the holder's pid and start time; a lock whose holder is gone is stale and taken over.
 */
export async function withStateLock<T>(stateDir: string, lockFile: string, clock: Clock, fn: () => Promise<T>): Promise<T> {
  mkdirSync(stateDir, { recursive: true });
  const me = readProcStat(process.pid);
  const deadline = clock.now() + lockWaitMs;
  for (;;) {
    try {
      const fd = openSync(lockFile, "wx");
      writeSync(fd, `${process.pid} ${me?.startTime ?? 0}\n`);
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const holder = readHolder(lockFile);
    if (holder === undefined || !isOurProcessAlive(holder)) {
      rmSync(lockFile, { force: true }); // stale: its holder is gone
      continue;
    }
    if (clock.now() >= deadline) {
      throw new CliError(`another kubemu command (pid ${holder.pid}) is still working on this cluster; remove ${lockFile} if that is wrong`);
    }
    await clock.sleep(100);
  }
  try {
    return await fn();
  } finally {
    rmSync(lockFile, { force: true });
  }
}

function readHolder(lockFile: string): { pid: number; startTime: number } | undefined {
  try {
    const [pid, startTime] = readFileSync(lockFile, "utf8").trim().split(" ").map(Number);
    if (pid === undefined || startTime === undefined || !Number.isInteger(pid) || !Number.isInteger(startTime)) return undefined;
    return { pid, startTime };
  } catch {
    return undefined;
  }
}
