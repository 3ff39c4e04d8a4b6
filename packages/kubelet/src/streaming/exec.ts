/**
 * The kubelet's `/exec/<ns>/<pod>/<container>?command=…` over WebSocket (the channel protocols
 * kubectl 1.32 speaks, `v5.channel.k8s.io` and `v4.channel.k8s.io`): the command runs in the
 * container's namespaces (nsenter, as exec probes do) with the container's environment; each
 * binary message is `[channel][payload]` — 0 stdin, 1 stdout, 2 stderr, 3 the final Status,
 * 4 resize, 255 close of a channel (v5) — and the exit code travels in the Status as upstream's
 * NonZeroExitCode. `tty=true` gets a PTY from util-linux `script`, sized and resized with stty.
 * SPDY is not served: the handshake is refused, so kubectl's fallback fails.
 */
import { spawn } from "node:child_process";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { childTerminal as ttyOf, onTerminal } from "../runtime/container-io.js";

export const CHANNEL_PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

export interface ExecTarget {
  /** Host pid whose namespaces the command joins; undefined runs it on the host (no sandbox). */
  pid: number | undefined;
  env: Record<string, string>;
}

export interface ExecDeps {
  /** The running container to exec into, or the reason there is none (upstream's words). */
  target(namespace: string, pod: string, container: string): ExecTarget | string;
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

const frame = (channel: number, payload: Buffer | string) => Buffer.concat([Buffer.from([channel]), Buffer.isBuffer(payload) ? payload : Buffer.from(payload)]);

function refuse(socket: Duplex, code: number, message: string): void {
  socket.end(`HTTP/1.1 ${code} ${code === 404 ? "Not Found" : "Bad Request"}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(message)}\r\nconnection: close\r\n\r\n${message}`);
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
    if ((req.headers.upgrade ?? "").toLowerCase() !== "websocket") return refuse(socket, 400, "unable to upgrade: only WebSocket (v5.channel.k8s.io, v4.channel.k8s.io) is served");
    const q = url.searchParams;
    const flags = { stdin: q.get("stdin") === "true", stdout: q.get("stdout") === "true", stderr: q.get("stderr") === "true", tty: q.get("tty") === "true" };
    wss.handleUpgrade(req, socket, head, (ws) => runExec(ws, argv, target, flags));
  };
}

export { shellQuote } from "../runtime/container-io.js";

/**
 * A terminal for `-t`: util-linux `script` gives the command a PTY (job control, Ctrl-C through
 * the line discipline, echo), its size set by `stty` before the command starts.
 */
export function ttyCommand(cmd: string[], size: { width: number; height: number } | undefined): string[] {
  return onTerminal("script", cmd, size);
}

function parseResize(payload: Buffer): { width: number; height: number } | undefined {
  try {
    const r = JSON.parse(payload.toString("utf8")) as { Width?: unknown; Height?: unknown };
    if (typeof r.Width === "number" && typeof r.Height === "number" && r.Width > 0 && r.Height > 0) return { width: Math.floor(r.Width), height: Math.floor(r.Height) };
  } catch {
    // A malformed resize is ignored, as upstream logs and drops it.
  }
  return undefined;
}

function runExec(ws: WebSocket, argv: string[], t: ExecTarget, f: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }): void {
  if (!f.tty) return startExec(ws, argv, t, f, undefined, []);
  // kubectl sends the terminal's size right after connecting; wait briefly for it.
  const early: Buffer[] = [];
  let started = false;
  const start = (size: { width: number; height: number } | undefined) => {
    if (started) return;
    started = true;
    clearTimeout(timer);
    ws.off("message", onEarly);
    startExec(ws, argv, t, f, size, early);
  };
  const onEarly = (data: Buffer, isBinary: boolean) => {
    if (isBinary && data[0] === 4) start(parseResize(data.subarray(1)));
    else early.push(data);
  };
  const timer = setTimeout(() => start(undefined), 300);
  ws.on("message", onEarly);
  ws.once("close", () => clearTimeout(timer));
}

function startExec(ws: WebSocket, argv: string[], t: ExecTarget, f: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }, size: { width: number; height: number } | undefined, early: Buffer[]): void {
  const v5 = ws.protocol === "v5.channel.k8s.io";
  const inContainer = t.pid !== undefined ? ["nsenter", "--target", String(t.pid), "--mount", "--uts", "--ipc", "--pid", "--", ...argv] : argv;
  const cmd = f.tty ? ttyCommand(inContainer, size) : inContainer;
  // script needs a stdin even when kubectl sends none.
  const child = spawn(cmd[0]!, cmd.slice(1), { env: t.env, stdio: [f.stdin || f.tty ? "pipe" : "ignore", "pipe", "pipe"] });
  const send = (channel: number, data: Buffer | string) => {
    if (ws.readyState === ws.OPEN) ws.send(frame(channel, data));
  };
  // With a tty the terminal has one output stream: stderr goes to stdout.
  child.stdout!.on("data", (d: Buffer) => f.stdout && send(1, d));
  child.stderr!.on("data", (d: Buffer) => (f.tty ? f.stdout && send(1, d) : f.stderr && send(2, d)));
  child.stdin?.on("error", () => undefined);
  const onMessage = (data: Buffer, isBinary: boolean) => {
    if (!isBinary || data.length === 0) return;
    const channel = data[0]!;
    if (channel === 0) child.stdin?.write(data.subarray(1));
    else if (channel === 255 && v5 && data[1] === 0) child.stdin?.end();
    else if (channel === 4 && f.tty && child.pid !== undefined) {
      const r = parseResize(data.subarray(1));
      const tty = ttyOf(child.pid);
      if (r && tty) spawn("stty", ["-F", tty, "rows", String(r.height), "cols", String(r.width)], { stdio: "ignore" }).on("error", () => undefined);
    }
  };
  for (const m of early) onMessage(m, true);
  ws.on("message", onMessage);
  let done = false;
  ws.on("close", () => {
    if (!done) child.kill("SIGKILL");
  });
  ws.on("error", () => undefined);
  child.on("error", (e) => {
    done = true;
    send(3, JSON.stringify({ metadata: {}, status: "Failure", message: `Internal error occurred: error executing command in container: ${e.message}`, reason: "InternalError", code: 500 }));
    ws.close(1000);
  });
  child.on("close", (code, signal) => {
    if (done) return;
    done = true;
    send(3, JSON.stringify(exitStatus(argv, code ?? (signal ? 128 + 9 : 1))));
    ws.close(1000);
  });
}
