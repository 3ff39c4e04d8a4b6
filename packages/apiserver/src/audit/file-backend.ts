/**
 * The log backend (`--audit-log-path`): one JSON event per line appended to a file, as
 * upstream's legacy JSON format. Writes are buffered by the stream; close() flushes. A write
 * error is logged once and further events are dropped (the API keeps serving, as upstream's
 * non-blocking mode does).
 */
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "@kubemu/common";
import type { AuditBackend, AuditEvent } from "./event.js";

export class FileAuditBackend implements AuditBackend {
  private readonly stream: WriteStream;
  private failed = false;

  constructor(
    readonly path: string,
    log: Logger,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.stream = createWriteStream(path, { flags: "a", mode: 0o600 });
    this.stream.on("error", (e) => {
      if (!this.failed) log.error({ err: e.message, path }, "audit log write failed; dropping audit events");
      this.failed = true;
    });
  }

  write(event: AuditEvent): void {
    if (!this.failed) this.stream.write(`${JSON.stringify(event)}\n`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(() => resolve()));
  }
}
