import { describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import {
  CloseCode,
  decodeFrame,
  encodeFrame,
  FrameType,
  newConflict,
  newInvalid,
  StatusError,
  type Status,
} from "@kubemu/common";
import { newClient, rejectionOf, startServer, waitFor } from "./fixtures/wire-helpers.js";

describe("wire request/response", () => {
  it("answers requests and reports peer names from the handshake", async () => {
    const { server, url } = await startServer({ name: "etcd-0" });
    const peers: string[] = [];
    server.handle<{ a: number; b: number }, number>("add", (p, ctx) => {
      peers.push(ctx.peer);
      return p.a + p.b;
    });
    server.handle("echo", async (p) => p);
    const client = newClient([url], { name: "apiserver-0" });
    expect(await client.request("add", { a: 2, b: 3 })).toBe(5);
    const payload = { s: "x".repeat(1000), n: [1, 2.5, -3], nested: { ok: true, nil: null }, bin: new Uint8Array([1, 2, 3]) };
    // msgpack bin comes back as a Buffer (a Uint8Array).
    expect(await client.request("echo", payload)).toEqual({ ...payload, bin: Buffer.from([1, 2, 3]) });
    expect(peers).toEqual(["apiserver-0"]);
    expect(client.state).toEqual({ connected: true, endpoint: url, peer: "etcd-0" });
  });

  it("handles many concurrent requests on one connection", async () => {
    const { server, url } = await startServer();
    server.handle<number, number>("double", async (n) => {
      await new Promise((r) => setTimeout(r, n % 7));
      return n * 2;
    });
    const client = newClient([url]);
    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => client.request<number>("double", i)));
    expect(results).toEqual(Array.from({ length: 500 }, (_, i) => i * 2));
  });

  it("round-trips StatusErrors with code, reason, message and details", async () => {
    const { server, url } = await startServer();
    const conflict = newConflict({ group: "apps", resource: "deployments" }, "web", "the object has been modified");
    const invalid = newInvalid("Pod", "p", [{ field: "spec.containers[0].image", message: "Required value", reason: "FieldValueRequired" }]);
    server.handle("conflict", () => {
      throw conflict;
    });
    server.handle("invalid", async () => {
      throw invalid;
    });
    server.handle("plain", async () => {
      throw new Error("disk on fire");
    });
    server.handle("weird", () => {
      throw 42;
    });
    const client = newClient([url]);
    const e1 = await rejectionOf(client.request("conflict"));
    expect(e1).toBeInstanceOf(StatusError);
    expect(e1.status).toEqual(conflict.status);
    const e2 = await rejectionOf(client.request("invalid"));
    expect(e2.status).toEqual(invalid.status);
    expect(e2.status.details.causes[0].field).toBe("spec.containers[0].image");
    const e3 = await rejectionOf(client.request("plain"));
    expect(e3.status).toMatchObject({ reason: "InternalError", code: 500 });
    expect(e3.message).toContain("disk on fire");
    const e4 = await rejectionOf(client.request("weird"));
    expect(e4.status).toMatchObject({ reason: "InternalError", code: 500 });
  });

  it("answers an unknown method with NotFound and a wrong-kind call with BadRequest", async () => {
    const { server, url } = await startServer();
    server.handleStream("watch", async () => {});
    const client = newClient([url]);
    const e = await rejectionOf(client.request("nope", {}));
    expect(e.status).toMatchObject({ reason: "NotFound", code: 404 });
    expect(e.message).toContain('"nope"');
    const e2 = await rejectionOf(client.request("watch", {}));
    expect(e2.status).toMatchObject({ reason: "BadRequest", code: 400 });
  });

  it("times out a slow request and aborts the handler's signal", async () => {
    const { server, url } = await startServer();
    let handlerAborted: unknown;
    server.handle("slow", (_p, ctx) => new Promise((resolve) => ctx.signal.addEventListener("abort", () => {
      handlerAborted = ctx.signal.reason;
      resolve("late");
    })));
    const client = newClient([url]);
    const started = Date.now();
    const e = await rejectionOf(client.request("slow", null, { timeoutMs: 150 }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(e.status).toMatchObject({ reason: "Timeout", code: 504 });
    await waitFor(() => handlerAborted !== undefined, 2000, "handler abort");
    expect((handlerAborted as StatusError).reason).toBe("Cancelled");
  });

  it("cancels a request through an AbortSignal and the server sees its signal abort", async () => {
    const { server, url } = await startServer();
    let started = false;
    let aborted = false;
    server.handle("wait", (_p, ctx) => {
      started = true;
      return new Promise((_, reject) => ctx.signal.addEventListener("abort", () => {
        aborted = true;
        reject(ctx.signal.reason);
      }));
    });
    const client = newClient([url]);
    const ac = new AbortController();
    const p = client.request("wait", null, { signal: ac.signal });
    await waitFor(() => started, 2000, "handler start");
    ac.abort();
    const e = await rejectionOf(p);
    expect(e.status.reason).toBe("Cancelled");
    await waitFor(() => aborted, 2000, "server abort");
    // The connection is still fine.
    server.handle("ping", () => "pong");
    expect(await client.request("ping")).toBe("pong");
  });

  it("an already-aborted signal rejects at once", async () => {
    const { url } = await startServer();
    const client = newClient([url]);
    const e = await rejectionOf(client.request("x", null, { signal: AbortSignal.abort() }));
    expect(e.status.reason).toBe("Cancelled");
  });

  it("answers an oversized response with RequestEntityTooLarge and keeps the connection", async () => {
    const { server, url } = await startServer({ maxFrameBytes: 64 * 1024 });
    server.handle("big", () => "y".repeat(100 * 1024));
    server.handle("small", () => "ok");
    const client = newClient([url], { maxFrameBytes: 64 * 1024 });
    let disconnects = 0;
    client.on("disconnected", () => disconnects++);
    const e = await rejectionOf(client.request("big"));
    expect(e.status).toMatchObject({ reason: "RequestEntityTooLarge", code: 413 });
    // An oversized request is refused locally the same way.
    const e2 = await rejectionOf(client.request("small", "z".repeat(100 * 1024)));
    expect(e2.status.reason).toBe("RequestEntityTooLarge");
    expect(await client.request("small")).toBe("ok");
    expect(disconnects).toBe(0);
  });
});

describe("wire handshake and bad frames", () => {
  const rawConnect = async (url: string) => {
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    const frames: unknown[] = [];
    ws.on("message", (d) => frames.push(decodeFrame(d as Buffer)));
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.once("close", (code, reason) => r({ code, reason: reason.toString() })));
    return { ws, frames, closed };
  };

  it("rejects an incompatible version with a clear reason", async () => {
    const { url } = await startServer({ name: "etcd-1" });
    const { ws, frames, closed } = await rawConnect(url);
    ws.send(encodeFrame([FrameType.Hello, { protocol: "kubemu-wire", version: 2, name: "future" }]));
    const c = await closed;
    expect(c.code).toBe(CloseCode.HandshakeRejected);
    expect(c.reason).toContain("version 2");
    const reject = frames[0] as [number, Status];
    expect(reject[0]).toBe(FrameType.Reject);
    expect(reject[1].message).toMatch(/incompatible kubemu-wire version 2 .*version 1/);
  });

  it("answers a good hello with the server's name", async () => {
    const { url } = await startServer({ name: "etcd-2" });
    const { ws, frames } = await rawConnect(url);
    ws.send(encodeFrame([FrameType.Hello, { protocol: "kubemu-wire", version: 1, name: "raw" }]));
    await waitFor(() => frames.length > 0);
    expect(frames[0]).toEqual([FrameType.Welcome, { protocol: "kubemu-wire", version: 1, name: "etcd-2" }]);
    ws.close();
  });

  it("a client facing an incompatible server reports why", async () => {
    const { WebSocketServer } = await import("ws");
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise((r) => wss.once("listening", r));
    wss.on("connection", (ws) => ws.on("message", () => ws.send(encodeFrame([FrameType.Welcome, { protocol: "kubemu-wire", version: 9, name: "odd" }]))));
    try {
      const port = (wss.address() as { port: number }).port;
      const client = newClient([`ws://127.0.0.1:${port}/`]);
      const errors: StatusError[] = [];
      client.on("connectError", (e: { error: StatusError }) => errors.push(e.error));
      const e = await rejectionOf(client.request("x", null, { timeoutMs: 300 }));
      expect(e.status.reason).toBe("Timeout");
      expect(errors[0]?.message).toContain("version 9");
    } finally {
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
    }
  });

  it("closes only the offending connection on malformed frames", async () => {
    const { server, url } = await startServer({ maxFrameBytes: 1024 });
    server.handle("ok", () => "ok");
    const client = newClient([url], { maxFrameBytes: 1024 });
    expect(await client.request("ok")).toBe("ok");

    const hello = encodeFrame([FrameType.Hello, { protocol: "kubemu-wire", version: 1, name: "bad" }]);
    const cases: [string, (ws: WebSocket) => void, number][] = [
      ["garbage bytes", (ws) => ws.send(Buffer.from([0xc1, 0xff, 0x00])), CloseCode.InvalidPayload],
      ["text frame", (ws) => ws.send("hello"), CloseCode.UnsupportedData],
      ["not an array", (ws) => ws.send(encodeFrame({ t: 1 } as never)), CloseCode.ProtocolError],
      ["request before hello", (ws) => ws.send(encodeFrame([FrameType.Request, 1, "ok", null])), CloseCode.ProtocolError],
      ["server-only frame", (ws) => { ws.send(hello); ws.send(encodeFrame([FrameType.Response, 1, null])); }, CloseCode.ProtocolError],
      ["oversized", (ws) => { ws.send(hello); ws.send(Buffer.alloc(4096)); }, CloseCode.MessageTooBig],
    ];
    for (const [what, act, code] of cases) {
      const { ws, closed } = await rawConnect(url);
      act(ws);
      const c = await closed;
      expect({ what, code: c.code }).toEqual({ what, code });
    }
    expect(await client.request("ok")).toBe("ok");
    expect(server.stats.protocolErrors).toBeGreaterThanOrEqual(cases.length);
  });
});

describe("wire server on a shared http.Server", () => {
  it("serves wire on one path next to plain HTTP, the control endpoint and other upgrades", async () => {
    const { createServer } = await import("node:http");
    const { WebSocketServer } = await import("ws");
    const { FaultInjector, handleControlRequest, WireServer } = await import("@kubemu/common");
    const faults = new FaultInjector();
    const http = createServer((req, res) => {
      if (handleControlRequest(req, res, { faults, status: () => ({ name: "apiserver-0", pid: process.pid }) })) return;
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    });
    // Another WebSocket service (think kubectl exec) on a different path of the same port.
    const other = new WebSocketServer({ noServer: true });
    http.on("upgrade", (req, socket, head) => {
      if (req.url === "/exec") other.handleUpgrade(req, socket, head, (ws) => ws.send("exec here"));
    });
    const wire = new WireServer({ name: "apiserver-0" });
    wire.handle("get", () => "from wire");
    wire.attach(http, { path: "/wire" });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    try {
      const port = (http.address() as { port: number }).port;
      const client = newClient([`ws://127.0.0.1:${port}/wire`]);
      expect(await client.request("get")).toBe("from wire");
      expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).text()).toBe("ok");
      expect(((await (await fetch(`http://127.0.0.1:${port}/kubemu/status`)).json()) as { name: string }).name).toBe("apiserver-0");
      const ws = new WebSocket(`ws://127.0.0.1:${port}/exec`);
      const msg = await new Promise<string>((r) => ws.once("message", (d) => r(d.toString())));
      expect(msg).toBe("exec here");
      ws.close();
      await client.close();
      await wire.close();
      // After close, the wire path no longer answers but the host server still does.
      expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).text()).toBe("ok");
    } finally {
      await wire.close();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
      other.close();
    }
  });
});

describe("wire notify (one-way requests)", () => {
  it("runs the handler in order with no reply; failures and unknown methods leave the connection up", async () => {
    const { server, url } = await startServer({ name: "etcd-0" });
    const seen: number[] = [];
    server.handle<number, void>("push", (n, ctx) => {
      expect(ctx.peer).toBe("etcd-1");
      seen.push(n);
    });
    server.handle("fails", () => {
      throw new Error("bad message");
    });
    server.handle("add", (p: { a: number; b: number }) => p.a + p.b);
    const client = newClient([url], { name: "etcd-1" });
    expect(client.notify("push", 0)).toBe(false); // not connected yet: nothing is queued
    await client.ready();
    for (let i = 1; i <= 100; i++) expect(client.notify("push", i)).toBe(true);
    expect(client.notify("fails", {})).toBe(true);
    expect(client.notify("no.such.method", {})).toBe(true);
    expect(await client.request("add", { a: 1, b: 2 })).toBe(3); // same connection, still serving
    await waitFor(() => seen.length === 100);
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it("refuses to queue behind a backlog and refuses frames over the size limit", async () => {
    const { server, url } = await startServer();
    server.handle("sink", () => undefined);
    const client = newClient([url], { maxFrameBytes: 64 * 1024 });
    await client.ready();
    expect(client.notify("sink", "x".repeat(100 * 1024))).toBe(false);
    let refused = false;
    for (let i = 0; i < 200 && !refused; i++) refused = !client.notify("sink", "y".repeat(60 * 1024), { maxBufferedBytes: 256 * 1024 });
    expect(refused).toBe(true);
  });
});
