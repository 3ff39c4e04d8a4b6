/**
 * The kubemu wire frame format: every WebSocket binary message is one msgpack array whose first
 * element is the frame type. Arrays (not maps) keep frames small and cheap to encode and decode.
 * See README.md in this folder for the full table.
 */
import { Packr } from "msgpackr";
import { newRequestEntityTooLarge, type Status } from "../status.js";

/** Frame type tags (the first array element). */
export const FrameType = {
  Hello: 1,
  Welcome: 2,
  Reject: 3,
  Request: 4,
  Response: 5,
  Error: 6,
  Cancel: 7,
  Open: 8,
  Item: 9,
  Credit: 10,
  End: 11,
  Ping: 12,
  Pong: 13,
  Notify: 14,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** What each side says about itself in the handshake. */
export interface Hello {
  protocol: string;
  version: number;
  name: string;
}

export const WIRE_PROTOCOL = "kubemu-wire";
export const WIRE_VERSION = 1;

export type HelloFrame = [typeof FrameType.Hello, Hello];
export type WelcomeFrame = [typeof FrameType.Welcome, Hello];
export type RejectFrame = [typeof FrameType.Reject, Status];
export type RequestFrame = [typeof FrameType.Request, number, string, unknown];
export type ResponseFrame = [typeof FrameType.Response, number, unknown];
export type ErrorFrame = [typeof FrameType.Error, number, Status];
export type CancelFrame = [typeof FrameType.Cancel, number];
/** Opens a server stream; the last element is the initial credit (items the server may send). */
export type OpenFrame = [typeof FrameType.Open, number, string, unknown, number];
/** One stream item; seq counts items of this stream from 0 so the client can prove no gap. */
export type ItemFrame = [typeof FrameType.Item, number, number, unknown];
/** Cumulative credit: the total number of items the client allows on this stream so far. */
export type CreditFrame = [typeof FrameType.Credit, number, number];
/** Normal end of a stream after `count` items. */
export type EndFrame = [typeof FrameType.End, number, number];
export type PingFrame = [typeof FrameType.Ping, number];
export type PongFrame = [typeof FrameType.Pong, number];
/** A one-way request: the server runs the method's handler and sends nothing back. */
export type NotifyFrame = [typeof FrameType.Notify, string, unknown];

export type Frame =
  | HelloFrame
  | WelcomeFrame
  | RejectFrame
  | RequestFrame
  | ResponseFrame
  | ErrorFrame
  | CancelFrame
  | OpenFrame
  | ItemFrame
  | CreditFrame
  | EndFrame
  | PingFrame
  | PongFrame
  | NotifyFrame;

/** WebSocket close codes used by the wire layer. */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  /** A frame of the wrong shape or type for this side or state. */
  ProtocolError: 1002,
  /** A text frame: only binary frames are accepted. */
  UnsupportedData: 1003,
  /** A binary frame that is not valid msgpack. */
  InvalidPayload: 1007,
  /** Over maxPayload (ws closes with this itself). */
  MessageTooBig: 1009,
  /** This side failed while handling a frame (a bug, logged). */
  InternalError: 1011,
  /** No frame from the peer within the liveness bound. */
  LivenessTimeout: 4000,
  /** The peer did not finish the handshake in time. */
  HandshakeTimeout: 4001,
  /** The handshake was refused (wrong protocol or version). */
  HandshakeRejected: 4002,
} as const;

/** A frame that cannot be accepted; closeCode says how the connection is closed. */
export class FrameError extends Error {
  constructor(
    readonly closeCode: number,
    message: string,
  ) {
    super(message);
    this.name = "FrameError";
  }
}

// One encoder/decoder for the process: msgpackr reuses its internal buffers across calls.
// int64AsType "auto" (supported, though missing from the typings): numbers unless beyond 2^53.
const packr = new Packr({ useRecords: false, int64AsType: "auto" } as unknown as ConstructorParameters<typeof Packr>[0]);

/** Default maximum encoded frame size (16 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/**
 * Encodes a frame. Throws a RequestEntityTooLarge StatusError when the result exceeds maxBytes,
 * so the caller can answer with an error instead of having the peer drop the connection.
 */
export function encodeFrame(frame: Frame, maxBytes = DEFAULT_MAX_FRAME_BYTES): Buffer {
  const buf = packr.pack(frame);
  if (buf.length > maxBytes) {
    throw newRequestEntityTooLarge(`frame of ${buf.length} bytes exceeds the ${maxBytes}-byte limit`);
  }
  return buf;
}

const isId = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isCount = isId;
const isHello = (v: unknown): v is Hello =>
  typeof v === "object" &&
  v !== null &&
  typeof (v as Hello).protocol === "string" &&
  typeof (v as Hello).version === "number" &&
  typeof (v as Hello).name === "string";
const isStatusLike = (v: unknown): v is Status =>
  typeof v === "object" && v !== null && typeof (v as Status).code === "number" && typeof (v as Status).message === "string";

/**
 * Decodes and validates one frame. Throws {@link FrameError} (never anything else) for bytes
 * that are not msgpack (1007) or a value that is not a well-formed frame (1002).
 */
export function decodeFrame(data: Uint8Array): Frame {
  let value: unknown;
  try {
    value = packr.unpack(data);
  } catch (e) {
    throw new FrameError(CloseCode.InvalidPayload, `undecodable frame: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!Array.isArray(value) || value.length < 2) throw new FrameError(CloseCode.ProtocolError, "frame is not an array [type, ...]");
  const f = value as unknown[];
  const n = f.length;
  switch (f[0]) {
    case FrameType.Hello:
    case FrameType.Welcome:
      if (n === 2 && isHello(f[1])) return f as Frame;
      break;
    case FrameType.Reject:
      if (n === 2 && isStatusLike(f[1])) return f as Frame;
      break;
    case FrameType.Request:
      if (n === 4 && isId(f[1]) && typeof f[2] === "string") return f as Frame;
      break;
    case FrameType.Response:
      if (n === 3 && isId(f[1])) return f as Frame;
      break;
    case FrameType.Error:
      if (n === 3 && isId(f[1]) && isStatusLike(f[2])) return f as Frame;
      break;
    case FrameType.Cancel:
      if (n === 2 && isId(f[1])) return f as Frame;
      break;
    case FrameType.Open:
      if (n === 5 && isId(f[1]) && typeof f[2] === "string" && isCount(f[4])) return f as Frame;
      break;
    case FrameType.Item:
      if (n === 4 && isId(f[1]) && isCount(f[2])) return f as Frame;
      break;
    case FrameType.Credit:
    case FrameType.End:
      if (n === 3 && isId(f[1]) && isCount(f[2])) return f as Frame;
      break;
    case FrameType.Ping:
    case FrameType.Pong:
      if (n === 2 && typeof f[1] === "number") return f as Frame;
      break;
    case FrameType.Notify:
      if (n === 3 && typeof f[1] === "string") return f as Frame;
      break;
    default:
      throw new FrameError(CloseCode.ProtocolError, `unknown frame type ${String(f[0])}`);
  }
  throw new FrameError(CloseCode.ProtocolError, `malformed frame of type ${String(f[0])}`);
}

/** Frame types a server accepts from a client (after the handshake). */
export const clientToServer: ReadonlySet<number> = new Set([
  FrameType.Request,
  FrameType.Notify,
  FrameType.Cancel,
  FrameType.Open,
  FrameType.Credit,
  FrameType.Ping,
  FrameType.Pong,
]);

/** Frame types a client accepts from a server (after the handshake). */
export const serverToClient: ReadonlySet<number> = new Set([
  FrameType.Response,
  FrameType.Error,
  FrameType.Item,
  FrameType.End,
  FrameType.Ping,
  FrameType.Pong,
]);
