/**
 * Reads a container's CRI log file as the kubelet's log reader does for `kubectl logs`: the
 * CRI prefix stripped (or, with timestamps, the RFC3339Nano time kept in front), `tailLines`
 * counted in log entries from the end, `since` dropping entries older than a time, and
 * `limitBytes` cutting the output. Pure over text; the follow loop is in log-follow.ts.
 */
import { parseCriLine } from "../runtime/cri-log.js";

export interface LogOptions {
  /** Keep the entry's RFC3339Nano time in front of its content. */
  timestamps: boolean;
  /** Only the last N entries (undefined: all). */
  tailLines?: number | undefined;
  /** Only entries at or after this time, in Unix nanoseconds. */
  sinceNanos?: bigint | undefined;
  /** Stop after this many bytes of output. */
  limitBytes?: number | undefined;
}

/** Unix nanoseconds of an RFC3339(Nano) time; undefined when it is not one. */
export function parseRfc3339Nanos(text: string): bigint | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? "").padEnd(9, "0") || "0");
}

/** One entry as written to the client: content plus a newline for a full line. */
export function formatEntry(line: string, timestamps: boolean): { time: bigint | undefined; text: string } | undefined {
  const e = parseCriLine(line);
  if (!e) return undefined;
  const body = e.content + (e.tag === "F" ? "\n" : "");
  return { time: parseRfc3339Nanos(e.time), text: timestamps ? `${e.time} ${body}` : body };
}

/** The entries of complete CRI lines that pass `since` (the tail is applied by the caller). */
export function entriesOf(text: string, o: Pick<LogOptions, "timestamps" | "sinceNanos">): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const e = formatEntry(line, o.timestamps);
    if (!e) continue;
    if (o.sinceNanos !== undefined && e.time !== undefined && e.time < o.sinceNanos) continue;
    out.push(e.text);
  }
  return out;
}

/** Counts output bytes against limitBytes; cut() gives what may still be written. */
export class ByteLimit {
  private left: number;
  constructor(limit: number | undefined) {
    this.left = limit === undefined ? Infinity : limit;
  }
  get exhausted(): boolean {
    return this.left <= 0;
  }
  cut(text: string): Buffer {
    const buf = Buffer.from(text);
    if (buf.length <= this.left) {
      this.left -= buf.length;
      return buf;
    }
    const part = buf.subarray(0, Math.max(0, this.left));
    this.left = 0;
    return part;
  }
}

/** The whole answer for a file's text read at once (no follow). */
export function readLogText(text: string, o: LogOptions): Buffer {
  let entries = entriesOf(text, o);
  if (o.tailLines !== undefined) entries = o.tailLines <= 0 ? [] : entries.slice(-o.tailLines);
  return new ByteLimit(o.limitBytes).cut(entries.join(""));
}
