/**
 * WireClient: requests and streams over one connection at a time to a list of endpoints, with
 * reconnection (jittered exponential backoff), failover, and "not leader, try X" redirects.
 */
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import { realClock, type Clock, type Timer } from "../clock.js";
import { silentLogger } from "../logger.js";
import { randomRng, type Rng } from "../rng.js";
import { fromStatus, newCancelled, newServiceUnavailable, newTimeout, StatusError, type Status } from "../status.js";
import { CloseCode, DEFAULT_MAX_FRAME_BYTES } from "./frame.js";
import type { FaultInjector } from "./faults.js";
import { DEFAULT_DEAD_AFTER_MS, DEFAULT_PING_INTERVAL_MS, type LinkClose, type LinkOptions } from "./link.js";
import { ClientConnection, type CallSink, type WireTlsOptions } from "./client-connection.js";
import { WireStream, type StreamHost, type StreamOptions } from "./client-stream.js";

export interface WireClientOptions {
  /** This process's name, sent in the handshake (servers' fault rules match on it). */
  name: string;
  /** ws://host:port/path URLs, tried in order. */
  endpoints: readonly string[];
  clock?: Clock;
  rng?: Rng;
  logger?: Logger;
  faults?: FaultInjector;
  /** Default per-request timeout, including time spent waiting for a connection (default 30 s). */
  requestTimeoutMs?: number;
  /** Time allowed for TCP connect + handshake (default 3 s). */
  connectTimeoutMs?: number;
  /** First reconnect delay; doubles per failed attempt up to backoffMaxMs (defaults 100 ms / 5 s). */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** NotLeader redirects followed per request (default 5). */
  maxRedirects?: number;
  pingIntervalMs?: number;
  deadAfterMs?: number;
  maxFrameBytes?: number;
  /** Default stream credit window (default 256 items). */
  streamWindow?: number;
  /** CA and client certificate for wss:// endpoints. */
  tls?: WireTlsOptions;
}

export interface RequestOptions {
  /** Overrides the client's requestTimeoutMs; rejects with a Timeout StatusError. */
  timeoutMs?: number;
  /** Aborting rejects with a Cancelled StatusError and tells the server to abort the handler. */
  signal?: AbortSignal;
  /** Safe to send again: retried on the next connection if the connection dies mid-request. */
  idempotent?: boolean;
}

/** Where the client is connected right now. */
export interface ConnectionState {
  connected: boolean;
  endpoint?: string;
  peer?: string;
}

/**
 * Events: "connected" ({endpoint, peer}), "disconnected" ({endpoint, peer, code, reason}),
 * "connectError" ({endpoint, error}).
 */
export class WireClient extends EventEmitter implements StreamHost {
  readonly name: string;
  private readonly endpointList: string[];
  private readonly clock: Clock;
  private readonly rng: Rng;
  private readonly log: Logger;
  private readonly linkOptions: LinkOptions;
  private readonly requestTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly maxRedirects: number;
  private readonly streamWindow: number;
  private readonly tls: WireTlsOptions | undefined;
  private readonly knownPeers = new Map<string, string>();

  private index = 0;
  private current: ClientConnection | undefined;
  private readonly waitingCalls = new Set<Call>();
  private readonly waitingStreams = new Map<WireStream<any>, Timer>();
  private readonly readyWaiters = new Set<() => void>();
  private wakeLoop: AbortController | undefined;
  private detachCurrent: (() => void) | undefined;
  private lastError: StatusError | undefined;
  private closed = false;
  private readonly stopping = new AbortController();
  private readonly loop: Promise<void>;

  constructor(opts: WireClientOptions) {
    super();
    if (!opts.name) throw new TypeError("WireClient needs a name");
    if (opts.endpoints.length === 0) throw new TypeError("WireClient needs at least one endpoint");
    this.name = opts.name;
    this.endpointList = opts.endpoints.map((e) => {
      const n = normalizeEndpoint(e);
      if (!n) throw new TypeError(`invalid wire endpoint "${e}" (expected ws://host:port/path)`);
      return n;
    });
    this.clock = opts.clock ?? realClock;
    this.rng = opts.rng ?? randomRng().rng;
    this.log = (opts.logger ?? silentLogger).child({ wire: "client" });
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 3000;
    this.backoffInitialMs = opts.backoffInitialMs ?? 100;
    this.backoffMaxMs = opts.backoffMaxMs ?? 5000;
    this.maxRedirects = opts.maxRedirects ?? 5;
    this.streamWindow = opts.streamWindow ?? 256;
    this.tls = opts.tls;
    this.linkOptions = {
      clock: this.clock,
      log: this.log,
      faults: opts.faults,
      pingIntervalMs: opts.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS,
      deadAfterMs: opts.deadAfterMs ?? DEFAULT_DEAD_AFTER_MS,
      maxFrameBytes: opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    };
    this.loop = this.run();
  }

  /** The endpoints the client knows (the configured ones plus any learned from redirects). */
  get endpoints(): readonly string[] {
    return this.endpointList;
  }

  get state(): ConnectionState {
    const c = this.current;
    return c ? { connected: true, endpoint: c.endpoint, peer: c.peer } : { connected: false };
  }

  /** Resolves once connected; rejects with a Timeout StatusError after timeoutMs. */
  ready(timeoutMs = this.requestTimeoutMs): Promise<void> {
    if (this.current) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        timer.cancel();
        resolve();
      };
      const timer = this.clock.setTimeout(() => {
        this.readyWaiters.delete(done);
        reject(newTimeout(`not connected within ${timeoutMs} ms${this.lastError ? `: ${this.lastError.message}` : ""}`));
      }, timeoutMs);
      this.readyWaiters.add(done);
    });
  }

  /** Sends a request and resolves with the handler's result, or rejects with a StatusError. */
  request<R = unknown>(method: string, params?: unknown, opts: RequestOptions = {}): Promise<R> {
    if (this.closed) return Promise.reject(newCancelled("client is closed"));
    return new Promise<R>((resolve, reject) => {
      const call = new Call(this, method, params, opts.idempotent === true, resolve as (v: unknown) => void, reject);
      const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
      call.timer = this.clock.setTimeout(() => call.abandon(newTimeout(`${method} timed out after ${timeoutMs} ms`)), timeoutMs);
      const signal = opts.signal;
      if (signal) {
        if (signal.aborted) return call.abandon(newCancelled(`${method} cancelled`));
        call.signal = signal;
        signal.addEventListener("abort", call, { once: true });
      }
      this.dispatch(call);
    });
  }

  /**
   * Sends a one-way request (no response, no retry, no redirect) on the current connection.
   * Returns false, sending nothing, when there is no connection, when more than
   * maxBufferedBytes wait unsent on it (a slow or stalled peer), or when the frame is too large.
   * For traffic that tolerates loss and has its own recovery, like Raft messages.
   */
  notify(method: string, params: unknown, opts: { maxBufferedBytes?: number } = {}): boolean {
    const conn = this.current;
    if (this.closed || !conn) return false;
    if (opts.maxBufferedBytes !== undefined && conn.bufferedBytes > opts.maxBufferedBytes) return false;
    try {
      conn.sendNotify(method, params);
      return true;
    } catch (e) {
      this.log.debug({ method, err: e instanceof Error ? e.message : String(e) }, "wire: notify not sent");
      return false;
    }
  }

  /** Opens a server stream; iterate the result with for await. */
  stream<T = unknown, P = unknown>(method: string, params: P, opts: StreamOptions<T, P> = {}): WireStream<T> {
    const s = new WireStream<T>(this, method, params, opts, this.streamWindow);
    if (this.closed) s.onNoConnection(newCancelled("client is closed"));
    return s;
  }

  /** Closes every connection; pending requests and streams fail with Cancelled. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopping.abort();
    this.wakeLoop?.abort();
    const err = newCancelled("client is closed");
    for (const call of [...this.waitingCalls]) call.abandon(err);
    for (const s of [...this.waitingStreams.keys()]) s.onNoConnection(err);
    const conn = this.current;
    this.current = undefined;
    conn?.close(CloseCode.Normal, "client closed");
    this.detachCurrent?.();
    await this.loop;
  }

  // ---- internals used by Call and WireStream ----

  /** Sends a call on the current connection, or parks it until one is up. */
  dispatch(call: Call): void {
    const conn = this.current;
    if (!conn) {
      this.waitingCalls.add(call);
      return;
    }
    try {
      conn.sendCall(call);
    } catch (e) {
      call.settle(e instanceof StatusError ? e : newServiceUnavailable(String(e)));
    }
  }

  forgetWaiting(call: Call): void {
    this.waitingCalls.delete(call);
  }

  dispatchStream(stream: WireStream<any>): void {
    const conn = this.current;
    if (conn) return stream.attach(conn);
    if (this.waitingStreams.has(stream)) return;
    const timer = this.clock.setTimeout(() => {
      this.waitingStreams.delete(stream);
      stream.onNoConnection(newServiceUnavailable(`${stream.method}: no connection within ${this.requestTimeoutMs} ms${this.lastError ? `: ${this.lastError.message}` : ""}`));
    }, this.requestTimeoutMs);
    this.waitingStreams.set(stream, timer);
  }

  undispatchStream(stream: WireStream<any>): void {
    this.waitingStreams.get(stream)?.cancel();
    this.waitingStreams.delete(stream);
  }

  /**
   * Follows a NotLeader Status that names a leader endpoint: makes it the endpoint to use and
   * moves off the current connection. Returns false when the status is not such a redirect or
   * the caller has used up its redirects.
   */
  redirect(status: Status, redirects: number): boolean {
    if (status.reason !== "NotLeader" || redirects >= this.maxRedirects || this.closed) return false;
    const hint = normalizeEndpoint(status.details?.leaderHint ?? "");
    if (!hint) return false;
    let i = this.endpointList.indexOf(hint);
    if (i === -1) i = this.endpointList.push(hint) - 1;
    this.index = i;
    const conn = this.current;
    if (conn && conn.endpoint !== hint) {
      this.log.debug({ from: conn.endpoint, to: hint }, "wire: following leader redirect");
      conn.retired = true;
      this.current = undefined;
      this.detachCurrent?.();
      this.emit("disconnected", { endpoint: conn.endpoint, peer: conn.peer, code: CloseCode.Normal, reason: `redirected to ${hint}` });
      conn.closeIfRetiredAndIdle();
    }
    this.wakeLoop?.abort();
    return true;
  }

  // ---- the connection loop ----

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      const endpoint = this.endpointList[this.index % this.endpointList.length]!;
      let conn: ClientConnection;
      try {
        conn = await ClientConnection.open(endpoint, {
          name: this.name,
          link: this.linkOptions,
          connectTimeoutMs: this.connectTimeoutMs,
          knownPeer: this.knownPeers.get(endpoint),
          signal: this.stopping.signal,
          ...(this.tls ? { tls: this.tls } : {}),
        });
      } catch (e) {
        this.lastError = e instanceof StatusError ? e : newServiceUnavailable(String(e));
        this.log.debug({ endpoint, err: this.lastError.message }, "wire: connect failed");
        this.emit("connectError", { endpoint, error: this.lastError });
        if (this.closed) break;
        if (this.endpointList[this.index % this.endpointList.length] === endpoint) this.index = (this.index + 1) % this.endpointList.length;
        await this.backoff(++failures);
        continue;
      }
      if (this.closed) {
        conn.close(CloseCode.Normal, "client closed");
        break;
      }
      const target = this.endpointList[this.index % this.endpointList.length];
      if (target !== endpoint) {
        // A redirect arrived while connecting: go there instead.
        conn.close(CloseCode.Normal, "redirected");
        continue;
      }
      this.knownPeers.set(endpoint, conn.peer);
      if (!conn.isOpen) {
        // Closed between the welcome and now (e.g. the server's next frame was garbage).
        this.lastError = newServiceUnavailable(`connection to ${endpoint} closed right after the handshake: ${conn.link.closedWith?.reason ?? ""}`);
        this.index = (this.index + 1) % this.endpointList.length;
        await this.backoff(++failures);
        continue;
      }
      const detached = new Promise<void>((r) => (this.detachCurrent = r));
      conn.onClose = (c, info) => this.onConnectionClosed(c, info);
      this.current = conn;
      this.log.debug({ endpoint, peer: conn.peer }, "wire: connected");
      this.emit("connected", { endpoint, peer: conn.peer });
      this.flushWaiting(conn);
      await detached;
      this.detachCurrent = undefined;
      if (this.closed) break;
      const lived = this.clock.now() - conn.openedAt;
      if (conn.retired) {
        failures = 0;
      } else if (lived < 1000) {
        // Accepted and dropped at once: back off rather than spin.
        await this.backoff(++failures);
      } else {
        failures = 0;
      }
    }
  }

  private flushWaiting(conn: ClientConnection): void {
    for (const w of this.readyWaiters) w();
    this.readyWaiters.clear();
    const calls = [...this.waitingCalls];
    this.waitingCalls.clear();
    for (const call of calls) this.dispatch(call);
    const streams = [...this.waitingStreams];
    this.waitingStreams.clear();
    for (const [s, timer] of streams) {
      timer.cancel();
      if (this.current === conn) s.attach(conn);
      else this.dispatchStream(s);
    }
  }

  private onConnectionClosed(conn: ClientConnection, info: LinkClose): void {
    const wasCurrent = this.current === conn;
    if (wasCurrent) {
      this.current = undefined;
      this.index = (this.endpointList.indexOf(conn.endpoint) + 1) % this.endpointList.length;
      this.log.debug({ endpoint: conn.endpoint, code: info.code, reason: info.reason }, "wire: disconnected");
      this.emit("disconnected", { endpoint: conn.endpoint, peer: conn.peer, code: info.code, reason: info.reason });
      this.detachCurrent?.();
    }
    const lost = newServiceUnavailable(`connection to ${conn.peer} (${conn.endpoint}) lost: ${info.reason || `code ${info.code}`}`);
    this.lastError = lost;
    const calls = [...conn.calls.values()] as Call[];
    const streams = [...conn.streams.values()] as WireStream<any>[];
    conn.calls.clear();
    conn.streams.clear();
    for (const call of calls) {
      if (call.idempotent && !this.closed) {
        call.conn = undefined;
        this.dispatch(call);
      } else {
        call.settle(lost);
      }
    }
    for (const s of streams) s.onConnectionLost(lost);
  }

  private async backoff(failures: number): Promise<void> {
    const delay = reconnectDelay(failures, this.backoffInitialMs, this.backoffMaxMs, this.rng);
    if (delay === 0 || this.closed) return;
    this.wakeLoop = new AbortController();
    try {
      await this.clock.sleep(delay, this.wakeLoop.signal);
    } catch {
      // woken early by a redirect or close
    } finally {
      this.wakeLoop = undefined;
    }
  }
}

/** One request: implements the callbacks its connection invokes, and abort handling. */
class Call implements CallSink {
  conn: ClientConnection | undefined;
  id = 0;
  timer: Timer | undefined;
  signal: AbortSignal | undefined;
  redirects = 0;
  private done = false;

  constructor(
    private readonly client: WireClient,
    readonly method: string,
    readonly params: unknown,
    readonly idempotent: boolean,
    private readonly resolve: (v: unknown) => void,
    private readonly reject: (e: unknown) => void,
  ) {}

  onResult(value: unknown): void {
    if (this.done) return;
    this.cleanup();
    this.resolve(value);
  }

  onError(status: Status): void {
    if (this.done) return;
    this.conn = undefined;
    if (this.client.redirect(status, this.redirects)) {
      this.redirects++;
      this.client.dispatch(this);
      return;
    }
    this.settle(fromStatus(status));
  }

  /** Fails the call. */
  settle(err: StatusError): void {
    if (this.done) return;
    this.cleanup();
    this.reject(err);
  }

  /** Gives up on the call (timeout, abort, close): tells the server to stop too. */
  abandon(err: StatusError): void {
    if (this.done) return;
    if (this.conn) this.conn.cancel(this.id);
    else this.client.forgetWaiting(this);
    this.settle(err);
  }

  /** AbortSignal listener. */
  handleEvent(): void {
    this.abandon(newCancelled(`${this.method} cancelled`));
  }

  private cleanup(): void {
    this.done = true;
    this.timer?.cancel();
    this.signal?.removeEventListener("abort", this);
    this.conn = undefined;
  }
}

/**
 * The pause before reconnect attempt number `failures` (1 = first failure): none for the first
 * (go straight to the next endpoint), then initialMs doubling up to maxMs, each scaled by a
 * random factor in [0.5, 1) so clients that lost the same server do not retry in lockstep.
 */
export function reconnectDelay(failures: number, initialMs: number, maxMs: number, rng: Rng): number {
  if (failures <= 1) return 0;
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(failures - 2, 30));
  return base * (0.5 + 0.5 * rng.float());
}

/** Canonical form of a ws:// or wss:// URL, or undefined if it is not one. */
export function normalizeEndpoint(url: string): string | undefined {
  try {
    const u = new URL(url);
    if (u.protocol !== "ws:" && u.protocol !== "wss:") return undefined;
    return u.href;
  } catch {
    return undefined;
  }
}
