import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { probeBind } from "../src/ports.js";
import { cleanupStateDirs, ensureBuilt, eventually, newStateDir, rememberPids, repo, runKubemu, spawnKubemu } from "./helpers.js";

// These tests start a REAL 3-member kubemu-etcd store (dist/server/main.js) through `kubemu up
// --spec` on private loopback IPs, run every `kubemu etcd` command through the built CLI, and
// SIGKILL every recorded pid (and every spawned CLI) after each test, even when one fails.

const etcdBin = join(repo, "packages/etcd-raft/dist/server/main.js");
const spawned: ChildProcess[] = [];

beforeAll(() => {
  ensureBuilt();
  if (!existsSync(etcdBin)) throw new Error(`${etcdBin} was not built (run npx tsc -b)`);
}, 180_000);

afterEach(() => {
  for (const child of spawned.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  cleanupStateDirs();
});

/** Three member IPs on `subnet` and a base port where client/peer/control ports are all free. */
async function freeMemberAddresses(subnet: string): Promise<{ ips: string[]; port: number }> {
  const ips = [1, 2, 3].map((i) => `${subnet}.${i}`);
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 30_000 + 3 * Math.floor(Math.random() * 9000);
    const probes = await Promise.all(ips.flatMap((ip) => [0, 1, 2].map((d) => probeBind(ip, port + d))));
    if (probes.every((r) => r === undefined)) return { ips, port };
  }
  throw new Error(`no free ports on ${subnet}.x`);
}

/** Starts etcd-0..2 with `kubemu up --spec` and waits until one of them leads. */
async function upStore(subnet: string) {
  const stateDir = newStateDir();
  const { ips, port } = await freeMemberAddresses(subnet);
  const peer = (ip: string) => `ws://${ip}:${port + 1}`;
  const initialCluster = ips.map((ip, i) => `etcd-${i}=${peer(ip)}`).join(",");
  const spec = ips.map((ip, i) => ({
    name: `etcd-${i}`,
    component: "etcd",
    bin: etcdBin,
    args: ["--listen-client-urls", `ws://${ip}:${port}`, "--listen-peer-urls", peer(ip), "--initial-cluster", initialCluster],
    addresses: { client: `${ip}:${port}`, peer: `${ip}:${port + 1}`, control: `${ip}:${port + 2}` },
    controlUrl: `http://${ip}:${port + 2}`,
  }));
  const specFile = join(stateDir, "spec.json");
  writeFileSync(specFile, JSON.stringify(spec));
  const up = await runKubemu(stateDir, ["up", "--spec", specFile]);
  rememberPids(stateDir);
  expect(up.stderr).toBe("");
  expect(up.code).toBe(0);
  const kubemu = (...args: string[]) => runKubemu(stateDir, args);
  let leader = "";
  await eventually(async () => {
    const st = await kubemu("status", "-o", "json");
    const rows = JSON.parse(st.stdout) as { name: string; role?: string; term?: number }[];
    leader = rows.find((r) => r.role === "leader")?.name ?? "";
    return leader !== "";
  }, 15_000, "an etcd leader");
  return { stateDir, ips, port, kubemu, leader };
}

/** Lines of a command's stdout. */
const lines = (s: string) => s.replace(/\n$/, "").split("\n");

describe("kubemu etcd (a real 3-member store)", () => {
  it("get/put/del with etcdctl's formats, member list, endpoint status, snapshot save, and status shows the leader", async () => {
    const { stateDir, ips, port, kubemu, leader } = await upStore("127.0.150");

    const status = await kubemu("status");
    expect(status.stdout).toMatch(new RegExp(`${leader}\\s+\\d+\\s+running\\s+leader \\(term \\d+\\)`));
    expect(status.stdout.match(/follower \(term \d+\)/g)).toHaveLength(2);

    for (const [k, v] of [["/registry/pods/default/a", "A"], ["/registry/pods/default/b", "B"], ["/registry/services/x", "svc"]]) {
      const put = await kubemu("etcd", "put", k!, v!);
      expect(put).toEqual({ code: 0, stdout: "OK\n", stderr: "" });
    }
    await kubemu("etcd", "put", "/registry/pods/default/a", "A2");

    expect((await kubemu("etcd", "get", "/registry/pods/default/a")).stdout).toBe("/registry/pods/default/a\nA2\n");
    expect(lines((await kubemu("etcd", "get", "/registry/pods/", "--prefix")).stdout)).toEqual(["/registry/pods/default/a", "A2", "/registry/pods/default/b", "B"]);
    expect(lines((await kubemu("etcd", "get", "/registry/", "--prefix", "--keys-only")).stdout)).toEqual(["/registry/pods/default/a", "", "/registry/pods/default/b", "", "/registry/services/x", ""]);
    expect(lines((await kubemu("etcd", "get", "/registry/", "--prefix", "--limit", "1")).stdout)).toEqual(["/registry/pods/default/a", "A2"]);
    expect(lines((await kubemu("etcd", "get", "", "--prefix", "--keys-only")).stdout).filter((l) => l !== "")).toEqual(["/registry/pods/default/a", "/registry/pods/default/b", "/registry/services/x"]);
    // Revision 2 is the first put: the old value is still there at that revision.
    expect((await kubemu("etcd", "get", "/registry/pods/default/a", "--rev", "2")).stdout).toBe("/registry/pods/default/a\nA\n");
    expect((await kubemu("etcd", "get", "/nothing")).stdout).toBe("");

    const json = JSON.parse((await kubemu("etcd", "get", "/registry/pods/", "--prefix", "-w", "json")).stdout);
    expect(json.header.revision).toBe(5);
    expect(json.count).toBe(2);
    expect(json.kvs[0]).toEqual({ key: Buffer.from("/registry/pods/default/a").toString("base64"), value: Buffer.from("A2").toString("base64"), create_revision: 2, mod_revision: 5, version: 2 });

    const members = await kubemu("etcd", "member", "list");
    expect(members.code).toBe(0);
    expect(lines(members.stdout)).toEqual(ips.map((ip, i) => expect.stringMatching(new RegExp(`^[0-9a-f]+, started, etcd-${i}, ws://${ip}:${port + 1}, ws://${ip}:${port}, false$`))));
    const memberTable = lines((await kubemu("etcd", "member", "list", "-w", "table")).stdout);
    expect(memberTable[1]).toMatch(/^\|\s+ID\s+\|\s+STATUS\s+\|\s+NAME\s+\|\s+PEER ADDRS\s+\|\s+CLIENT ADDRS\s+\|\s+IS LEARNER\s+\|$/);
    expect(memberTable).toHaveLength(7);
    const memberJson = JSON.parse((await kubemu("etcd", "member", "list", "-w", "json")).stdout);
    expect(memberJson.members.filter((m: { isLeader: boolean }) => m.isLeader).map((m: { name: string }) => m.name)).toEqual([leader]);

    const epTable = await kubemu("etcd", "endpoint", "status", "-w", "table");
    expect(epTable.code).toBe(0);
    const rows = lines(epTable.stdout);
    expect(rows[1]).toMatch(/ENDPOINT\s+\|\s+ID\s+\|\s+NAME\s+\|\s+DB SIZE\s+\|\s+IS LEADER\s+\|\s+IS LEARNER\s+\|\s+RAFT TERM\s+\|\s+RAFT INDEX\s+\|\s+RAFT APPLIED INDEX\s+\|\s+REVISION/);
    const body = rows.slice(3, 6).map((r) => r.split("|").slice(1, -1).map((c) => c.trim()));
    expect(body.map((r) => r[0])).toEqual(ips.map((ip) => `${ip}:${port}`));
    expect(body.map((r) => r[2])).toEqual(["etcd-0", "etcd-1", "etcd-2"]);
    expect(body.filter((r) => r[4] === "true").map((r) => r[2])).toEqual([leader]);
    for (const r of body) {
      expect(r[3]).toMatch(/^\d+(\.\d)? (B|kB|MB)$/);
      expect(Number(r[6])).toBeGreaterThan(0); // raft term
      expect(Number(r[9])).toBe(5); // revision
    }
    const epJson = JSON.parse((await kubemu("etcd", "endpoint", "status", "-w", "json")).stdout);
    expect(epJson.map((e: { Status: { name: string } }) => e.Status.name)).toEqual(["etcd-0", "etcd-1", "etcd-2"]);
    expect(lines((await kubemu("etcd", "endpoint", "status")).stdout)).toHaveLength(3);

    const snapFile = join(stateDir, "backup.db");
    const snap = await kubemu("etcd", "snapshot", "save", snapFile);
    expect(snap.code).toBe(0);
    expect(snap.stdout).toMatch(new RegExp(`^Snapshot saved at ${snapFile} \\(.+, revision 5, raft index \\d+\\)\\n$`));
    expect(readFileSync(snapFile).length).toBeGreaterThan(0);

    expect(await kubemu("etcd", "del", "/registry/pods/", "--prefix")).toEqual({ code: 0, stdout: "2\n", stderr: "" });
    expect(await kubemu("etcd", "del", "/registry/pods/default/a")).toEqual({ code: 0, stdout: "0\n", stderr: "" });
    expect((await kubemu("etcd", "get", "", "--prefix", "--keys-only")).stdout).toBe("/registry/services/x\n\n");
    // --endpoints skips cluster.json (any member will do; writes follow the leader).
    const direct = await runKubemu(newStateDir(), ["etcd", "--endpoints", `${ips[0]}:${port}`, "get", "/registry/services/x"]);
    expect(direct).toEqual({ code: 0, stdout: "/registry/services/x\nsvc\n", stderr: "" });
  }, 180_000);

  it("watch prints events until SIGINT; commands survive a killed leader; endpoint status reports the dead member", async () => {
    const { stateDir, kubemu, leader } = await upStore("127.0.151");
    await kubemu("etcd", "put", "/w/a", "1");

    // --rev replays history, so nothing depends on when the watch is established.
    const watch = spawnKubemu(stateDir, ["etcd", "watch", "/w/", "--prefix", "--rev", "1"]);
    spawned.push(watch);
    let out = "";
    watch.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    await eventually(() => out.includes("/w/a\n1\n"), 10_000, "the replayed PUT");
    await kubemu("etcd", "put", "/w/b", "2");
    await kubemu("etcd", "del", "/w/a");
    await eventually(() => out.includes("DELETE\n/w/a\n"), 10_000, "the DELETE event");
    expect(lines(out)).toEqual(["PUT", "/w/a", "1", "PUT", "/w/b", "2", "DELETE", "/w/a", ""]);
    const exited = new Promise<number | null>((resolve) => watch.once("exit", (code) => resolve(code)));
    watch.kill("SIGINT");
    expect(await exited).toBe(0);

    const kill = await kubemu("kill", leader);
    expect(kill.code).toBe(0);
    expect(await kubemu("etcd", "put", "/after", "failover")).toEqual({ code: 0, stdout: "OK\n", stderr: "" });
    expect((await kubemu("etcd", "get", "/after")).stdout).toBe("/after\nfailover\n");
    const ep = await kubemu("etcd", "endpoint", "status");
    expect(ep.code).toBe(1);
    expect(lines(ep.stdout)).toHaveLength(2);
    expect(ep.stderr).toMatch(new RegExp(`^Failed to get the status of endpoint ws://\\S+ \\(${leader}\\): its process is stopped\\n$`));
    const status = await kubemu("status");
    expect(status.stdout).toMatch(/leader \(term \d+\)/);

    await kubemu("down", "--grace", "2");
    const notUp = await kubemu("etcd", "get", "/after");
    expect(notUp.code).toBe(1);
    expect(notUp.stderr).toMatch(/^kubemu: cluster "kubemu" is not up \(state dir .+\); run `kubemu up` first\n$/);
  }, 120_000);
});

describe("kubemu etcd errors (no store needed)", () => {
  it("answers one line for bad keys, bad flags, a missing cluster and an unreachable store", async () => {
    const dir = newStateDir();
    const run = (...args: string[]) => runKubemu(dir, args);
    const expectOneLine = async (args: string[], message: RegExp) => {
      const r = await run(...args);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/^kubemu: [^\n]+\n$/);
      expect(r.stderr).toMatch(message);
    };
    await expectOneLine(["etcd", "get", "/x"], /cluster "kubemu" is not up/);
    await expectOneLine(["etcd", "--endpoints", "127.0.0.1:1", "put", "", "v"], /key must not be empty/);
    await expectOneLine(["etcd", "--endpoints", "127.0.0.1:1", "get", ""], /key must not be empty/);
    await expectOneLine(["etcd", "--endpoints", "10.1.2.3:2379", "get", "/x"], /not a loopback address/);
    await expectOneLine(["etcd", "--endpoints", "127.0.0.1:1", "get", "/x", "--rev", "-3"], /--rev/);
    await expectOneLine(["etcd", "--endpoints", "127.0.0.1:1", "get", "/x", "-w", "table"], /unknown output format "table"/);
    await expectOneLine(["etcd", "--endpoints", "127.0.0.1:1", "put", "/x"], /missing required argument 'value'/);
    await expectOneLine(["etcd", "--endpoints", "127.0.0.1:1", "--command-timeout", "0.5", "get", "/x"], /cannot reach etcd at ws:\/\/127\.0\.0\.1:1 \(no member answered within 0\.5 s\)/);
  }, 60_000);
});
