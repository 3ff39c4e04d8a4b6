/**
 * One writer per WAL directory. Two store processes appending to the same log would
 * interleave records and destroy it, so the writer holds a `LOCK` file naming its pid.
 * A lock left by a process that no longer exists (SIGKILL, crash, container restart) is taken
 * over; node has no flock(2), so liveness is checked through /proc (`isProcessAlive`: a zombie,
 * killed but not yet reaped by its parent, is gone — signal 0 alone would call it alive).
 */
import { isProcessAlive } from "@kubemu/common";
import { open, readFile, rename, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { WalError } from "./errors.js";

export const LOCK_FILE = "LOCK";

// Directories locked by this process (a pid check cannot tell two opens in one process apart).
const heldHere = new Set<string>();

/** A held directory lock; `release` is idempotent. */
export interface DirLock {
  release(): Promise<void>;
}

export async function lockDir(dir: string): Promise<DirLock> {
  const key = resolve(dir);
  if (heldHere.has(key)) throw new WalError(`WAL in ${dir} is already open in this process`);
  const path = join(dir, LOCK_FILE);
  const holder = await readHolder(path);
  if (holder !== undefined && holder !== process.pid && isProcessAlive(holder)) {
    throw new WalError(`WAL in ${dir} is locked by running process ${holder}`);
  }
  // Write the new lock beside the old one and rename over it, so the file is never half-written.
  const tmp = `${path}.${process.pid}`;
  const fh = await open(tmp, "w");
  try {
    await fh.writeFile(`${process.pid}\n`);
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  heldHere.add(key);
  let held = true;
  return {
    async release() {
      if (!held) return;
      held = false;
      heldHere.delete(key);
      if ((await readHolder(path)) === process.pid) await rm(path, { force: true });
    },
  };
}

async function readHolder(path: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await readFile(path, "utf8")).trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}
