/**
 * The kubelet's `/attach/<ns>/<pod>/<container>?stdin=…&stdout=…&stderr=…&tty=…`: joins the
 * running container's own stdio (runtime/container-io.ts) over the channel protocols
 * (streaming/channels.ts). As upstream's kubelet, whether the session is a terminal comes from
 * the container's spec (`tty`), not the request: a tty container has one output stream and takes
 * resizes. stdin reaches the container only when it was started with `stdin: true`; otherwise it
 * is dropped, as containerd drops it. The session ends with a Success Status when the container
 * exits, or when the client goes away (the container keeps running). As containerd's attach (its
 * output writer group copies to every attached stream in turn, blocking), a session whose client
 * does not keep up holds the container's output back for everyone, the CRI log included, rather
 * than the kubelet buffering it: its transport full, the container's pipes are not read until it
 * drains (runtime/container-io.ts), and a client that stays stalled is closed by the idle timeout.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { silentLogger, type Logger } from "@kubemu/common";
import type { ContainerIO } from "../runtime/container-io.js";
import { acceptSpdyRemoteCommand } from "./remote-command-spdy.js";
import { isSpdyUpgrade } from "./upgrade.js";
import { SUCCESS_STATUS, webSocketStreams, type RemoteCommandStreams } from "./channels.js";
import { CHANNEL_PROTOCOLS } from "./exec.js";
import type { IdleTimeoutOptions } from "./idle-timeout.js";
import { ResizeQueue, sttyResize } from "./resize-queue.js";

export interface AttachDeps {
  /** The running container's stdio, or why there is none (upstream's words). */
  target(namespace: string, pod: string, container: string): ContainerIO | string;
  log?: Logger;
  /** --streaming-connection-idle-timeout; none when undefined. */
  idle?: IdleTimeoutOptions | undefined;
}

export interface AttachFlags {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

function refuse(socket: Duplex, code: number, message: string): void {
  socket.end(`HTTP/1.1 ${code} ${code === 404 ? "Not Found" : "Bad Request"}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(message)}\r\nconnection: close\r\n\r\n${message}`);
}

/** The request's streams, checked as upstream's remotecommand NewOptions checks them. */
export function attachFlags(q: URLSearchParams): AttachFlags | string {
  const on = (k: string) => q.get(k) === "true" || q.get(k) === "1";
  const f = { stdin: on("stdin"), stdout: on("stdout"), stderr: on("stderr") };
  if (!f.stdin && !f.stdout && !f.stderr) return "you must specify at least 1 of stdin, stdout, stderr";
  return f;
}

/** One attach session over any carrier of the remote-command streams. */
export function serveAttach(streams: RemoteCommandStreams, io: ContainerIO, f: AttachFlags): void {
  const session = io.attach(
    {
      output: (stream, data) => {
        // A terminal has one stream; without one, each goes where it was asked for.
        if (io.tty || stream === "stdout") return f.stdout ? streams.stdout(data) : true;
        return f.stderr ? streams.stderr(data) : true;
      },
      ended: () => streams.finish(SUCCESS_STATUS),
    },
    f.stdin,
  );
  streams.onDrain(() => session.drained());
  streams.onStdin((d) => session.write(d));
  streams.onStdinClose(() => session.closeStdin());
  // One stty at a time, in order: kubectl sends size+1 then the size at once, and the last must win.
  const resizes = new ResizeQueue(async (size) => {
    const tty = io.terminalPath();
    if (tty) await sttyResize(tty, size);
  });
  streams.onResize((size) => resizes.push(size));
  streams.onClose(() => session.detach());
}

export function attachUpgradeHandler(d: AttachDeps): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => CHANNEL_PROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  return (req, socket, head) => {
    const url = new URL(req.url ?? "/", "http://kubelet");
    const parts = url.pathname.split("/").slice(2).map(decodeURIComponent);
    if (parts.length !== 3 || parts.some((p) => p === "")) return refuse(socket, 400, `Bad Request: ${url.pathname}`);
    const flags = attachFlags(url.searchParams);
    if (typeof flags === "string") return refuse(socket, 400, flags);
    const [ns, pod, container] = parts as [string, string, string];
    // The container is checked before the transport, so that kubectl's SPDY retry shows why.
    const io = d.target(ns, pod, container);
    if (typeof io === "string") return refuse(socket, 404, io);
    // Over SPDY the client opens the streams it asked for (a resize stream with tty=true).
    const carrier = d.idle ? { idle: d.idle } : {};
    if (isSpdyUpgrade(req)) return acceptSpdyRemoteCommand(req, socket, head, { ...flags, tty: url.searchParams.get("tty") === "true" }, d.log ?? silentLogger, (streams) => serveAttach(streams, io, flags), carrier);
    if ((req.headers.upgrade ?? "").toLowerCase() !== "websocket") return refuse(socket, 400, "unable to upgrade: only WebSocket (v5.channel.k8s.io, v4.channel.k8s.io) and SPDY/3.1 are served");
    wss.handleUpgrade(req, socket, head, (ws) => serveAttach(webSocketStreams(ws, carrier), io, flags));
  };
}
