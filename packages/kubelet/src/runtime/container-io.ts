/**
 * A container's stdio as `kubectl attach` joins it, held by the kubelet the way containerd's
 * container IO is: every container's output goes both to the CRI log and to each attached
 * session; a container started with `stdin: true` keeps its stdin an open pipe (with `tty: true`,
 * the pipe into util-linux `script`, which owns the PTY) that sessions write to. As containerd
 * does, output written while nobody is attached is only in the log (hence kubectl's "If you don't
 * see a command prompt, try pressing enter."). When a session's stdin ends (closed, or the
 * session gone), as containerd: with `stdinOnce` the container's stdin is closed for good and the
 * session keeps receiving output until the container exits; without it (or for a tty, so that a
 * terminal left by closing kubectl can be resumed with `kubectl attach -it`) the stdin stays open
 * and that session ends. As containerd's writer group (each write goes to every output in turn
 * and blocks on the slowest), a session whose transport is full holds back the container's
 * output: its pipes are not read (so the container blocks on them, and the log waits too) until
 * every full session has drained or gone.
 */
import { readFileSync } from "node:fs";
import type { Readable, Writable } from "node:stream";

export type OutputStream = "stdout" | "stderr";

/** Where an attached session's output goes, and how it learns that the container ended. */
export interface AttachSink {
  /** false: the session's transport is full; the container's output waits for its `drained()`. */
  output(stream: OutputStream, data: Buffer): boolean;
  /** The container's output ended (it exited): the session ends. */
  ended(): void;
}

/** One attached session. */
export interface AttachSession {
  /** Bytes for the container's stdin (dropped when the session did not ask for stdin or stdin is closed). */
  write(data: Buffer): void;
  /** The session's stdin ended (kubectl's v5 close of channel 0). */
  closeStdin(): void;
  /** The session is gone. */
  detach(): void;
  /** The session's transport, full after an output, has drained. */
  drained(): void;
}

export class ContainerIO {
  private readonly sinks = new Set<AttachSink>();
  /** Sessions whose transport is full: while any is, the container's output is not read. */
  private readonly full = new Set<AttachSink>();
  private stdinOpen: boolean;
  private finished = false;

  constructor(
    private readonly stdin: Writable | undefined,
    /** The container runs on a terminal: one output stream, resizes apply. */
    readonly tty: boolean,
    readonly stdinOnce: boolean,
    /** Path of the terminal the container's process holds (for resizes), if it has one now. */
    private readonly terminal: () => string | undefined = () => undefined,
    /** The container's output pipes, paused while a session is full. */
    private readonly outputs: Readable[] = [],
  ) {
    this.stdinOpen = stdin !== undefined;
    stdin?.on("error", () => {
      this.stdinOpen = false;
    });
  }

  get hasStdin(): boolean {
    return this.stdinOpen;
  }

  get ended(): boolean {
    return this.finished;
  }

  /** Output of the container: to every attached session. */
  emit(stream: OutputStream, data: Buffer): void {
    for (const s of this.sinks) if (!s.output(stream, data)) this.hold(s);
  }

  /** Sessions holding the container's output back now. */
  get holding(): number {
    return this.full.size;
  }

  private hold(s: AttachSink): void {
    if (this.full.has(s)) return;
    this.full.add(s);
    if (this.full.size === 1) for (const o of this.outputs) o.pause();
  }

  private release(s: AttachSink): void {
    if (!this.full.delete(s)) return;
    if (this.full.size === 0) for (const o of this.outputs) o.resume();
  }

  /** The container's output streams closed: every session ends. */
  end(): void {
    if (this.finished) return;
    this.finished = true;
    this.closeContainerStdin();
    for (const s of [...this.sinks]) s.ended();
    this.sinks.clear();
    this.full.clear();
  }

  attach(sink: AttachSink, withStdin: boolean): AttachSession {
    if (this.finished) {
      queueMicrotask(() => sink.ended());
      return { write: () => undefined, closeStdin: () => undefined, detach: () => undefined, drained: () => undefined };
    }
    this.sinks.add(sink);
    // containerd's rule when a session's stdin ends: with stdinOnce (not for a tty, whose terminal
    // session is meant to be resumed) the container's stdin is closed and the session keeps the
    // output until the container exits; otherwise that session ends and the stdin stays open.
    let stdinDone = !(withStdin && this.stdinOpen);
    const endStdin = (gone: boolean) => {
      if (stdinDone) return;
      stdinDone = true;
      if (this.stdinOnce && !this.tty) this.closeContainerStdin();
      else if (!gone && this.sinks.delete(sink)) {
        this.release(sink);
        sink.ended();
      }
    };
    return {
      write: (data) => {
        if (!stdinDone && this.stdinOpen) this.stdin!.write(data);
      },
      closeStdin: () => endStdin(false),
      detach: () => {
        this.sinks.delete(sink);
        this.release(sink);
        endStdin(true);
      },
      drained: () => this.release(sink),
    };
  }

  /** The PTY the container holds (for stty on a resize); undefined without a tty. */
  terminalPath(): string | undefined {
    return this.tty ? this.terminal() : undefined;
  }

  private closeContainerStdin(): void {
    if (!this.stdinOpen) return;
    this.stdinOpen = false;
    this.stdin!.end();
  }
}

/** POSIX shell quoting of one word. */
export const shellQuote = (w: string) => `'${w.replace(/'/g, `'\\''`)}'`;

/**
 * argv run on a PTY: util-linux `script` makes the terminal (echo, job control, Ctrl-C through
 * the line discipline) and passes its stdin pipe to it; EOF on that pipe reaches the program as
 * the terminal's EOF character. An optional size is set with stty before the program starts.
 * With `readyFd` the shell writes one byte on that descriptor (script passes it through) once the
 * terminal is at that size, then closes it before the program starts: until then an stty from
 * outside could be undone by this one.
 */
export function onTerminal(script: string, argv: string[], size?: { width: number; height: number }, readyFd?: number): string[] {
  const stty = size ? `stty rows ${size.height} cols ${size.width} 2>/dev/null; ` : "";
  const ready = readyFd === undefined ? "" : `printf x >&${readyFd}; exec ${readyFd}>&-; `;
  return [script, "-qfec", `${stty}${ready}exec ${argv.map(shellQuote).join(" ")}`, "/dev/null"];
}

/**
 * The terminal a `script`-wrapped process holds: its child's stdin, as a /proc path that opens
 * the same PTY from the host's mount namespace too (a sandbox has its own /dev/pts).
 */
export function childTerminal(scriptPid: number): string | undefined {
  try {
    const child = readFileSync(`/proc/${scriptPid}/task/${scriptPid}/children`, "utf8").trim().split(/\s+/)[0];
    return child ? `/proc/${child}/fd/0` : undefined;
  } catch {
    return undefined;
  }
}
