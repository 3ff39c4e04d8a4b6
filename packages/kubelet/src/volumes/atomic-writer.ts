/**
 * Upstream's AtomicWriter (pkg/volume/util/atomic_writer.go), the way configMap, secret,
 * downwardAPI and projected volumes change under a running container: the files live in a
 * timestamped directory `..2024_05_01_10_00_00.123456789`, `..data` is a symlink to it, and each
 * top-level name is a symlink through `..data`. An update writes a new timestamped directory,
 * points `..data_tmp` at it and renames that over `..data` (one atomic step), then removes the
 * old directory and fixes the top-level links. A reader sees the old set or the new, never a mix.
 * The file system calls are asynchronous: a burst of pods writes its volumes on libuv's threads
 * while the kubelet's event loop goes on (the synchronous calls cost tens of ms per pod on a busy
 * disk, all of it on the loop). One pod's volumes have one writer at a time (its worker).
 */
import { chmod, lstat, mkdir, readdir, readFile, readlink, rename, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { dirname, join, normalize } from "node:path";

export interface Payload {
  /** Relative path → content and mode. */
  [path: string]: { data: Buffer; mode: number };
}

const DATA = "..data";
const DATA_TMP = "..data_tmp";

/** A relative, non-escaping path with no `..` element (upstream's validatePath). */
export function validPayloadPath(p: string): boolean {
  if (p === "" || p.startsWith("/") || p.length > 4096) return false;
  const parts = p.split("/");
  return !parts.some((x) => x === ".." || x === "") && !parts[0]!.startsWith("..");
}

function tsDirName(now: Date, nanos: number): string {
  const p2 = (n: number) => String(n).padStart(2, "0");
  return `..${now.getUTCFullYear()}_${p2(now.getUTCMonth() + 1)}_${p2(now.getUTCDate())}_${p2(now.getUTCHours())}_${p2(now.getUTCMinutes())}_${p2(now.getUTCSeconds())}.${String(nanos).padStart(9, "0")}`;
}

const exists = (path: string) => lstat(path).then(() => true, () => false);

async function currentPayload(dir: string, tsDir: string): Promise<Map<string, { data: Buffer; mode: number }>> {
  const out = new Map<string, { data: Buffer; mode: number }>();
  const walk = async (rel: string) => {
    for (const name of await readdir(join(dir, tsDir, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(dir, tsDir, r));
      if (st.isDirectory()) await walk(r);
      else out.set(r, { data: await readFile(join(dir, tsDir, r)), mode: st.mode & 0o777 });
    }
  };
  await walk("");
  return out;
}

function samePayload(a: Map<string, { data: Buffer; mode: number }>, b: Payload): boolean {
  const keys = Object.keys(b);
  if (keys.length !== a.size) return false;
  return keys.every((k) => {
    const x = a.get(k);
    return !!x && x.mode === b[k]!.mode && x.data.equals(b[k]!.data);
  });
}

/** Writes payload into dir atomically; resolves with whether anything changed. */
export async function writeAtomically(dir: string, payload: Payload, now = new Date(), nanos = 0): Promise<boolean> {
  for (const p of Object.keys(payload)) if (!validPayloadPath(p)) throw new Error(`invalid path ${JSON.stringify(p)} in volume payload`);
  await mkdir(dir, { recursive: true });
  const dataLink = join(dir, DATA);
  const oldTs = await readlink(dataLink).catch(() => undefined);
  if (oldTs && (await exists(join(dir, oldTs))) && samePayload(await currentPayload(dir, oldTs), payload)) return false;

  let ts = tsDirName(now, nanos);
  for (let i = 1; await exists(join(dir, ts)); i++) ts = tsDirName(now, nanos + i);
  const tsPath = join(dir, ts);
  await mkdir(tsPath, { mode: 0o755 });
  await Promise.all(
    Object.entries(payload).map(async ([rel, { data, mode }]) => {
      const file = join(tsPath, normalize(rel));
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, data);
      await chmod(file, mode);
    }),
  );
  const tmp = join(dir, DATA_TMP);
  await rm(tmp, { force: true });
  await symlink(ts, tmp);
  await rename(tmp, dataLink);

  // Top-level links: one per first path element, through ..data.
  const wanted = new Set(Object.keys(payload).map((p) => p.split("/")[0]!));
  for (const name of wanted) {
    const link = join(dir, name);
    const ok = (await readlink(link).catch(() => undefined)) === join(DATA, name);
    if (!ok) {
      await rm(link, { force: true, recursive: true });
      await symlink(join(DATA, name), link);
    }
  }
  for (const name of await readdir(dir)) {
    if (name.startsWith("..") || wanted.has(name)) continue;
    try {
      if ((await lstat(join(dir, name))).isSymbolicLink()) await unlink(join(dir, name));
    } catch {
      // Raced with another writer of this dir: nothing to remove.
    }
  }
  if (oldTs && oldTs !== ts) await rm(join(dir, oldTs), { recursive: true, force: true });
  return true;
}
