import { spawn } from "node:child_process";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { ContainerIO, onTerminal } from "../src/runtime/container-io.js";
import { attachFlags, serveAttach } from "../src/streaming/attach.js";
import { parseResize, type RemoteCommandStreams, type TerminalSize } from "../src/streaming/channels.js";
import { OutputBudget } from "../src/streaming/output-budget.js";

/** The streams of one session, as a test drives them. */
function fakeStreams() {
  const h = { stdin: [] as ((d: Buffer) => void)[], stdinClose: [] as (() => void)[], resize: [] as ((s: TerminalSize) => void)[], close: [] as (() => void)[] };
  const seen = { stdout: "", stderr: "", status: undefined as Record<string, unknown> | undefined };
  const streams: RemoteCommandStreams = {
    onStdin: (cb) => h.stdin.push(cb),
    onStdinClose: (cb) => h.stdinClose.push(cb),
    onResize: (cb) => h.resize.push(cb),
    onClose: (cb) => h.close.push(cb),
    stdout: (d) => ((seen.stdout += d.toString()), true),
    stderr: (d) => ((seen.stderr += d.toString()), true),
    onDrain: () => undefined,
    output: new OutputBudget(),
    finish: (s) => (seen.status = s),
  };
  return {
    streams,
    seen,
    type: (s: string) => h.stdin.forEach((cb) => cb(Buffer.from(s))),
    closeStdin: () => h.stdinClose.forEach((cb) => cb()),
    leave: () => h.close.forEach((cb) => cb()),
  };
}

function stdinOf(): { pipe: PassThrough; text: () => string; ended: () => boolean } {
  const pipe = new PassThrough();
  let text = "";
  let ended = false;
  pipe.on("data", (d: Buffer) => (text += d.toString()));
  pipe.on("end", () => (ended = true));
  return { pipe, text: () => text, ended: () => ended };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("ContainerIO", () => {
  it("sends output to every attached session and ends them all when the container ends", () => {
    const io = new ContainerIO(undefined, false, false);
    const a = fakeStreams();
    const b = fakeStreams();
    serveAttach(a.streams, io, { stdin: false, stdout: true, stderr: true });
    io.emit("stdout", Buffer.from("one\n"));
    serveAttach(b.streams, io, { stdin: false, stdout: true, stderr: false });
    io.emit("stderr", Buffer.from("oops\n"));
    io.emit("stdout", Buffer.from("two\n"));
    // Nothing before a session joined reaches it (as containerd: the log has it).
    expect(a.seen).toMatchObject({ stdout: "one\ntwo\n", stderr: "oops\n" });
    expect(b.seen).toMatchObject({ stdout: "two\n", stderr: "" });
    io.end();
    expect(a.seen.status).toEqual({ metadata: {}, status: "Success" });
    expect(b.seen.status).toEqual({ metadata: {}, status: "Success" });
  });

  it("passes stdin through; stdinOnce closes the container's stdin when a session's stdin ends, the session goes on until the container exits", async () => {
    const s = stdinOf();
    const io = new ContainerIO(s.pipe, false, true);
    const a = fakeStreams();
    serveAttach(a.streams, io, { stdin: true, stdout: true, stderr: true });
    a.type("echo hi\n");
    // A session without stdin does not write, and its end closes nothing.
    const watcher = fakeStreams();
    serveAttach(watcher.streams, io, { stdin: false, stdout: true, stderr: true });
    watcher.type("ignored\n");
    watcher.leave();
    await tick();
    expect(s.text()).toBe("echo hi\n");
    expect(s.ended()).toBe(false);
    a.closeStdin();
    await tick();
    expect(s.ended()).toBe(true);
    expect(io.hasStdin).toBe(false);
    io.emit("stdout", Buffer.from("hi\n"));
    expect(a.seen).toMatchObject({ stdout: "hi\n", status: undefined });
    // Closed for good: a new session's stdin goes nowhere.
    const b = fakeStreams();
    serveAttach(b.streams, io, { stdin: true, stdout: true, stderr: true });
    b.type("late\n");
    await tick();
    expect(s.text()).toBe("echo hi\n");
    io.end();
    expect(a.seen.status).toEqual({ metadata: {}, status: "Success" });
  });

  it("a tty container's stdin stays open after a stdinOnce session, so a terminal that was left can be resumed", async () => {
    const s = stdinOf();
    const io = new ContainerIO(s.pipe, true, true);
    const a = fakeStreams();
    serveAttach(a.streams, io, { stdin: true, stdout: true, stderr: false });
    a.type("ls\r");
    a.leave();
    const b = fakeStreams();
    serveAttach(b.streams, io, { stdin: true, stdout: true, stderr: false });
    b.type("exit\r");
    await tick();
    expect(s.text()).toBe("ls\rexit\r");
    expect(s.ended()).toBe(false);
  });

  it("without stdinOnce, a session whose stdin ends is over and the container's stdin stays open for the next", async () => {
    const s = stdinOf();
    const io = new ContainerIO(s.pipe, false, false);
    const a = fakeStreams();
    serveAttach(a.streams, io, { stdin: true, stdout: true, stderr: true });
    a.type("1\n");
    a.closeStdin();
    expect(a.seen.status).toEqual({ metadata: {}, status: "Success" });
    const b = fakeStreams();
    serveAttach(b.streams, io, { stdin: true, stdout: true, stderr: true });
    b.type("2\n");
    await tick();
    expect(s.text()).toBe("1\n2\n");
    expect(s.ended()).toBe(false);
    // A session that is over gets no more output.
    io.emit("stdout", Buffer.from("x"));
    expect(a.seen.stdout).toBe("");
    expect(b.seen.stdout).toBe("x");
    b.leave();
    expect(b.seen.status).toBeUndefined();
  });

  it("stdin for a container started without stdin is dropped; a tty has one output stream", () => {
    const io = new ContainerIO(undefined, true, false);
    const a = fakeStreams();
    serveAttach(a.streams, io, { stdin: true, stdout: true, stderr: false });
    a.type("nowhere\n");
    io.emit("stderr", Buffer.from("err on the terminal\n"));
    expect(a.seen.stdout).toBe("err on the terminal\n");
    expect(io.hasStdin).toBe(false);
  });

  it("a session that joins an ended container ends at once", async () => {
    const io = new ContainerIO(undefined, false, false);
    io.end();
    const a = fakeStreams();
    serveAttach(a.streams, io, { stdin: false, stdout: true, stderr: true });
    await tick();
    expect(a.seen.status).toEqual({ metadata: {}, status: "Success" });
  });
});

describe("attach requests", () => {
  it("need at least one stream, in upstream's words", () => {
    expect(attachFlags(new URLSearchParams(""))).toBe("you must specify at least 1 of stdin, stdout, stderr");
    expect(attachFlags(new URLSearchParams("stdin=true&stdout=true"))).toEqual({ stdin: true, stdout: true, stderr: false });
    expect(attachFlags(new URLSearchParams("output=1&error=1"))).toBe("you must specify at least 1 of stdin, stdout, stderr");
  });

  it("resize messages are kubectl's JSON; malformed ones are dropped", () => {
    expect(parseResize(Buffer.from('{"Width":120,"Height":40}\n'))).toEqual({ width: 120, height: 40 });
    expect(parseResize(Buffer.from("{nope"))).toBeUndefined();
    expect(parseResize(Buffer.from('{"Width":0,"Height":40}'))).toBeUndefined();
  });
});

describe("a tty container under script", () => {
  it("echoes input on its terminal, sees EOF when the held stdin closes, and exits with the program's code", async () => {
    const argv = onTerminal("script", ["sh", "-c", "read line; echo got:$line; tty >/dev/null && echo on-a-tty; read rest || exit 7"]);
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
    child.stdin.write("hello\n");
    await new Promise((r) => setTimeout(r, 300));
    child.stdin.end();
    expect(await exited).toBe(7);
    expect(out).toContain("hello\r\n");
    expect(out).toContain("got:hello");
    expect(out).toContain("on-a-tty");
  }, 15_000);
});
