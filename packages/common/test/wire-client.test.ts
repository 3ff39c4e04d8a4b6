import { describe, expect, it } from "vitest";
import { WebSocketServer, type WebSocket } from "ws";
import { decodeFrame, encodeFrame, FrameType, newNotLeader, reconnectDelay, SeededRng, WireServer } from "@kubemu/common";
import { newClient, onCleanup, rejectionOf, startServer, waitFor } from "./fixtures/wire-helpers.js";

/** A port with nothing listening (bound then released). */
async function deadEndpoint(): Promise<string> {
  const s = new WireServer({ name: "tmp" });
  const { url } = await s.listen({ host: "127.0.0.1", port: 0 });
  await s.close();
  return url;
}

/** A raw ws server that completes the handshake and then never says anything again. */
async function mutePeer(): Promise<{ url: string; sockets: WebSocket[] }> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((r) => wss.once("listening", r));
  const sockets: WebSocket[] = [];
  wss.on("connection", (ws) => {
    sockets.push(ws);
    ws.once("message", () => ws.send(encodeFrame([FrameType.Welcome, { protocol: "kubemu-wire", version: 1, name: "mute" }])));
  });
  onCleanup(async () => {
    for (const s of wss.clients) s.terminate();
    await new Promise((r) => wss.close(r));
  });
  return { url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}/`, sockets };
}

describe("wire client connection management", () => {
  it("reconnect delays grow exponentially with jitter and are capped", () => {
    const rng = new SeededRng(7);
    expect(reconnectDelay(1, 100, 5000, rng)).toBe(0);
    for (let f = 2; f < 12; f++) {
      const base = Math.min(5000, 100 * 2 ** (f - 2));
      const d = reconnectDelay(f, 100, 5000, rng);
      expect(d).toBeGreaterThanOrEqual(base * 0.5);
      expect(d).toBeLessThan(base);
    }
    const a = [2, 3, 4].map((f) => reconnectDelay(f, 100, 5000, new SeededRng(1)));
    const b = [2, 3, 4].map((f) => reconnectDelay(f, 100, 5000, new SeededRng(1)));
    expect(a).toEqual(b);
  });

  it("skips a dead endpoint and fails over when its server goes away", async () => {
    const dead = await deadEndpoint();
    const a = await startServer({ name: "a" });
    const b = await startServer({ name: "b" });
    a.server.handle("who", () => "a");
    b.server.handle("who", () => "b");
    const client = newClient([dead, a.url, b.url], { rng: new SeededRng(3) });
    const events: string[] = [];
    client.on("connected", (e: { peer: string }) => events.push(`+${e.peer}`));
    client.on("disconnected", (e: { peer: string }) => events.push(`-${e.peer}`));
    expect(await client.request("who")).toBe("a");
    await a.server.close();
    await waitFor(() => events.includes("-a"), 2000, "disconnect");
    expect(await client.request("who", null, { timeoutMs: 3000 })).toBe("b");
    expect(events).toEqual(["+a", "-a", "+b"]);
    expect(client.state.peer).toBe("b");
  });

  it("fails in-flight requests with ServiceUnavailable, retries idempotent ones on the next connection", async () => {
    const a = await startServer({ name: "a" });
    const b = await startServer({ name: "b" });
    for (const [s, who] of [[a.server, "a"], [b.server, "b"]] as const) {
      s.handle("hang", (_p, ctx) => new Promise(() => void ctx));
      s.handle("who", async () => who);
    }
    const client = newClient([a.url, b.url]);
    await client.ready();
    // Requests park on "a"; then "a" dies.
    const plain = client.request("hang");
    const idem = client.request("who", null, { idempotent: true, timeoutMs: 5000 });
    const idemHang = client.request("hang", null, { idempotent: true, timeoutMs: 400 });
    await new Promise((r) => setTimeout(r, 30));
    a.server.handle("who", () => new Promise(() => {}));
    const idem2 = client.request("who", null, { idempotent: true, timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 30));
    await a.server.close();
    const e = await rejectionOf(plain);
    expect(e.status.reason).toBe("ServiceUnavailable");
    expect(e.message).toContain("lost");
    expect(await idem).toBe("a"); // answered before the crash
    expect(await idem2).toBe("b"); // re-sent to b
    expect((await rejectionOf(idemHang)).status.reason).toBe("Timeout");
  });

  it("follows a NotLeader redirect to a hinted endpoint that is not in its list", async () => {
    const leader = await startServer({ name: "etcd-1" });
    const follower = await startServer({ name: "etcd-0" });
    leader.server.handle("put", (p: { k: string }) => ({ ok: p.k }));
    follower.server.handle("put", () => {
      throw newNotLeader(leader.url);
    });
    const client = newClient([follower.url]);
    expect(await client.request("put", { k: "x" })).toEqual({ ok: "x" });
    expect(client.state.peer).toBe("etcd-1");
    expect(client.endpoints).toContain(leader.url);
    // Later requests go straight to the leader.
    expect(await client.request("put", { k: "y" })).toEqual({ ok: "y" });
  });

  it("follows a NotLeader redirect when opening a stream", async () => {
    const leader = await startServer({ name: "etcd-1" });
    const follower = await startServer({ name: "etcd-0" });
    leader.server.handleStream("watch", async (_p, s) => {
      for (let i = 0; i < 5; i++) await s.send(i);
    });
    follower.server.handleStream("watch", () => {
      throw newNotLeader(leader.url);
    });
    const client = newClient([follower.url]);
    const got: number[] = [];
    for await (const x of client.stream<number>("watch", null)) got.push(x);
    expect(got).toEqual([0, 1, 2, 3, 4]);
    expect(client.state.peer).toBe("etcd-1");
  });

  it("stops after a bounded number of redirects", async () => {
    const a = await startServer({ name: "a" });
    const b = await startServer({ name: "b" });
    let calls = 0;
    a.server.handle("put", () => {
      calls++;
      throw newNotLeader(b.url);
    });
    b.server.handle("put", () => {
      calls++;
      throw newNotLeader(a.url);
    });
    const client = newClient([a.url], { maxRedirects: 3 });
    const e = await rejectionOf(client.request("put", {}));
    expect(e.status.reason).toBe("NotLeader");
    expect(calls).toBe(4);
    // A NotLeader without a hint is returned as is.
    a.server.handle("put", () => {
      throw newNotLeader();
    });
    b.server.handle("put", () => {
      throw newNotLeader();
    });
    expect((await rejectionOf(client.request("put", {}))).status.reason).toBe("NotLeader");
  });

  it("detects a peer that stops answering within the liveness bound", async () => {
    const mute = await mutePeer();
    const client = newClient([mute.url], { pingIntervalMs: 50, deadAfterMs: 200, backoffInitialMs: 1000 });
    await client.ready();
    const start = Date.now();
    const e = await rejectionOf(client.request("anything", null, { timeoutMs: 5000 }));
    const took = Date.now() - start;
    expect(e.status.reason).toBe("ServiceUnavailable");
    expect(e.message).toMatch(/no frame from peer/);
    expect(took).toBeGreaterThanOrEqual(150);
    expect(took).toBeLessThan(1000);
  });

  it("the server closes connections of clients that go silent", async () => {
    const { server, url } = await startServer({ pingIntervalMs: 50, deadAfterMs: 200 });
    const { WebSocket } = await import("ws");
    const ws = new WebSocket(url);
    onCleanup(() => ws.terminate());
    await new Promise((r) => ws.once("open", r));
    // Say hello, then never answer the server's pings (a SIGSTOPped process looks like this).
    ws.send(encodeFrame([FrameType.Hello, { protocol: "kubemu-wire", version: 1, name: "sleepy" }]));
    const pings: unknown[] = [];
    ws.on("message", (d) => pings.push(decodeFrame(d as Buffer)));
    await waitFor(() => server.stats.connectionsOpen === 1, 2000, "connection");
    const start = Date.now();
    await waitFor(() => server.stats.connectionsOpen === 0, 2000, "liveness close");
    expect(Date.now() - start).toBeLessThan(1000);
    expect(pings.some((p) => (p as number[])[0] === FrameType.Ping)).toBe(true);
  });

  it("queues requests until the first connection is up and reports why it cannot connect", async () => {
    const dead = await deadEndpoint();
    const client = newClient([dead], { backoffInitialMs: 20 });
    const e = await rejectionOf(client.request("x", null, { timeoutMs: 200 }));
    expect(e.status.reason).toBe("Timeout");
    const e2 = await rejectionOf(client.ready(100));
    expect(e2.message).toMatch(/cannot connect|ECONNREFUSED/);
    await client.close();
    expect((await rejectionOf(client.request("x"))).status.reason).toBe("Cancelled");
  });

  it("close() does not wait for a connection attempt to time out", async () => {
    const mute = await import("node:net");
    // A TCP server that accepts and never answers the WebSocket upgrade.
    const sockets: import("node:net").Socket[] = [];
    const tcp = mute.createServer((s) => void sockets.push(s.resume()));
    await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r));
    onCleanup(() => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      tcp.close(() => r());
    }));
    const client = newClient([`ws://127.0.0.1:${(tcp.address() as { port: number }).port}/`], { connectTimeoutMs: 10_000 });
    const pending = client.request("x", null, { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 50));
    const start = Date.now();
    await client.close();
    expect(Date.now() - start).toBeLessThan(500);
    expect((await rejectionOf(pending)).status.reason).toBe("Cancelled");
    // The half-open attempt was abandoned: the server sees the socket close.
    await waitFor(() => sockets.length === 1 && sockets[0]!.destroyed, 2000, "socket closed");
  });

  it("rejects malformed endpoints at construction", () => {
    expect(() => newClient(["http://127.0.0.1:1/"])).toThrow(/invalid wire endpoint/);
    expect(() => newClient([])).toThrow(/at least one endpoint/);
  });
});
