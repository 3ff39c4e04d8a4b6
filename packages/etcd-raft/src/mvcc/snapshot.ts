/**
 * Snapshot encoding: a compact, canonical binary form of the replicated state. Canonical means
 * equal states give equal bytes (keys in byte order, leases by id, history in revision order),
 * which is what makes `hash()` comparable across replicas.
 *
 * Layout (integers are unsigned LEB128 varints, byte strings are a varint length + bytes):
 *   "KMVCC" version(=1) revision compactRevision
 *   leaseCount { id ttl }*
 *   keyCount { key recordCount { main sub live(0|1) [createRevision version lease value] }* }*
 */
import { compareBytes } from "./bytes.js";
import { SnapshotReader, SnapshotWriter } from "./snapshot-codec.js";
import { KeyHistory } from "./key-history.js";
import type { KeyValue } from "./types.js";

const MAGIC = [0x4b, 0x4d, 0x56, 0x43, 0x43]; // "KMVCC"
const FORMAT_VERSION = 1;

/** SnapshotState is the decoded content of a snapshot. */
export interface SnapshotState {
  revision: number;
  compactRevision: number;
  /** Key histories in byte order of key. */
  keys: KeyHistory[];
  leases: { id: number; ttl: number }[];
}

/** writeSnapshot writes `s` in the canonical layout. */
function writeSnapshot(s: SnapshotState): SnapshotWriter {
  const w = new SnapshotWriter();
  for (const b of MAGIC) w.byte(b);
  w.uint(FORMAT_VERSION);
  w.uint(s.revision);
  w.uint(s.compactRevision);
  w.uint(s.leases.length);
  for (const l of s.leases) {
    w.uint(l.id);
    w.uint(l.ttl);
  }
  w.uint(s.keys.length);
  for (const h of s.keys) {
    w.bytes(h.key);
    w.uint(h.records.length);
    for (const r of h.records) {
      w.uint(r.main);
      w.uint(r.sub);
      if (r.kv === null) {
        w.byte(0);
      } else {
        w.byte(1);
        w.uint(r.kv.createRevision);
        w.uint(r.kv.version);
        w.uint(r.kv.lease);
        w.bytes(r.kv.value);
      }
    }
  }
  return w;
}

/** encodeSnapshot returns the canonical encoding of `s` as one buffer. */
export function encodeSnapshot(s: SnapshotState): Uint8Array {
  return writeSnapshot(s).finish();
}

/** encodeSnapshotPieces returns the same bytes as encodeSnapshot in consecutive chunks (cheaper to hash). */
export function encodeSnapshotPieces(s: SnapshotState): Uint8Array[] {
  return writeSnapshot(s).pieces();
}

/**
 * decodeSnapshot parses and checks a snapshot. Values are views into `bytes` (no copy), so the
 * caller must not modify `bytes` afterwards. Checks: truncation, trailing bytes, unsorted keys,
 * revisions out of order or beyond the snapshot revision all raise MvccError(ErrBadSnapshot).
 */
export function decodeSnapshot(bytes: Uint8Array): SnapshotState {
  const r = new SnapshotReader(bytes);
  for (const b of MAGIC) if (r.byte() !== b) throw r.fail("not an MVCC snapshot (bad magic)");
  const version = r.uint();
  if (version !== FORMAT_VERSION) throw r.fail(`unsupported snapshot format version ${version}`);
  const revision = r.uint();
  const compactRevision = r.uint();
  if (revision < 1 || compactRevision > revision) throw r.fail(`bad revisions ${revision}/${compactRevision}`);
  const leases: SnapshotState["leases"] = [];
  const leaseCount = r.count();
  for (let i = 0; i < leaseCount; i++) {
    const id = r.uint();
    const ttl = r.uint();
    if (id === 0 || ttl === 0 || (i > 0 && id <= (leases[i - 1] as { id: number }).id)) throw r.fail("bad lease table");
    leases.push({ id, ttl });
  }
  const keys: KeyHistory[] = [];
  const keyCount = r.count();
  let prevKey: Uint8Array | undefined;
  for (let i = 0; i < keyCount; i++) {
    const key = r.bytes();
    if (key.length === 0 || (prevKey !== undefined && compareBytes(prevKey, key) >= 0)) {
      throw r.fail("keys are empty or out of order");
    }
    prevKey = key;
    const h = new KeyHistory(key);
    const n = r.count();
    if (n === 0) throw r.fail("a key with no history");
    let lastMain = 0;
    let prevLive: KeyValue | undefined;
    for (let j = 0; j < n; j++) {
      const main = r.uint();
      const sub = r.uint();
      if (main <= lastMain || main > revision || main < 2) throw r.fail(`revision ${main} out of order`);
      lastMain = main;
      const live = r.byte();
      if (live === 0) {
        h.push({ main, sub, kv: null });
        prevLive = undefined;
      } else if (live === 1) {
        const createRevision = r.uint();
        const version = r.uint();
        const lease = r.uint();
        const value = r.bytes();
        if (createRevision > main || version === 0 || (prevLive && prevLive.createRevision !== createRevision)) {
          throw r.fail(`inconsistent version record at revision ${main}`);
        }
        const kv: KeyValue = { key, value, createRevision, modRevision: main, version, lease };
        h.push({ main, sub, kv });
        prevLive = kv;
      } else {
        throw r.fail("bad record flag");
      }
    }
    keys.push(h);
  }
  r.end();
  return { revision, compactRevision, keys, leases };
}
