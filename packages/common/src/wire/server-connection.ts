/** One accepted wire connection on a WireServer: handshake, requests, streams, cancellation. */
import type { IncomingMessage } from "node:http";
import type { WebSocket } from "ws";
import type { Logger } from "pino";
import type { Timer } from "../clock.js";
import { newCancelled, newStatus, StatusError, toStatus, type Status } from "../status.js";
import { clientToServer, CloseCode, FrameError, FrameType, WIRE_PROTOCOL, WIRE_VERSION, type Frame } from "./frame.js";
import { Link, type Corkable } from "./link.js";
import { DROP } from "./faults.js";
import { checkHello, type RequestContext, type ServerStream, type WireServer } from "./server.js";

const handshakeOnly: ReadonlySet<number> = new Set([FrameType.Hello]);

/** Per-request state; the AbortController is made only if the handler asks for the signal. */
class Context implements RequestContext {
  private controller: AbortController | undefined;
  private abortedWith: StatusError | undefined;

  constructor(
    readonly method: string,
    readonly peer: string,
    readonly log: Logger,
    readonly request: IncomingMessage | undefined,
  ) {}

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortedWith) this.controller.abort(this.abortedWith);
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.abortedWith !== undefined;
  }

  abort(reason: StatusError): void {
    if (this.abortedWith) return;
    this.abortedWith = reason;
    this.controller?.abort(reason);
  }
}

class Stream implements ServerStream<unknown> {
  sent = 0;
  /** Sends waiting for credit, in call order. */
  private readonly waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  /** Waiters already woken with credit reserved for them but not yet resumed. */
  private reserved = 0;

  constructor(
    private readonly conn: ServerConnection,
    readonly id: number,
    readonly ctx: Context,
    private limit: number,
  ) {}

  get signal(): AbortSignal {
    return this.ctx.signal;
  }

  async send(item: unknown): Promise<void> {
    if (this.ctx.aborted) throw newCancelled("stream cancelled");
    if (this.waiters.length > 0 || this.reserved > 0 || this.sent >= this.limit) {
      // Queue behind earlier sends so items keep the order of the send() calls.
      await new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
      this.reserved--;
      if (this.ctx.aborted) {
        this.wake();
        throw newCancelled("stream cancelled");
      }
    }
    try {
      this.conn.link.send([FrameType.Item, this.id, this.sent, item]);
      this.sent++;
    } finally {
      this.wake();
    }
  }

  grant(total: number): void {
    if (total > this.limit) this.limit = total;
    this.wake();
  }

  cancel(reason: StatusError): void {
    this.ctx.abort(reason);
    for (const w of this.waiters.splice(0)) w.reject(reason);
  }

  private wake(): void {
    while (this.waiters.length > 0 && this.sent + this.reserved < this.limit) {
      this.reserved++;
      this.waiters.shift()!.resolve();
    }
  }
}

export class ServerConnection {
  readonly link: Link;
  readonly closed: Promise<void>;
  private peerName = "";
  private log: Logger;
  private handshakeTimer: Timer | undefined;
  private readonly requests = new Map<number, Context>();
  private readonly streams = new Map<number, Stream>();

  constructor(
    private readonly server: WireServer,
    ws: WebSocket,
    socket: Corkable,
    remote: string,
    private readonly upgradeRequest?: IncomingMessage,
  ) {
    this.log = server.log.child({ remote });
    this.link = new Link(ws, server.linkOptions, handshakeOnly, socket);
    let closedResolve!: () => void;
    this.closed = new Promise((r) => (closedResolve = r));
    this.link.onFrame = (f) => this.onFrame(f);
    this.link.onClose = (info) => {
      this.handshakeTimer?.cancel();
      if (info.protocolError) server.stats.protocolErrors++;
      const gone = new StatusError(newStatus("Cancelled", `connection closed: ${info.reason || info.code}`));
      for (const ctx of this.requests.values()) ctx.abort(gone);
      for (const s of this.streams.values()) s.cancel(gone);
      this.requests.clear();
      this.streams.clear();
      this.log.debug({ peer: this.peerName, code: info.code, reason: info.reason }, "wire: connection closed");
      closedResolve();
    };
    this.handshakeTimer = server.clock.setTimeout(
      () => this.link.close(CloseCode.HandshakeTimeout, "no hello within the handshake timeout"),
      server.handshakeTimeoutMs,
    );
  }

  close(code: number, reason: string): void {
    this.link.close(code, reason);
  }

  private onFrame(f: Frame): void {
    this.server.stats.framesReceived++;
    switch (f[0]) {
      case FrameType.Hello:
        return this.onHello(f[1]);
      case FrameType.Request:
        return this.onRequest(f[1], f[2], f[3]);
      case FrameType.Notify:
        return this.onNotify(f[1], f[2]);
      case FrameType.Open:
        return this.onOpen(f[1], f[2], f[3], f[4]);
      case FrameType.Credit:
        this.streams.get(f[1])?.grant(f[2]);
        return;
      case FrameType.Cancel:
        return this.onCancel(f[1]);
      default:
        return this.link.protocolError(new FrameError(CloseCode.ProtocolError, `unexpected frame type ${f[0]}`));
    }
  }

  private onHello(hello: { protocol: string; version: number; name: string }): void {
    // The Link could not match fault rules before it knew the name; a partitioned peer's hello
    // must vanish too, or an "in"-only drop rule would still let handshakes complete.
    if (this.server.linkOptions.faults?.verdict(hello.name, "in") === DROP) return;
    this.handshakeTimer?.cancel();
    const refusal = checkHello(hello);
    if (refusal) {
      this.log.warn({ hello }, `wire: refusing handshake: ${refusal}`);
      this.link.send([FrameType.Reject, newStatus("BadRequest", refusal)]);
      this.link.close(CloseCode.HandshakeRejected, refusal);
      return;
    }
    this.peerName = hello.name;
    this.link.peer = hello.name;
    this.log = this.log.child({ peer: hello.name });
    this.link.accepts = clientToServer;
    this.link.send([FrameType.Welcome, { protocol: WIRE_PROTOCOL, version: WIRE_VERSION, name: this.server.name }]);
    this.link.startLiveness();
  }

  private onRequest(id: number, method: string, params: unknown): void {
    const handler = this.server.requestHandlers.get(method);
    if (!handler) return this.sendError(id, unknownMethod(method, this.server.streamHandlers.has(method)));
    if (this.requests.has(id) || this.streams.has(id)) return this.sendError(id, newStatus("BadRequest", `request id ${id} is already in use`));
    const ctx = new Context(method, this.peerName, this.log, this.upgradeRequest);
    this.requests.set(id, ctx);
    let result: unknown;
    try {
      result = handler(params, ctx);
    } catch (e) {
      return this.finishRequest(id, ctx, e, true);
    }
    if (result instanceof Promise) {
      result.then(
        (v) => this.finishRequest(id, ctx, v, false),
        (e) => this.finishRequest(id, ctx, e, true),
      );
    } else {
      this.finishRequest(id, ctx, result, false);
    }
  }

  /** A one-way request: run the handler; failures are logged, since there is no one to tell. */
  private onNotify(method: string, params: unknown): void {
    const handler = this.server.requestHandlers.get(method);
    if (!handler) {
      this.log.debug({ method }, "wire: notify for an unknown method ignored");
      return;
    }
    const ctx = new Context(method, this.peerName, this.log, this.upgradeRequest);
    const failed = (e: unknown) => this.log.warn({ method, err: e instanceof Error ? e.message : String(e) }, "wire: notify handler failed");
    try {
      const result = handler(params, ctx);
      if (result instanceof Promise) result.catch(failed);
    } catch (e) {
      failed(e);
    }
  }

  private finishRequest(id: number, ctx: Context, value: unknown, failed: boolean): void {
    if (this.requests.get(id) !== ctx) return; // cancelled, or the connection is gone
    this.requests.delete(id);
    if (failed) return this.sendError(id, this.statusOf(value, ctx));
    try {
      this.link.send([FrameType.Response, id, value]);
    } catch (e) {
      this.sendError(id, this.statusOf(e, ctx));
    }
  }

  private onOpen(id: number, method: string, params: unknown, credit: number): void {
    const handler = this.server.streamHandlers.get(method);
    if (!handler) return this.sendError(id, unknownMethod(method, this.server.requestHandlers.has(method), true));
    if (this.requests.has(id) || this.streams.has(id)) return this.sendError(id, newStatus("BadRequest", `stream id ${id} is already in use`));
    const ctx = new Context(method, this.peerName, this.log, this.upgradeRequest);
    const stream = new Stream(this, id, ctx, credit);
    this.streams.set(id, stream);
    const done = (err: unknown, failed: boolean) => {
      if (this.streams.get(id) !== stream) return;
      this.streams.delete(id);
      if (failed) this.sendError(id, this.statusOf(err, ctx));
      else this.link.send([FrameType.End, id, stream.sent]);
    };
    let result: void | Promise<void>;
    try {
      result = handler(params, stream, ctx);
    } catch (e) {
      return done(e, true);
    }
    if (result instanceof Promise) result.then(() => done(undefined, false), (e) => done(e, true));
    else done(undefined, false);
  }

  private onCancel(id: number): void {
    const reason = newCancelled("cancelled by the client");
    const ctx = this.requests.get(id);
    if (ctx) {
      this.requests.delete(id);
      ctx.abort(reason);
      return;
    }
    const stream = this.streams.get(id);
    if (stream) {
      this.streams.delete(id);
      stream.cancel(reason);
    }
    // An unknown id is fine: the request may have finished while the cancel was in flight.
  }

  private sendError(id: number, status: Status): void {
    try {
      this.link.send([FrameType.Error, id, status]);
    } catch {
      // A Status too big to send (huge details): send a short one instead.
      this.link.send([FrameType.Error, id, newStatus("InternalError", `error too large to send: ${status.message.slice(0, 200)}`)]);
    }
  }

  private statusOf(e: unknown, ctx: Context): Status {
    if (!(e instanceof StatusError)) ctx.log.warn({ err: e instanceof Error ? e.message : String(e), method: ctx.method }, "wire: handler failed");
    return toStatus(e);
  }
}

function unknownMethod(method: string, otherKind: boolean, stream = false): Status {
  if (otherKind) return newStatus("BadRequest", `method "${method}" is a ${stream ? "request" : "stream"} method; call it as one`);
  return newStatus("NotFound", `unknown ${stream ? "stream " : ""}method "${method}"`);
}
