/**
 * Segment files: `<seq:16 hex>-<firstIndex:16 hex>.wal`. `seq` counts up from 0 with no gaps;
 * `firstIndex` is the index the first entry written to the segment was expected to have
 * (last index + 1 when the segment was cut). Release uses it to know which segments hold only
 * old entries.
 */
import { readdirOrEmpty } from "./fsutil.js";

export interface SegmentName {
  seq: number;
  firstIndex: number;
  file: string;
}

const SEGMENT_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

export function segmentFileName(seq: number, firstIndex: number): string {
  return `${hex16(seq)}-${hex16(firstIndex)}.wal`;
}

function hex16(n: number): string {
  return n.toString(16).padStart(16, "0");
}

export function parseSegmentName(file: string): SegmentName | undefined {
  const m = SEGMENT_RE.exec(file);
  if (!m) return undefined;
  const seq = Number.parseInt(m[1] as string, 16);
  const firstIndex = Number.parseInt(m[2] as string, 16);
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(firstIndex)) return undefined;
  return { seq, firstIndex, file };
}

/** Lists segments in `dir` sorted by sequence number; other files are ignored. */
export async function listSegments(dir: string): Promise<SegmentName[]> {
  const names = await readdirOrEmpty(dir);
  const segs: SegmentName[] = [];
  for (const n of names) {
    const s = parseSegmentName(n);
    if (s) segs.push(s);
  }
  segs.sort((a, b) => a.seq - b.seq);
  return segs;
}
