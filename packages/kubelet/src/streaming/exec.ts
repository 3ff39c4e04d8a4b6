/**
 * The kubelet's `/exec/<ns>/<pod>/<container>?command=…` over WebSocket (the channel protocols
 * kubectl 1.32 speaks, `v5.channel.k8s.io` and `v4.channel.k8s.io`): the command runs in the
 * container's namespaces (nsenter, as exec probes do) with the container's environment; each
 * binary message is `[channel][payload]` — 0 stdin, 1 stdout, 2 stderr, 3 the final Status,
 * 4 resize, 255 close of a channel (v5) — and the exit code travels in the Status as upstream's
 * NonZeroExitCode. `tty=true` gets a PTY from util-linux `script`, sized and resized with stty.
 * Over plain SPDY (kubectl's fallback, and kubectl before 1.30) the same session runs on SPDY
 * streams (remote-command-spdy.ts); the command's run knows only `RemoteCommandStreams`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Readable } from "node:stream";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { silentLogger, type Logger } from "@kubemu/common";
import { childTerminal as ttyOf, onTerminal } from "../runtime/container-io.js";
import { webSocketStreams, type RemoteCommandStreams, type TerminalSize } from "./channels.js";
import { execInternalError, lookPathError, startFailure } from "./exec-lookup.js";
import type { IdleTimeoutOptions } from "./idle-timeout.js";
import { ResizeQueue, sttyResize } from "./resize-queue.js";
import { acceptSpdyRemoteCommand } from "./remote-command-spdy.js";
import { isSpdyUpgrade, isWebSocketUpgrade, refuse } from "./upgrade.js";

export const CHANNEL_PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

export interface ExecTarget {
  /** Host pid whose namespaces the command joins; undefined runs it on the host (no sandbox). */
  pid: number | undefined;
  env: Record<string, string>;
}

export interface ExecDeps {
  /** The running container to exec into, or the reason there is none (upstream's words). */
  target(namespace: string, pod: string, container: string): ExecTarget | string;
  log?: Logger;
  /** --streaming-connection-idle-timeout; none when undefined. */
  idle?: IdleTimeoutOptions | undefined;
}

export interface ExecFlags {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** The Status the v4/v5 protocols end with. */
export function exitStatus(argv: string[], code: number): Record<string, unknown> {
  if (code === 0) return { metadata: {}, status: "Success" };
  return {
    metadata: {},
    status: "Failure",
    message: `command terminated with non-zero exit code: command '${argv.join(" ")}' exited with ${code}`,
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: String(code) }] },
  };
}

export function execUpgradeHandler(d: ExecDeps): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => CHANNEL_PROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  return (req, socket, head) => {
    const url = new URL(req.url ?? "/", "http://kubelet");
    const parts = url.pathname.split("/").slice(2).map(decodeURIComponent);
    if (parts.length !== 3 || parts.some((p) => p === "")) return refuse(socket, 400, `Bad Request: ${url.pathname}`);
    const argv = url.searchParams.getAll("command");
    if (argv.length === 0) return refuse(socket, 400, "you must specify at least 1 command");
    const [ns, pod, container] = parts as [string, string, string];
    // The container is checked first so that kubectl's SPDY retry shows why, not the transport.
    const target = d.target(ns, pod, container);
    if (typeof target === "string") return refuse(socket, 404, target);
    if (!isSpdyUpgrade(req) && !isWebSocketUpgrade(req)) return refuse(socket, 400, "unable to upgrade: missing upgrade headers in request");
    const q = url.searchParams;
    const flags = { stdin: q.get("stdin") === "true", stdout: q.get("stdout") === "true", stderr: q.get("stderr") === "true", tty: q.get("tty") === "true" };
    const carrier = d.idle ? { idle: d.idle } : {};
    if (isSpdyUpgrade(req)) return acceptSpdyRemoteCommand(req, socket, head, flags, d.log ?? silentLogger, (streams) => runExec(streams, argv, target, flags), carrier);
    wss.handleUpgrade(req, socket, head, (ws) => runExec(webSocketStreams(ws, carrier), argv, target, flags));
  };
}

export { shellQuote } from "../runtime/container-io.js";

/** containerd's PATH for a process whose image sets none. */
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** The descriptor on which a tty exec's shell says its terminal is sized (runtime/container-io.ts onTerminal). */
const TERMINAL_READY_FD = 3;
/** How long resizes wait for that word before they are applied anyway. */
const TERMINAL_READY_TIMEOUT_MS = 2000;

/**
 * A terminal for `-t`: util-linux `script` gives the command a PTY (job control, Ctrl-C through
 * the line discipline, echo), its size set by `stty` before the command starts.
 */
export function ttyCommand(cmd: string[], size: { width: number; height: number } | undefined): string[] {
  return onTerminal("script", cmd, size, TERMINAL_READY_FD);
}

/**
 * Runs the command for one session on any carrier of the remote-command streams. With a tty the
 * command waits (300 ms at most) for kubectl's first resize, sent right after it connects, so it
 * starts at the terminal's size; stdin that comes meanwhile is kept for it. Later resizes are
 * applied one at a time in order (resize-queue.ts), and only once the terminal is at its first
 * size. The command's output is read only while the session's transport is below its budget
 * (output-budget.ts): a client that stops reading stops the command at its full pipe, as
 * upstream's blocking copy does.
 */
export function runExec(streams: RemoteCommandStreams, argv: string[], t: ExecTarget, f: ExecFlags): void {
  let child: ChildProcess | undefined;
  let gone = false;
  let done = false;
  const early: Buffer[] = [];
  let stdinClosed = false;
  const timer = f.tty ? setTimeout(() => start(undefined), 300) : undefined;
  let terminalSized: Promise<void> = Promise.resolve();
  const resizes = new ResizeQueue(async (size) => {
    await terminalSized;
    const tty = child?.pid !== undefined ? ttyOf(child.pid) : undefined;
    if (tty) await sttyResize(tty, size);
  });
  streams.onStdin((d) => (child ? child.stdin?.write(d) : early.push(d)));
  streams.onStdinClose(() => (child ? child.stdin?.end() : (stdinClosed = true)));
  streams.onResize((size) => {
    if (!f.tty) return;
    if (!child) return start(size);
    resizes.push(size);
  });
  streams.onClose(() => {
    gone = true;
    clearTimeout(timer);
    if (child && !done) child.kill("SIGKILL");
  });
  if (!f.tty) start(undefined);

  function start(size: TerminalSize | undefined): void {
    if (child || gone || done) return;
    clearTimeout(timer);
    const missing = lookPathError(argv[0]!, t.env.PATH ?? DEFAULT_PATH, t.pid !== undefined ? `/proc/${t.pid}/root` : "");
    if (missing !== undefined) {
      done = true;
      return streams.finish(execInternalError(startFailure(missing)));
    }
    const inContainer = t.pid !== undefined ? ["nsenter", "--target", String(t.pid), "--mount", "--uts", "--ipc", "--pid", "--", ...argv] : argv;
    const cmd = f.tty ? ttyCommand(inContainer, size) : inContainer;
    // script needs a stdin even when kubectl sends none.
    const c = spawn(cmd[0]!, cmd.slice(1), { env: t.env, stdio: [f.stdin || f.tty ? "pipe" : "ignore", "pipe", "pipe", ...(f.tty ? (["pipe"] as const) : [])] });
    child = c;
    if (f.tty) terminalSized = sizedSignal(c.stdio[TERMINAL_READY_FD] as Readable | undefined);
    // With a tty the terminal has one output stream: stderr goes to stdout.
    const out = (d: Buffer) => (f.stdout ? streams.stdout(d) : true);
    const err = (d: Buffer) => (f.tty ? out(d) : f.stderr ? streams.stderr(d) : true);
    const pause = () => {
      c.stdout!.pause();
      c.stderr!.pause();
    };
    c.stdout!.on("data", (d: Buffer) => out(d) || pause());
    c.stderr!.on("data", (d: Buffer) => err(d) || pause());
    streams.onDrain(() => {
      c.stdout!.resume();
      c.stderr!.resume();
    });
    c.stdin?.on("error", () => undefined);
    for (const d of early.splice(0)) c.stdin?.write(d);
    if (stdinClosed) c.stdin?.end();
    c.on("error", (e) => {
      done = true;
      streams.finish(execInternalError(e.message));
    });
    c.on("close", (code, signal) => {
      if (done) return;
      done = true;
      streams.finish(exitStatus(argv, code ?? (signal ? 128 + 9 : 1)));
    });
  }
}

/** Resolves on the shell's word that the terminal is sized, its end (it never said), or after a while. */
function sizedSignal(fd: Readable | undefined): Promise<void> {
  if (!fd) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, TERMINAL_READY_TIMEOUT_MS);
    function done(): void {
      clearTimeout(timer);
      fd!.off("data", done).off("end", done).off("error", done);
      // script holds the descriptor until it exits: keep draining it.
      fd!.resume();
      resolve();
    }
    fd.once("data", done).once("end", done).once("error", done);
  });
}
