/**
 * Snapshot file format, little endian:
 * `[8 magic "KMSNAP01"][u64 index][u64 term][u64 dataLength][u32 crc][data]`.
 * The crc (CRC-32, node:zlib) covers the 32 header bytes before it and the data.
 * Files are named `<index:16 hex>-<term:16 hex>.snap` so name order is index order.
 */
import { crc32 } from "node:zlib";
import { SnapshotCorruptError } from "./errors.js";

/** A state-machine snapshot: everything applied up to and including `index`. */
export interface PersistedSnapshot {
  index: number;
  term: number;
  data: Uint8Array;
}

const MAGIC = Buffer.from("KMSNAP01", "ascii");
export const SNAP_HEADER_SIZE = 36;
const TWO_32 = 0x1_0000_0000;
const NAME_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

export function snapshotFileName(index: number, term: number): string {
  return `${index.toString(16).padStart(16, "0")}-${term.toString(16).padStart(16, "0")}.snap`;
}

export function parseSnapshotFileName(file: string): { index: number; term: number } | undefined {
  const m = NAME_RE.exec(file);
  if (!m) return undefined;
  const index = Number.parseInt(m[1] as string, 16);
  const term = Number.parseInt(m[2] as string, 16);
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(term)) return undefined;
  return { index, term };
}

function writeU64(buf: Buffer, off: number, n: number): void {
  buf.writeUInt32LE(n % TWO_32, off);
  buf.writeUInt32LE(Math.floor(n / TWO_32), off + 4);
}

function readU64(buf: Buffer, off: number): number {
  return buf.readUInt32LE(off + 4) * TWO_32 + buf.readUInt32LE(off);
}

/** Header for `snap`; the data is written after it unchanged (no copy of a large payload). */
export function encodeSnapshotHeader(snap: PersistedSnapshot): Buffer {
  const h = Buffer.allocUnsafe(SNAP_HEADER_SIZE);
  MAGIC.copy(h, 0);
  writeU64(h, 8, snap.index);
  writeU64(h, 16, snap.term);
  writeU64(h, 24, snap.data.length);
  h.writeUInt32LE(crc32(snap.data, crc32(h.subarray(0, 32))), 32);
  return h;
}

/** Parses and verifies a whole snapshot file. Throws SnapshotCorruptError naming `file`. */
export function decodeSnapshot(file: string, buf: Buffer): PersistedSnapshot {
  if (buf.length < SNAP_HEADER_SIZE) throw new SnapshotCorruptError(file, buf.length, `file is ${buf.length} bytes, shorter than the ${SNAP_HEADER_SIZE}-byte header`);
  if (!buf.subarray(0, 8).equals(MAGIC)) throw new SnapshotCorruptError(file, 0, "bad magic");
  const index = readU64(buf, 8);
  const term = readU64(buf, 16);
  const length = readU64(buf, 24);
  for (const [what, v, at] of [["index", index, 8], ["term", term, 16], ["length", length, 24]] as const) {
    if (!Number.isSafeInteger(v)) throw new SnapshotCorruptError(file, at, `${what} exceeds Number.MAX_SAFE_INTEGER`);
  }
  if (SNAP_HEADER_SIZE + length !== buf.length) {
    throw new SnapshotCorruptError(file, 24, `header says ${length} data bytes, file has ${buf.length - SNAP_HEADER_SIZE}`);
  }
  const stored = buf.readUInt32LE(32);
  const data = buf.subarray(SNAP_HEADER_SIZE);
  const actual = crc32(data, crc32(buf.subarray(0, 32)));
  if (stored !== actual) throw new SnapshotCorruptError(file, 32, `checksum mismatch (stored ${stored}, computed ${actual})`);
  return { index, term, data };
}
