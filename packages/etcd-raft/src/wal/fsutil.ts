/** Small durable-file helpers shared by the WAL and the snapshot store. */
import { open, readdir, type FileHandle } from "node:fs/promises";

// Linux's writev limit on buffers per call.
const IOV_MAX = 1024;

/** The names in `dir`, or none when it does not exist yet. */
export async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}

/** Makes a directory's entries (created, renamed, removed files) durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes every byte of `buffers` at the handle's current position, retrying short writes. */
export async function writeFully(fh: FileHandle, buffers: Buffer[]): Promise<number> {
  let pending = buffers.filter((b) => b.length > 0);
  let total = 0;
  while (pending.length > 0) {
    const { bytesWritten } = await fh.writev(pending.slice(0, IOV_MAX));
    total += bytesWritten;
    pending = dropWritten(pending, bytesWritten);
  }
  return total;
}

function dropWritten(buffers: Buffer[], written: number): Buffer[] {
  let left = written;
  let i = 0;
  while (i < buffers.length && left >= (buffers[i] as Buffer).length) {
    left -= (buffers[i] as Buffer).length;
    i++;
  }
  const rest = buffers.slice(i);
  if (left > 0 && rest.length > 0) rest[0] = (rest[0] as Buffer).subarray(left);
  return rest;
}
