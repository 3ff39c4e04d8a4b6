/** Flag parsing and the pure helpers of the server (no processes). */
import { describe, expect, it } from "vitest";
import { ConfigError, HelpRequested, parseArgs } from "../../src/server/config.js";
import { decodeCommand, decodeEnvelope, encodeCommand, encodeEnvelope } from "../../src/server/codec.js";
import { memberIdOf } from "../../src/server/members.js";
import { parseBatch, splitBySize } from "../../src/server/transport.js";
import { newMessage, MessageType } from "../../src/raft/index.js";

const launcherArgs = [
  "--name", "etcd-0", "--data-dir", "/tmp/d", "--state-dir", "/tmp/s", "--profile", "fast", "--log-level", "info",
  "--control-url", "http://127.0.10.1:2381", "--listen-client-urls", "ws://127.0.10.1:2379", "--listen-peer-urls", "ws://127.0.10.1:2380",
  "--initial-cluster", "etcd-0=ws://127.0.10.1:2380,etcd-1=ws://127.0.10.2:2380,etcd-2=ws://127.0.10.3:2380",
];

describe("parseArgs", () => {
  it("accepts exactly what the launcher passes, with profile defaults", () => {
    const c = parseArgs(launcherArgs);
    expect(c).toMatchObject({
      name: "etcd-0",
      clientUrl: "ws://127.0.10.1:2379",
      peerUrl: "ws://127.0.10.1:2380",
      controlUrl: "http://127.0.10.1:2381",
      initialClusterState: "new",
      heartbeatMs: 50,
      electionMs: 500,
    });
    expect(c.initialCluster.map((m) => m.name)).toEqual(["etcd-0", "etcd-1", "etcd-2"]);
    expect(parseArgs([...launcherArgs, "--profile", "realistic"])).toMatchObject({ heartbeatMs: 100, electionMs: 1000 });
  });

  it("accepts the short aliases and explicit timings", () => {
    const args = launcherArgs.map((a) => (a === "--listen-client-urls" ? "--listen-client" : a === "--listen-peer-urls" ? "--listen-peer" : a));
    const c = parseArgs([...args, "--heartbeat-interval", "20", "--election-timeout", "300", "--initial-cluster-state", "existing", "--snapshot-count", "7"]);
    expect(c).toMatchObject({ heartbeatMs: 20, electionMs: 300, initialClusterState: "existing", snapshotCount: 7, clientUrl: "ws://127.0.10.1:2379" });
  });

  it("refuses bad flags with one readable ConfigError", () => {
    expect(() => parseArgs([...launcherArgs, "--listen-peer-urls", "ws://127.0.10.1:9999"])).toThrow(/differs from etcd-0's entry/);
    expect(() => parseArgs([...launcherArgs, "--control-url", "http://8.8.8.8:1"])).toThrow(ConfigError);
    expect(() => parseArgs([...launcherArgs, "--initial-cluster", "etcd-0=ws://127.0.10.1:2380,etcd-0=ws://127.0.10.2:2380"])).toThrow(/twice/);
    expect(() => parseArgs([...launcherArgs, "extra"])).toThrow(ConfigError);
    expect(() => parseArgs([...launcherArgs, "--name", "Bad_Name"])).toThrow(/--name/);
    expect(() => parseArgs([...launcherArgs, "--profile", "slow"])).toThrow(/profile/);
    expect(() => parseArgs(["--help"])).toThrow(HelpRequested);
    expect(() => parseArgs([...launcherArgs, "--snapshot-count", "abc"])).toThrow(/--snapshot-count must be an integer/);
    expect(() => parseArgs([...launcherArgs, "--initial-cluster", "etcd-0=ws://10.1.1.1:2380"])).toThrow(/loopback/);
    expect(() => parseArgs([...launcherArgs, "--initial-cluster", "etcd-1=ws://127.0.10.2:2380"])).toThrow(/must include this member/);
  });
});

describe("codec and member ids", () => {
  it("member ids are stable, positive and distinct", () => {
    const ids = ["etcd-0", "etcd-1", "etcd-2", "etcd-3"].map(memberIdOf);
    expect(new Set(ids).size).toBe(4);
    for (const id of ids) expect(Number.isSafeInteger(id) && id > 0).toBe(true);
    expect(memberIdOf("etcd-0")).toBe(ids[0]);
  });

  it("log commands and snapshot envelopes round-trip and reject junk", () => {
    const cmd = { op: "kv" as const, cmd: { type: "put" as const, key: "k", value: "v" } };
    expect(decodeCommand(encodeCommand(cmd))).toEqual(cmd);
    expect(() => decodeCommand(new Uint8Array([0x82, 0xa1]))).toThrow(/log entry/);
    expect(() => decodeCommand(encodeCommand({ op: "nope" } as never))).toThrow(/unknown op/);
    const env = { version: 1 as const, confState: { voters: [1, 2], learners: [] }, members: [{ id: 1, name: "a", peerUrls: ["ws://127.0.0.1:1"], clientUrls: [] }], mvcc: new Uint8Array([1, 2, 3]) };
    expect(decodeEnvelope(encodeEnvelope(env))).toMatchObject({ confState: env.confState, members: env.members });
    expect(() => decodeEnvelope(encodeCommand(cmd))).toThrow(/envelope/);
  });

  it("parseBatch rebuilds valid messages and names the bad field", () => {
    const m = { type: 3, to: 5, from: 7, term: 2, logTerm: 1, index: 4, commit: 3, reject: false, rejectHint: 0, entries: [{ term: 2, index: 5, type: 0, data: new Uint8Array([1]) }] };
    expect(parseBatch({ msgs: [m] }, 5)[0]).toMatchObject({ type: 3, from: 7, entries: [{ index: 5 }] });
    expect(() => parseBatch({ msgs: [{ ...m, term: -1 }] }, 5)).toThrow(/term must be a non-negative integer/);
    expect(() => parseBatch({ msgs: [{ ...m, context: "str" }] }, 5)).toThrow(/context must be bytes/);
    expect(() => parseBatch(null, 5)).toThrow(/params must be an object/);
  });

  it("splitBySize keeps order and bounds each request", () => {
    const big = (i: number) => newMessage({ type: MessageType.MsgApp, to: 2, index: i, entries: [{ term: 1, index: i + 1, type: 0, data: new Uint8Array(1000) }] });
    const msgs = Array.from({ length: 10 }, (_, i) => big(i));
    const parts = splitBySize(msgs, 3000);
    expect(parts.map((p) => p.length)).toEqual([2, 2, 2, 2, 2]);
    expect(parts.flat()).toEqual(msgs);
    expect(splitBySize([big(0)], 10)).toHaveLength(1);
  });
});
