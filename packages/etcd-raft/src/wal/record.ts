/**
 * Record framing: `[u32 length][u32 crc][u8 type][payload]`, little endian.
 *
 * `length` counts payload bytes only. The crc is CRC-32 (node:zlib) over the length field, the
 * type byte and the payload, so a flipped length or type is caught as surely as a flipped
 * payload byte. Numbers that may exceed 32 bits (indexes, terms) are stored as u64 but must be
 * safe integers.
 */
import { crc32 } from "node:zlib";
import type { Entry, HardState, SnapshotMarker } from "./types.js";

/** On-disk record types. Values are part of the file format: never renumber. */
export const RecordType = {
  metadata: 1,
  entry: 2,
  hardState: 3,
  snapshot: 4,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

const KNOWN_TYPES: ReadonlySet<number> = new Set(Object.values(RecordType));

export const HEADER_SIZE = 9;
/** Larger payloads are treated as damage: no sane record is this big. */
export const MAX_PAYLOAD = 512 * 1024 * 1024;

const ENTRY_FIXED = 17; // u64 index, u64 term, u8 type
const TWO_32 = 0x1_0000_0000;

function writeU64(buf: Buffer, off: number, n: number): void {
  buf.writeUInt32LE(n % TWO_32, off);
  buf.writeUInt32LE(Math.floor(n / TWO_32), off + 4);
}

function readU64(buf: Buffer, off: number): number {
  const lo = buf.readUInt32LE(off);
  const hi = buf.readUInt32LE(off + 4);
  if (hi >= 0x20_0000) throw new RangeError("u64 exceeds Number.MAX_SAFE_INTEGER");
  return hi * TWO_32 + lo;
}

// CRC-32 (IEEE, reflected) lookup table, for the 4 length bytes: computing those in JS saves a
// native call and a Buffer view per record, which dominated recovery time.
const CRC_TABLE = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  CRC_TABLE[n] = c >>> 0;
}

/** CRC-32 of the 4 bytes at `off`; equal to zlib's `crc32(buf.subarray(off, off + 4))`. */
export function crc32Of4(buf: Uint8Array, off: number): number {
  let c = 0xffffffff;
  for (let i = off; i < off + 4; i++) c = (CRC_TABLE[(c ^ (buf[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The checksum of the record at `off`: length field, then type byte and payload. */
function recordCrc(buf: Buffer, off: number, end: number): number {
  return crc32(new Uint8Array(buf.buffer, buf.byteOffset + off + 8, end - off - 8), crc32Of4(buf, off));
}

/** Fills the crc of a record whose length, type and payload are already in place at `off`. */
function sealRecord(buf: Buffer, off: number, payloadLength: number): void {
  buf.writeUInt32LE(recordCrc(buf, off, off + HEADER_SIZE + payloadLength), off + 4);
}

/** Frames an arbitrary payload as one record. */
export function encodeRecord(type: RecordType, payload: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_SIZE + payload.length);
  buf.writeUInt32LE(payload.length, 0);
  buf[8] = type;
  buf.set(payload, HEADER_SIZE);
  sealRecord(buf, 0, payload.length);
  return buf;
}

/** Bytes one entry record occupies on disk. */
export function entryRecordSize(e: Entry): number {
  return HEADER_SIZE + ENTRY_FIXED + e.data.length;
}

/**
 * Encodes a run of entries into one contiguous buffer (hot path: one allocation per append,
 * no per-entry object churn).
 */
export function encodeEntries(entries: readonly Entry[]): Buffer {
  let total = 0;
  for (const e of entries) total += entryRecordSize(e);
  const buf = Buffer.allocUnsafe(total);
  let off = 0;
  for (const e of entries) {
    const payloadLength = ENTRY_FIXED + e.data.length;
    buf.writeUInt32LE(payloadLength, off);
    buf[off + 8] = RecordType.entry;
    writeU64(buf, off + 9, e.index);
    writeU64(buf, off + 17, e.term);
    buf[off + 25] = e.type;
    buf.set(e.data, off + 26);
    sealRecord(buf, off, payloadLength);
    off += HEADER_SIZE + payloadLength;
  }
  return buf;
}

export function encodeHardState(hs: HardState): Buffer {
  const p = Buffer.allocUnsafe(24);
  writeU64(p, 0, hs.term);
  writeU64(p, 8, hs.vote);
  writeU64(p, 16, hs.commit);
  return encodeRecord(RecordType.hardState, p);
}

export function encodeSnapshotMarker(m: SnapshotMarker): Buffer {
  const p = Buffer.allocUnsafe(16);
  writeU64(p, 0, m.index);
  writeU64(p, 8, m.term);
  return encodeRecord(RecordType.snapshot, p);
}

/** Payload decoders. They throw RangeError on malformed payloads; the reader turns that into WalCorruptError. */
export function decodeEntry(payload: Buffer): Entry {
  if (payload.length < ENTRY_FIXED) throw new RangeError(`entry payload too short (${payload.length} bytes)`);
  return {
    index: readU64(payload, 0),
    term: readU64(payload, 8),
    type: payload[16] as number,
    // Copy so the entry does not pin the whole segment buffer in memory.
    data: new Uint8Array(payload.buffer, payload.byteOffset + ENTRY_FIXED, payload.length - ENTRY_FIXED).slice(),
  };
}

export function decodeHardState(payload: Buffer): HardState {
  if (payload.length !== 24) throw new RangeError(`hardState payload must be 24 bytes, got ${payload.length}`);
  return { term: readU64(payload, 0), vote: readU64(payload, 8), commit: readU64(payload, 16) };
}

export function decodeSnapshotMarker(payload: Buffer): SnapshotMarker {
  if (payload.length !== 16) throw new RangeError(`snapshot payload must be 16 bytes, got ${payload.length}`);
  return { index: readU64(payload, 0), term: readU64(payload, 8) };
}

/** Result of reading one record at an offset. */
export type RecordRead =
  | { kind: "ok"; type: RecordType; payload: Buffer; end: number }
  /** The buffer ends before the record does (a torn write, if nothing valid follows). */
  | { kind: "incomplete"; reason: string }
  /** The bytes are all there but wrong (checksum, length or type). */
  | { kind: "bad"; reason: string };

/** Parses the record starting at `off`, verifying length, type and checksum. */
export function readRecord(buf: Buffer, off: number): RecordRead {
  if (buf.length - off < HEADER_SIZE) {
    return { kind: "incomplete", reason: `${buf.length - off} trailing bytes, shorter than a record header` };
  }
  const length = buf.readUInt32LE(off);
  if (length > MAX_PAYLOAD) return { kind: "bad", reason: `record length ${length} exceeds limit ${MAX_PAYLOAD}` };
  const end = off + HEADER_SIZE + length;
  if (end > buf.length) {
    return { kind: "incomplete", reason: `record of ${length} bytes runs past end of file (${buf.length - off - HEADER_SIZE} available)` };
  }
  const expected = buf.readUInt32LE(off + 4);
  const actual = recordCrc(buf, off, end);
  if (expected !== actual) {
    return { kind: "bad", reason: `checksum mismatch (stored ${hex(expected)}, computed ${hex(actual)})` };
  }
  const type = buf[off + 8] as number;
  if (!KNOWN_TYPES.has(type)) return { kind: "bad", reason: `unknown record type ${type}` };
  return { kind: "ok", type: type as RecordType, payload: buf.subarray(off + HEADER_SIZE, end), end };
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}
