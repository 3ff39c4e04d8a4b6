/**
 * One WebSocket carrying wire frames, as both clients and servers use it: encoding with the
 * frame-size check, fault injection on every frame in both directions, ping/pong liveness, and
 * closing on malformed input. Request and stream bookkeeping live above it.
 */
import type { WebSocket, RawData } from "ws";
import type { Logger } from "pino";
import type { Clock, Timer } from "../clock.js";
import { CloseCode, decodeFrame, encodeFrame, FrameError, FrameType, type Frame } from "./frame.js";
import { DelayLine } from "./delay-line.js";
import { DROP, PASS, type FaultInjector } from "./faults.js";

/** Liveness and size settings shared by clients and servers. */
export interface LinkOptions {
  clock: Clock;
  log: Logger;
  faults?: FaultInjector;
  /** How often to ping the peer (ms). */
  pingIntervalMs: number;
  /** Close the connection when nothing arrived from the peer for this long (ms). */
  deadAfterMs: number;
  maxFrameBytes: number;
}

export const DEFAULT_PING_INTERVAL_MS = 500;
export const DEFAULT_DEAD_AFTER_MS = 2000;

/** Why a link closed. `local` is true when this side decided to close it. */
export interface LinkClose {
  code: number;
  reason: string;
  local: boolean;
  /** The peer sent something invalid (a bad frame, or a violation ws detected itself). */
  protocolError: boolean;
}

const sendOpts = { binary: true } as const;

/** The TCP socket under a WebSocket, for write batching. */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

export class Link {
  /** The peer's process name once known (fault rules match on it). */
  peer: string | undefined;
  /** Called for every accepted frame except ping/pong. */
  onFrame: (frame: Frame) => void = () => {};
  /** Called once when the socket is gone. */
  onClose: (info: LinkClose) => void = () => {};

  private closed = false;
  private closeInfo: LinkClose | undefined;
  private lastHeard: number;
  private pingSeq = 0;
  private liveness: Timer | undefined;
  private readonly inDelay: DelayLine;
  private readonly outDelay: DelayLine;
  private killTimer: Timer | undefined;
  private brokeProtocol = false;
  private sentThisTick = false;
  private corked = false;
  private readonly endOfTick = () => {
    this.sentThisTick = false;
    if (this.corked) {
      this.corked = false;
      this.socket?.uncork();
    }
  };

  constructor(
    readonly ws: WebSocket,
    private readonly opts: LinkOptions,
    /** Frame types this side accepts from the peer (before the handshake: set by the owner). */
    public accepts: ReadonlySet<number>,
    /**
     * The socket under ws, if known: frames sent in one turn of the event loop are then corked
     * into one write (one syscall for many small frames instead of one each).
     */
    private readonly socket?: Corkable,
  ) {
    this.lastHeard = opts.clock.now();
    this.inDelay = new DelayLine(opts.clock);
    this.outDelay = new DelayLine(opts.clock);
    ws.binaryType = "nodebuffer";
    ws.on("message", (data, isBinary) => this.receive(data, isBinary));
    ws.on("close", (code, reason) => this.finish({ code, reason: reason.toString(), local: false, protocolError: this.brokeProtocol }));
    ws.on("error", (err) => {
      // ws reports protocol violations (e.g. over maxPayload) here, then closes the socket.
      this.brokeProtocol = true;
      opts.log.warn({ peer: this.peer, err: err.message }, "wire: socket error");
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Starts pinging and watching for silence. */
  startLiveness(): void {
    if (this.liveness || this.closed) return;
    this.lastHeard = this.opts.clock.now();
    this.liveness = this.opts.clock.setInterval(() => this.checkLiveness(), this.opts.pingIntervalMs);
  }

  /** Bytes queued in the socket but not yet written (backpressure for one-way sends). */
  get bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  /**
   * Encodes and sends a frame. Throws a RequestEntityTooLarge StatusError if it is too big (the
   * link stays up). Frames sent after close are ignored: the owner learns of the close via onClose.
   */
  send(frame: Frame): void {
    const buf = encodeFrame(frame, this.opts.maxFrameBytes);
    if (this.closed) return;
    const faults = this.opts.faults;
    const verdict = faults ? faults.verdict(this.peer, "out") : PASS;
    if (verdict === DROP) return;
    if (verdict === PASS && !this.outDelay.busy) {
      this.write(buf);
      return;
    }
    this.outDelay.push(verdict, () => {
      if (!this.closed) this.write(buf);
    });
  }

  /**
   * The first frame in a turn of the event loop is written at once (lowest latency); if more
   * follow in the same turn, the socket is corked so they leave together in one write.
   */
  private write(buf: Buffer): void {
    if (this.socket) {
      if (!this.sentThisTick) {
        this.sentThisTick = true;
        process.nextTick(this.endOfTick);
      } else if (!this.corked) {
        this.corked = true;
        this.socket.cork();
      }
    }
    this.ws.send(buf, sendOpts);
  }

  /** Closes with a code and reason; forcibly terminates if the peer does not answer in time. */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.finish({ code, reason, local: true, protocolError: this.brokeProtocol });
    try {
      this.ws.close(code, reason.slice(0, 120));
    } catch {
      this.ws.terminate();
      return;
    }
    // A dead or partitioned peer never completes the closing handshake.
    this.killTimer = this.opts.clock.setTimeout(() => this.ws.terminate(), 1000);
    this.ws.once("close", () => this.killTimer?.cancel());
  }

  /** Drops the TCP connection at once (for a peer that is not answering). */
  terminate(code: number, reason: string): void {
    if (this.closed) return;
    this.finish({ code, reason, local: true, protocolError: this.brokeProtocol });
    this.ws.terminate();
  }

  private receive(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    const faults = this.opts.faults;
    const verdict = faults ? faults.verdict(this.peer, "in") : PASS;
    if (verdict === DROP) return;
    if (verdict === PASS && !this.inDelay.busy) {
      this.process(data, isBinary);
      return;
    }
    this.inDelay.push(verdict, () => this.process(data, isBinary));
  }

  private process(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    if (!isBinary) return this.protocolError(new FrameError(CloseCode.UnsupportedData, "text frames are not accepted"));
    let frame: Frame;
    try {
      frame = decodeFrame(data as Buffer);
    } catch (e) {
      return this.protocolError(e as FrameError);
    }
    if (!this.accepts.has(frame[0])) {
      return this.protocolError(new FrameError(CloseCode.ProtocolError, `unexpected frame type ${frame[0]} here`));
    }
    this.lastHeard = this.opts.clock.now();
    if (frame[0] === FrameType.Ping) {
      this.trySend([FrameType.Pong, frame[1]]);
      return;
    }
    if (frame[0] === FrameType.Pong) return;
    try {
      this.onFrame(frame);
    } catch (e) {
      // A bug in frame handling must cost this connection, never the process.
      this.opts.log.error({ peer: this.peer, err: e instanceof Error ? e.stack : String(e) }, "wire: frame handler failed; closing connection");
      this.close(CloseCode.InternalError, "internal error");
    }
  }

  /** Closes the connection because the peer broke the protocol; logged, never thrown. */
  protocolError(err: FrameError): void {
    this.brokeProtocol = true;
    this.opts.log.warn({ peer: this.peer, code: err.closeCode, reason: err.message }, "wire: closing connection on bad frame");
    this.close(err.closeCode, err.message);
  }

  private checkLiveness(): void {
    const silent = this.opts.clock.now() - this.lastHeard;
    if (silent > this.opts.deadAfterMs) {
      this.opts.log.warn({ peer: this.peer, silentMs: silent }, "wire: peer is not answering; closing connection");
      this.terminate(CloseCode.LivenessTimeout, `no frame from peer for ${silent} ms`);
      return;
    }
    this.trySend([FrameType.Ping, ++this.pingSeq]);
  }

  private trySend(frame: Frame): void {
    try {
      this.send(frame);
    } catch {
      // Control frames are tiny; nothing to do if even they fail.
    }
  }

  private finish(info: LinkClose): void {
    if (this.closed) return;
    this.closed = true;
    this.closeInfo = info;
    this.liveness?.cancel();
    this.inDelay.clear();
    this.outDelay.clear();
    this.onClose(info);
  }

  /** How the link closed, once it has. */
  get closedWith(): LinkClose | undefined {
    return this.closeInfo;
  }
}
