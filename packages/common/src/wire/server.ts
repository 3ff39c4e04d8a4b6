/**
 * WireServer: accepts wire connections (standalone or on an existing http.Server), runs the
 * handshake, and dispatches requests and streams to registered handlers.
 */
import type { IncomingMessage, Server as HttpServer } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import type { Logger } from "pino";
import { realClock, type Clock } from "../clock.js";
import { silentLogger } from "../logger.js";
import { DEFAULT_MAX_FRAME_BYTES, WIRE_PROTOCOL, WIRE_VERSION } from "./frame.js";
import type { FaultInjector } from "./faults.js";
import { DEFAULT_DEAD_AFTER_MS, DEFAULT_PING_INTERVAL_MS, type LinkOptions } from "./link.js";
import { ServerConnection } from "./server-connection.js";

/** What a handler knows about the request it serves. */
export interface RequestContext {
  /** Aborts when the client cancels, the request times out client-side, or the connection dies. */
  readonly signal: AbortSignal;
  /** The client's process name from the handshake. */
  readonly peer: string;
  readonly method: string;
  readonly log: Logger;
  /** The HTTP upgrade request this connection was opened with (its headers and socket: who the client is); unset for connections made without one. */
  readonly request: IncomingMessage | undefined;
}

/** The sending half of a server-pushed stream. */
export interface ServerStream<T> {
  /**
   * Sends one item. Resolves once it is written, which waits while the client has no credit
   * left (backpressure). Rejects with a Cancelled StatusError once the stream is cancelled or the
   * connection is gone, and with RequestEntityTooLarge for an item over the frame limit (the
   * stream stays usable). Await each send before the next.
   */
  send(item: T): Promise<void>;
  /** Items sent so far. */
  readonly sent: number;
  /** Same as the context's signal. */
  readonly signal: AbortSignal;
}

/** Serves one request; the resolved value is the response, a throw becomes an error Status. */
export type RequestHandler<P = any, R = unknown> = (params: P, ctx: RequestContext) => R | Promise<R>;
/** Serves one stream; returning ends it normally, throwing ends it with that error. */
export type StreamHandler<P = any, T = unknown> = (params: P, stream: ServerStream<T>, ctx: RequestContext) => void | Promise<void>;

export interface WireServerOptions {
  /** This process's name, sent in the handshake. */
  name: string;
  logger?: Logger;
  clock?: Clock;
  faults?: FaultInjector;
  /** Largest frame accepted or sent, in bytes (default 16 MiB). */
  maxFrameBytes?: number;
  pingIntervalMs?: number;
  deadAfterMs?: number;
  /** How long a new connection may take to say hello (default 5 s). */
  handshakeTimeoutMs?: number;
}

/** Where a standalone server listens. */
export interface WireAddress {
  host: string;
  port: number;
  /** ws://host:port/ */
  url: string;
}

/** Counters for tests and metrics. */
export interface WireServerStats {
  connectionsAccepted: number;
  connectionsOpen: number;
  protocolErrors: number;
  framesReceived: number;
}

export class WireServer {
  readonly name: string;
  readonly log: Logger;
  readonly requestHandlers = new Map<string, RequestHandler>();
  readonly streamHandlers = new Map<string, StreamHandler>();
  readonly linkOptions: LinkOptions;
  readonly handshakeTimeoutMs: number;
  readonly clock: Clock;
  readonly stats: WireServerStats = { connectionsAccepted: 0, connectionsOpen: 0, protocolErrors: 0, framesReceived: 0 };

  private readonly wss: WebSocketServer;
  private readonly connections = new Set<ServerConnection>();
  private readonly detach: (() => void)[] = [];
  private closing = false;

  constructor(opts: WireServerOptions) {
    if (!opts.name) throw new TypeError("WireServer needs a name");
    this.name = opts.name;
    this.log = (opts.logger ?? silentLogger).child({ wire: "server" });
    this.clock = opts.clock ?? realClock;
    this.handshakeTimeoutMs = opts.handshakeTimeoutMs ?? 5000;
    const maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.linkOptions = {
      clock: this.clock,
      log: this.log,
      faults: opts.faults,
      pingIntervalMs: opts.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS,
      deadAfterMs: opts.deadAfterMs ?? DEFAULT_DEAD_AFTER_MS,
      maxFrameBytes,
    };
    this.wss = new WebSocketServer({ noServer: true, maxPayload: maxFrameBytes, perMessageDeflate: false, clientTracking: false });
    this.wss.on("connection", (ws: WebSocket, req: IncomingMessage) => this.accept(ws, req));
  }

  /** Registers a request handler for `method` (replacing any previous one). */
  handle<P = any, R = unknown>(method: string, handler: RequestHandler<P, R>): this {
    this.requestHandlers.set(method, handler as RequestHandler);
    return this;
  }

  /** Registers a stream handler for `method`. */
  handleStream<P = any, T = unknown>(method: string, handler: StreamHandler<P, T>): this {
    this.streamHandlers.set(method, handler as StreamHandler);
    return this;
  }

  /** Starts a dedicated HTTP server accepting wire connections on any path. */
  async listen(addr: { host: string; port: number }): Promise<WireAddress> {
    const { createServer } = await import("node:http");
    const http = createServer((_req, res) => {
      res.writeHead(426, { "content-type": "text/plain" }).end("this endpoint speaks kubemu-wire over WebSocket\n");
    });
    this.attach(http, { path: null });
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(addr.port, addr.host, () => {
        http.off("error", reject);
        resolve();
      });
    });
    this.detach.push(() => {
      http.closeAllConnections();
      http.close();
    });
    const bound = http.address();
    if (bound === null || typeof bound === "string") throw new Error("unexpected server address");
    const host = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
    return { host: bound.address, port: bound.port, url: `ws://${host}:${bound.port}/` };
  }

  /**
   * Serves wire connections on an existing HTTP server for upgrade requests to `path` (every
   * path when null). Other upgrade requests are left alone for the server's other listeners.
   */
  attach(http: HttpServer, opts: { path: string | null }): void {
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (opts.path !== null && pathOf(req.url) !== opts.path) return;
      this.handleUpgrade(req, socket, head);
    };
    http.on("upgrade", onUpgrade);
    this.detach.push(() => http.off("upgrade", onUpgrade));
  }

  /** Accepts one upgrade request (for hosts that route upgrades themselves). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit("connection", ws, req));
  }

  /** Closes every connection (in-flight handlers see their signal abort) and stops listening. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const c of [...this.connections]) c.close(1001, "server shutting down");
    for (const d of this.detach.splice(0)) d();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    if (this.closing) {
      ws.terminate();
      return;
    }
    this.stats.connectionsAccepted++;
    this.stats.connectionsOpen++;
    const conn = new ServerConnection(this, ws, req.socket, req.socket.remoteAddress ?? "?", req);
    this.connections.add(conn);
    conn.closed.then(() => {
      this.connections.delete(conn);
      this.stats.connectionsOpen--;
    });
  }
}

function pathOf(url: string | undefined): string {
  if (!url) return "/";
  const q = url.indexOf("?");
  return q === -1 ? url : url.slice(0, q);
}

/** Why a hello is refused, or undefined when it is acceptable. */
export function checkHello(hello: { protocol: string; version: number; name: string }): string | undefined {
  if (hello.protocol !== WIRE_PROTOCOL) return `unsupported protocol "${hello.protocol}" (this server speaks ${WIRE_PROTOCOL})`;
  if (hello.version !== WIRE_VERSION) return `incompatible ${WIRE_PROTOCOL} version ${hello.version} (this server speaks version ${WIRE_VERSION})`;
  if (hello.name.length === 0 || hello.name.length > 253) return "hello.name must be 1..253 characters";
  return undefined;
}

