/**
 * The streaming connections' limits: --streaming-connection-idle-timeout on virtual time (the
 * timer itself, the SPDY session's resets and GOAWAY, the WebSocket's close), the output budget
 * that stops reading a command whose client reads nothing (a real `yes` behind a real WebSocket
 * whose client never reads), attach's hold on the container's output while a session is full,
 * and a tty exec's burst of resizes ending at the last size.
 * Listens on 127.6.0.1 only.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from "node:net";
import { Duplex, PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { FakeClock, silentLogger } from "@kubemu/common";
import { ContainerIO } from "../src/runtime/container-io.js";
import { webSocketStreams, type RemoteCommandStreams, type TerminalSize } from "../src/streaming/channels.js";
import { execUpgradeHandler, runExec } from "../src/streaming/exec.js";
import { IdleTimeout } from "../src/streaming/idle-timeout.js";
import { OUTPUT_HIGH_WATER, OutputBudget } from "../src/streaming/output-budget.js";
import { serveChannelPortForward } from "../src/streaming/port-forward-channels.js";
import { acceptSpdyRemoteCommand } from "../src/streaming/remote-command-spdy.js";
import { RstStatus } from "../src/streaming/spdy/frames.js";
import { duplexPair, TestSpdyClient } from "./spdy-client.js";

const HOST = "127.6.0.1";
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0).reverse()) f();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, HOST, () => resolve((server.address() as AddressInfo).port)));
}

describe("IdleTimeout", () => {
  it("fires once nothing happened for the whole timeout, each touch moving the deadline; 0 never fires", () => {
    const clock = new FakeClock();
    let fired = 0;
    const idle = new IdleTimeout({ timeoutMs: 2000, clock }, () => fired++);
    clock.advance(1500);
    idle.touch();
    clock.advance(1999);
    expect(fired).toBe(0);
    clock.advance(1);
    expect(fired).toBe(1);
    clock.advance(10_000);
    expect(fired).toBe(1);
    expect(clock.pending()).toBe(0);

    const never = new IdleTimeout({ timeoutMs: 0, clock }, () => fired++);
    clock.advance(100 * 3600_000);
    never.touch();
    expect(fired).toBe(1);
    expect(clock.pending()).toBe(0);

    const stopped = new IdleTimeout({ timeoutMs: 1000, clock }, () => fired++);
    stopped.stop();
    clock.advance(5000);
    expect(fired).toBe(1);
  });
});

/** The client end with the HTTP 101 head taken off. */
function afterHead(inner: Duplex): Duplex {
  let head = "";
  let inBody = false;
  const socket = new Duplex({
    read() {
      inner.resume();
    },
    write(chunk, _e, cb) {
      inner.write(chunk, cb);
    },
  });
  inner.on("data", (d: Buffer) => {
    if (inBody) {
      if (!socket.push(d)) inner.pause();
      return;
    }
    head += d.toString("latin1");
    const end = head.indexOf("\r\n\r\n");
    if (end < 0) return;
    inBody = true;
    const rest = Buffer.from(head.slice(end + 4), "latin1");
    if (rest.length) socket.push(rest);
  });
  inner.on("end", () => socket.push(null));
  return socket;
}

const v4Request = { headersDistinct: { "x-stream-protocol-version": ["v4.channel.k8s.io"] } } as unknown as IncomingMessage;

async function spdySession(clock?: FakeClock) {
  const [server, raw] = duplexPair();
  let streams: RemoteCommandStreams | undefined;
  acceptSpdyRemoteCommand(v4Request, server, Buffer.alloc(0), { stdin: false, stdout: true, stderr: false, tty: false }, silentLogger, (s) => (streams = s), clock ? { idle: { timeoutMs: 2000, clock } } : {});
  const client = new TestSpdyClient(afterHead(raw));
  const error = await client.open({ streamtype: "error" });
  const stdout = await client.open({ streamtype: "stdout" });
  await client.until(() => streams !== undefined, "session ready");
  return { client, raw, server, error, stdout, streams: streams! };
}

describe("--streaming-connection-idle-timeout", () => {
  it("SPDY: traffic keeps the connection; idle for the timeout every stream is reset (CANCEL), then GOAWAY, and the session ends", async () => {
    const clock = new FakeClock();
    const t = await spdySession(clock);
    let closed = false;
    t.streams.onClose(() => (closed = true));
    clock.advance(1500);
    t.client.ping(1);
    await t.client.until(() => t.client.frames.some((f) => f.type === "ping"), "PING echo");
    clock.advance(1999);
    await sleep(20);
    expect(t.client.frames.some((f) => f.type === "goaway")).toBe(false);
    clock.advance(1);
    await t.client.until(() => t.client.frames.some((f) => f.type === "goaway"), "GOAWAY");
    const resets = t.client.frames.filter((f) => f.type === "rst_stream");
    expect(resets.map((f) => f.type === "rst_stream" && [f.streamId, f.status]).sort()).toEqual([
      [t.error, RstStatus.CANCEL],
      [t.stdout, RstStatus.CANCEL],
    ]);
    const goaway = t.client.frames.findIndex((f) => f.type === "goaway");
    expect(t.client.frames.findIndex((f) => f.type === "rst_stream")).toBeLessThan(goaway);
    await until(() => closed, "the session's close");
  });

  it("WebSocket: idle for the timeout the connection is closed (1000) without a Status; messages either way keep it", async () => {
    const clock = new FakeClock();
    const wss = new WebSocketServer({ host: HOST, port: 0, handleProtocols: () => "v5.channel.k8s.io" });
    cleanup.push(() => wss.close());
    await new Promise((r) => wss.once("listening", r));
    let server: RemoteCommandStreams | undefined;
    let serverClosed = false;
    wss.on("connection", (ws) => {
      server = webSocketStreams(ws, { idle: { timeoutMs: 2000, clock } });
      server.onClose(() => (serverClosed = true));
    });
    const ws = new WebSocket(`ws://${HOST}:${(wss.address() as AddressInfo).port}`, ["v5.channel.k8s.io"]);
    cleanup.push(() => ws.terminate());
    const got: Buffer[] = [];
    ws.on("message", (d: Buffer) => got.push(d));
    const closeCode = new Promise<number>((r) => ws.once("close", (code) => r(code)));
    await until(() => server !== undefined && ws.readyState === ws.OPEN, "connected");
    clock.advance(1500);
    ws.send(Buffer.from([0, 0x61]));
    await sleep(50);
    clock.advance(1000);
    server!.stdout(Buffer.from("out"));
    await until(() => got.length === 1, "stdout");
    clock.advance(1999);
    await sleep(50);
    expect(ws.readyState).toBe(ws.OPEN);
    clock.advance(1);
    expect(await closeCode).toBe(1000);
    expect(got.map((d) => d[0])).toEqual([1]);
    await until(() => serverClosed, "the session's close");
  });
});

describe("--streaming-connection-idle-timeout on port forwarding's WebSocket channel protocols", () => {
  it("the connection is cut (no close frame, as wsstream's deadline) once nothing went either way for the timeout", async () => {
    const clock = new FakeClock();
    const pod = createTcpServer((s) => s.on("data", (d) => s.write(d)));
    cleanup.push(() => pod.close());
    await new Promise<void>((r) => pod.listen(0, HOST, () => r()));
    const podPort = (pod.address() as AddressInfo).port;
    const wss = new WebSocketServer({ host: HOST, port: 0, handleProtocols: () => "v4.channel.k8s.io" });
    cleanup.push(() => wss.close());
    await new Promise((r) => wss.once("listening", r));
    wss.on("connection", (ws) => serveChannelPortForward(ws, [podPort], { target: { sandboxId: "s", podIP: HOST }, log: silentLogger, idle: { timeoutMs: 2000, clock } }));
    const ws = new WebSocket(`ws://${HOST}:${(wss.address() as AddressInfo).port}`, ["v4.channel.k8s.io"]);
    cleanup.push(() => ws.terminate());
    let echoed = "";
    ws.on("message", (d: Buffer) => d[0] === 0 && (echoed += d.subarray(1).toString("latin1")));
    const closeCode = new Promise<number>((r) => ws.once("close", (code) => r(code)));
    await until(() => ws.readyState === ws.OPEN, "connected");
    clock.advance(1500);
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from("hi")]));
    await until(() => echoed.endsWith("hi"), "the echo");
    clock.advance(1999);
    await sleep(50);
    expect(ws.readyState).toBe(ws.OPEN);
    clock.advance(1);
    expect(await closeCode).toBe(1006);
  });
});

describe("output budget", () => {
  it("false past the high-water mark; drain listeners once back at the low-water mark", () => {
    const b = new OutputBudget(100, 25);
    let drains = 0;
    b.onDrain(() => drains++);
    expect(b.add(100)).toBe(true);
    expect(b.add(1)).toBe(false);
    expect(b.add(50)).toBe(false);
    b.done(100);
    expect(drains).toBe(0);
    b.done(26);
    expect(drains).toBe(1);
    expect(b.queued).toBe(25);
    expect(b.peak).toBe(151);
    expect(b.add(10)).toBe(true);
  });

  it("SPDY: output the client does not read counts against the budget; it drains when the client reads again", async () => {
    const t = await spdySession();
    t.client.socket.pause();
    const chunk = Buffer.alloc(64 * 1024, 0x79);
    let writes = 0;
    while (t.streams.stdout(chunk)) if (++writes > 1000) break;
    expect(writes).toBeLessThan(Math.ceil(OUTPUT_HIGH_WATER / chunk.length) + 4);
    let drained = false;
    t.streams.onDrain(() => (drained = true));
    await sleep(100);
    expect(drained).toBe(false);
    t.client.socket.resume();
    await until(() => drained, "drain");
    await t.client.until(() => t.client.bytes(t.stdout) >= (writes + 1) * chunk.length, "all the output");
  });
});

/** An HTTP server with the kubelet's /exec/ handler running commands on the host. */
async function execServer(): Promise<{ port: number; serverSockets: Socket[] }> {
  const serverSockets: Socket[] = [];
  const handler = execUpgradeHandler({ target: () => ({ pid: undefined, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } }) });
  const server = createServer();
  server.on("upgrade", (req, socket: Socket, head) => {
    serverSockets.push(socket);
    handler(req, socket, head);
  });
  cleanup.push(() => {
    serverSockets.forEach((s) => s.destroy());
    server.close();
  });
  return { port: await listen(server), serverSockets };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("exec backpressure", () => {
  it("a client that reads nothing: `yes` is stopped at its pipe and the kubelet holds about the budget, not what yes could write; reading again resumes it", async () => {
    const { port, serverSockets } = await execServer();
    // A raw WebSocket client, so that not reading is TCP not reading.
    const client = connect({ host: HOST, port });
    cleanup.push(() => client.destroy());
    client.write(
      `GET /exec/ns/pod/c?command=yes&stdout=true HTTP/1.1\r\nHost: ${HOST}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n`,
    );
    let received = 0;
    client.on("data", (d: Buffer) => (received += d.length));
    await until(() => received > 64 * 1024, "yes's first output");
    client.pause();
    const server = serverSockets[0]!;
    // yes writes far more than the budget in this time (hundreds of MB/s); only the budget plus
    // a pipe read or two may wait in the kubelet's socket.
    let most = 0;
    for (let i = 0; i < 20; i++) {
      await sleep(50);
      most = Math.max(most, server.writableLength);
    }
    expect(most).toBeLessThan(OUTPUT_HIGH_WATER + 512 * 1024);
    const yesPid = await pidOf("yes");
    expect(yesPid).toBeGreaterThan(0);
    const before = received;
    client.resume();
    await until(() => received > before + 8 * OUTPUT_HIGH_WATER, "more output once the client reads again", 10_000);
    client.destroy();
    await until(() => !alive(yesPid), "yes killed with the session");
  }, 20_000);
});

/** The pid of a child of this process running `name` (for the kill check), or 0. */
async function pidOf(name: string): Promise<number> {
  const out = await new Promise<string>((resolve) => {
    let s = "";
    const ps = spawn("ps", ["-o", "pid=,comm=", "--ppid", String(process.pid)]);
    ps.stdout.on("data", (d: Buffer) => (s += d.toString()));
    ps.on("close", () => resolve(s));
    ps.on("error", () => resolve(""));
  });
  const line = out.split("\n").find((l) => l.trim().endsWith(` ${name}`));
  return line ? Number(line.trim().split(/\s+/)[0]) : 0;
}

describe("attach backpressure", () => {
  function sink(room: { full: boolean }) {
    const got: string[] = [];
    return { got, sink: { output: (_s: "stdout" | "stderr", d: Buffer) => (got.push(d.toString()), !room.full), ended: () => undefined } };
  }

  it("a full session pauses the container's pipes (log included, as containerd's writer group) until every full session drained or left", () => {
    const out = new PassThrough();
    const err = new PassThrough();
    const io = new ContainerIO(undefined, false, false, () => undefined, [out, err]);
    out.resume();
    err.resume();
    const ra = { full: false };
    const rb = { full: false };
    const a = sink(ra);
    const b = sink(rb);
    const sa = io.attach(a.sink, false);
    const sb = io.attach(b.sink, false);
    io.emit("stdout", Buffer.from("1"));
    expect(out.isPaused()).toBe(false);
    ra.full = true;
    rb.full = true;
    io.emit("stdout", Buffer.from("2"));
    expect(out.isPaused() && err.isPaused()).toBe(true);
    expect(io.holding).toBe(2);
    sa.drained();
    expect(out.isPaused()).toBe(true);
    sb.detach();
    expect(out.isPaused() || err.isPaused()).toBe(false);
    expect(a.got).toEqual(["1", "2"]);
  });
});

describe("tty exec resizes", () => {
  it("a burst of resizes right after the start ends at the last size (`stty size`), each stty taking its own time", async () => {
    // The kubelet's stty (on its own PATH) made slow by a random 0-40 ms, as on a loaded node, so
    // resizes run side by side would finish out of order; the shell in the session keeps the real one.
    const realPath = process.env.PATH ?? "/usr/bin:/bin";
    const shim = mkdtempSync(join(tmpdir(), "kubemu-stty-"));
    const realStty = execFileSync("sh", ["-c", "command -v stty"], { encoding: "utf8" }).trim();
    writeFileSync(join(shim, "stty"), `#!/bin/sh\ncase "$1" in -F) sleep 0.0$(( $(od -An -N1 -tu1 /dev/urandom) % 5 ));; esac\nexec ${realStty} "$@"\n`, { mode: 0o755 });
    process.env.PATH = `${shim}:${realPath}`;
    cleanup.push(() => {
      process.env.PATH = realPath;
      rmSync(shim, { recursive: true, force: true });
    });
    const h = { stdin: [] as ((d: Buffer) => void)[], resize: [] as ((s: TerminalSize) => void)[], close: [] as (() => void)[] };
    let out = "";
    let status: Record<string, unknown> | undefined;
    const streams: RemoteCommandStreams = {
      onStdin: (cb) => h.stdin.push(cb),
      onStdinClose: () => undefined,
      onResize: (cb) => h.resize.push(cb),
      onClose: (cb) => h.close.push(cb),
      stdout: (d) => ((out += d.toString()), true),
      stderr: () => true,
      onDrain: () => undefined,
      output: new OutputBudget(),
      finish: (s) => (status = s),
    };
    cleanup.push(() => h.close.forEach((cb) => cb()));
    runExec(streams, ["sh"], { pid: undefined, env: { PATH: realPath, PS1: "$ " } }, { stdin: true, stdout: true, stderr: false, tty: true });
    const resize = (s: TerminalSize) => h.resize.forEach((cb) => cb(s));
    resize({ width: 80, height: 24 });
    for (let i = 1; i <= 40; i++) resize({ width: 100 + i, height: 20 + i });
    await sleep(4000);
    h.stdin.forEach((cb) => cb(Buffer.from("stty size; exit 3\n")));
    await until(() => status !== undefined, "the shell's exit", 10_000);
    expect(out).toMatch(/\b60 140\r?\n/);
    expect(status).toMatchObject({ reason: "NonZeroExitCode" });
  }, 20_000);
});
