/**
 * The cgroup layer: the pure parts (upstream's quota/shares math, the kubepods layout, parsing
 * of mountinfo and the kernel's stat files), then — where this machine's cgroups are writable
 * (root, v1 or v2 with memory and cpu) — real containers in bwrap sandboxes: a memory hog ends
 * OOMKilled by the kernel, a busy loop under a 200m limit gets about 0.2 cores, and every cgroup
 * made is gone afterwards.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isProcessAlive, silentLogger } from "@kubemu/common";
import { containerCgroupPath, limitFiles, milliCpuToQuota, milliCpuToShares, nodeCgroupParent, oomKilled, parseKeyValues, parseMountinfo, podCgroupPath, sharesToWeight, workingSet } from "../src/runtime/cgroup-config.js";
import { NodeCgroups } from "../src/runtime/cgroups.js";
import { ContainerProcess, joinCgroupArgv } from "../src/runtime/container.js";
import { hostFs } from "../src/runtime/sandbox.js";
import { containerLimits } from "../src/pod/launch.js";

describe("cgroup values (upstream's conversions)", () => {
  it("CFS quota: milliCPU × period / 1000 with a 1 ms floor; none without a limit", () => {
    expect(milliCpuToQuota(200)).toBe(20_000);
    expect(milliCpuToQuota(1500)).toBe(150_000);
    expect(milliCpuToQuota(5)).toBe(1_000);
    expect(milliCpuToQuota(0)).toBeUndefined();
  });
  it("shares: 1024 per core, at least 2, at most 262144; v2 weight from shares", () => {
    expect(milliCpuToShares(0)).toBe(2);
    expect(milliCpuToShares(1)).toBe(2);
    expect(milliCpuToShares(100)).toBe(102);
    expect(milliCpuToShares(1000)).toBe(1024);
    expect(milliCpuToShares(1_000_000)).toBe(262_144);
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(262_144)).toBe(10_000);
  });
  it("the files written: v1 memory.limit_in_bytes, cpu.shares, cfs period/quota; v2 memory.max, oom.group, cpu.weight, cpu.max", () => {
    expect(limitFiles(1, { memoryLimitBytes: 52_428_800, cpuLimitMilli: 200 })).toEqual([
      { controller: "memory", file: "memory.limit_in_bytes", value: "52428800" },
      { controller: "cpu", file: "cpu.shares", value: "204" },
      { controller: "cpu", file: "cpu.cfs_period_us", value: "100000" },
      { controller: "cpu", file: "cpu.cfs_quota_us", value: "20000" },
    ]);
    expect(limitFiles(1, {})).toEqual([{ controller: "cpu", file: "cpu.shares", value: "2" }]);
    expect(limitFiles(2, { memoryLimitBytes: 1024, cpuLimitMilli: 500, cpuRequestMilli: 250 })).toEqual([
      { controller: "memory", file: "memory.max", value: "1024" },
      { controller: "memory", file: "memory.oom.group", value: "1" },
      { controller: "cpu", file: "cpu.weight", value: "10" },
      { controller: "cpu", file: "cpu.max", value: "50000 100000" },
    ]);
  });
  it("a container's limits from its resources; bad quantities are left out", () => {
    expect(containerLimits({ name: "c", resources: { limits: { memory: "50Mi", cpu: "200m" }, requests: { cpu: "100m" } } })).toEqual({ memoryLimitBytes: 52_428_800, cpuLimitMilli: 200, cpuRequestMilli: 100 });
    expect(containerLimits({ name: "c", resources: { limits: { memory: "lots" } } })).toEqual({});
    expect(containerLimits({ name: "c" })).toEqual({});
  });
});

describe("cgroup layout and parsing", () => {
  it("kubemu/<node>_<hash of the root dir>/kubepods[/burstable|/besteffort]/pod<uid>/<containerID>", () => {
    const parent = nodeCgroupParent("kubemu-m02", "/state/nodes/kubemu-m02");
    expect(parent).toMatch(/^kubemu\/kubemu-m02_[0-9a-f]{8}$/);
    expect(nodeCgroupParent("kubemu-m02", "/other/nodes/kubemu-m02")).not.toBe(parent);
    expect(nodeCgroupParent("a/../b", "/x")).toMatch(/^kubemu\/a_\.\._b_/);
    expect(podCgroupPath("p", "Guaranteed", "u-1")).toBe("p/kubepods/podu-1");
    expect(podCgroupPath("p", "Burstable", "u-1")).toBe("p/kubepods/burstable/podu-1");
    expect(podCgroupPath("p", "BestEffort", "../u")).toBe("p/kubepods/besteffort/podu");
    expect(containerCgroupPath("p", "BestEffort", "u", "ab12")).toBe("p/kubepods/besteffort/podu/ab12");
    expect(() => containerCgroupPath("p", "BestEffort", "u", "../x")).toThrow("not hexadecimal");
  });
  it("hierarchies from mountinfo: v1 controllers (named hierarchies skipped), cgroup2", () => {
    const text = [
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
      "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct",
      "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
      "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd",
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:5 - cgroup2 cgroup2 rw,nsdelegate",
    ].join("\n");
    expect(parseMountinfo(text)).toEqual([
      { version: 1, mountPoint: "/sys/fs/cgroup/cpu,cpuacct", controllers: ["cpu", "cpuacct"] },
      { version: 1, mountPoint: "/sys/fs/cgroup/memory", controllers: ["memory"] },
      { version: 1, mountPoint: "/sys/fs/cgroup/systemd", controllers: ["xattr"] },
      { version: 2, mountPoint: "/sys/fs/cgroup/unified", controllers: [] },
    ]);
  });
  it("stat files, working set, and the kernel's OOM kill counters", () => {
    const stat = parseKeyValues("cache 4096\nrss 1000\ntotal_inactive_file 300\n");
    expect(stat.get("total_inactive_file")).toBe(300);
    expect(workingSet(1000, 300)).toBe(700);
    expect(workingSet(100, 300)).toBe(0);
    expect(oomKilled(1, { oomControl: "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n" }, false)).toBe(true);
    expect(oomKilled(1, { oomControl: "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", failcnt: "12" }, true)).toBe(false);
    // Kernels before 4.13 have no oom_kill counter: a hit limit and a SIGKILL.
    expect(oomKilled(1, { oomControl: "oom_kill_disable 0\nunder_oom 0\n", failcnt: "12\n" }, true)).toBe(true);
    expect(oomKilled(1, { oomControl: "oom_kill_disable 0\nunder_oom 0\n", failcnt: "12\n" }, false)).toBe(false);
    expect(oomKilled(2, { events: "low 0\nhigh 0\nmax 30\noom 1\noom_kill 1\noom_group_kill 1\n" }, false)).toBe(true);
    expect(oomKilled(2, { events: "low 0\nhigh 0\nmax 30\noom 0\noom_kill 0\n" }, true)).toBe(false);
  });
  it("the join wrapper writes its own pid into each cgroup.procs, then execs (exit 126 when a write fails)", () => {
    const dir = mkdtempSync(join(tmpdir(), "kubemu-cgjoin-"));
    try {
      const [a, b] = [join(dir, "a"), join(dir, "b")];
      const r = spawnSync("/bin/sh", joinCgroupArgv([a, b], "/bin/sh", ["-c", "echo $$"]), { encoding: "utf8" });
      expect(r.status).toBe(0);
      // exec keeps the pid: the program is the process that joined.
      expect(readFileSync(a, "utf8").trim()).toBe(r.stdout.trim());
      expect(readFileSync(b, "utf8").trim()).toBe(r.stdout.trim());
      const bad = spawnSync("/bin/sh", joinCgroupArgv([join(dir, "missing", "cgroup.procs")], "/bin/true", []), { encoding: "utf8" });
      expect(bad.status).toBe(126);
      expect(bad.stderr).toContain("kubemu: cannot join cgroup");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The real kernel: skipped, with the reason, where cgroups are not writable.
const probeRoot = mkdtempSync(join(tmpdir(), "kubemu-cgroups-"));
afterAll(() => rmSync(probeRoot, { recursive: true, force: true }));
const detected = NodeCgroups.detect("cgtest", probeRoot, silentLogger);
const bwrapWorks = spawnSync("bwrap", ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid", "--", "true"]).status === 0;
const skip = !detected.cgroups || !bwrapWorks;
if (skip) console.log(`cgroup kernel tests skipped: ${!detected.cgroups ? detected.note : "bwrap cannot run here"}`);

describe.skipIf(skip)("containers in real cgroups", () => {
  const cg = detected.cgroups!;
  const run = (id: string, argv: string[], limits: Parameters<NodeCgroups["container"]>[3]) => {
    const cgroup = cg.container("0000-test", "Burstable", id, limits);
    const proc = new ContainerProcess(
      { containerID: id, argv, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, cwd: "/", hostname: "cgtest", mounts: [], hidden: [], logPath: join(probeRoot, `${id}.log`), cgroup, stopSignal: "SIGTERM" },
      { kind: "bwrap", unshareUser: false },
      hostFs(),
      silentLogger,
      () => Date.now(),
    );
    return { proc, cgroup };
  };
  const nodeDirs = () => (cg.version === 2 ? [`/sys/fs/cgroup/${cg.parent}`] : ["memory", "cpu", "cpuacct"].map((c) => `/sys/fs/cgroup/${c}/${cg.parent}`));

  afterAll(async () => {
    await cg.sweep();
    for (const d of nodeDirs()) expect(existsSync(d)).toBe(false);
  });

  it("a process allocating 200 MiB under a 50Mi limit is killed by the kernel: OOMKilled, 137; its cgroup is removed", async () => {
    const id = "aa01";
    const started = Date.now();
    const { proc } = run(id, ["/bin/sh", "-c", `exec ${process.execPath} -e "const a=[]; for (let i=0;i<200;i++) a.push(Buffer.alloc(1<<20, 1)); console.log('survived')"`], { memoryLimitBytes: 50 * 1024 * 1024 });
    const exit = await proc.exited;
    console.log(`OOM: killed ${Date.now() - started} ms after start`);
    expect(exit).toMatchObject({ exitCode: 137, reason: "OOMKilled" });
    expect(readFileSync(join(probeRoot, `${id}.log`), "utf8")).not.toContain("survived");
    const dir = cg.version === 2 ? `/sys/fs/cgroup/${cg.parent}/kubepods/burstable/pod0000-test/${id}` : `/sys/fs/cgroup/memory/${cg.parent}/kubepods/burstable/pod0000-test/${id}`;
    expect(existsSync(dir)).toBe(false);
  }, 30_000);

  it("a busy loop under a 200m CPU limit gets about 0.2 cores (cpuacct over 3 s), usage read from the cgroup", async () => {
    const { proc, cgroup } = run("bb02", ["/bin/sh", "-c", "while :; do :; done"], { cpuLimitMilli: 200 });
    await proc.started();
    await new Promise((r) => setTimeout(r, 500));
    const a = cgroup.usage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 3000));
    const b = cgroup.usage();
    const cores = (b.cpuSeconds - a.cpuSeconds) / ((performance.now() - t0) / 1000);
    console.log(`CPU-limited busy loop: ${cores.toFixed(3)} cores`);
    expect(cores).toBeGreaterThan(0.05);
    expect(cores).toBeLessThan(0.35);
    expect(b.workingSetBytes).toBeGreaterThan(0);
    const exit = await proc.stop(1000);
    expect(exit.reason).toBe("Error");
  }, 30_000);

  it("a plain (unsandboxed) container's daemon left behind in its cgroup is killed when the container exits, and the cgroup removed", async () => {
    const pidFile = join(probeRoot, "daemon.pid");
    const cgroup = cg.container("0000-test", "BestEffort", "cc03", {});
    const proc = new ContainerProcess(
      { containerID: "cc03", argv: ["/bin/sh", "-c", `sleep 60 >/dev/null 2>&1 3>&- 4>&- & echo $! > ${pidFile}`], env: { PATH: "/usr/bin:/bin" }, cwd: "/", hostname: "x", mounts: [], hidden: [], logPath: join(probeRoot, "cc03.log"), cgroup, stopSignal: "SIGTERM" },
      { kind: "none", setpriv: false },
      hostFs(),
      silentLogger,
      () => Date.now(),
    );
    const exit = await proc.exited;
    expect(exit).toMatchObject({ exitCode: 0, reason: "Completed" });
    const daemon = Number(readFileSync(pidFile, "utf8").trim());
    expect(daemon).toBeGreaterThan(0);
    expect(isProcessAlive(daemon)).toBe(false);
    expect(cgroup.procsFiles.some((f) => existsSync(f))).toBe(false);
  }, 30_000);

  it("another node's subtree with no process, unchanged for the idle time, is removed as abandoned; a busy or recent one is kept", async () => {
    const rel = `kubemu/zz-abandoned-${process.pid}_00000000/kubepods/besteffort`;
    const roots = cg.version === 2 ? ["/sys/fs/cgroup"] : [...new Set(["memory", "cpu", "cpuacct"].map((c) => `/sys/fs/cgroup/${c}`))];
    for (const r of roots) mkdirSync(join(r, rel), { recursive: true });
    const mine = (n: string) => n === `zz-abandoned-${process.pid}_00000000`;
    expect(await cg.sweepAbandoned(60_000, Date.now(), mine)).toBe(0);
    for (const r of roots) expect(existsSync(join(r, rel))).toBe(true);
    expect(await cg.sweepAbandoned(60_000, Date.now() + 120_000, mine)).toBe(3 * roots.length);
    for (const r of roots) expect(existsSync(join(r, `kubemu/zz-abandoned-${process.pid}_00000000`))).toBe(false);
  });
});
