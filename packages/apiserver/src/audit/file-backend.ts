/**
 * The log backend (`--audit-log-path`): one JSON event per line appended to a file, as
 * upstream's legacy JSON format. With a size limit (`--audit-log-maxsize`, MB) the file is
 * rotated as upstream's (lumberjack) is: renamed to `<name>-<time>.<ext>`, a fresh one opened,
 * and only the newest `--audit-log-maxbackup` rotated files kept. Writes are buffered by the
 * stream; close() flushes. A write error is logged once and further events are dropped (the API
 * keeps serving, as upstream's non-blocking mode does).
 */
import { createWriteStream, fstatSync, mkdirSync, openSync, readdirSync, renameSync, unlinkSync, type WriteStream } from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import type { Clock, Logger } from "@kubemu/common";
import type { AuditBackend, AuditEvent } from "./event.js";

export interface FileAuditOptions {
  path: string;
  log: Logger;
  clock: Clock;
  /** Rotate once the file holds this many bytes (0: never). */
  maxBytes?: number;
  /** Rotated files kept (0: all). */
  maxBackups?: number;
}

export class FileAuditBackend implements AuditBackend {
  private stream: WriteStream;
  private size: number;
  private failed = false;

  constructor(private readonly o: FileAuditOptions) {
    mkdirSync(dirname(o.path), { recursive: true });
    this.size = 0;
    this.stream = this.open();
  }

  /** Opened synchronously, so a rename during rotation moves the file this stream writes, never the next one. */
  private open(): WriteStream {
    const fd = openSync(this.o.path, "a", 0o600);
    this.size = fstatSync(fd).size;
    const stream = createWriteStream("", { fd });
    stream.on("error", (e) => {
      if (!this.failed) this.o.log.error({ err: e.message, path: this.o.path }, "audit log write failed; dropping audit events");
      this.failed = true;
    });
    return stream;
  }

  write(event: AuditEvent): void {
    if (this.failed) return;
    const line = `${JSON.stringify(event)}\n`;
    const max = this.o.maxBytes ?? 0;
    if (max > 0 && this.size > 0 && this.size + Buffer.byteLength(line) > max) this.rotate();
    this.stream.write(line);
    this.size += Buffer.byteLength(line);
  }

  /** The open stream keeps writing what it buffered into the renamed file; new lines go to a fresh one. */
  private rotate(): void {
    try {
      const ext = extname(this.o.path);
      const stem = basename(this.o.path, ext);
      const time = new Date(this.o.clock.now()).toISOString().replace(/:/g, "-").replace(/Z$/, "");
      renameSync(this.o.path, join(dirname(this.o.path), `${stem}-${time}${ext}`));
      this.stream.end();
      this.stream = this.open();
      this.prune(stem, ext);
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message, path: this.o.path }, "audit log rotation failed; still appending");
    }
  }

  private prune(stem: string, ext: string): void {
    const keep = this.o.maxBackups ?? 0;
    if (keep <= 0) return;
    const dir = dirname(this.o.path);
    const rotated = readdirSync(dir)
      .filter((f) => f.startsWith(`${stem}-`) && f.endsWith(ext) && f !== basename(this.o.path))
      .sort(); // the time in the name sorts oldest first
    for (const f of rotated.slice(0, Math.max(0, rotated.length - keep))) unlinkSync(join(dir, f));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(() => resolve()));
  }
}
