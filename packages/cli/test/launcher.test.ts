import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  alive,
  cleanupStateDirs,
  ensureBuilt,
  eventually,
  freeAddresses,
  groupAndSession,
  newStateDir,
  readProcStat,
  recorded,
  rememberPids,
  runKubemu,
  spawnKubemu,
  writeFixtureSpec,
} from "./helpers.js";

// These tests start REAL detached processes through the built CLI (dist/main.js) and always kill
// every recorded pid afterwards, even when an assertion fails.

beforeAll(() => ensureBuilt(), 120_000);
afterEach(() => cleanupStateDirs());

async function upThree(first: number, extra: Record<string, string[]> = {}) {
  const stateDir = newStateDir();
  const { ips, port } = await freeAddresses(first, 3);
  const names = ["fake-a", "fake-b", "fake-c"];
  const spec = writeFixtureSpec(
    stateDir,
    port,
    names.map((name, i) => ({ name, ip: ips[i]!, extraArgs: extra[name] ?? [] })),
  );
  const res = await runKubemu(stateDir, ["up", "--spec", spec]);
  rememberPids(stateDir);
  return { stateDir, spec, ips, port, res };
}

const controlUrl = (ip: string, port: number) => `http://${ip}:${port}`;
async function getRules(ip: string, port: number): Promise<unknown[]> {
  const res = await fetch(`${controlUrl(ip, port)}/kubemu/faults`);
  return ((await res.json()) as { rules: unknown[] }).rules;
}

describe("kubemu up / status / down", () => {
  it("starts detached processes, reports them, refuses nothing on a second up, and down leaves none behind", async () => {
    const { stateDir, spec, res } = await upThree(1, { "fake-a": ["--role", "leader", "--term", "7"], "fake-b": ["--role", "follower", "--term", "7"] });
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/fake-a\s+pid \d+\s+ready \(leader, term 7\)/);

    const procs = recorded(stateDir);
    expect(procs.map((p) => p.name)).toEqual(["fake-a", "fake-b", "fake-c"]);
    for (const p of procs) {
      expect(alive(p)).toBe(true);
      // Detached: each child leads its own session and process group.
      expect(groupAndSession(p.pid!)).toEqual({ pgrp: p.pid, session: p.pid });
      expect(existsSync(join(stateDir, "data", p.name))).toBe(true);
      expect(existsSync(join(stateDir, "logs", `${p.name}.out`))).toBe(true);
    }
    const cluster = JSON.parse(readFileSync(join(stateDir, "cluster.json"), "utf8"));
    expect(cluster.processes[0].command).toEqual(expect.arrayContaining(["--name", "fake-a", "--data-dir", join(stateDir, "data", "fake-a"), "--state-dir", stateDir, "--profile", "fast"]));

    const json = await runKubemu(stateDir, ["status", "-o", "json"]);
    expect(json.code).toBe(0);
    const statuses = JSON.parse(json.stdout);
    expect(statuses).toEqual([
      { name: "fake-a", pid: procs[0]!.pid, state: "running", addresses: { control: expect.stringMatching(/^127\.0\.199\.1:\d+$/) }, role: "leader", term: 7 },
      { name: "fake-b", pid: procs[1]!.pid, state: "running", addresses: { control: expect.any(String) }, role: "follower", term: 7 },
      { name: "fake-c", pid: procs[2]!.pid, state: "running", addresses: { control: expect.any(String) } },
    ]);
    const table = await runKubemu(stateDir, ["status"]);
    expect(table.stdout.split("\n")[0]).toMatch(/^NAME\s+PID\s+STATE\s+ROLE\s+ADDRESSES$/);
    expect(table.stdout).toMatch(/fake-a\s+\d+\s+running\s+leader \(term 7\)/);
    expect(table.stdout).toMatch(/fake-c\s+\d+\s+running\s+-\s+control=/);

    // Like `minikube start` on a running profile: says so, changes nothing, exit 0.
    const again = await runKubemu(stateDir, ["up", "--spec", spec]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Cluster "kubemu" is already up (3 of 3 processes running)');
    expect(recorded(stateDir).map((p) => p.pid)).toEqual(procs.map((p) => p.pid));

    const down = await runKubemu(stateDir, ["down"]);
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(/fake-a\s+stopped/);
    for (const p of procs) expect(alive(p)).toBe(false);

    const after = await runKubemu(stateDir, ["status"]);
    expect(after.code).toBe(1);
    expect(after.stderr).toMatch(/^kubemu: cluster "kubemu" is not up .*run `kubemu up` first\n$/);
    // down again is harmless
    expect((await runKubemu(stateDir, ["down"])).code).toBe(0);
  }, 90_000);

  it("down stops in reverse dependency order: node agents, then apiservers, then the store", async () => {
    const stateDir = newStateDir();
    const { ips, port } = await freeAddresses(100, 4);
    const slow = ["--stop-delay-ms", "300"];
    const procs = [
      { name: "store", component: "etcd" },
      { name: "api", component: "apiserver" },
      { name: "agent", component: "kubelet" },
      { name: "proxy", component: "kube-proxy" },
    ].map((p, i) => ({ ...p, ip: ips[i]!, extraArgs: slow }));
    const spec = writeFixtureSpec(stateDir, port, procs);
    expect((await runKubemu(stateDir, ["up", "--spec", spec])).code).toBe(0);
    rememberPids(stateDir);
    const down = await runKubemu(stateDir, ["down"]);
    expect(down.code).toBe(0);
    expect(down.stdout).not.toContain("killed");
    const sigtermAt = (name: string) => {
      const lines = readFileSync(join(stateDir, "logs", `${name}.log`), "utf8").split("\n").filter(Boolean);
      const line = lines.map((l) => JSON.parse(l) as { msg: string; time: string }).find((l) => l.msg === "SIGTERM: shutting down");
      expect(line, `${name} logged its SIGTERM`).toBeDefined();
      return Date.parse(line!.time);
    };
    const [store, api, agent, proxy] = ["store", "api", "agent", "proxy"].map(sigtermAt) as [number, number, number, number];
    // Node agents together; each next tier only once the previous one has exited (300 ms each).
    expect(Math.abs(agent - proxy)).toBeLessThan(250);
    expect(api - Math.max(agent, proxy)).toBeGreaterThanOrEqual(290);
    expect(store - api).toBeGreaterThanOrEqual(290);
  }, 60_000);

  it("up on a running cluster restarts only the processes that are not running", async () => {
    const { stateDir, spec } = await upThree(10);
    const before = recorded(stateDir);
    expect((await runKubemu(stateDir, ["kill", "fake-b"])).code).toBe(0);
    const again = await runKubemu(stateDir, ["up", "--spec", spec]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("already up (2 of 3 processes running)");
    const after = rememberPids(stateDir);
    expect(after[0]!.pid).toBe(before[0]!.pid);
    expect(after[1]!.pid).not.toBe(before[1]!.pid);
    expect(alive(after[1]!)).toBe(true);
  }, 90_000);

  it("refuses to start anything when an address is already in use", async () => {
    const stateDir = newStateDir();
    const { ips, port } = await freeAddresses(20, 3);
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(port, ips[1], r));
    try {
      const spec = writeFixtureSpec(stateDir, port, [
        { name: "fake-a", ip: ips[0]! },
        { name: "fake-b", ip: ips[1]! },
        { name: "fake-c", ip: ips[2]! },
      ]);
      const res = await runKubemu(stateDir, ["up", "--spec", spec]);
      expect(res.code).toBe(1);
      expect(res.stderr).toBe(`kubemu: ${ips[1]}:${port} (fake-b control) is already in use; stop whatever holds it (or \`kubemu down\` another cluster) and retry\n`);
      expect(recorded(stateDir)).toEqual([]); // nothing started, nothing recorded
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  }, 30_000);
});

describe("pid reuse", () => {
  it("down never signals a recorded pid that now belongs to another process", async () => {
    const stateDir = newStateDir();
    const { ips, port } = await freeAddresses(90, 1);
    const spec = writeFixtureSpec(stateDir, port, [{ name: "fake-a", ip: ips[0]! }]);
    expect((await runKubemu(stateDir, ["up", "--spec", spec, "--wait", "0"])).code).toBe(0);
    rememberPids(stateDir);
    expect((await runKubemu(stateDir, ["kill", "fake-a"])).code).toBe(0);

    // Pretend the pid was recycled: point the record at an unrelated live process (same pid, other start time).
    const stranger = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      const file = join(stateDir, "cluster.json");
      const state = JSON.parse(readFileSync(file, "utf8"));
      state.processes[0].pid = stranger.pid;
      state.processes[0].startTime = readProcStat(stranger.pid!)!.startTime + 1;
      state.processes[0].desired = "running";
      writeFileSync(file, JSON.stringify(state));

      const status = JSON.parse((await runKubemu(stateDir, ["status", "-o", "json"])).stdout);
      expect(status[0]).toMatchObject({ pid: stranger.pid, state: "exited" });
      expect((await runKubemu(stateDir, ["kill", "fake-a"])).stdout).toBe("fake-a: was not running\n");
      const down = await runKubemu(stateDir, ["down", "--grace", "0.2"]);
      expect(down.code).toBe(0);
      expect(down.stdout).toMatch(/fake-a\s+was not running/);
      expect(stranger.exitCode).toBeNull();
      expect(stranger.signalCode).toBeNull();
      expect(readProcStat(stranger.pid!)?.state).toMatch(/^[RS]$/);
    } finally {
      stranger.kill("SIGKILL");
    }
  }, 60_000);
});

describe("kubemu kill / stop / start / restart", () => {
  it("signals only the named process and restarts it from its recorded command line", async () => {
    const { stateDir } = await upThree(30, { "fake-c": ["--ignore-sigterm"] });
    const [a, b, c] = recorded(stateDir);

    const killed = await runKubemu(stateDir, ["kill", "fake-a"]);
    expect(killed).toMatchObject({ code: 0, stdout: `fake-a: killed (pid ${a!.pid})\n` });
    expect(alive(a!)).toBe(false);
    expect(alive(b!)).toBe(true);
    let statuses = JSON.parse((await runKubemu(stateDir, ["status", "-o", "json"])).stdout);
    expect(statuses[0].state).toBe("stopped");

    const started = await runKubemu(stateDir, ["start", "fake-a"]);
    expect(started.code).toBe(0);
    const a2 = rememberPids(stateDir)[0]!;
    expect(a2.pid).not.toBe(a!.pid);
    expect(started.stdout).toBe(`fake-a: pid ${a2.pid}, ready\n`);
    expect(alive(a2)).toBe(true);

    const startAgain = await runKubemu(stateDir, ["start", "fake-a"]);
    expect(startAgain.stdout).toBe(`fake-a: already running (pid ${a2.pid})\n`);

    const restarted = await runKubemu(stateDir, ["restart", "fake-b"]);
    expect(restarted.code).toBe(0);
    const b2 = rememberPids(stateDir)[1]!;
    expect(b2.pid).not.toBe(b!.pid);
    expect(alive(b!)).toBe(false);
    expect(alive(b2)).toBe(true);

    // fake-c ignores SIGTERM, so stop must escalate to SIGKILL after the grace period.
    const stopped = await runKubemu(stateDir, ["stop", "fake-c", "--grace", "0.5"]);
    expect(stopped).toMatchObject({ code: 0, stdout: "fake-c: killed (still running 0.5s after SIGTERM)\n" });
    expect(alive(c!)).toBe(false);

    statuses = JSON.parse((await runKubemu(stateDir, ["status", "-o", "json"])).stdout);
    expect(statuses.map((s: { state: string }) => s.state)).toEqual(["running", "running", "stopped"]);
  }, 90_000);

  it("shows a process that dies on its own as exited", async () => {
    const { stateDir } = await upThree(40, { "fake-b": ["--exit-after-ms", "2500"] });
    const b = recorded(stateDir)[1]!;
    await eventually(() => !alive(b), 15_000, "fake-b to crash");
    const statuses = JSON.parse((await runKubemu(stateDir, ["status", "-o", "json"])).stdout);
    expect(statuses[1]).toEqual({ name: "fake-b", pid: b.pid, state: "exited", addresses: expect.any(Object) });
  }, 60_000);

  it("waits at up until a process's status stops saying ready: false, and says which never got ready", async () => {
    const t0 = Date.now();
    const { res } = await upThree(47, { "fake-a": ["--ready-after-ms", "1500"], "fake-b": ["--ready-after-ms", "600000"] });
    expect(res.code).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);
    expect(res.stdout).toMatch(/fake-a\s+pid \d+\s+ready\n/);
    expect(res.stdout).toMatch(/fake-b\s+pid \d+\s+started, but not ready within \d+s/);
    expect(res.stdout).toMatch(/fake-c\s+pid \d+\s+ready/);
  }, 90_000);

  it("reports an EXITED process at up and exits 1", async () => {
    const { stateDir, res } = await upThree(45, { "fake-c": ["--no-such-flag"] });
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/fake-c\s+pid \d+\s+EXITED right after start: .*no-such-flag/);
    expect(alive(recorded(stateDir)[0]!)).toBe(true);
  }, 60_000);
});

describe("kubemu logs", () => {
  it("prints the JSON log, falls back to .out, and follows until SIGINT", async () => {
    const { stateDir, ips, port } = await upThree(50);
    await eventually(() => existsSync(join(stateDir, "logs", "fake-a.log")) && readFileSync(join(stateDir, "logs", "fake-a.log"), "utf8").includes("listening"), 10_000, "fake-a.log");
    const res = await runKubemu(stateDir, ["logs", "fake-a"]);
    expect(res.code).toBe(0);
    const first = JSON.parse(res.stdout.split("\n")[0]!);
    expect(first).toMatchObject({ component: "fake-a", msg: "control endpoint listening" });

    rmSync(join(stateDir, "logs", "fake-b.log"));
    const out = await runKubemu(stateDir, ["logs", "fake-b"]);
    expect(out.stdout).toMatch(/^fake-component fake-b pid \d+ listening on http:\/\//);

    const tail = await runKubemu(stateDir, ["logs", "fake-a", "--tail", "1"]);
    expect(tail.stdout.split("\n").filter(Boolean)).toEqual([res.stdout.split("\n").filter(Boolean).at(-1)]);

    const follower = spawnKubemu(stateDir, ["logs", "fake-a", "-f"]);
    try {
      let seen = "";
      follower.stdout!.on("data", (d: Buffer) => (seen += d.toString()));
      // Once the old lines are out, the follower is reading; a new line must follow them.
      await eventually(() => seen.includes("control endpoint listening"), 10_000, "follower to print existing lines");
      await fetch(`${controlUrl(ips[0]!, port)}/kubemu/faults`, { method: "DELETE" });
      await eventually(() => seen.includes("fault rules cleared"), 10_000, "followed line");
      follower.kill("SIGINT");
      const code = await new Promise((r) => follower.once("exit", (c) => r(c)));
      expect(code).toBe(0);
    } finally {
      follower.kill("SIGKILL");
    }
  }, 60_000);
});

describe("kubemu partition / heal", () => {
  it("puts drop rules on both sides, merging with existing rules, and heal clears them", async () => {
    const { stateDir, ips, port } = await upThree(60);
    const [ipA, ipB, ipC] = ips as [string, string, string];
    const delay = { peer: "fake-b", direction: "out", action: "delay", delayMs: 100 };
    await fetch(`${controlUrl(ipA, port)}/kubemu/faults`, { method: "PUT", body: JSON.stringify({ rules: [delay] }) });

    const res = await runKubemu(stateDir, ["partition", "fake-a", "--from", "fake-b", "fake-c"]);
    expect(res.code).toBe(0);
    expect(res.stdout.split("\n").filter(Boolean).sort()).toEqual([
      "fake-a: dropping all traffic with fake-b, fake-c",
      "fake-b: dropping all traffic with fake-a",
      "fake-c: dropping all traffic with fake-a",
    ]);
    const drop = (peer: string) => ({ peer, direction: "both", action: "drop", probability: 1 });
    expect(await getRules(ipA, port)).toEqual([{ ...delay, probability: 1 }, drop("fake-b"), drop("fake-c")]);
    expect(await getRules(ipB, port)).toEqual([drop("fake-a")]);
    expect(await getRules(ipC, port)).toEqual([drop("fake-a")]);

    // Repeating a partition adds nothing.
    expect((await runKubemu(stateDir, ["partition", "fake-b", "--from", "fake-a"])).code).toBe(0);
    expect(await getRules(ipB, port)).toEqual([drop("fake-a")]);

    const healed = await runKubemu(stateDir, ["heal"]);
    expect(healed.code).toBe(0);
    expect(healed.stdout.split("\n").filter(Boolean)).toEqual(["fake-a: fault rules cleared", "fake-b: fault rules cleared", "fake-c: fault rules cleared"]);
    for (const ip of ips) expect(await getRules(ip, port)).toEqual([]);
  }, 60_000);

  it("reports a process that is down as a failure line and exits 1", async () => {
    const { stateDir } = await upThree(70);
    await runKubemu(stateDir, ["kill", "fake-c"]);
    const res = await runKubemu(stateDir, ["partition", "fake-a", "--from", "fake-c"]);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain("fake-c: FAILED: not running");
    expect(res.stdout).toContain("fake-a: dropping all traffic with fake-c");
    const same = await runKubemu(stateDir, ["partition", "fake-a", "--from", "fake-a"]);
    expect(same).toMatchObject({ code: 1, stderr: "kubemu: fake-a cannot be on both sides of a partition\n" });
  }, 60_000);
});

describe("kubemu errors", () => {
  it("answers one clear line and exit 1 for unknown names, a cluster that is not up, and bad flags", async () => {
    const { stateDir } = await upThree(80);
    const unknown = await runKubemu(stateDir, ["kill", "nope"]);
    expect(unknown).toEqual({ code: 1, stdout: "", stderr: 'kubemu: unknown process "nope" (valid: fake-a, fake-b, fake-c)\n' });
    expect(recorded(stateDir).every((p) => alive(p))).toBe(true);

    const empty = newStateDir();
    for (const args of [["status"], ["kill", "fake-a"], ["start", "fake-a"], ["partition", "a", "--from", "b"], ["heal"]]) {
      const res = await runKubemu(empty, args);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/^kubemu: cluster "kubemu" is not up \(state dir .*\); run `kubemu up` first\n$/);
    }
    const badFlag = await runKubemu(stateDir, ["status", "--bogus"]);
    expect(badFlag).toMatchObject({ code: 1, stderr: "kubemu: unknown option '--bogus'\n" });
    const badOutput = await runKubemu(stateDir, ["status", "-o", "yaml"]);
    expect(badOutput).toMatchObject({ code: 1, stderr: 'kubemu: unknown output format "yaml" (use table or json)\n' });
    const badProfile = await runKubemu(stateDir, ["--profile", "slow", "up"]);
    expect(badProfile.code).toBe(1);
    expect(badProfile.stderr).toMatch(/^kubemu: option '--profile <profile>' argument 'slow' is invalid\. Allowed choices are fast, realistic\.\n$/);
    const badSpec = await runKubemu(empty, ["up", "--spec", join(empty, "missing.yaml")]);
    expect(badSpec.code).toBe(1);
    expect(badSpec.stderr).toMatch(/^kubemu: cannot read spec file .*missing\.yaml: ENOENT.*\n$/);
  }, 60_000);
});
