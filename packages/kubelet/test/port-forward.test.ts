/**
 * Port forwarding over one SPDY session (streaming/port-forward.ts) against a real TCP server on
 * loopback 127.1.197.x: stream pairs by requestid, the byte stream split into tiny writes (what
 * kubectl's WebSocket tunnel does), half-closes, a closed port's error text, refused streams,
 * the pair timeout, a malformed frame on one pair, and many pairs at once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer as createHttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { WebSocket } from "ws";
import { Duplex } from "node:stream";
import { silentLogger } from "@kubemu/common";
import { RstStatus } from "../src/streaming/spdy/frames.js";
import { checkStreamHeaders, forwardErrorText, portForwardUpgradeHandler, servePortForward } from "../src/streaming/port-forward.js";
import { parsePortsQuery } from "../src/streaming/port-forward-channels.js";
import { duplexPair, TestSpdyClient } from "./spdy-client.js";

const POD_IP = "127.1.197.2";
const target = { sandboxId: "0f0f-sandbox", podIP: POD_IP };
let echo: Server;
const echoConnections = new Set<Socket>();
let echoPort = 0;
let closedPort = 0;

beforeAll(async () => {
  // Echoes, and ends its side once the client has ended its own (so half-closes can be seen).
  echo = createServer({ allowHalfOpen: true }, (s: Socket) => {
    echoConnections.add(s);
    s.on("close", () => echoConnections.delete(s));
    s.on("data", (d) => s.write(d));
    s.on("end", () => s.end());
  });
  await new Promise<void>((r) => echo.listen(0, POD_IP, r));
  echoPort = (echo.address() as { port: number }).port;
  // A port nothing listens on: bind one, note it, close it.
  const tmp = createServer();
  await new Promise<void>((r) => tmp.listen(0, POD_IP, r));
  closedPort = (tmp.address() as { port: number }).port;
  await new Promise<void>((r) => tmp.close(() => r()));
});

afterAll(async () => {
  for (const s of echoConnections) s.destroy();
  await new Promise<void>((r) => echo.close(() => r()));
});

/** A client end whose writes reach the server a few bytes at a time. */
function trickle(inner: Duplex): Duplex {
  return new Duplex({
    read() {
      inner.resume();
    },
    write(chunk: Buffer, _e, cb) {
      let at = 0;
      let size = 1;
      while (at < chunk.length) {
        inner.write(chunk.subarray(at, at + size));
        at += size;
        size = (size % 7) + 1;
      }
      cb();
    },
    construct(cb) {
      inner.on("data", (d: Buffer) => this.push(d));
      inner.on("end", () => this.push(null));
      cb();
    },
  });
}

function setup(o: { split?: boolean; streamCreationTimeoutMs?: number } = {}) {
  const [server, client] = duplexPair();
  const session = servePortForward(server, { log: silentLogger, target, ...(o.streamCreationTimeoutMs ? { streamCreationTimeoutMs: o.streamCreationTimeoutMs } : {}) });
  return { session, client: new TestSpdyClient(o.split ? trickle(client) : client) };
}

/** kubectl's order for one local connection: error stream (FIN at once), then data stream. */
async function openPair(c: TestSpdyClient, port: number, requestId: string | undefined): Promise<{ error: number; data: number }> {
  const rid: Record<string, string> = requestId === undefined ? {} : { requestid: requestId };
  const error = await c.open({ streamtype: "error", port: String(port), ...rid });
  c.send(error, "", true);
  const data = await c.open({ streamtype: "data", port: String(port), ...rid });
  return { error, data };
}

describe("port forwarding over SPDY", () => {
  it("copies bytes both ways and follows the half-closes, also when every frame arrives split into 1–7 byte pieces", async () => {
    for (const split of [false, true]) {
      const { client } = setup({ split });
      const p = await openPair(client, echoPort, "0");
      await client.until(() => client.replies.has(p.data) && client.replies.has(p.error), "both replies");
      client.send(p.data, "hello through ");
      client.send(p.data, "the tunnel");
      await client.until(() => client.text(p.data) === "hello through the tunnel", "echo");
      client.send(p.data, "", true);
      await client.until(() => client.fins.has(p.data) && client.fins.has(p.error), "FIN on data and error streams");
      expect(client.text(p.error)).toBe("");
    }
  });

  it("a closed port: the error stream carries containerd's text shape, and both streams end", async () => {
    const { client } = setup();
    const p = await openPair(client, closedPort, "0");
    await client.until(() => client.fins.has(p.error), "error stream FIN");
    const text = client.text(p.error);
    expect(text).toBe(forwardErrorText(target, closedPort, Object.assign(new Error("x"), { code: "ECONNREFUSED" })));
    expect(text).toBe(
      `error forwarding port ${closedPort} to pod 0f0f-sandbox, uid : failed to execute portforward in network namespace "host": failed to connect to ${POD_IP}:${closedPort} inside namespace "0f0f-sandbox", IPv4: dial tcp4 ${POD_IP}:${closedPort}: connect: connection refused`,
    );
    await client.until(() => client.fins.has(p.data), "data stream FIN");
  });

  it("refuses streams whose headers upstream refuses, with its reasons", async () => {
    const h = (m: Record<string, string>) => ({ header: (n: string) => m[n] });
    expect(checkStreamHeaders(h({ streamtype: "data" }))).toBe('"port" header is required');
    expect(checkStreamHeaders(h({ port: "http", streamtype: "data" }))).toBe('unable to parse "http" as a port: strconv.ParseUint: parsing "http": invalid syntax');
    expect(checkStreamHeaders(h({ port: "70000", streamtype: "data" }))).toBe('unable to parse "70000" as a port: strconv.ParseUint: parsing "70000": value out of range');
    expect(checkStreamHeaders(h({ port: "0", streamtype: "data" }))).toBe('port "0" must be > 0');
    expect(checkStreamHeaders(h({ port: "80" }))).toBe('"streamType" header is required');
    expect(checkStreamHeaders(h({ port: "80", streamtype: "stdin" }))).toBe('invalid stream type "stdin"');
    const { client } = setup();
    const bad = await client.open({ streamtype: "data", port: "0", requestid: "0" });
    await client.until(() => client.frames.some((f) => f.type === "rst_stream" && f.streamId === bad), "refused");
    expect(client.frames).toContainEqual({ type: "rst_stream", streamId: bad, status: RstStatus.REFUSED_STREAM });
  });

  it("a second error stream for one request is reported on the first; a lone stream times out with upstream's message", async () => {
    const { client } = setup({ streamCreationTimeoutMs: 300 });
    const first = await client.open({ streamtype: "error", port: String(echoPort), requestid: "7" });
    const second = await client.open({ streamtype: "error", port: String(echoPort), requestid: "7" });
    await client.until(() => client.text(first).length > 0, "report on the first error stream");
    expect(client.text(first)).toBe("error processing stream for request 7: error stream already assigned");
    await client.until(() => client.replies.has(second), "the second one is accepted (and left unused, as upstream)");
    // The pair still completes with its data stream.
    const data = await client.open({ streamtype: "data", port: String(echoPort), requestid: "7" });
    client.send(data, "ok");
    await client.until(() => client.text(data) === "ok", "echo");
    const lone = await client.open({ streamtype: "error", port: String(echoPort), requestid: "8" });
    await client.until(() => client.fins.has(lone), "lone error stream ended", 5000);
    expect(client.text(lone)).toMatch(/^\(conn=\d+, request=8\) timed out waiting for streams$/);
  });

  it("pairs streams by id for clients that send no requestid", async () => {
    const { client } = setup();
    const p = await openPair(client, echoPort, undefined);
    client.send(p.data, "old client");
    await client.until(() => client.text(p.data) === "old client", "echo");
  });

  it("a malformed frame on one pair's data stream ends that pair with the reason on its error stream; other pairs go on", async () => {
    const { client } = setup();
    const a = await openPair(client, echoPort, "0");
    const b = await openPair(client, echoPort, "1");
    await client.until(() => client.replies.has(a.data) && client.replies.has(b.data), "replies");
    client.send(a.data, "", true);
    client.send(a.data, "data after FIN");
    await client.until(() => client.frames.some((f) => f.type === "rst_stream" && f.streamId === a.data), "pair a's data stream reset");
    await client.until(() => client.text(a.error).includes("DATA after FIN"), "the reason on pair a's error stream");
    expect(client.text(a.error)).toBe(`error processing stream for request 0: DATA after FIN on stream ${a.data}`);
    client.send(b.data, "still here");
    await client.until(() => client.text(b.data) === "still here", "pair b echoes");
  });

  it("serves 60 pairs at once, each its own connection to the pod", async () => {
    const { client } = setup();
    const pairs = await Promise.all(Array.from({ length: 60 }, (_, i) => openPair(client, echoPort, String(i))));
    pairs.forEach((p, i) => client.send(p.data, `payload ${i} `.repeat(500)));
    await client.until(() => pairs.every((p, i) => client.text(p.data) === `payload ${i} `.repeat(500)), "every echo", 15_000);
  });
});

describe("port forwarding over the WebSocket channel protocols (client-node's)", () => {
  /** A kubelet-like server with the /portForward handler on 127.1.197.1; answers the first messages of a session. */
  async function session(protocol: string, query: string, send: (ws: WebSocket) => void, until: (msgs: { channel: number; data: Buffer }[]) => boolean) {
    const http = createHttpServer();
    http.on("upgrade", portForwardUpgradeHandler({ log: silentLogger, target: () => target }));
    await new Promise<void>((r) => http.listen(0, "127.1.197.1", r));
    const port = (http.address() as { port: number }).port;
    const ws = new WebSocket(`ws://127.1.197.1:${port}/portForward/default/web?${query}`, [protocol]);
    const msgs: { channel: number; data: Buffer }[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        ws.on("open", () => send(ws));
        ws.on("message", (d: Buffer, binary: boolean) => {
          if (binary) msgs.push({ channel: d[0]!, data: d.subarray(1) });
          else msgs.push({ channel: d.toString().charCodeAt(0) - 48, data: Buffer.from(d.toString().slice(1), "base64") });
          if (until(msgs)) resolve();
        });
        ws.on("error", reject);
        setTimeout(() => reject(new Error(`no answer: ${JSON.stringify(msgs.map((m) => [m.channel, m.data.toString()]))}`)), 5000);
      });
    } finally {
      ws.terminate();
      http.close();
    }
    return msgs;
  }
  const text = (msgs: { channel: number; data: Buffer }[], channel: number) => Buffer.concat(msgs.filter((m) => m.channel === channel).map((m) => m.data)).toString("latin1");
  const portLE = (p: number) => Buffer.from([p & 0xff, p >> 8]).toString("latin1");

  it("v4.channel.k8s.io: each channel starts with the port (little-endian), data goes both ways", async () => {
    const msgs = await session("v4.channel.k8s.io", `port=${echoPort}`, (ws) => ws.send(Buffer.concat([Buffer.from([0]), Buffer.from("ping over channels")])), (m) => text(m, 0).endsWith("ping over channels"));
    expect(text(msgs, 0)).toBe(portLE(echoPort) + "ping over channels");
    expect(text(msgs, 1)).toBe(portLE(echoPort));
  });

  it("v4.base64.channel.k8s.io, and a closed port's text on its error channel", async () => {
    const msgs = await session("v4.base64.channel.k8s.io", `port=${echoPort}&port=${closedPort}`, (ws) => ws.send("0" + Buffer.from("b64").toString("base64")), (m) => text(m, 0).endsWith("b64") && text(m, 3).length > 2);
    expect(text(msgs, 0)).toBe(portLE(echoPort) + "b64");
    expect(text(msgs, 3)).toBe(portLE(closedPort) + forwardErrorText(target, closedPort, Object.assign(new Error("x"), { code: "ECONNREFUSED" })));
  });

  it("checks the port query as upstream", () => {
    expect(parsePortsQuery(new URLSearchParams("port=80&port=8080,9090"))).toEqual([80, 8080, 9090]);
    expect(parsePortsQuery(new URLSearchParams(""))).toBe('query parameter "port" is required');
    expect(parsePortsQuery(new URLSearchParams("port="))).toBe('query parameter "port" cannot be empty');
    expect(parsePortsQuery(new URLSearchParams("port=0"))).toBe('port "0" must be > 0');
    expect(parsePortsQuery(new URLSearchParams("port=x"))).toBe('unable to parse "x" as a port: strconv.ParseUint: parsing "x": invalid syntax');
  });
});
