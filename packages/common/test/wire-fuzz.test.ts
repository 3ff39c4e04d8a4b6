/**
 * Throws well over 10,000 random, corrupt and hostile frames at a live WireServer over many
 * connections, then proves it still serves a normal client. Seeded, so a failure replays.
 */
import { describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { pack } from "msgpackr";
import { encodeFrame, FrameType, SeededRng, decodeFrame, type Rng } from "@kubemu/common";
import { newClient, onCleanup, startServer, waitFor } from "./fixtures/wire-helpers.js";

const MAX_FRAME = 64 * 1024;

function randomBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

function randomValue(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 2 ? 5 : 7)) {
    case 0:
      return null;
    case 1:
      return rng.range(-1e6, 1e6);
    case 2:
      return rng.float() * 1e9;
    case 3:
      return "s".repeat(rng.int(40)) + String(rng.int(1000));
    case 4:
      return rng.chance(0.5);
    case 5:
      return Array.from({ length: rng.int(4) }, () => randomValue(rng, depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: rng.int(4) }, (_, i) => [`k${i}`, randomValue(rng, depth + 1)]));
  }
}

/** A frame a well-behaved peer might send in an odd situation: the server must answer or ignore it. */
function oddButValid(rng: Rng): Buffer {
  const id = rng.int(50);
  switch (rng.int(8)) {
    case 0:
      return encodeFrame([FrameType.Request, id, rng.pick(["echo", "nope", "", "watch"]), randomValue(rng)]);
    case 1:
      return encodeFrame([FrameType.Cancel, id]);
    case 2:
      return encodeFrame([FrameType.Credit, id, rng.int(1000)]);
    case 3:
      return encodeFrame([FrameType.Open, id, rng.pick(["watch", "echo", "missing"]), randomValue(rng), rng.int(5)]);
    case 4:
      return encodeFrame([FrameType.Ping, rng.int(1e6)]);
    case 5:
      return encodeFrame([FrameType.Pong, rng.int(1e6)]);
    default:
      return encodeFrame([FrameType.Request, 1000 + rng.int(1e6), "echo", randomValue(rng)]);
  }
}

/** Something that must close the connection. */
function corrupt(rng: Rng, validSample: Buffer): Buffer | string {
  switch (rng.int(9)) {
    case 0:
      return randomBytes(rng, 1 + rng.int(64));
    case 1:
      return pack(randomValue(rng)); // msgpack of the wrong shape (almost always)
    case 2:
      return validSample.subarray(0, Math.max(1, rng.int(validSample.length))); // truncated
    case 3:
      return Buffer.from([rng.pick([0xdd, 0xdf, 0xc6, 0xdb, 0xc9]), 0xff, 0xff, 0xff, 0xf0, 1, 2]); // huge length header
    case 4:
      return "a text frame";
    case 5:
      return pack([FrameType.Response, 1, null]); // a server-only frame
    case 6:
      return pack([FrameType.Hello, { protocol: "kubemu-wire", version: 1, name: "again" }]); // second hello
    case 7:
      return Buffer.alloc(MAX_FRAME + 1 + rng.int(100)); // over maxPayload
    default: {
      const b = Buffer.from(validSample);
      b[rng.int(b.length)] = rng.int(256);
      return b;
    }
  }
}

describe("wire fuzz", () => {
  it("survives 10,000+ random and corrupt frames on many connections and still serves", async () => {
    const { server, url } = await startServer({ maxFrameBytes: MAX_FRAME, handshakeTimeoutMs: 2000 });
    server.handle("echo", (p) => p);
    server.handleStream("watch", async (_p, s) => {
      for (let i = 0; i < 20; i++) await s.send(i);
    });
    const rng = new SeededRng(20261122);
    let framesThrown = 0;
    let connections = 0;
    const hello = encodeFrame([FrameType.Hello, { protocol: "kubemu-wire", version: 1, name: "fuzzer" }]);

    const oneConnection = async (corruptRate: number, frames: number): Promise<void> => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      onCleanup(() => ws.terminate());
      const closed = new Promise<void>((r) => ws.once("close", () => r()));
      ws.on("error", () => {});
      await new Promise<void>((resolve, reject) => {
        ws.once("open", () => resolve());
        ws.once("error", reject);
      });
      connections++;
      let done = false;
      ws.on("message", (d) => {
        try {
          const f = decodeFrame(d as Buffer);
          if (f[0] === FrameType.Response && f[1] === 999_999) done = true;
        } catch {
          // the server never sends garbage; decodeFrame would throw only if it did
          throw new Error("server sent an undecodable frame");
        }
      });
      if (rng.chance(0.95)) ws.send(hello);
      for (let i = 0; i < frames; i++) {
        const f = rng.chance(corruptRate) ? corrupt(rng, oddButValid(rng)) : oddButValid(rng);
        ws.send(f);
        framesThrown++;
      }
      ws.send(encodeFrame([FrameType.Request, 999_999, "echo", "done"]));
      framesThrown++;
      const start = Date.now();
      await Promise.race([closed, waitFor(() => done || Date.now() - start > 3000, 5000)]);
      ws.terminate();
      await closed;
    };

    // Mostly-valid long connections and hostile short ones, a few at a time.
    const plan: [number, number][] = [];
    for (let i = 0; i < 30; i++) plan.push([0.002, 300]);
    for (let i = 0; i < 60; i++) plan.push([0.3, 30]);
    for (let i = 0; i < plan.length; i += 6) {
      await Promise.all(plan.slice(i, i + 6).map(([rate, n]) => oneConnection(rate, n)));
    }

    expect(framesThrown).toBeGreaterThanOrEqual(10_000);
    expect(connections).toBe(plan.length);
    expect(server.stats.protocolErrors).toBeGreaterThan(30);
    expect(server.stats.framesReceived).toBeGreaterThan(3000); // many frames really were parsed and served
    await waitFor(() => server.stats.connectionsOpen === 0, 5000, "all fuzz connections closed");

    const client = newClient([url]);
    expect(await client.request("echo", { still: "alive" })).toEqual({ still: "alive" });
    const got: number[] = [];
    for await (const x of client.stream<number>("watch", null)) got.push(x);
    expect(got).toHaveLength(20);
  });

  it("a client facing a server that sends garbage drops that connection and keeps working", async () => {
    const rng = new SeededRng(99);
    const evil = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise((r) => evil.once("listening", r));
    onCleanup(async () => {
      for (const c of evil.clients) c.terminate();
      await new Promise((r) => evil.close(r));
    });
    let evilConnections = 0;
    evil.on("connection", (ws) => {
      evilConnections++;
      ws.once("message", () => {
        ws.send(encodeFrame([FrameType.Welcome, { protocol: "kubemu-wire", version: 1, name: "evil" }]));
        for (let i = 0; i < 50; i++) ws.send(rng.chance(0.5) ? randomBytes(rng, 1 + rng.int(30)) : pack(randomValue(rng)));
      });
    });
    const good = await startServer({ name: "good" });
    good.server.handle("echo", (p) => p);
    const evilUrl = `ws://127.0.0.1:${(evil.address() as { port: number }).port}/`;
    const client = newClient([evilUrl, good.url]);
    await waitFor(() => evilConnections >= 1 && client.state.peer === "good", 5000, "client to move to the good server");
    expect(await client.request("echo", 5, { idempotent: true })).toBe(5);
  });
});
