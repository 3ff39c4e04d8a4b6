/**
 * A minimal SPDY/3.1 client for tests, shaped like client-go's spdystream as kubectl uses it:
 * odd stream ids from 1, SYN_STREAM with its own header compression context, PINGs with odd ids,
 * no WINDOW_UPDATEs unless asked. It records what the server sends, frame by frame.
 */
import { PassThrough, Duplex } from "node:stream";
import { encodeData, encodePing, encodeRstStream, encodeSynStream, encodeWindowUpdate, FrameReader, type Frame } from "../src/streaming/spdy/frames.js";
import { HeaderCompressor, HeaderDecompressor, type Headers } from "../src/streaming/spdy/headers.js";

/** Two connected Duplex ends (Node 20 has no stream.duplexPair). */
export function duplexPair(): [Duplex, Duplex] {
  const ab = new PassThrough();
  const ba = new PassThrough();
  const end = (readable: PassThrough, writable: PassThrough) =>
    new Duplex({
      allowHalfOpen: true,
      read() {
        readable.resume();
      },
      write(chunk: Buffer, _enc, cb) {
        if (writable.write(chunk)) cb();
        else writable.once("drain", () => cb());
      },
      final(cb) {
        writable.end();
        cb();
      },
      destroy(err, cb) {
        writable.destroy();
        readable.destroy();
        cb(err);
      },
    });
  const a = end(ba, ab);
  const b = end(ab, ba);
  ba.on("data", (d: Buffer) => {
    if (!a.push(d)) ba.pause();
  });
  ba.on("end", () => a.push(null));
  ab.on("data", (d: Buffer) => {
    if (!b.push(d)) ab.pause();
  });
  ab.on("end", () => b.push(null));
  return [a, b];
}

export class TestSpdyClient {
  readonly frames: Frame[] = [];
  /** DATA received per stream. */
  readonly data = new Map<number, Buffer[]>();
  readonly fins = new Set<number>();
  readonly replies = new Map<number, Headers>();
  private readonly reader = new FrameReader();
  private readonly deflate = new HeaderCompressor();
  private readonly inflate = new HeaderDecompressor();
  private nextId = 1;
  private waiters: (() => void)[] = [];
  private inflating: Promise<unknown> = Promise.resolve();

  constructor(readonly socket: Duplex) {
    socket.on("data", (b: Buffer) => {
      for (const f of this.reader.push(b)) {
        this.frames.push(f);
        if (f.type === "data") {
          if (!this.data.has(f.streamId)) this.data.set(f.streamId, []);
          this.data.get(f.streamId)!.push(f.data);
          if (f.fin) this.fins.add(f.streamId);
        }
        if (f.type === "syn_reply") {
          this.inflating = this.inflating.then(async () => {
            const h = await this.inflate.decompress(f.headerBlock);
            if (typeof h !== "string") this.replies.set(f.streamId, h);
            this.wake();
          });
        }
      }
      this.wake();
    });
    socket.on("error", () => undefined);
  }

  private wake(): void {
    this.waiters.splice(0).forEach((w) => w());
  }

  /** Opens a stream with the next odd id. */
  async open(headers: Record<string, string>, o: { fin?: boolean } = {}): Promise<number> {
    const id = this.nextId;
    this.nextId += 2;
    const frame = encodeSynStream(id, await this.deflate.compress(headers), o);
    this.socket.write(frame);
    return id;
  }

  /** A SYN_STREAM with a chosen id (for bad ids), compressed in this client's context. */
  async synStream(id: number, headers: Record<string, string>): Promise<void> {
    this.socket.write(encodeSynStream(id, await this.deflate.compress(headers)));
  }

  send(id: number, data: Buffer | string, fin = false): void {
    this.socket.write(encodeData(id, Buffer.from(data), fin));
  }

  raw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  ping(id: number): void {
    this.socket.write(encodePing(id));
  }

  rst(id: number, status: number): void {
    this.socket.write(encodeRstStream(id, status));
  }

  windowUpdate(id: number, delta: number): void {
    this.socket.write(encodeWindowUpdate(id, delta));
  }

  text(id: number): string {
    return Buffer.concat(this.data.get(id) ?? []).toString();
  }

  bytes(id: number): number {
    return (this.data.get(id) ?? []).reduce((n, b) => n + b.length, 0);
  }

  /** Waits until cond holds (re-checked on every frame), or fails after timeoutMs. */
  async until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.frames.map((f) => ({ ...f, data: undefined, headerBlock: undefined })).slice(-20))}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
}
