/**
 * The SPDY/3.1 codec and server session: frames reassembled from arbitrary splits, header blocks
 * with the SPDY/3 dictionary (checked against KUBECTL_WIRE.md's digest and against spdy-transport's
 * parser as an independent oracle), and the session's behaviour on good and bad input.
 */
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { silentLogger } from "@kubemu/common";
import {
  encodeData,
  encodeGoaway,
  encodePing,
  encodeRstStream,
  encodeSettings,
  encodeSynReply,
  encodeSynStream,
  encodeWindowUpdate,
  FrameReader,
  RstStatus,
  SETTINGS_INITIAL_WINDOW_SIZE,
  type Frame,
} from "../src/streaming/spdy/frames.js";
import { decodeHeaderBlock, encodeHeaderBlock, HeaderCompressor, HeaderDecompressor, SPDY3_DICTIONARY } from "../src/streaming/spdy/headers.js";
import { SpdySession, type SpdyStream } from "../src/streaming/spdy/session.js";
import { duplexPair, TestSpdyClient } from "./spdy-client.js";

const require = createRequire(import.meta.url);

/** Splits bytes at the given cut points (sorted, deduplicated, inside the buffer). */
function splitAt(b: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (b.length + 1)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    out.push(b.subarray(last, p));
    last = p;
  }
  out.push(b.subarray(last));
  return out;
}

describe("frames", () => {
  const sample = (): Buffer[] => [
    encodeSynStream(1, Buffer.from([1, 2, 3]), { fin: false, priority: 2 }),
    encodeData(1, Buffer.from("hello"), false),
    encodeData(3, Buffer.alloc(0), true),
    encodeSynReply(1, Buffer.from([9])),
    encodeRstStream(5, RstStatus.CANCEL),
    encodePing(7),
    encodeGoaway(9, 0),
    encodeWindowUpdate(0, 1000),
    encodeSettings([{ id: SETTINGS_INITIAL_WINDOW_SIZE, value: 1 << 20 }]),
  ];
  const expected: Frame["type"][] = ["syn_stream", "data", "data", "syn_reply", "rst_stream", "ping", "goaway", "window_update", "settings"];

  it("decodes what it encodes, with every field", () => {
    const frames = new FrameReader().push(Buffer.concat(sample()));
    expect(frames.map((f) => f.type)).toEqual(expected);
    expect(frames[0]).toMatchObject({ streamId: 1, associatedId: 0, priority: 2, fin: false, headerBlock: Buffer.from([1, 2, 3]) });
    expect(frames[1]).toMatchObject({ streamId: 1, fin: false, data: Buffer.from("hello") });
    expect(frames[2]).toMatchObject({ streamId: 3, fin: true });
    expect(frames[4]).toMatchObject({ streamId: 5, status: RstStatus.CANCEL });
    expect(frames[5]).toMatchObject({ id: 7 });
    expect(frames[6]).toMatchObject({ lastGoodStreamId: 9, status: 0 });
    expect(frames[7]).toMatchObject({ streamId: 0, delta: 1000 });
    expect(frames[8]).toMatchObject({ clear: false, entries: [{ id: 7, flags: 0, value: 1 << 20 }] });
  });

  it("reassembles the same frames however the bytes are split (kubectl writes a frame in several WebSocket messages)", () => {
    const all = Buffer.concat(sample());
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 40 }), (cuts) => {
        const r = new FrameReader();
        const frames = splitAt(all, cuts).flatMap((piece) => r.push(piece));
        expect(frames.map((f) => f.type)).toEqual(expected);
        expect(r.pending).toBe(0);
      }),
    );
    // Byte by byte, as the extreme case.
    const r = new FrameReader();
    const frames = [...all].flatMap((byte) => r.push(Buffer.from([byte])));
    expect(frames.map((f) => f.type)).toEqual(expected);
  });

  it("says what is wrong with a malformed control frame and keeps reading the frames after it", () => {
    const bad = (type: number, body: Buffer) => {
      const head = Buffer.alloc(8);
      head.writeUInt16BE(0x8003, 0);
      head.writeUInt16BE(type, 2);
      head.writeUInt32BE(body.length, 4);
      return Buffer.concat([head, body]);
    };
    const frames = new FrameReader().push(
      Buffer.concat([bad(9, Buffer.from([0, 0, 0, 3])), bad(6, Buffer.alloc(2)), bad(1, Buffer.alloc(3)), bad(0x77, Buffer.alloc(5)), encodePing(1)]),
    );
    expect(frames).toEqual([
      { type: "invalid", reason: "WINDOW_UPDATE frame of 4 bytes (8 expected)", streamId: 3 },
      { type: "invalid", reason: "PING frame of 2 bytes (4 expected)" },
      { type: "invalid", reason: "SYN_STREAM frame of 3 bytes is too short (10 needed)" },
      { type: "unknown", version: 3, frameType: 0x77 },
      { type: "ping", id: 1 },
    ]);
  });
});

describe("header blocks", () => {
  it("uses the SPDY/3 dictionary KUBECTL_WIRE.md names (1423 bytes, its sha256)", () => {
    expect(SPDY3_DICTIONARY.length).toBe(1423);
    expect(createHash("sha256").update(SPDY3_DICTIONARY).digest("hex")).toBe("51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02");
  });

  it("round-trips blocks through one compression context per direction; several values join with NUL", async () => {
    const c = new HeaderCompressor();
    const d = new HeaderDecompressor();
    for (let i = 0; i < 5; i++) {
      const block = await c.compress({ streamtype: "data", port: String(8000 + i), requestid: String(i), multi: ["a", "b"] });
      const h = await d.decompress(block);
      expect(h).toEqual(new Map([["streamtype", ["data"]], ["port", [String(8000 + i)]], ["requestid", [String(i)]], ["multi", ["a", "b"]]]));
    }
    expect(await d.decompress(await c.compress(new Map()))).toEqual(new Map());
    c.close();
    d.close();
  });

  it("reports malformed blocks instead of throwing", () => {
    expect(decodeHeaderBlock(Buffer.from([0, 0]))).toBe("header block shorter than its count");
    const one = encodeHeaderBlock({ a: "b" });
    expect(decodeHeaderBlock(one.subarray(0, one.length - 1))).toBe("header block truncated at header 1 of 1");
    expect(decodeHeaderBlock(Buffer.concat([one, Buffer.from([0])]))).toBe("1 bytes after the last header");
    const twice = Buffer.concat([Buffer.from([0, 0, 0, 2]), one.subarray(4), one.subarray(4)]);
    expect(decodeHeaderBlock(twice)).toBe('duplicate header "a"');
  });

  it("fails a corrupt compressed block (the context is broken for good)", async () => {
    const d = new HeaderDecompressor();
    await expect(d.decompress(Buffer.from("definitely not zlib"))).rejects.toThrow(/header decompression failed/);
    d.close();
  });
});

describe("spdy-transport's parser as an oracle", () => {
  type ParsedFrame = { type: string; id?: number; fin?: boolean; data?: Buffer; headers?: Record<string, string>; delta?: number; code?: string; ack?: boolean; opaque?: Buffer };
  const spdy = require("spdy-transport") as {
    protocol: { spdy: { parser: { create(o: object): NodeJS.ReadWriteStream & { setCompression(p: object): void } }; compressionPool: { create(c: boolean): { get(v: number): object } } } };
  };
  const parse = (bytes: Buffer): Promise<{ frames: ParsedFrame[]; error?: string }> =>
    new Promise((resolve) => {
      const p = spdy.protocol.spdy.parser.create({ isServer: false, window: null });
      p.setCompression(spdy.protocol.spdy.compressionPool.create(false).get(3));
      const frames: ParsedFrame[] = [];
      p.on("data", (f: ParsedFrame) => frames.push(f));
      p.on("error", (e: Error) => resolve({ frames, error: e.message }));
      p.write(bytes);
      setTimeout(() => resolve({ frames }), 100);
    });

  it("reads this codec's server frames the same way (SYN_REPLY with compressed headers, DATA, RST, PING, WINDOW_UPDATE, GOAWAY)", async () => {
    const c = new HeaderCompressor();
    const reply = encodeSynReply(1, await c.compress({ ":status": "200", a: "b" }));
    const { frames, error } = await parse(
      Buffer.concat([reply, encodeData(1, Buffer.from("abc"), true), encodeRstStream(3, RstStatus.REFUSED_STREAM), encodePing(1), encodeWindowUpdate(1, 4096), encodeGoaway(3, 0)]),
    );
    expect(error).toBeUndefined();
    expect(frames.map((f) => f.type)).toEqual(["HEADERS", "DATA", "RST", "PING", "WINDOW_UPDATE", "GOAWAY"]);
    expect(frames[0]).toMatchObject({ id: 1, headers: { ":status": "200", a: "b" } });
    expect(frames[1]).toMatchObject({ id: 1, fin: true, data: Buffer.from("abc") });
    expect(frames[2]).toMatchObject({ id: 3, code: "REFUSED_STREAM" });
    expect(frames[4]).toMatchObject({ id: 1, delta: 4096 });
    c.close();
  });

  it("cannot parse kubectl's SYN_STREAMs (no :method/:path), which is why the session has its own parser", async () => {
    const c = new HeaderCompressor();
    const syn = encodeSynStream(1, await c.compress({ streamtype: "error", port: "80", requestid: "0" }));
    const { error } = await parse(syn);
    expect(error).toMatch(/Missing `:method` and\/or `:path` header/);
    c.close();
  });
});

/** A session on one end of a pair, a test client on the other. */
function sessionPair(onStream: (s: SpdyStream) => string | undefined = () => undefined, honourPeerWindows = false) {
  const [server, client] = duplexPair();
  const session = new SpdySession(server, { log: silentLogger, onStream, honourPeerWindows });
  return { session, client: new TestSpdyClient(client), server };
}

describe("SpdySession", () => {
  it("answers each stream with SYN_REPLY (empty headers), echoes the client's PINGs, and carries DATA and FIN both ways", async () => {
    const streams: SpdyStream[] = [];
    const { client } = sessionPair((s) => {
      streams.push(s);
      s.on("data", (d: Buffer) => s.write(Buffer.from(d.toString().toUpperCase())));
      s.on("end", () => s.end());
      return undefined;
    });
    const id = await client.open({ streamtype: "data", port: "80" });
    await client.until(() => client.replies.has(id), "SYN_REPLY");
    expect(client.replies.get(id)).toEqual(new Map());
    expect(streams[0]!.header("port")).toBe("80");
    client.ping(1);
    client.ping(2);
    client.send(id, "hello");
    client.send(id, "", true);
    await client.until(() => client.fins.has(id), "FIN");
    expect(client.text(id)).toBe("HELLO");
    // Only the odd (client) ping is echoed.
    expect(client.frames.filter((f) => f.type === "ping")).toEqual([{ type: "ping", id: 1 }]);
  });

  it("refuses a stream its handler rejects with RST_STREAM REFUSED_STREAM, and keeps serving others", async () => {
    const { client } = sessionPair((s) => (s.header("port") === "0" ? 'port "0" must be > 0' : undefined));
    const bad = await client.open({ port: "0" });
    const good = await client.open({ port: "1" });
    await client.until(() => client.replies.has(good), "reply to the good stream");
    expect(client.frames).toContainEqual({ type: "rst_stream", streamId: bad, status: RstStatus.REFUSED_STREAM });
  });

  it("resets streams on bad frames (unknown stream, DATA after FIN, even or reused ids, malformed headers) and never throws", async () => {
    const resets: string[] = [];
    const { client, session } = sessionPair((s) => {
      s.on("reset", (why: string) => resets.push(why));
      s.resume();
      return undefined;
    });
    const id = await client.open({ a: "b" });
    client.send(99, "to nobody");
    client.send(id, "", true);
    client.send(id, "after fin");
    await client.until(() => client.frames.filter((f) => f.type === "rst_stream").length >= 2, "two resets");
    expect(client.frames).toContainEqual({ type: "rst_stream", streamId: 99, status: RstStatus.INVALID_STREAM });
    expect(client.frames).toContainEqual({ type: "rst_stream", streamId: id, status: RstStatus.STREAM_ALREADY_CLOSED });
    expect(resets).toEqual([`DATA after FIN on stream ${id}`]);
    // A SYN_STREAM with an even id, and one with an id that is not above the last: each refused.
    await client.synStream(4, { a: "b" });
    await client.until(() => client.frames.some((f) => f.type === "rst_stream" && f.streamId === 4), "even id refused");
    await client.synStream(1, { a: "b" });
    await client.until(() => client.frames.filter((f) => f.type === "rst_stream" && f.streamId === 1).length === 2, "reused id refused");
    // A malformed control frame naming an open stream resets it.
    const open = await client.open({ x: "y" });
    await client.until(() => client.replies.has(open), "reply");
    const head = Buffer.alloc(8);
    head.writeUInt16BE(0x8003, 0);
    head.writeUInt16BE(9, 2);
    head.writeUInt32BE(4, 4);
    const wu = Buffer.alloc(4);
    wu.writeUInt32BE(open, 0);
    client.raw(Buffer.concat([head, wu]));
    await client.until(() => client.frames.some((f) => f.type === "rst_stream" && f.streamId === open), "malformed WINDOW_UPDATE resets its stream");
    expect(resets).toContain("malformed frame: WINDOW_UPDATE frame of 4 bytes (8 expected)");
    expect(session.openStreams).toBe(0);
  });

  it("ends the connection with GOAWAY PROTOCOL_ERROR when the header compression is broken", async () => {
    const { client, server } = sessionPair();
    client.raw(encodeSynStream(1, Buffer.from("not a zlib stream at all")));
    await client.until(() => client.frames.some((f) => f.type === "goaway"), "GOAWAY");
    expect(client.frames.find((f) => f.type === "goaway")).toEqual({ type: "goaway", lastGoodStreamId: 0, status: 1 });
    await client.until(() => server.writableEnded, "socket ended");
  });

  it("acknowledges consumed DATA with WINDOW_UPDATEs (stream and session) and stops reading the socket while a reader is full", async () => {
    let stream: SpdyStream | undefined;
    const { client, server } = sessionPair((s) => {
      stream = s;
      return undefined;
    });
    const id = await client.open({ a: "b" });
    await client.until(() => stream !== undefined, "stream");
    // 256 KiB sent without waiting for any window, as spdystream does; nobody reads yet.
    for (let i = 0; i < 32; i++) client.send(id, Buffer.alloc(8192, i));
    await new Promise((r) => setTimeout(r, 100));
    expect(server.isPaused()).toBe(true);
    let got = 0;
    stream!.on("data", (d: Buffer) => (got += d.length));
    await client.until(() => got === 32 * 8192, "all bytes read");
    expect(server.isPaused()).toBe(false);
    const acked = (sid: number) => client.frames.filter((f): f is Extract<Frame, { type: "window_update" }> => f.type === "window_update" && f.streamId === sid).reduce((n, f) => n + f.delta, 0);
    await client.until(() => acked(id) === 32 * 8192, "stream acknowledged");
    expect(acked(0)).toBe(32 * 8192);
  });

  it("keeps to the client's windows when asked to, resuming on WINDOW_UPDATE and SETTINGS", async () => {
    let stream: SpdyStream | undefined;
    const { client } = sessionPair((s) => {
      stream = s;
      return undefined;
    }, true);
    const id = await client.open({ a: "b" });
    await client.until(() => stream !== undefined, "stream");
    let written = false;
    stream!.write(Buffer.alloc(100_000, 7), () => (written = true));
    await client.until(() => client.bytes(id) === 65536, "first window");
    await new Promise((r) => setTimeout(r, 100));
    expect(client.bytes(id)).toBe(65536);
    expect(written).toBe(false);
    // The session window and the stream window both limit.
    client.windowUpdate(id, 20_000);
    await new Promise((r) => setTimeout(r, 100));
    expect(client.bytes(id)).toBe(65536);
    client.windowUpdate(0, 50_000);
    await client.until(() => client.bytes(id) === 85536, "stream window of 20000 more");
    client.raw(encodeSettings([{ id: SETTINGS_INITIAL_WINDOW_SIZE, value: 65536 + 50_000 }]));
    await client.until(() => written && client.bytes(id) === 100_000, "the rest after SETTINGS raised the stream window");
  });

  it("without honouring windows (kubectl never sends WINDOW_UPDATE) sends as fast as the socket takes it", async () => {
    let stream: SpdyStream | undefined;
    const { client } = sessionPair((s) => {
      stream = s;
      return undefined;
    });
    const id = await client.open({ a: "b" });
    await client.until(() => stream !== undefined, "stream");
    stream!.end(Buffer.alloc(1_000_000, 1));
    await client.until(() => client.fins.has(id), "FIN", 10_000);
    expect(client.bytes(id)).toBe(1_000_000);
  });

  it("survives arbitrary bytes and frames with arbitrary bodies (nothing throws; the session ends or goes on)", async () => {
    const frameWith = (type: number, body: Uint8Array) => {
      const head = Buffer.alloc(8);
      head.writeUInt16BE(0x8003, 0);
      head.writeUInt16BE(type, 2);
      head.writeUInt32BE(body.length, 4);
      return Buffer.concat([head, body]);
    };
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.tuple(fc.integer({ min: 1, max: 10 }), fc.uint8Array({ maxLength: 40 })).map(([t, b]) => frameWith(t, b))), { maxLength: 12 }),
        async (chunks) => {
          const { client } = sessionPair((s) => {
            s.resume();
            return undefined;
          });
          for (const c of chunks) client.raw(Buffer.from(c));
          await new Promise((r) => setTimeout(r, 5));
        },
      ),
      { numRuns: 150 },
    );
  });

  it("closes once the client's GOAWAY has come and its streams are done; a client RST_STREAM ends a stream", async () => {
    const resets: string[] = [];
    const { client, server } = sessionPair((s) => {
      s.on("reset", (w: string) => resets.push(w));
      return undefined;
    });
    const a = await client.open({ a: "1" });
    await client.until(() => client.replies.has(a), "reply");
    client.rst(a, RstStatus.CANCEL);
    client.raw(encodeGoaway(a, 0));
    await client.until(() => server.writableEnded, "socket ended");
    expect(resets).toEqual(["reset by the client (status 5)"]);
  });
});
