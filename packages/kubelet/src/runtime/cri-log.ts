/**
 * Container logs in the CRI format the kubelet's log reader parses (what containerd writes under
 * /var/log/pods): `<RFC3339Nano> <stdout|stderr> <F|P> <content>`, one line each; a line longer
 * than 16 KiB is split into P(artial) pieces ending with an F(ull) one.
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export const MAX_LINE = 16 * 1024;

const hrBase = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

/** Wall-clock nanoseconds, monotonic within this process. */
export function nowNanos(): bigint {
  return hrBase + process.hrtime.bigint();
}

/** Go's time.RFC3339Nano in UTC: fractional seconds with trailing zeros dropped. */
export function rfc3339Nano(nanos: bigint): string {
  const ms = Number(nanos / 1_000_000n);
  const frac = String(nanos % 1_000_000_000n).padStart(9, "0").replace(/0+$/, "");
  return `${new Date(ms).toISOString().slice(0, 19)}${frac ? `.${frac}` : ""}Z`;
}

/** The CRI lines for one chunk of complete content (no trailing newline). */
export function criLines(stream: "stdout" | "stderr", line: string, ts: string): string {
  let out = "";
  let rest = line;
  while (Buffer.byteLength(rest) > MAX_LINE) {
    // Split on a character boundary at or below the byte limit.
    let cut = MAX_LINE;
    while (Buffer.byteLength(rest.slice(0, cut)) > MAX_LINE) cut--;
    out += `${ts} ${stream} P ${rest.slice(0, cut)}\n`;
    rest = rest.slice(cut);
  }
  return `${out}${ts} ${stream} F ${rest}\n`;
}

/** Parses one CRI line (for tests and readers): undefined when malformed. */
export function parseCriLine(text: string): { time: string; stream: string; tag: string; content: string } | undefined {
  const m = /^(\S+) (stdout|stderr) ([FP]) (.*)$/.exec(text);
  return m ? { time: m[1]!, stream: m[2]!, tag: m[3]!, content: m[4]! } : undefined;
}

/** The kubelet's defaults: containerLogMaxSize 10Mi, containerLogMaxFiles 5 (the live file and four rotated ones). */
export const LOG_MAX_BYTES = 10 * 1024 * 1024;
export const LOG_MAX_FILES = 5;

/**
 * Writes one container instance's stdout and stderr to its log file, rotating it by size as
 * the kubelet's log manager does: the full file becomes `<n>.log.<timestamp>`, at most
 * maxFiles - 1 of those are kept.
 */
export class CriLogWriter {
  private fd: number | undefined;
  private size = 0;
  private readonly pending = { stdout: "", stderr: "" };

  constructor(
    readonly path: string,
    private readonly maxBytes = LOG_MAX_BYTES,
    private readonly maxFiles = LOG_MAX_FILES,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.open();
  }

  private open(): void {
    try {
      this.fd = openSync(this.path, "a");
      this.size = 0;
    } catch {
      this.fd = undefined;
    }
  }

  private append(text: string): void {
    if (this.fd === undefined) return;
    try {
      writeSync(this.fd, text);
    } catch {
      return;
    }
    this.size += Buffer.byteLength(text);
    if (this.size >= this.maxBytes) this.rotate();
  }

  private rotate(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").replace(/\..*$/, "");
    try {
      renameSync(this.path, `${this.path}.${stamp}`);
    } catch {
      // Renamed by nobody else; if it fails the file keeps growing.
    }
    const dir = dirname(this.path);
    const prefix = `${basename(this.path)}.`;
    const rotated = readdirSync(dir).filter((f) => f.startsWith(prefix)).sort();
    for (const old of rotated.slice(0, Math.max(0, rotated.length - (this.maxFiles - 1)))) rmSync(join(dir, old), { force: true });
    this.open();
  }

  write(stream: "stdout" | "stderr", chunk: Buffer): void {
    const text = this.pending[stream] + chunk.toString("utf8");
    const parts = text.split("\n");
    this.pending[stream] = parts.pop()!;
    const ts = rfc3339Nano(nowNanos());
    let out = "";
    for (const p of parts) out += criLines(stream, p, ts);
    // A line still growing past the limit is flushed in partial pieces.
    while (Buffer.byteLength(this.pending[stream]) > MAX_LINE) {
      const piece = this.pending[stream].slice(0, MAX_LINE);
      out += `${ts} ${stream} P ${piece}\n`;
      this.pending[stream] = this.pending[stream].slice(piece.length);
    }
    if (out) this.append(out);
  }

  /** Flushes unterminated output and closes the file. */
  close(): Promise<void> {
    const ts = rfc3339Nano(nowNanos());
    for (const s of ["stdout", "stderr"] as const) if (this.pending[s] !== "") this.append(criLines(s, this.pending[s], ts));
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    return Promise.resolve();
  }
}

/** The content of the last lines of a CRI log file, at most maxBytes (FallbackToLogsOnError). */
export function tailOfLog(logPath: string, lines: number, maxBytes: number): string {
  let text: string;
  try {
    text = readFileSync(logPath, "utf8");
  } catch {
    return "";
  }
  const content = text
    .split("\n")
    .filter(Boolean)
    .map((l) => parseCriLine(l))
    .filter((l) => l !== undefined)
    .map((l) => l.content + (l.tag === "F" ? "\n" : ""));
  const tail = content.slice(-lines).join("");
  return Buffer.byteLength(tail) > maxBytes ? Buffer.from(tail).subarray(-maxBytes).toString("utf8") : tail;
}
