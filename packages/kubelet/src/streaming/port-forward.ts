/**
 * Port forwarding over one SPDY connection, as upstream's kubelet (cri/streaming/portforward,
 * httpstream.go): each forwarded connection is a pair of streams, `streamtype: error` and
 * `streamtype: data`, with the same `port` and `requestid` headers. Once both are open the
 * kubelet dials the pod and copies bytes between the pod's socket and the data stream (FIN on
 * either side half-closes the other); a failed dial writes the runtime's error text on the error
 * stream, which kubectl prints as "an error occurred forwarding …".
 *
 * Where containerd dials localhost:<port> inside the pod's network namespace, kubemu's pods share
 * the host's network namespace and listen on their pod IP: the kubelet dials <pod IP>:<port>, and
 * the error text says so in containerd's shape, with the pod UID where containerd names the
 * sandbox ID.
 */
import type { IncomingMessage } from "node:http";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { createWebSocketStream, WebSocketServer } from "ws";
import type { Logger } from "@kubemu/common";
import type { IdleTimeoutOptions } from "./idle-timeout.js";
import { RstStatus } from "./spdy/frames.js";
import { SpdySession, type SpdyStream } from "./spdy/session.js";
import { acceptSpdy, isSpdyUpgrade, isWebSocketUpgrade, refuse } from "./upgrade.js";
import { forwardErrorText, type PortForwardTarget } from "./port-forward-target.js";

export { dialErrorText, forwardErrorText, type PortForwardTarget } from "./port-forward-target.js";
import { parsePortsQuery, PORT_FORWARD_CHANNEL_PROTOCOLS, serveChannelPortForward } from "./port-forward-channels.js";

/** kubectl 1.31+'s WebSocket subprotocol: the SPDY byte stream carried in binary messages. */
export const PORT_FORWARD_WEBSOCKET_PROTOCOL = "SPDY/3.1+portforward.k8s.io";
/** The X-Stream-Protocol-Version of port forwarding over plain SPDY. */
export const PORT_FORWARD_PROTOCOL = "portforward.k8s.io";

export interface PortForwardOptions {
  log: Logger;
  target: PortForwardTarget;
  /** How long a pair may wait for its second stream (upstream: 30 s). */
  streamCreationTimeoutMs?: number;
  dial?: (host: string, port: number) => Socket;
  /** Keep to the client's windows (client-go never sends WINDOW_UPDATE; see spdy/session.ts). */
  honourPeerWindows?: boolean;
  /** --streaming-connection-idle-timeout (SPDY carriers: spdy/session.ts). */
  idle?: IdleTimeoutOptions;
}

const STREAM_CREATION_TIMEOUT_MS = 30_000;

/** Checks a new stream's headers as upstream's httpStreamReceived; a string is the refusal. */
export function checkStreamHeaders(s: { header(name: string): string | undefined }): string | undefined {
  const port = s.header("port");
  if (!port) return `"port" header is required`;
  if (!/^\d+$/.test(port) || Number(port) > 65535) return `unable to parse "${port}" as a port: strconv.ParseUint: parsing "${port}": ${/^\d+$/.test(port) ? "value out of range" : "invalid syntax"}`;
  if (Number(port) < 1) return `port "${port}" must be > 0`;
  const type = s.header("streamtype");
  if (!type) return `"streamType" header is required`;
  if (type !== "error" && type !== "data") return `invalid stream type "${type}"`;
  return undefined;
}

interface Pair {
  requestId: string;
  data?: SpdyStream;
  error?: SpdyStream;
  timer: NodeJS.Timeout;
}

let connections = 0;

/** Serves port forwarding on an upgraded connection (a TCP socket or a WebSocket's byte stream). */
export function servePortForward(socket: Duplex, o: PortForwardOptions): SpdySession {
  const conn = ++connections;
  const pairs = new Map<string, Pair>();
  const timeoutMs = o.streamCreationTimeoutMs ?? STREAM_CREATION_TIMEOUT_MS;
  const dial = o.dial ?? ((host, port) => connect({ host, port }));

  const printError = (p: Pair, text: string) => {
    if (p.error && p.error.writable) p.error.write(text);
  };
  const requestIdOf = (s: SpdyStream): string => {
    const id = s.header("requestid");
    if (id) return id;
    // Older clients send no request id: streams of one connection come as error, data with consecutive ids.
    return String(s.header("streamtype") === "error" ? s.id : s.id - 2);
  };

  socket.on("close", () => {
    for (const p of pairs.values()) clearTimeout(p.timer);
    pairs.clear();
  });
  const session = new SpdySession(socket, {
    log: o.log,
    ...(o.honourPeerWindows !== undefined ? { honourPeerWindows: o.honourPeerWindows } : {}),
    ...(o.idle ? { idle: o.idle } : {}),
    onStream: (s) => {
      const refusal = checkStreamHeaders(s);
      if (refusal) return refusal;
      const requestId = requestIdOf(s);
      let p = pairs.get(requestId);
      if (!p) {
        const created: Pair = {
          requestId,
          timer: setTimeout(() => {
            pairs.delete(requestId);
            const text = `(conn=${conn}, request=${requestId}) timed out waiting for streams`;
            o.log.info({ request: requestId }, text);
            printError(created, text);
            created.error?.end();
            created.data?.end();
          }, timeoutMs),
        };
        p = created;
        pairs.set(requestId, p);
      }
      const pair = p;
      const type = s.header("streamtype") as "error" | "data";
      if (pair[type]) {
        // Upstream prints this on the pair's error stream and leaves the extra stream unused.
        setImmediate(() => printError(pair, `error processing stream for request ${requestId}: ${type} stream already assigned`));
        return undefined;
      }
      pair[type] = s;
      // The error stream carries nothing from the client (kubectl half-closes it at once).
      if (type === "error") s.resume();
      if (pair.data && pair.error) {
        clearTimeout(pair.timer);
        pairs.delete(requestId);
        const port = Number(pair.data.header("port"));
        setImmediate(() => forward(pair.data!, pair.error!, port));
      }
      return undefined;
    },
  });

  function forward(data: SpdyStream, error: SpdyStream, port: number): void {
    const t = o.target;
    const pod = dial(t.podIP, port);
    pod.setNoDelay(true);
    let connected = false;
    const finish = () => {
      if (!data.destroyed) data.end();
      if (!error.destroyed) error.end();
    };
    pod.once("connect", () => {
      connected = true;
      // Bytes both ways with backpressure; a FIN from either side half-closes the other.
      data.pipe(pod);
      pod.pipe(data);
    });
    pod.on("error", (e: NodeJS.ErrnoException) => {
      if (!connected) {
        const text = forwardErrorText(t, port, e);
        o.log.info({ port, err: e.message }, text);
        if (error.writable) error.write(text);
      } else {
        // Reset by the pod mid-copy: the client sees its connection end, as with upstream's kubelet.
        o.log.info({ port, err: e.message }, "error copying between the pod and the data stream");
      }
      finish();
    });
    pod.on("close", finish);
    data.on("reset", (reason: string) => {
      if (error.writable) error.write(`error processing stream for request ${error.header("requestid") ?? ""}: ${reason}`);
      pod.destroy();
      error.end();
    });
    error.on("reset", () => {
      pod.destroy();
      if (!data.destroyed) data.reset(RstStatus.CANCEL, "its error stream was reset");
    });
  }

  return session;
}

export interface PortForwardDeps {
  log: Logger;
  /** The pod's sandbox and IP, or the HTTP status and reason there is none. */
  target(namespace: string, pod: string): PortForwardTarget | { code: number; message: string };
  idle?: IdleTimeoutOptions;
}

/**
 * The kubelet's `/portForward/<ns>/<pod>[/<uid>]`: kubectl's WebSocket tunnel
 * (`SPDY/3.1+portforward.k8s.io`, binary messages concatenated into the SPDY byte stream, split
 * anywhere), a plain `Upgrade: SPDY/3.1` with `X-Stream-Protocol-Version: portforward.k8s.io`, or
 * the WebSocket channel protocols with `?port=` (port-forward-channels.ts).
 */
export function portForwardUpgradeHandler(d: PortForwardDeps): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  // ws refuses "SPDY/3.1+portforward.k8s.io" as a subprotocol ("/" is not a token character), so
  // the offer is checked here, taken off the request, and the answer added to the 101's headers.
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  wss.on("headers", (headers) => headers.push(`Sec-WebSocket-Protocol: ${PORT_FORWARD_WEBSOCKET_PROTOCOL}`));
  const channelWss = new WebSocketServer({ noServer: true, perMessageDeflate: false, handleProtocols: (offered) => [...offered].find((p) => PORT_FORWARD_CHANNEL_PROTOCOLS.includes(p)) ?? false });
  return (req, socket, head) => {
    const url = new URL(req.url ?? "/", "http://kubelet");
    const parts = url.pathname.split("/").slice(2).map(decodeURIComponent);
    if ((parts.length !== 2 && parts.length !== 3) || parts.some((p) => p === "")) return refuse(socket, 400, `Bad Request: ${url.pathname}`);
    const target = d.target(parts[0]!, parts[1]!);
    if ("code" in target) return refuse(socket, target.code, target.message);
    const log = d.log.child({ pod: `${parts[0]}/${parts[1]}` });
    if (isSpdyUpgrade(req)) {
      if (acceptSpdy(req, socket, head, [PORT_FORWARD_PROTOCOL]) === undefined) return;
      (socket as Partial<Socket>).setNoDelay?.(true);
      log.info({ transport: "SPDY/3.1" }, "port forwarding");
      servePortForward(socket, { log, target, ...(d.idle ? { idle: d.idle } : {}) });
      return;
    }
    if (!isWebSocketUpgrade(req)) return refuse(socket, 400, "unable to upgrade: missing upgrade headers in request");
    const offered = (req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim()).filter(Boolean);
    if (!offered.includes(PORT_FORWARD_WEBSOCKET_PROTOCOL)) {
      // The channel protocols (no SPDY inside), with the ports in the query.
      if (offered.length > 0 && !offered.some((p) => PORT_FORWARD_CHANNEL_PROTOCOLS.includes(p))) {
        // Refused before the handshake, so that kubectl falls back to SPDY.
        return refuse(socket, 400, `unable to upgrade: served WebSocket subprotocols: ${[PORT_FORWARD_WEBSOCKET_PROTOCOL, ...PORT_FORWARD_CHANNEL_PROTOCOLS].join(", ")}`);
      }
      const ports = parsePortsQuery(url.searchParams);
      if (typeof ports === "string") return refuse(socket, 400, ports);
      channelWss.handleUpgrade(req, socket, head, (ws) => {
        log.info({ transport: ws.protocol || "websocket" }, "port forwarding");
        serveChannelPortForward(ws, ports, { target, log, ...(d.idle ? { idle: d.idle } : {}) });
      });
      return;
    }
    delete req.headers["sec-websocket-protocol"];
    wss.handleUpgrade(req, socket, head, (ws) => {
      (socket as Partial<Socket>).setNoDelay?.(true);
      log.info({ transport: PORT_FORWARD_WEBSOCKET_PROTOCOL }, "port forwarding");
      // Every binary message's payload is the next piece of the SPDY byte stream.
      const bytes = createWebSocketStream(ws, { allowHalfOpen: false });
      bytes.on("error", (e) => log.debug({ err: e.message }, "port-forward websocket error"));
      servePortForward(bytes, { log, target, ...(d.idle ? { idle: d.idle } : {}) });
    });
  };
}
