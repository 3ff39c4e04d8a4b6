/**
 * Byte helpers for MVCC keys and values.
 *
 * Keys are compared as raw bytes, like etcd. Internally a key is held as a "byte string": one
 * UTF-16 code unit per byte (latin1). JavaScript compares such strings code unit by code unit,
 * which is exactly unsigned byte order, so the sorted index can use plain string keys.
 */

/** A key or value as callers give it: raw bytes, or a string that is stored as its UTF-8 bytes. */
export type Bytes = Uint8Array | string;

import { MvccError } from "./errors.js";

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();
const ASCII_ONLY = /^[\x00-\x7f]*$/;

/** toBytes returns the bytes of `b`: strings are UTF-8 encoded; byte arrays are copied (callers may reuse theirs). */
export function toBytes(b: Bytes): Uint8Array {
  if (typeof b === "string") return b.length === 0 ? EMPTY : encoder.encode(b);
  return b.length === 0 ? EMPTY : new Uint8Array(b);
}

/** toByteString converts bytes (or a string, via UTF-8) to the latin1 byte string used as index key. */
export function toByteString(b: Bytes): string {
  if (typeof b === "string") {
    // An ASCII string is already its own byte string; skip two conversions on the hot path.
    if (ASCII_ONLY.test(b)) return b;
    return Buffer.from(b, "utf8").toString("latin1");
  }
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");
}

/** byteLength is the encoded size of `b` in bytes. */
export function byteLength(b: Bytes): number {
  return typeof b === "string" ? Buffer.byteLength(b, "utf8") : b.byteLength;
}

/** compareBytes orders two byte arrays as unsigned bytes (memcmp, shorter first on a tie). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/**
 * prefixEnd returns the rangeEnd that selects every key starting with `prefix` (etcd's
 * GetPrefixRangeEnd): the prefix with its last non-0xff byte incremented. A prefix of only
 * 0xff bytes (or an empty prefix) yields "\0", meaning "no upper bound".
 */
export function prefixEnd(prefix: Bytes): Uint8Array {
  const p = toBytes(prefix);
  for (let i = p.length - 1; i >= 0; i--) {
    if ((p[i] as number) < 0xff) {
      const end = p.slice(0, i + 1);
      end[i] = (p[i] as number) + 1;
      return end;
    }
  }
  return new Uint8Array([0]);
}

/** The byte string of a rangeEnd of "\0": every key at or above the start key. */
export const RANGE_END_ALL = "\0";

/**
 * KeySpan is a validated key interval in byte-string form: a single key when `end` is
 * undefined, otherwise [start, end), where end === null means unbounded.
 */
export interface KeySpan {
  readonly start: string;
  readonly end: string | null | undefined;
}

/** spanContains reports whether byte-string key `k` falls in `span`. */
export function spanContains(span: KeySpan, k: string): boolean {
  if (span.end === undefined) return k === span.start;
  return k >= span.start && (span.end === null || k < span.end);
}

/**
 * toSpan parses an etcd key/rangeEnd pair: rangeEnd absent or empty = the single key; "\0" =
 * every key >= key; otherwise [key, rangeEnd), which must not be empty (ErrBadRange).
 */
export function toSpan(key: Bytes, rangeEnd: Bytes | undefined): KeySpan {
  const start = toByteString(key);
  if (rangeEnd === undefined || byteLength(rangeEnd) === 0) return { start, end: undefined };
  const end = toByteString(rangeEnd);
  if (end === RANGE_END_ALL) return { start, end: null };
  if (end <= start) throw new MvccError("ErrBadRange", 'mvcc: rangeEnd must be greater than key (or "\\0" for no end)');
  return { start, end };
}
