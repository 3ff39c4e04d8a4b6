/**
 * Bad input never crashes a member: garbage frames on the client and peer ports, unknown
 * methods, malformed params, oversized values, bad ranges and malformed Raft messages all get
 * a clear error and the process keeps answering. Bad flags exit 2 with one line; a corrupt WAL
 * exits 1 naming the file and offset.
 */
import { spawn } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { WireClient, type StatusError } from "@kubemu/common";
import { WebSocket } from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Method, PEER_METHOD_MESSAGES } from "../../src/index.js";
import { MAIN_JS, TestCluster } from "./cluster.js";

async function failure(p: Promise<unknown>): Promise<StatusError> {
  try {
    await p;
  } catch (e) {
    return e as StatusError;
  }
  throw new Error("expected the request to fail");
}

function sendGarbage(url: string, payloads: (Buffer | string)[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, "kubemu-wire");
    ws.on("open", () => {
      for (const p of payloads) ws.send(p);
    });
    ws.on("close", (code) => resolve(code));
    ws.on("error", reject);
  });
}

function runMain(args: string[]): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [MAIN_JS, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    let stdout = "";
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    const timer = setTimeout(() => p.kill("SIGKILL"), 15_000);
    p.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

describe("bad input", () => {
  let cluster: TestCluster;
  let raw: WireClient;
  let peer: WireClient;

  beforeAll(async () => {
    cluster = await new TestCluster({ subnet: "127.0.84", size: 1 }).init();
    cluster.startAll();
    await cluster.waitForLeader();
    raw = new WireClient({ name: "raw", endpoints: [cluster.specs[0]!.clientUrl], requestTimeoutMs: 5000 });
    peer = new WireClient({ name: "raw-peer", endpoints: [cluster.specs[0]!.peerUrl], requestTimeoutMs: 5000 });
  }, 30_000);

  afterAll(async () => {
    await raw?.close();
    await peer?.close();
    await cluster.cleanup();
  });

  async function stillServes(): Promise<void> {
    const c = cluster.client();
    await c.put("/alive", "yes");
    expect(Buffer.from((await c.get("/alive"))!.value).toString()).toBe("yes");
  }

  it("garbage frames close that connection only", async () => {
    const s = cluster.specs[0]!;
    const junk = [Buffer.from([0xc1, 0xff, 0x00, 0x13]), "not msgpack at all", Buffer.alloc(64, 0xee)];
    for (const url of [s.clientUrl, s.peerUrl]) {
      const code = await sendGarbage(url, junk);
      expect(code).toBeGreaterThanOrEqual(1000);
    }
    await stillServes();
  });

  it("unknown methods and malformed params are clear errors", async () => {
    expect((await failure(raw.request("kv.nope", {}))).reason).toBe("NotFound");
    expect((await failure(raw.request(Method.put, "not an object"))).message).toMatch(/params must be an object/);
    expect((await failure(raw.request(Method.put, { key: "k", value: 42 }))).reason).toBe("BadRequest");
    expect((await failure(raw.request(Method.put, { key: "", value: "v" }))).reason).toBe("BadRequest");
    expect((await failure(raw.request(Method.range, { key: "k", revision: "x" }))).reason).toBe("BadRequest");
    expect((await failure(raw.request(Method.range, { key: "b", rangeEnd: "a" }))).reason).toBe("BadRequest");
    expect((await failure(raw.request(Method.range, { key: "k", revision: 1e9 }))).reason).toBe("BadRequest");
    const ops = Array.from({ length: 500 }, (_, i) => ({ type: "put", key: `k${i}`, value: "v" }));
    expect((await failure(raw.request(Method.txn, { compare: [], success: ops, failure: [] }))).message).toMatch(/over the 128-op limit/);
    expect((await failure(raw.request(Method.compact, { revision: -1 }))).reason).toBe("BadRequest");
    expect((await failure(raw.request(Method.leaseGrant, { ttl: 0 }))).reason).toBe("BadRequest");
    expect((await failure(raw.request(Method.leaseKeepAlive, { id: 123456 }))).reason).toBe("NotFound");
    expect((await failure(raw.request(Method.memberAdd, { name: "x", peerUrl: "http://10.0.0.1:1" }))).message).toMatch(/ws:\/\//);
    expect((await failure(raw.request(Method.memberAdd, { name: "x", peerUrl: "ws://10.0.0.1:1" }))).message).toMatch(/loopback/);
    const watch = raw.stream(Method.watch, { key: "k", startRevision: -3 });
    expect((await failure(watch.next())).reason).toBe("BadRequest");
    await stillServes();
  });

  it("an oversized value is refused with the limit named", async () => {
    const big = "x".repeat(2 * 1024 * 1024);
    const err = await failure(raw.request(Method.put, { key: "/big", value: big }));
    expect(err.reason).toBe("RequestEntityTooLarge");
    expect(err.message).toMatch(/2097152 bytes, over the 1572864-byte limit/);
    await stillServes();
  });

  it("malformed Raft messages on the peer port are refused", async () => {
    const id = (await cluster.status("etcd-0")).memberId;
    expect((await failure(peer.request(PEER_METHOD_MESSAGES, { msgs: "nope" }))).reason).toBe("BadRequest");
    expect((await failure(peer.request(PEER_METHOD_MESSAGES, { msgs: [{ type: 99 }] }))).message).toMatch(/not a message type/);
    const base = { type: 3, to: id, from: 7, term: 1, logTerm: 0, index: 0, commit: 0, reject: false, rejectHint: 0, entries: [] };
    expect((await failure(peer.request(PEER_METHOD_MESSAGES, { msgs: [{ ...base, to: id + 1 }] }))).message).toMatch(/not this member/);
    expect((await failure(peer.request(PEER_METHOD_MESSAGES, { msgs: [{ ...base, entries: [{ term: 1 }] }] }))).message).toMatch(/malformed/);
    expect((await failure(peer.request(PEER_METHOD_MESSAGES, { msgs: [{ ...base, type: 7 }] }))).message).toMatch(/snapshot/);
    // Well-formed but from a stranger with a stale term, or a local-only type: dropped, no crash.
    await peer.request(PEER_METHOD_MESSAGES, { msgs: [{ ...base, type: 0 }] });
    await peer.request(PEER_METHOD_MESSAGES, { msgs: [base] });
    await stillServes();
  });

  it("bad flags print one line and exit 2 (more cases in config.test.ts)", async () => {
    const s = cluster.specs[0]!;
    const common = ["--name", "etcd-9", "--data-dir", join(s.dataDir, "..", "x"), "--listen-client-urls", "ws://127.0.84.9:2379"];
    const cases: [string[], RegExp][] = [
      [[...common, "--initial-cluster", "etcd-9=ws://127.0.84.9:2380", "--bogus"], /unknown option '--bogus'/],
      [["--data-dir", "/tmp/x"], /required option '--name <name>'/],
      [[...common, "--initial-cluster", "etcd-9=ws://127.0.84.9:2380", "--heartbeat-interval", "100", "--election-timeout", "200"], /at least 5/],
    ];
    const results = await Promise.all(cases.map(([args]) => runMain(args)));
    for (const [i, [, re]] of cases.entries()) {
      const r = results[i]!;
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });

  it("a corrupt WAL stops the member with the file and offset named, exit 1", async () => {
    const s = cluster.specs[0]!;
    const c = cluster.client();
    for (let i = 0; i < 20; i++) await c.put(`/corrupt/${i}`, "v".repeat(100));
    await cluster.kill(s.name, "SIGTERM");
    const walDir = join(s.dataDir, "wal");
    const seg = (await readdir(walDir)).filter((f) => f.endsWith(".wal")).sort()[0]!;
    const buf = await readFile(join(walDir, seg));
    const at = Math.floor(buf.length / 2);
    buf[at] = buf[at]! ^ 0xff;
    await writeFile(join(walDir, seg), buf);
    const m = cluster.start(s);
    const exit = await m.exited;
    cluster.running.delete(s.name);
    expect(exit.code, m.output.join("")).toBe(1);
    const out = m.output.join("");
    expect(out).toMatch(/WAL corrupt/);
    expect(out).toContain(seg);
    expect(out).toMatch(/at byte \d+/);
  });
});

describe("space quota", () => {
  let cluster: TestCluster;
  afterAll(async () => {
    await cluster?.cleanup();
  });

  it("refuses writes that add data once the state exceeds --quota-bytes; deletes still work", async () => {
    cluster = await new TestCluster({ subnet: "127.0.86", size: 1, snapshotCount: 5, extraArgs: ["--quota-bytes", "4096"] }).init();
    cluster.startAll();
    await cluster.waitForLeader();
    const c = cluster.client();
    let refused: StatusError | undefined;
    for (let i = 0; i < 40 && !refused; i++) {
      await c.put(`/q/${i}`, "v".repeat(400)).catch((e: unknown) => (refused = e as StatusError));
    }
    expect(refused?.reason).toBe("RequestEntityTooLarge");
    expect(refused?.message).toMatch(/database space exceeded.*--quota-bytes 4096/);
    const d = await c.delete("/q/", { rangeEnd: "/q0" });
    expect(d.deleted).toBeGreaterThan(5);
  });
});
