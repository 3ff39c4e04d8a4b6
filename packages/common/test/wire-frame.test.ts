import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { pack } from "msgpackr";
import { CloseCode, decodeFrame, encodeFrame, FrameError, FrameType, newConflict, type Frame } from "@kubemu/common";

// Values msgpack carries exactly (no undefined, no -0: msgpack has a single integer zero).
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true }).filter((d) => !Object.is(d, -0)),
    fc.string(),
    fc.string({ unit: "grapheme" }),
    fc.array(tie("v"), { maxLength: 5 }),
    fc.dictionary(fc.string().filter((k) => k !== "__proto__"), tie("v"), { maxKeys: 5 }),
  ),
})).v;

const id = fc.nat();
const method = fc.string({ maxLength: 40 });
const status = fc.string().map((s) => newConflict({ resource: "pods" }, s || "x", "changed").status);
const hello = fc.record({ protocol: fc.string(), version: fc.integer(), name: fc.string() });

const frame: fc.Arbitrary<Frame> = fc.oneof(
  hello.map((h): Frame => [FrameType.Hello, h]),
  hello.map((h): Frame => [FrameType.Welcome, h]),
  status.map((s): Frame => [FrameType.Reject, s]),
  fc.tuple(id, method, value).map(([i, m, p]): Frame => [FrameType.Request, i, m, p]),
  fc.tuple(id, value).map(([i, r]): Frame => [FrameType.Response, i, r]),
  fc.tuple(id, status).map(([i, s]): Frame => [FrameType.Error, i, s]),
  id.map((i): Frame => [FrameType.Cancel, i]),
  fc.tuple(id, method, value, fc.nat()).map(([i, m, p, c]): Frame => [FrameType.Open, i, m, p, c]),
  fc.tuple(id, fc.nat(), value).map(([i, s, v]): Frame => [FrameType.Item, i, s, v]),
  fc.tuple(id, fc.nat()).map(([i, n]): Frame => [FrameType.Credit, i, n]),
  fc.tuple(id, fc.nat()).map(([i, n]): Frame => [FrameType.End, i, n]),
  fc.nat().map((n): Frame => [FrameType.Ping, n]),
  fc.nat().map((n): Frame => [FrameType.Pong, n]),
);

/** decodeFrame either returns a frame or throws a FrameError with a close code: nothing else. */
function decodesOrFrameError(bytes: Uint8Array): void {
  try {
    const f = decodeFrame(bytes);
    if (!Array.isArray(f)) throw new Error(`decodeFrame returned a non-array for ${Buffer.from(bytes).toString("hex")}`);
  } catch (e) {
    if (!(e instanceof FrameError)) throw new Error(`decodeFrame threw ${String(e)} for ${Buffer.from(bytes).toString("hex")}`);
    if (e.closeCode !== CloseCode.InvalidPayload && e.closeCode !== CloseCode.ProtocolError) throw new Error(`unexpected close code ${e.closeCode}`);
  }
}

describe("wire frame encoding", () => {
  it("round-trips every frame type (property)", () => {
    fc.assert(
      fc.property(frame, (f) => {
        expect(decodeFrame(encodeFrame(f))).toEqual(f);
      }),
      { numRuns: 2000 },
    );
  });

  it("round-trips binary payloads as Buffers", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bin) => {
        const out = decodeFrame(encodeFrame([FrameType.Response, 1, bin])) as [number, number, Uint8Array];
        expect(Buffer.from(out[2]).equals(Buffer.from(bin))).toBe(true);
      }),
    );
  });

  it("refuses to encode a frame over the limit with RequestEntityTooLarge", () => {
    expect(() => encodeFrame([FrameType.Response, 1, "x".repeat(2000)], 1000)).toThrow(/exceeds the 1000-byte limit/);
    expect(encodeFrame([FrameType.Response, 1, "x".repeat(900)], 1000).length).toBeLessThanOrEqual(1000);
  });

  it("random bytes never escape as anything but a FrameError (property)", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => decodesOrFrameError(b)), { numRuns: 6000 });
    // Bytes that start like a frame (fixarray header + a frame type) get further into the parser.
    fc.assert(
      fc.property(fc.integer({ min: 0x91, max: 0x95 }), fc.integer({ min: 0, max: 14 }), fc.uint8Array({ maxLength: 60 }), (hdr, type, rest) =>
        decodesOrFrameError(Buffer.concat([Buffer.from([hdr, type]), rest])),
      ),
      { numRuns: 3000 },
    );
  });

  it("truncated and bit-flipped valid frames are rejected cleanly (property)", () => {
    fc.assert(
      fc.property(frame, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), (f, cut, at, byte) => {
        const buf = Buffer.from(encodeFrame(f));
        decodesOrFrameError(buf.subarray(0, cut % (buf.length + 1)));
        const flipped = Buffer.from(buf);
        flipped[at % flipped.length] = byte;
        decodesOrFrameError(flipped);
      }),
      { numRuns: 2500 },
    );
  });

  it("valid msgpack of the wrong shape is a protocol error (property)", () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: false, withTypedArray: true, withDate: true, withMap: true, withSet: true }), (v) => decodesOrFrameError(pack(v))),
      { numRuns: 3000 },
    );
    const shapes: unknown[] = [
      [FrameType.Request, -1, "m", null],
      [FrameType.Request, 1.5, "m", null],
      [FrameType.Request, 1, 7, null],
      [FrameType.Request, 1, "m"],
      [FrameType.Open, 1, "m", null, -5],
      [FrameType.Hello, { protocol: "kubemu-wire", version: "1", name: "x" }],
      [FrameType.Error, 1, { nope: true }],
      [99, 1],
      ["4", 1, "m", null],
      [],
      {},
      "frame",
    ];
    for (const s of shapes) {
      expect(() => decodeFrame(pack(s))).toThrow(FrameError);
      try {
        decodeFrame(pack(s));
      } catch (e) {
        expect((e as FrameError).closeCode).toBe(CloseCode.ProtocolError);
      }
    }
  });

  it("msgpack headers claiming huge lengths fail fast", () => {
    const huge = [
      Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0x01]), // array32 of 4 G elements
      Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff]), // map32
      Buffer.from([0xc6, 0xff, 0xff, 0xff, 0xff, 0x00]), // bin32
      Buffer.from([0xdb, 0x7f, 0xff, 0xff, 0xff, 0x61]), // str32
      Buffer.from([0xc9, 0xff, 0xff, 0xff, 0xff, 0x01]), // ext32
    ];
    const start = Date.now();
    for (const b of huge) {
      expect(() => decodeFrame(b)).toThrow(FrameError);
    }
    expect(Date.now() - start).toBeLessThan(500);
  });
});
