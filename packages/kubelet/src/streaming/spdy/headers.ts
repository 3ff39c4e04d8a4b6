/**
 * SPDY/3 header blocks: `u32 count`, then `u32 len, name, u32 len, value` per header (several
 * values of one name joined by NUL), compressed with one zlib stream per direction per
 * connection, primed with the SPDY/3 dictionary (taken from spdy-transport, the one piece of
 * that library used at run time: its parser insists on HTTP's `:method`/`:path` in SYN_STREAM,
 * which kubectl's port-forward and exec streams never carry) and flushed with Z_SYNC_FLUSH
 * after each block.
 */
import { createRequire } from "node:module";
import { constants, createDeflate, createInflate, type Deflate, type Inflate } from "node:zlib";

const require = createRequire(import.meta.url);
const spdyTransport = require("spdy-transport") as { protocol: { spdy: { dictionary: Record<string, Buffer> } } };
export const SPDY3_DICTIONARY: Buffer = spdyTransport.protocol.spdy.dictionary["3.1"]!;

/** Header names to their values, names lowercase. */
export type Headers = Map<string, string[]>;

export function encodeHeaderBlock(headers: Headers | Record<string, string | string[]>): Buffer {
  const entries = headers instanceof Map ? [...headers] : Object.entries(headers).map(([k, v]) => [k, Array.isArray(v) ? v : [v]] as const);
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n, 0);
    return b;
  };
  parts.push(u32(entries.length));
  for (const [name, values] of entries) {
    const n = Buffer.from(name.toLowerCase());
    const v = Buffer.from(values.join("\0"));
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

/** The headers of a decompressed block, or why it is malformed. */
export function decodeHeaderBlock(raw: Buffer): Headers | string {
  if (raw.length < 4) return "header block shorter than its count";
  const count = raw.readUInt32BE(0);
  const headers: Headers = new Map();
  let at = 4;
  const str = (): string | undefined => {
    if (at + 4 > raw.length) return undefined;
    const len = raw.readUInt32BE(at);
    at += 4;
    if (at + len > raw.length) return undefined;
    const s = raw.toString("latin1", at, at + len);
    at += len;
    return s;
  };
  for (let i = 0; i < count; i++) {
    const name = str();
    const value = str();
    if (name === undefined || value === undefined) return `header block truncated at header ${i + 1} of ${count}`;
    if (name === "") return "empty header name";
    if (headers.has(name.toLowerCase())) return `duplicate header ${JSON.stringify(name)}`;
    headers.set(name.toLowerCase(), value.split("\0"));
  }
  if (at !== raw.length) return `${raw.length - at} bytes after the last header`;
  return headers;
}

/** One direction's zlib stream; blocks are processed strictly in call order. */
class ZlibContext {
  private out: Buffer[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private failure: Error | undefined;
  private rejectCurrent: ((e: Error) => void) | undefined;

  constructor(private readonly z: Deflate | Inflate) {
    z.on("data", (d: Buffer) => this.out.push(d));
    // A corrupt stream never calls the flush callback: the block in progress fails here.
    z.on("error", (e: Error) => {
      this.failure = e;
      this.rejectCurrent?.(e);
    });
  }

  run(input: Buffer): Promise<Buffer> {
    const step = this.chain.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          if (this.failure) return reject(this.failure);
          this.rejectCurrent = reject;
          this.z.write(input);
          this.z.flush(constants.Z_SYNC_FLUSH, () => {
            this.rejectCurrent = undefined;
            if (this.failure) return reject(this.failure);
            const b = Buffer.concat(this.out);
            this.out = [];
            resolve(b);
          });
        }),
    );
    this.chain = step.catch(() => undefined);
    return step;
  }

  close(): void {
    this.z.close();
  }
}

/** Compresses the header blocks one side sends. */
export class HeaderCompressor {
  private readonly ctx = new ZlibContext(createDeflate({ dictionary: SPDY3_DICTIONARY }));
  compress(headers: Headers | Record<string, string | string[]>): Promise<Buffer> {
    return this.ctx.run(encodeHeaderBlock(headers));
  }
  close(): void {
    this.ctx.close();
  }
}

/** Decompresses the header blocks one side receives; a failure breaks the context for good. */
export class HeaderDecompressor {
  private readonly ctx = new ZlibContext(createInflate({ dictionary: SPDY3_DICTIONARY }));
  async decompress(block: Buffer): Promise<Headers | string> {
    let raw: Buffer;
    try {
      raw = await this.ctx.run(block);
    } catch (e) {
      throw new Error(`header decompression failed: ${(e as Error).message}`);
    }
    return decodeHeaderBlock(raw);
  }
  close(): void {
    this.ctx.close();
  }
}
