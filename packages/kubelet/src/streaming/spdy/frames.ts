/**
 * SPDY/3.1 frames as bytes (draft 3.1, the subset client-go's spdystream speaks): a pure codec.
 * `FrameReader` reassembles frames from bytes that arrive split at arbitrary points (kubectl's
 * WebSocket tunnel writes a frame in several messages); the `encode*` functions write frames.
 * Header blocks are carried compressed here; `headers.ts` compresses and decompresses them.
 *
 * Control frame: 1 | version(15) | type(16) | flags(8) | length(24) | data.
 * Data frame:    0 | stream id(31) | flags(8) | length(24) | data.
 */

export const SPDY_VERSION = 3;
export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;
/** SETTINGS_INITIAL_WINDOW_SIZE and the 64 KiB default of stream and session windows (§2.6.8). */
export const SETTINGS_INITIAL_WINDOW_SIZE = 7;
export const DEFAULT_WINDOW = 64 * 1024;
export const MAX_FRAME_LENGTH = 0xffffff;

export const ControlType = { SYN_STREAM: 1, SYN_REPLY: 2, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, HEADERS: 8, WINDOW_UPDATE: 9 } as const;

/** RST_STREAM status codes (§2.6.3). */
export const RstStatus = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  UNSUPPORTED_VERSION: 4,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
  FLOW_CONTROL_ERROR: 7,
  STREAM_IN_USE: 8,
  STREAM_ALREADY_CLOSED: 9,
  FRAME_TOO_LARGE: 11,
} as const;

/** GOAWAY status codes (§2.6.6). */
export const GoawayStatus = { OK: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2 } as const;

export type Frame =
  | { type: "data"; streamId: number; fin: boolean; data: Buffer }
  | { type: "syn_stream"; streamId: number; associatedId: number; priority: number; fin: boolean; unidirectional: boolean; headerBlock: Buffer }
  | { type: "syn_reply"; streamId: number; fin: boolean; headerBlock: Buffer }
  | { type: "headers"; streamId: number; fin: boolean; headerBlock: Buffer }
  | { type: "rst_stream"; streamId: number; status: number }
  | { type: "settings"; clear: boolean; entries: { id: number; flags: number; value: number }[] }
  | { type: "ping"; id: number }
  | { type: "goaway"; lastGoodStreamId: number; status: number }
  | { type: "window_update"; streamId: number; delta: number }
  /** A control frame of a type SPDY/3.1 does not define: receivers ignore it (§2.2.1). */
  | { type: "unknown"; version: number; frameType: number }
  /** A control frame whose body does not fit its type; streamId when one could be read. */
  | { type: "invalid"; reason: string; streamId?: number };

const u31 = (b: Buffer, at: number) => b.readUInt32BE(at) & 0x7fffffff;

/** Decodes one frame's body (the 8-byte header already split off). */
function decodeControl(version: number, frameType: number, flags: number, body: Buffer): Frame {
  if (version !== SPDY_VERSION) return { type: "unknown", version, frameType };
  const fin = (flags & FLAG_FIN) !== 0;
  const need = (n: number, name: string): Frame | undefined =>
    body.length < n ? { type: "invalid", reason: `${name} frame of ${body.length} bytes is too short (${n} needed)`, ...(body.length >= 4 ? { streamId: u31(body, 0) } : {}) } : undefined;
  switch (frameType) {
    case ControlType.SYN_STREAM:
      return need(10, "SYN_STREAM") ?? { type: "syn_stream", streamId: u31(body, 0), associatedId: u31(body, 4), priority: body[8]! >> 5, fin, unidirectional: (flags & FLAG_UNIDIRECTIONAL) !== 0, headerBlock: body.subarray(10) };
    case ControlType.SYN_REPLY:
      return need(4, "SYN_REPLY") ?? { type: "syn_reply", streamId: u31(body, 0), fin, headerBlock: body.subarray(4) };
    case ControlType.HEADERS:
      return need(4, "HEADERS") ?? { type: "headers", streamId: u31(body, 0), fin, headerBlock: body.subarray(4) };
    case ControlType.RST_STREAM:
      return need(8, "RST_STREAM") ?? { type: "rst_stream", streamId: u31(body, 0), status: body.readUInt32BE(4) };
    case ControlType.PING:
      return body.length !== 4 ? { type: "invalid", reason: `PING frame of ${body.length} bytes (4 expected)` } : { type: "ping", id: body.readUInt32BE(0) };
    case ControlType.GOAWAY:
      return need(8, "GOAWAY") ?? { type: "goaway", lastGoodStreamId: u31(body, 0), status: body.readUInt32BE(4) };
    case ControlType.WINDOW_UPDATE:
      return body.length !== 8 ? { type: "invalid", reason: `WINDOW_UPDATE frame of ${body.length} bytes (8 expected)`, ...(body.length >= 4 ? { streamId: u31(body, 0) } : {}) } : { type: "window_update", streamId: u31(body, 0), delta: u31(body, 4) };
    case ControlType.SETTINGS: {
      if (body.length < 4) return { type: "invalid", reason: "SETTINGS frame without an entry count" };
      const count = body.readUInt32BE(0);
      if (body.length !== 4 + 8 * count) return { type: "invalid", reason: `SETTINGS frame of ${body.length} bytes does not hold ${count} entries` };
      const entries = [];
      for (let i = 0; i < count; i++) {
        const at = 4 + 8 * i;
        entries.push({ flags: body[at]!, id: body.readUIntBE(at + 1, 3), value: body.readUInt32BE(at + 4) });
      }
      return { type: "settings", clear: (flags & 0x01) !== 0, entries };
    }
    default:
      return { type: "unknown", version, frameType };
  }
}

/** Reassembles frames from a byte stream split anywhere. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** Adds bytes; returns every frame completed by them, in order. */
  push(bytes: Buffer): Frame[] {
    if (bytes.length) {
      this.chunks.push(bytes);
      this.buffered += bytes.length;
    }
    const frames: Frame[] = [];
    while (this.buffered >= 8) {
      const head = this.peek(8);
      const length = head.readUIntBE(5, 3);
      if (this.buffered < 8 + length) break;
      const whole = this.take(8 + length);
      const body = whole.subarray(8);
      const flags = whole[4]!;
      if ((whole[0]! & 0x80) !== 0) frames.push(decodeControl(whole.readUInt16BE(0) & 0x7fff, whole.readUInt16BE(2), flags, body));
      else frames.push({ type: "data", streamId: u31(whole, 0), fin: (flags & FLAG_FIN) !== 0, data: body });
    }
    return frames;
  }

  /** Bytes held for a frame not complete yet. */
  get pending(): number {
    return this.buffered;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!.subarray(0, n);
  }

  /**
   * The next n bytes. A frame inside one received chunk is a view of it (no copy: the chunk is
   * not reused); one spanning chunks was joined by peek into a buffer of its own.
   */
  private take(n: number): Buffer {
    const out = this.peek(n);
    const rest = this.chunks[0]!.subarray(n);
    if (rest.length) this.chunks[0] = rest;
    else this.chunks.shift();
    this.buffered -= n;
    return out;
  }
}

function control(frameType: number, flags: number, body: Buffer): Buffer {
  if (body.length > MAX_FRAME_LENGTH) throw new RangeError(`control frame body of ${body.length} bytes`);
  const head = Buffer.alloc(8);
  head.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  head.writeUInt16BE(frameType, 2);
  head.writeUInt32BE(((flags & 0xff) << 24) | body.length, 4);
  return Buffer.concat([head, body]);
}

const ids = (...values: number[]) => {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, 4 * i));
  return b;
};

/** The 8 bytes before a DATA frame's payload (sent ahead of the payload, which is not copied). */
export function encodeDataHead(streamId: number, length: number, fin: boolean): Buffer {
  if (length > MAX_FRAME_LENGTH) throw new RangeError(`data frame of ${length} bytes`);
  const head = Buffer.allocUnsafe(8);
  head.writeUInt32BE(streamId & 0x7fffffff, 0);
  head.writeUInt32BE((((fin ? FLAG_FIN : 0) << 24) | length) >>> 0, 4);
  return head;
}

export function encodeData(streamId: number, data: Buffer, fin: boolean): Buffer {
  return Buffer.concat([encodeDataHead(streamId, data.length, fin), data]);
}

export function encodeSynStream(streamId: number, headerBlock: Buffer, o: { fin?: boolean; associatedId?: number; priority?: number } = {}): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt32BE(streamId & 0x7fffffff, 0);
  fixed.writeUInt32BE((o.associatedId ?? 0) & 0x7fffffff, 4);
  fixed[8] = ((o.priority ?? 0) & 0x7) << 5;
  return control(ControlType.SYN_STREAM, o.fin ? FLAG_FIN : 0, Buffer.concat([fixed, headerBlock]));
}

export const encodeSynReply = (streamId: number, headerBlock: Buffer, fin = false) => control(ControlType.SYN_REPLY, fin ? FLAG_FIN : 0, Buffer.concat([ids(streamId & 0x7fffffff), headerBlock]));
export const encodeRstStream = (streamId: number, status: number) => control(ControlType.RST_STREAM, 0, ids(streamId & 0x7fffffff, status));
export const encodePing = (id: number) => control(ControlType.PING, 0, ids(id));
export const encodeGoaway = (lastGoodStreamId: number, status: number) => control(ControlType.GOAWAY, 0, ids(lastGoodStreamId & 0x7fffffff, status));
export const encodeWindowUpdate = (streamId: number, delta: number) => control(ControlType.WINDOW_UPDATE, 0, ids(streamId & 0x7fffffff, delta & 0x7fffffff));

export function encodeSettings(entries: { id: number; value: number; flags?: number }[]): Buffer {
  const body = Buffer.alloc(4 + 8 * entries.length);
  body.writeUInt32BE(entries.length, 0);
  entries.forEach((e, i) => {
    body[4 + 8 * i] = e.flags ?? 0;
    body.writeUIntBE(e.id, 5 + 8 * i, 3);
    body.writeUInt32BE(e.value >>> 0, 8 + 8 * i);
  });
  return control(ControlType.SETTINGS, 0, body);
}
