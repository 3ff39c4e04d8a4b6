/**
 * exec/attach's SPDY carrier (streaming/remote-command-spdy.ts): the 101 with the negotiated
 * protocol, waiting for every stream the request asked for, stdin and its FIN, resize lines,
 * and the end — output FIN, then the Status on the error stream, then GOAWAY.
 */
import type { IncomingMessage } from "node:http";
import { Duplex } from "node:stream";
import { describe, expect, it } from "vitest";
import { silentLogger } from "@kubemu/common";
import type { RemoteCommandStreams, TerminalSize } from "../src/streaming/channels.js";
import { acceptSpdyRemoteCommand, expectedStreams } from "../src/streaming/remote-command-spdy.js";
import { duplexPair, TestSpdyClient } from "./spdy-client.js";

const request = (protocols: string[]) => ({ headersDistinct: { "x-stream-protocol-version": protocols } }) as unknown as IncomingMessage;

/** The client end with the HTTP 101 head taken off (kept in head()). */
function afterHead(inner: Duplex): { socket: Duplex; head: () => string } {
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
    if (inBody) return void socket.push(d);
    head += d.toString("latin1");
    const end = head.indexOf("\r\n\r\n");
    if (end < 0) return;
    inBody = true;
    const rest = Buffer.from(head.slice(end + 4), "latin1");
    head = head.slice(0, end + 4);
    if (rest.length) socket.push(rest);
  });
  inner.on("end", () => socket.push(null));
  return { socket, head: () => head };
}

function setup(protocols: string[], flags: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }) {
  const [server, client] = duplexPair();
  let streams: RemoteCommandStreams | undefined;
  acceptSpdyRemoteCommand(request(protocols), server, Buffer.alloc(0), flags, silentLogger, (s) => (streams = s));
  const end = afterHead(client);
  return { client: new TestSpdyClient(end.socket), head: end.head, streams: () => streams, server };
}

describe("exec/attach over SPDY", () => {
  it("counts the streams as upstream: error, then stdin/stdout/stderr as asked, stderr dropped and resize added with a tty", () => {
    expect(expectedStreams({ stdin: false, stdout: true, stderr: true, tty: false })).toEqual(["error", "stdout", "stderr"]);
    expect(expectedStreams({ stdin: true, stdout: true, stderr: true, tty: true })).toEqual(["error", "stdin", "stdout", "resize"]);
  });

  it("answers 101 with the first protocol the client offers that is served, or 403 in upstream's words", () => {
    const ok = setup(["v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io"], { stdin: false, stdout: true, stderr: false, tty: false });
    return new Promise<void>((resolve) => {
      setTimeout(() => {
        expect(ok.head()).toBe("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v5.channel.k8s.io\r\n\r\n");
        const [server, client] = duplexPair();
        let answer = "";
        client.on("data", (d: Buffer) => (answer += d.toString()));
        acceptSpdyRemoteCommand(request(["v2.channel.k8s.io"]), server, Buffer.alloc(0), { stdin: false, stdout: true, stderr: false, tty: false }, silentLogger, () => undefined);
        setTimeout(() => {
          expect(answer).toMatch(/^HTTP\/1.1 403 Forbidden\r\n/);
          expect(answer).toContain("unable to upgrade: unable to negotiate protocol: client supports [v2.channel.k8s.io], server accepts [v5.channel.k8s.io v4.channel.k8s.io]");
          resolve();
        }, 50);
      }, 50);
    });
  });

  it("starts once every asked-for stream is open; carries stdin, its FIN, resize lines; ends with output FIN, the Status, GOAWAY", async () => {
    const t = setup(["v4.channel.k8s.io"], { stdin: true, stdout: true, stderr: false, tty: true });
    const error = await t.client.open({ streamtype: "error" });
    const stdin = await t.client.open({ streamtype: "stdin" });
    const stdout = await t.client.open({ streamtype: "stdout" });
    await new Promise((r) => setTimeout(r, 50));
    expect(t.streams()).toBeUndefined();
    const bogus = await t.client.open({ streamtype: "stderr" });
    await t.client.until(() => t.client.frames.some((f) => f.type === "rst_stream" && f.streamId === bogus), "stderr refused (a tty has none)");
    const resize = await t.client.open({ streamtype: "resize" });
    await t.client.until(() => t.streams() !== undefined, "session ready");
    const s = t.streams()!;
    const input: string[] = [];
    const sizes: TerminalSize[] = [];
    let stdinClosed = false;
    s.onStdin((d) => input.push(d.toString()));
    s.onStdinClose(() => (stdinClosed = true));
    s.onResize((size) => sizes.push(size));
    t.client.send(resize, '{"Width":80,"Height":2');
    t.client.send(resize, '4}\n{"Width":100,"Height":30}\nnot json\n');
    t.client.send(stdin, "typed");
    t.client.send(stdin, "", true);
    await t.client.until(() => stdinClosed && sizes.length === 2, "stdin and resizes");
    expect(input.join("")).toBe("typed");
    expect(sizes).toEqual([
      { width: 80, height: 24 },
      { width: 100, height: 30 },
    ]);
    s.stdout(Buffer.from("output"));
    s.finish({ metadata: {}, status: "Success" });
    await t.client.until(() => t.client.frames.some((f) => f.type === "goaway"), "GOAWAY");
    expect(t.client.text(stdout)).toBe("output");
    expect(t.client.text(error)).toBe('{"metadata":{},"status":"Success"}');
    // Order on the wire: stdout's FIN before the Status, the Status before GOAWAY.
    const at = (pred: (f: (typeof t.client.frames)[number]) => boolean) => t.client.frames.findIndex(pred);
    const stdoutFin = at((f) => f.type === "data" && f.streamId === stdout && f.fin);
    const status = at((f) => f.type === "data" && f.streamId === error && f.data.length > 0);
    expect(stdoutFin).toBeGreaterThan(-1);
    expect(stdoutFin).toBeLessThan(status);
    expect(status).toBeLessThan(at((f) => f.type === "goaway"));
  });
});
