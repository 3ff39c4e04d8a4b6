/** One client-side wire connection: the handshake, and routing of frames to calls and streams. */
import { WebSocket } from "ws";
import { newCancelled, newServiceUnavailable, newStatus, newTimeout, StatusError, type Status } from "../status.js";
import { CloseCode, FrameType, serverToClient, WIRE_PROTOCOL, WIRE_VERSION, type Frame } from "./frame.js";
import { Link, type Corkable, type LinkClose, type LinkOptions } from "./link.js";

/** A request waiting for its answer on a connection. */
export interface CallSink {
  readonly method: string;
  readonly params: unknown;
  conn: ClientConnection | undefined;
  id: number;
  onResult(value: unknown): void;
  onError(status: Status): void;
}

/** A stream attached to a connection. */
export interface StreamSink {
  onItem(seq: number, item: unknown): void;
  onEnd(count: number): void;
  onError(status: Status): void;
}

export interface ConnectOptions {
  /** This process's name for the hello. */
  name: string;
  link: LinkOptions;
  connectTimeoutMs: number;
  /** The peer's name from an earlier connection, so fault rules apply to the hello too. */
  knownPeer: string | undefined;
  /** Aborting gives up on the attempt at once (the client is closing). */
  signal?: AbortSignal;
  /** For wss:// endpoints: the CA to trust and this client's certificate. */
  tls?: WireTlsOptions;
}

/** TLS settings of a wss:// connection (PEM text or buffers). */
export interface WireTlsOptions {
  /** CA certificate(s) the server's certificate must chain to. */
  ca?: string | Buffer;
  /** This client's certificate and key (the server maps CN/O to user/groups). */
  cert?: string | Buffer;
  key?: string | Buffer;
}

const handshakeAccepts: ReadonlySet<number> = new Set([FrameType.Welcome, FrameType.Reject, FrameType.Ping, FrameType.Pong]);

export class ClientConnection {
  /** Set when a redirect moved the client elsewhere: close once nothing uses this connection. */
  retired = false;
  /** Called once when the link closes. */
  onClose: (conn: ClientConnection, info: LinkClose) => void = () => {};
  readonly calls = new Map<number, CallSink>();
  readonly streams = new Map<number, StreamSink>();
  private nextId = 1;

  private constructor(
    readonly endpoint: string,
    readonly peer: string,
    readonly link: Link,
    /** Clock time when the handshake completed. */
    readonly openedAt: number,
  ) {
    link.onFrame = (f) => this.onFrame(f);
    link.onClose = (info) => this.onClose(this, info);
  }

  /** Opens a socket to `endpoint` and completes the handshake, or rejects with a StatusError. */
  static open(endpoint: string, opts: ConnectOptions): Promise<ClientConnection> {
    return new Promise((resolve, reject) => {
      const clock = opts.link.clock;
      let settled = false;
      const fail = (err: StatusError) => {
        if (settled) return;
        settled = true;
        timer.cancel();
        opts.signal?.removeEventListener("abort", onAbort);
        reject(err);
      };
      let ws: WebSocket;
      try {
        ws = new WebSocket(endpoint, { maxPayload: opts.link.maxFrameBytes, perMessageDeflate: false, ...(opts.tls ?? {}) });
      } catch (e) {
        reject(newServiceUnavailable(`cannot connect to ${endpoint}: ${e instanceof Error ? e.message : String(e)}`));
        return;
      }
      const timer = clock.setTimeout(() => {
        fail(newTimeout(`no handshake from ${endpoint} within ${opts.connectTimeoutMs} ms`));
        ws.terminate();
      }, opts.connectTimeoutMs);
      const onAbort = () => {
        fail(newCancelled(`connecting to ${endpoint} cancelled`));
        ws.terminate();
      };
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      let socket: Corkable | undefined;
      ws.once("upgrade", (res) => (socket = res.socket));
      ws.once("error", (e) => fail(newServiceUnavailable(`cannot connect to ${endpoint}: ${e.message}`)));
      ws.once("close", (code, reason) => fail(newServiceUnavailable(`connection to ${endpoint} closed during handshake (${code} ${reason.toString()})`)));
      ws.once("open", () => {
        const link = new Link(ws, opts.link, handshakeAccepts, socket);
        link.peer = opts.knownPeer;
        link.onClose = (info) => fail(newServiceUnavailable(`connection to ${endpoint} closed during handshake: ${info.reason || info.code}`));
        link.onFrame = (f) => {
          if (settled) return;
          if (f[0] === FrameType.Reject) {
            const status = f[1];
            fail(new StatusError(newStatus("BadRequest", `${endpoint} rejected the handshake: ${status.message}`)));
            link.close(CloseCode.HandshakeRejected, "rejected");
            return;
          }
          if (f[0] !== FrameType.Welcome) return;
          const hello = f[1];
          if (hello.protocol !== WIRE_PROTOCOL || hello.version !== WIRE_VERSION) {
            const why = `${endpoint} speaks ${hello.protocol} version ${hello.version}; this client speaks ${WIRE_PROTOCOL} version ${WIRE_VERSION}`;
            fail(new StatusError(newStatus("BadRequest", why)));
            link.close(CloseCode.HandshakeRejected, why);
            return;
          }
          settled = true;
          timer.cancel();
          opts.signal?.removeEventListener("abort", onAbort);
          link.peer = hello.name;
          link.accepts = serverToClient;
          const conn = new ClientConnection(endpoint, hello.name, link, clock.now());
          link.startLiveness();
          resolve(conn);
        };
        try {
          link.send([FrameType.Hello, { protocol: WIRE_PROTOCOL, version: WIRE_VERSION, name: opts.name }]);
        } catch (e) {
          fail(e as StatusError);
        }
      });
    });
  }

  get isOpen(): boolean {
    return this.link.isOpen;
  }

  /** True when nothing waits on this connection. */
  get idle(): boolean {
    return this.calls.size === 0 && this.streams.size === 0;
  }

  /** Sends a request; throws (e.g. RequestEntityTooLarge) without registering it. */
  sendCall(call: CallSink): void {
    const id = this.nextId++;
    this.link.send([FrameType.Request, id, call.method, call.params]);
    call.conn = this;
    call.id = id;
    this.calls.set(id, call);
  }

  /** Sends a one-way request; throws (e.g. RequestEntityTooLarge) when it cannot. */
  sendNotify(method: string, params: unknown): void {
    this.link.send([FrameType.Notify, method, params]);
  }

  /** Bytes written to this connection but not yet on the wire. */
  get bufferedBytes(): number {
    return this.link.bufferedBytes;
  }

  /** Opens a stream; throws without registering it. */
  openStream(sink: StreamSink, method: string, params: unknown, credit: number): number {
    const id = this.nextId++;
    this.link.send([FrameType.Open, id, method, params, credit]);
    this.streams.set(id, sink);
    return id;
  }

  grant(id: number, total: number): void {
    this.trySend([FrameType.Credit, id, total]);
  }

  /** Forgets a call or stream and tells the server to stop working on it. */
  cancel(id: number): void {
    const had = this.calls.delete(id) || this.streams.delete(id);
    if (had) this.trySend([FrameType.Cancel, id]);
    this.closeIfRetiredAndIdle();
  }

  /** Forgets a call or stream that finished on its own. */
  forget(id: number): void {
    if (!this.calls.delete(id)) this.streams.delete(id);
    this.closeIfRetiredAndIdle();
  }

  closeIfRetiredAndIdle(): void {
    if (this.retired && this.idle) this.link.close(CloseCode.Normal, "client moved to another endpoint");
  }

  close(code: number, reason: string): void {
    this.link.close(code, reason);
  }

  private trySend(frame: Frame): void {
    try {
      this.link.send(frame);
    } catch {
      // Small control frames; cannot be too large.
    }
  }

  private onFrame(f: Frame): void {
    switch (f[0]) {
      case FrameType.Response: {
        const call = this.calls.get(f[1]);
        if (!call) return; // answered after we gave up on it
        this.forget(f[1]);
        call.onResult(f[2]);
        return;
      }
      case FrameType.Error: {
        const call = this.calls.get(f[1]);
        if (call) {
          this.forget(f[1]);
          call.onError(f[2]);
          return;
        }
        const stream = this.streams.get(f[1]);
        if (stream) {
          this.forget(f[1]);
          stream.onError(f[2]);
        }
        return;
      }
      case FrameType.Item:
        this.streams.get(f[1])?.onItem(f[2], f[3]);
        return;
      case FrameType.End: {
        const stream = this.streams.get(f[1]);
        if (!stream) return;
        this.forget(f[1]);
        stream.onEnd(f[2]);
        return;
      }
      default:
        return;
    }
  }
}
