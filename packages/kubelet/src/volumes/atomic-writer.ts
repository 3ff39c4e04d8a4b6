/**
 * Upstream's AtomicWriter (pkg/volume/util/atomic_writer.go), the way configMap, secret,
 * downwardAPI and projected volumes change under a running container: the files live in a
 * timestamped directory `..2024_05_01_10_00_00.123456789`, `..data` is a symlink to it, and each
 * top-level name is a symlink through `..data`. An update writes a new timestamped directory,
 * points `..data_tmp` at it and renames that over `..data` (one atomic step), then removes the
 * old directory and fixes the top-level links. A reader sees the old set or the new, never a mix.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
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

function currentPayload(dir: string, tsDir: string): Map<string, { data: Buffer; mode: number }> {
  const out = new Map<string, { data: Buffer; mode: number }>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, tsDir, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(dir, tsDir, r));
      if (st.isDirectory()) walk(r);
      else out.set(r, { data: readFileSync(join(dir, tsDir, r)), mode: st.mode & 0o777 });
    }
  };
  walk("");
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

/** Writes payload into dir atomically; returns whether anything changed. */
export function writeAtomically(dir: string, payload: Payload, now = new Date(), nanos = 0): boolean {
  for (const p of Object.keys(payload)) if (!validPayloadPath(p)) throw new Error(`invalid path ${JSON.stringify(p)} in volume payload`);
  mkdirSync(dir, { recursive: true });
  const dataLink = join(dir, DATA);
  let oldTs: string | undefined;
  try {
    oldTs = readlinkSync(dataLink);
  } catch {
    oldTs = undefined;
  }
  if (oldTs && existsSync(join(dir, oldTs)) && samePayload(currentPayload(dir, oldTs), payload)) return false;

  let ts = tsDirName(now, nanos);
  for (let i = 1; existsSync(join(dir, ts)); i++) ts = tsDirName(now, nanos + i);
  const tsPath = join(dir, ts);
  mkdirSync(tsPath, { mode: 0o755 });
  for (const [rel, { data, mode }] of Object.entries(payload)) {
    const file = join(tsPath, normalize(rel));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, data);
    chmodSync(file, mode);
  }
  const tmp = join(dir, DATA_TMP);
  rmSync(tmp, { force: true });
  symlinkSync(ts, tmp);
  renameSync(tmp, dataLink);

  // Top-level links: one per first path element, through ..data.
  const wanted = new Set(Object.keys(payload).map((p) => p.split("/")[0]!));
  for (const name of wanted) {
    const link = join(dir, name);
    let ok = false;
    try {
      ok = readlinkSync(link) === join(DATA, name);
    } catch {
      ok = false;
    }
    if (!ok) {
      rmSync(link, { force: true, recursive: true });
      symlinkSync(join(DATA, name), link);
    }
  }
  for (const name of readdirSync(dir)) {
    if (name.startsWith("..") || wanted.has(name)) continue;
    try {
      if (lstatSync(join(dir, name)).isSymbolicLink()) unlinkSync(join(dir, name));
    } catch {
      // Raced with another writer of this dir: nothing to remove.
    }
  }
  if (oldTs && oldTs !== ts) rmSync(join(dir, oldTs), { recursive: true, force: true });
  return true;
}
