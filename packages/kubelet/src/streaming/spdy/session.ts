/**
 * The server side of one SPDY/3.1 connection (kubectl's port-forward and exec streams): the peer
 * opens streams (odd ids) with SYN_STREAM, the session answers each with SYN_REPLY or refuses it
 * with RST_STREAM, echoes the peer's PINGs, and carries DATA both ways with Node's stream
 * backpressure. Each accepted stream is a Duplex.
 *
 * Flow control (§2.6.8): received DATA is acknowledged with WINDOW_UPDATE (stream and session)
 * as the reader consumes it, so a peer that keeps to its windows never stalls. Sending keeps to
 * the peer's windows only with `honourPeerWindows`: client-go's spdystream (every kubectl) never
 * sends WINDOW_UPDATE and ignores the ones it gets, and upstream's kubelet (also spdystream) does
 * not wait on windows either; waiting would stop every transfer at 64 KiB. What bounds memory
 * instead is TCP: a slow reader pauses the socket it reads from.
 *
 * Bad input never throws: a malformed frame that names a stream resets that stream (its reason
 * is logged and given to the stream's 'reset' listeners); a broken header-compression context
 * (the one unrecoverable case) ends the connection with GOAWAY PROTOCOL_ERROR.
 */
import { Socket } from "node:net";
import { Duplex } from "node:stream";
import type { Logger } from "@kubemu/common";
import { IdleTimeout, type IdleTimeoutOptions } from "../idle-timeout.js";
import { DEFAULT_WINDOW, encodeData, encodeDataHead, encodeGoaway, encodePing, encodeRstStream, encodeSynReply, encodeWindowUpdate, type Frame, FrameReader, GoawayStatus, RstStatus, SETTINGS_INITIAL_WINDOW_SIZE } from "./frames.js";
import { HeaderCompressor, HeaderDecompressor, type Headers } from "./headers.js";

/** Largest DATA payload sent in one frame. */
const MAX_DATA = 32 * 1024;
/** Acknowledge consumed bytes once this many are owed (a quarter of the default window). */
const ACK_THRESHOLD = DEFAULT_WINDOW / 4;

export interface SpdySessionOptions {
  log: Logger;
  /** A new stream: undefined accepts it (SYN_REPLY), a string refuses it with that reason (RST_STREAM). */
  onStream: (stream: SpdyStream) => string | undefined;
  honourPeerWindows?: boolean;
  /** --streaming-connection-idle-timeout: no frame either way for that long resets every stream, then GOAWAY (spdystream's idle monitor). */
  idle?: IdleTimeoutOptions;
}

/** One SPDY stream: written bytes go out as DATA, received DATA is read; end() sends FIN. */
export class SpdyStream extends Duplex {
  /** Whether the peer has half-closed (FIN). */
  remoteEnded = false;
  localEnded = false;
  sendWindow: number;
  /** Bytes read by the consumer and not yet acknowledged with WINDOW_UPDATE. */
  owed = 0;
  /** A write waiting for the peer's window. */
  blocked: (() => void) | undefined;
  inputPaused = false;

  constructor(
    readonly id: number,
    readonly headers: Headers,
    private readonly session: SpdySession,
    initialWindow: number,
  ) {
    super({ allowHalfOpen: true });
    this.sendWindow = initialWindow;
  }

  /** The first value of a header. */
  header(name: string): string | undefined {
    return this.headers.get(name)?.[0];
  }

  /** Resets the stream (RST_STREAM with status) and tells 'reset' listeners why. */
  reset(status: number, reason: string): void {
    this.session.resetStream(this, status, reason);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.session.sendData(this, chunk, cb);
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.session.sendFin(this);
    cb();
  }

  override _read(): void {
    this.session.consumed(this);
  }
}

export class SpdySession {
  private readonly reader = new FrameReader();
  private readonly inflate = new HeaderDecompressor();
  private readonly deflate = new HeaderCompressor();
  private readonly streams = new Map<number, SpdyStream>();
  /** Frames waiting while a header block is decompressed (strict order). */
  private readonly inbox: Frame[] = [];
  private processing = false;
  /** Bytes and header frames being compressed, written in order. */
  private readonly outbox: (Buffer | Promise<Buffer>)[] = [];
  private pumping = false;
  private closed = false;
  private goneAway = false;
  private lastStreamId = 0;
  private sendWindow = DEFAULT_WINDOW;
  private initialWindow = DEFAULT_WINDOW;
  private sessionOwed = 0;
  private pausedStreams = 0;
  private readonly drainWaiters: (() => void)[] = [];
  private readonly honour: boolean;
  /**
   * A TCP or TLS socket gathers corked writes into one writev, so a DATA frame's head and payload
   * go as two buffers (the payload not copied). Other carriers (kubectl's WebSocket tunnel) make a
   * message of every write: there a frame is one buffer.
   */
  private readonly gather: boolean;
  private readonly idle: IdleTimeout | undefined;

  constructor(
    private readonly socket: Duplex,
    private readonly o: SpdySessionOptions,
  ) {
    this.honour = o.honourPeerWindows ?? false;
    this.gather = socket instanceof Socket;
    this.idle = o.idle ? new IdleTimeout(o.idle, () => this.expire()) : undefined;
    socket.on("data", (b: Buffer) => this.onBytes(b));
    socket.on("drain", () => this.drainWaiters.splice(0).forEach((f) => f()));
    socket.on("error", (e) => o.log.debug({ err: e.message }, "spdy connection error"));
    socket.on("close", () => this.teardown());
    // The client sends nothing more: nothing more can be carried either way.
    socket.on("end", () => {
      this.teardown();
      socket.end();
    });
  }

  /** Number of open streams. */
  get openStreams(): number {
    return this.streams.size;
  }

  /** Ends the connection: GOAWAY, then the socket. */
  close(status: number = GoawayStatus.OK): void {
    if (this.closed) return;
    this.write(encodeGoaway(this.lastStreamId, status));
    this.teardown();
    this.flushThen(() => this.socket.end());
  }

  private onBytes(b: Buffer): void {
    if (this.closed) return;
    this.idle?.touch();
    this.inbox.push(...this.reader.push(b));
    void this.process();
  }

  private async process(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      while (this.inbox.length && !this.closed) {
        const f = this.inbox.shift()!;
        if (f.type === "syn_stream" || f.type === "headers" || f.type === "syn_reply") await this.onHeaderFrame(f);
        else this.onFrame(f);
      }
    } finally {
      this.processing = false;
    }
  }

  private async onHeaderFrame(f: Extract<Frame, { type: "syn_stream" | "headers" | "syn_reply" }>): Promise<void> {
    let headers: Headers | string;
    try {
      headers = await this.inflate.decompress(f.headerBlock);
    } catch (e) {
      this.o.log.warn({ stream: f.streamId, err: (e as Error).message }, "spdy: closing the connection");
      return this.close(GoawayStatus.PROTOCOL_ERROR);
    }
    if (this.closed) return;
    if (f.type !== "syn_stream") {
      // HEADERS on a stream adds nothing the protocols here use; SYN_REPLY is for streams this side opened (none).
      const s = this.streams.get(f.streamId);
      if (f.type === "syn_reply" && s) return s.reset(RstStatus.PROTOCOL_ERROR, "SYN_REPLY for a stream the client opened");
      if (!s) return this.refuse(f.streamId, RstStatus.INVALID_STREAM, `${f.type.toUpperCase()} for unknown stream ${f.streamId}`);
      if (f.fin) this.remoteFin(s);
      return;
    }
    if (typeof headers === "string") return this.refuse(f.streamId, RstStatus.PROTOCOL_ERROR, `malformed SYN_STREAM headers: ${headers}`);
    if (f.streamId === 0 || f.streamId % 2 === 0) return this.refuse(f.streamId, RstStatus.PROTOCOL_ERROR, `stream id ${f.streamId} is not a client stream id`);
    if (this.streams.has(f.streamId)) return this.refuse(f.streamId, RstStatus.STREAM_IN_USE, `stream ${f.streamId} is already open`);
    if (f.streamId <= this.lastStreamId) return this.refuse(f.streamId, RstStatus.PROTOCOL_ERROR, `stream id ${f.streamId} is not above ${this.lastStreamId}`);
    this.lastStreamId = f.streamId;
    if (this.goneAway) return this.refuse(f.streamId, RstStatus.REFUSED_STREAM, "connection is going away");
    const s = new SpdyStream(f.streamId, headers, this, this.initialWindow);
    if (f.unidirectional) s.localEnded = true;
    const refusal = this.o.onStream(s);
    if (refusal !== undefined) {
      this.o.log.info({ stream: f.streamId, reason: refusal }, "spdy: stream rejected");
      this.write(encodeRstStream(f.streamId, RstStatus.REFUSED_STREAM));
      s.destroy();
      return;
    }
    this.streams.set(s.id, s);
    // Destroyed by its user while open: the client is told with RST_STREAM CANCEL.
    s.once("close", () => {
      if (this.streams.get(s.id) === s) this.resetStream(s, RstStatus.CANCEL, "closed by the kubelet");
    });
    this.write(this.deflate.compress(new Map()).then((block) => encodeSynReply(s.id, block)));
    if (f.fin) this.remoteFin(s);
  }

  private onFrame(f: Exclude<Frame, { type: "syn_stream" | "headers" | "syn_reply" }>): void {
    switch (f.type) {
      case "data": {
        const s = this.streams.get(f.streamId);
        if (!s) return this.refuse(f.streamId, RstStatus.INVALID_STREAM, `DATA for unknown stream ${f.streamId}`);
        if (s.remoteEnded) return s.reset(RstStatus.STREAM_ALREADY_CLOSED, `DATA after FIN on stream ${f.streamId}`);
        if (f.data.length && !s.destroyed) {
          s.owed += f.data.length;
          this.sessionOwed += f.data.length;
          if (!s.push(f.data)) this.pauseFor(s);
          else this.consumed(s);
        }
        if (f.fin) this.remoteFin(s);
        return;
      }
      case "rst_stream": {
        const s = this.streams.get(f.streamId);
        if (s) this.dropStream(s, `reset by the client (status ${f.status})`);
        return;
      }
      case "ping":
        // Odd ids are the client's: echo them; even ids would answer pings this side never sends.
        if (f.id % 2 === 1) this.write(encodePing(f.id));
        return;
      case "goaway":
        this.goneAway = true;
        if (this.streams.size === 0) this.close();
        return;
      case "window_update": {
        if (f.streamId === 0) this.sendWindow += f.delta;
        else {
          const s = this.streams.get(f.streamId);
          if (s) s.sendWindow += f.delta;
        }
        this.unblockSenders();
        return;
      }
      case "settings":
        for (const e of f.entries) {
          if (e.id !== SETTINGS_INITIAL_WINDOW_SIZE) continue;
          const diff = e.value - this.initialWindow;
          this.initialWindow = e.value;
          for (const s of this.streams.values()) s.sendWindow += diff;
        }
        this.unblockSenders();
        return;
      case "invalid":
        this.o.log.info({ reason: f.reason, stream: f.streamId }, "spdy: malformed frame");
        if (f.streamId !== undefined) {
          const s = this.streams.get(f.streamId);
          if (s) s.reset(RstStatus.PROTOCOL_ERROR, `malformed frame: ${f.reason}`);
        }
        return;
      case "unknown":
        this.o.log.debug({ frameType: f.frameType, version: f.version }, "spdy: ignoring a frame of an unknown type or version");
        return;
    }
  }

  /** RST_STREAM for a stream that is not (or no longer) open. */
  private refuse(id: number, status: number, reason: string): void {
    this.o.log.info({ stream: id, reason }, "spdy: refusing frame");
    if (id !== 0) this.write(encodeRstStream(id, status));
  }

  resetStream(s: SpdyStream, status: number, reason: string): void {
    if (!this.streams.has(s.id)) return;
    this.o.log.info({ stream: s.id, reason }, "spdy: resetting stream");
    this.write(encodeRstStream(s.id, status));
    this.dropStream(s, reason);
  }

  private dropStream(s: SpdyStream, reason: string): void {
    if (!this.streams.delete(s.id)) return;
    if (s.inputPaused) this.resumeFor(s);
    s.blocked = undefined;
    s.emit("reset", reason);
    s.destroy();
    this.afterStreamGone();
  }

  private remoteFin(s: SpdyStream): void {
    s.remoteEnded = true;
    s.push(null);
    this.maybeDone(s);
  }

  private maybeDone(s: SpdyStream): void {
    if (!s.remoteEnded || !s.localEnded) return;
    if (!this.streams.delete(s.id)) return;
    if (s.inputPaused) this.resumeFor(s);
    this.afterStreamGone();
  }

  private afterStreamGone(): void {
    if (this.goneAway && this.streams.size === 0) this.close();
  }

  sendData(s: SpdyStream, chunk: Buffer, cb: (e?: Error | null) => void): void {
    let offset = 0;
    const step = () => {
      s.blocked = undefined;
      if (this.closed || !this.streams.has(s.id)) return cb();
      // Without gathering, the frames of this write go as one buffer (one tunnel message), not one each.
      const joined: Buffer[] = [];
      while (offset < chunk.length) {
        let n = Math.min(MAX_DATA, chunk.length - offset);
        if (this.honour) {
          n = Math.min(n, s.sendWindow, this.sendWindow);
          if (n <= 0) {
            if (joined.length) this.write(Buffer.concat(joined));
            s.blocked = step;
            return;
          }
          s.sendWindow -= n;
          this.sendWindow -= n;
        }
        const head = encodeDataHead(s.id, n, false);
        const payload = chunk.subarray(offset, offset + n);
        if (this.gather) {
          this.write(head);
          this.write(payload);
        } else joined.push(head, payload);
        offset += n;
      }
      if (joined.length) this.write(Buffer.concat(joined));
      this.flushThen(() => cb());
    };
    step();
  }

  sendFin(s: SpdyStream): void {
    if (s.localEnded || !this.streams.has(s.id)) return;
    s.localEnded = true;
    this.write(encodeData(s.id, Buffer.alloc(0), true));
    this.maybeDone(s);
  }

  private unblockSenders(): void {
    for (const s of this.streams.values()) s.blocked?.();
  }

  /** The consumer took data from s: acknowledge it once enough is owed. */
  consumed(s: SpdyStream): void {
    if (s.inputPaused) this.resumeFor(s);
    if (s.owed >= ACK_THRESHOLD || (s.owed > 0 && s.readableLength === 0)) {
      if (!s.remoteEnded && this.streams.has(s.id)) this.write(encodeWindowUpdate(s.id, s.owed));
      s.owed = 0;
    }
    if (this.sessionOwed >= ACK_THRESHOLD) {
      this.write(encodeWindowUpdate(0, this.sessionOwed));
      this.sessionOwed = 0;
    }
  }

  /** A reader is full: stop reading the connection (spdystream does not keep to windows). */
  private pauseFor(s: SpdyStream): void {
    if (s.inputPaused) return;
    s.inputPaused = true;
    if (this.pausedStreams++ === 0) this.socket.pause();
  }

  private resumeFor(s: SpdyStream): void {
    if (!s.inputPaused) return;
    s.inputPaused = false;
    if (--this.pausedStreams === 0 && !this.closed) this.socket.resume();
  }

  private write(b: Buffer | Promise<Buffer>): void {
    if (this.closed) return;
    this.idle?.touch();
    this.outbox.push(b);
    if (!this.pumping) this.pump();
  }

  /**
   * Hands queued bytes to the socket in order, corked so that a frame's head and payload (and
   * a run of frames) leave in one writev. A header block still being compressed stops the run
   * until it is ready.
   */
  private pump(): void {
    this.pumping = true;
    const socket = this.socket;
    socket.cork();
    while (this.outbox.length) {
      const next = this.outbox[0]!;
      if (!Buffer.isBuffer(next)) {
        socket.uncork();
        void next
          .catch(() => undefined)
          .then((bytes) => {
            this.outbox[0] = bytes ?? Buffer.alloc(0);
            this.pump();
          });
        return;
      }
      this.outbox.shift();
      if (next.length && socket.writable) socket.write(next);
    }
    socket.uncork();
    this.pumping = false;
    if (!socket.writableNeedDrain) this.drainWaiters.splice(0).forEach((f) => f());
  }

  /** Runs f once everything queued has been handed to a socket that is not backed up. */
  private flushThen(f: () => void): void {
    if (!this.pumping && !this.socket.writableNeedDrain) return f();
    this.drainWaiters.push(f);
  }

  private expire(): void {
    this.o.log.info({ streams: this.streams.size }, "spdy: connection idle past --streaming-connection-idle-timeout: closing it");
    for (const s of [...this.streams.values()]) this.resetStream(s, RstStatus.CANCEL, "idle timeout");
    this.close();
    // Closed, not half-closed, as spdystream's shutdown; a client too stalled to take the GOAWAY is cut off.
    if (this.socket.writableNeedDrain) this.socket.destroy();
    else this.flushThen(() => this.socket.destroy());
  }

  private teardown(): void {
    if (this.closed) return;
    this.closed = true;
    this.idle?.stop();
    for (const s of [...this.streams.values()]) this.dropStream(s, "connection closed");
    this.inflate.close();
    this.deflate.close();
    this.drainWaiters.splice(0).forEach((f) => f());
  }
}
