/**
 * The kubelet's cgroups (the file system side; the layout, values and parsers are in
 * cgroup-config.ts). At start NodeCgroups.detect probes, by making and removing a test group
 * below the node's own parent, whether cgroup v2 (a unified hierarchy with the memory and cpu
 * controllers) or v1 (writable memory and cpu hierarchies, cpuacct for usage) can be used; where
 * neither can, containers get the sampling memory watchdog instead (container.ts).
 *
 * Every container gets a cgroup before it starts (kubepods/<qos>/pod<uid>/<containerID> below
 * kubemu/<node>_<hash>), with its memory limit, CFS quota and shares; container.ts starts the
 * sandbox through a shell that writes its own pid into the cgroup.procs files and then execs
 * bwrap, so every process of the container is born inside. The kernel enforces the limits and
 * reports OOM kills; usage comes from the cgroup. A container's cgroup is removed once its
 * processes are gone, a pod's when the pod is done, and at start the node's stale subtree (a
 * killed kubelet's) is swept. Nothing outside kubemu/<node>_<hash> is ever written.
 */
import { mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "@kubemu/common";
import type { QosClass } from "../pod/qos.js";
import { containerCgroupPath, limitFiles, nodeCgroupParent, oomKilled, parseKeyValues, parseMountinfo, podCgroupPath, workingSet, type ContainerLimits, type Hierarchy } from "./cgroup-config.js";
import type { ProcessTreeUsage } from "./usage.js";

/** Where each controller this layer uses lives: v1 one mount point per controller (cpu and cpuacct may share one), v2 one for all. */
type Mounts = { version: 1; memory: string; cpu: string; cpuacct: string } | { version: 2; root: string };

const read = (path: string): string => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
};

export class NodeCgroups {
  private constructor(
    private readonly mounts: Mounts,
    /** The node's parent, relative to each hierarchy's root. */
    readonly parent: string,
    private readonly log: Logger,
  ) {}

  get version(): 1 | 2 {
    return this.mounts.version;
  }

  /**
   * Probes the hierarchies; undefined (and why) when no writable one has the memory and cpu
   * controllers. The test group is made where containers' groups will go, so a probe that
   * passes means container groups can be made.
   */
  static detect(nodeName: string, rootDir: string, log: Logger, mountinfo = read("/proc/self/mountinfo")): { cgroups?: NodeCgroups; note: string } {
    const parent = nodeCgroupParent(nodeName, rootDir);
    const hierarchies = parseMountinfo(mountinfo);
    const problems: string[] = [];
    for (const mounts of candidates(hierarchies)) {
      const c = new NodeCgroups(mounts, parent, log);
      const why = c.probe();
      if (!why) {
        const where = mounts.version === 2 ? mounts.root : `${mounts.memory}, ${mounts.cpu}, ${mounts.cpuacct}`;
        return { cgroups: c, note: `cgroup v${mounts.version}: containers get cgroups under ${parent} (${where}); memory and CPU limits are the kernel's` };
      }
      problems.push(`v${mounts.version}: ${why}`);
    }
    if (problems.length === 0) problems.push("no cgroup hierarchy with the memory and cpu controllers is mounted");
    return { note: `cgroups cannot be used (${problems.join("; ")}): memory limits are a sampling watchdog, CPU limits are not enforced` };
  }

  /** The directories (one per distinct hierarchy) of a path below the hierarchy roots. */
  private dirs(rel: string): { memory: string; cpu: string; cpuacct: string; all: string[] } {
    if (this.mounts.version === 2) {
      const d = join(this.mounts.root, rel);
      return { memory: d, cpu: d, cpuacct: d, all: [d] };
    }
    const memory = join(this.mounts.memory, rel);
    const cpu = join(this.mounts.cpu, rel);
    const cpuacct = join(this.mounts.cpuacct, rel);
    return { memory, cpu, cpuacct, all: [...new Set([memory, cpu, cpuacct])] };
  }

  /** Makes rel (and its ancestors); on v2 each new ancestor hands the memory and cpu controllers down. */
  private make(rel: string): void {
    try {
      this.makeOnce(rel);
    } catch (e) {
      // An empty ancestor removed by another kubelet's sweep of abandoned subtrees just then: once more.
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      this.makeOnce(rel);
    }
  }

  private makeOnce(rel: string): void {
    if (this.mounts.version === 1) {
      for (const d of this.dirs(rel).all) mkdirSync(d, { recursive: true });
      return;
    }
    const root = this.mounts.root;
    let cur = root;
    const parts = rel.split("/").filter(Boolean);
    for (let i = 0; i < parts.length; i++) {
      const enabled = read(join(cur, "cgroup.subtree_control")).split(/\s+/);
      if (!enabled.includes("memory") || !enabled.includes("cpu")) writeFileSync(join(cur, "cgroup.subtree_control"), "+memory +cpu");
      cur = join(cur, parts[i]!);
      mkdirSync(cur, { recursive: true });
    }
  }

  private probe(): string | undefined {
    const rel = `${this.parent}/probe-${process.pid}`;
    try {
      this.make(rel);
      const d = this.dirs(rel);
      for (const f of limitFiles(this.version, { memoryLimitBytes: 64 * 1024 * 1024, cpuLimitMilli: 500, cpuRequestMilli: 100 })) writeFileSync(join(d[f.controller], f.file), f.value);
      statSync(join(d.cpuacct, this.version === 2 ? "cpu.stat" : "cpuacct.usage"));
      for (const x of d.all) rmdirSync(x);
      return undefined;
    } catch (e) {
      for (const x of this.dirs(rel).all) {
        try {
          rmdirSync(x);
        } catch {
          // Never made.
        }
      }
      return e instanceof Error ? e.message : String(e);
    }
  }

  /** Makes a container's cgroup with its limits, before the container starts. Throws when the kernel refuses. */
  container(podUid: string, qos: QosClass, containerID: string, limits: ContainerLimits): ContainerCgroup {
    const rel = containerCgroupPath(this.parent, qos, podUid, containerID);
    this.make(rel);
    const d = this.dirs(rel);
    try {
      for (const f of limitFiles(this.version, limits)) writeFileSync(join(d[f.controller], f.file), f.value);
    } catch (e) {
      void removeTree(d.all, this.log, 0);
      throw e;
    }
    return new ContainerCgroup(this.version, d, this.log);
  }

  /** Removes a pod's directory once its containers' are gone (best effort: a busy one is left for the next sweep). */
  removePod(podUid: string, qos: QosClass): void {
    for (const d of this.dirs(podCgroupPath(this.parent, qos, podUid)).all) void removeTree([d], this.log, 3);
  }

  /**
   * Removes the node's whole subtree, killing what is left in it (a killed kubelet's containers
   * die with it, so normally nothing is): at start for a previous run's leftovers, at stop.
   * Returns how many cgroups were removed.
   */
  async sweep(): Promise<number> {
    return removeTree(this.dirs(this.parent).all, this.log, 20);
  }

  /**
   * Removes other nodes' subtrees under kubemu/ that hold no process and have not changed for
   * maxIdleMs: what kubelets killed for good left (a test cluster's SIGKILLed kubelets whose state
   * directory is gone, so no kubelet of theirs will sweep them). Only empty directories are
   * removed and no process is signalled, so a live kubelet's subtree is never harmed (a container
   * cgroup being made is new, so its ancestors are busy).
   */
  async sweepAbandoned(maxIdleMs: number, now = Date.now(), only: (name: string) => boolean = () => true): Promise<number> {
    const top = this.dirs(this.parent.split("/")[0]!).all;
    const own = this.parent.split("/")[1];
    let removed = 0;
    for (const t of top) {
      let names: string[] = [];
      try {
        names = readdirSync(t, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name !== own && only(e.name)).map((e) => e.name);
      } catch {
        continue;
      }
      for (const name of names) {
        const dir = join(t, name);
        if (procsBelow(dir).length > 0 || now - newestChange(dir) < maxIdleMs) continue;
        removed += await removeTree([dir], this.log, 0);
      }
    }
    return removed;
  }
}

/** The latest mtime (ms) of a cgroup directory and its descendants (a child made or removed changes it). */
function newestChange(dir: string): number {
  let newest = 0;
  try {
    newest = statSync(dir).mtimeMs;
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) newest = Math.max(newest, newestChange(join(dir, e.name)));
  } catch {
    // Removed meanwhile.
  }
  return newest;
}

/** The v1 hierarchies (memory, cpu, cpuacct) and v2 mounts that could hold the node's cgroups, v2 first. */
function candidates(hierarchies: Hierarchy[]): Mounts[] {
  const out: Mounts[] = [];
  for (const h of hierarchies.filter((x) => x.version === 2)) {
    const controllers = read(join(h.mountPoint, "cgroup.controllers")).split(/\s+/);
    if (controllers.includes("memory") && controllers.includes("cpu")) out.push({ version: 2, root: h.mountPoint });
  }
  const v1 = (c: string) => hierarchies.find((x) => x.version === 1 && x.controllers.includes(c))?.mountPoint;
  const [memory, cpu, cpuacct] = [v1("memory"), v1("cpu"), v1("cpuacct")];
  if (memory && cpu && cpuacct) out.push({ version: 1, memory, cpu, cpuacct });
  return out;
}

/** Pids in a cgroup directory and its descendants. */
function procsBelow(dir: string): number[] {
  const pids = read(join(dir, "cgroup.procs")).split("\n").filter(Boolean).map(Number);
  let subdirs: string[] = [];
  try {
    subdirs = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(dir, e.name));
  } catch {
    subdirs = [];
  }
  return [...pids, ...subdirs.flatMap(procsBelow)];
}

/** rmdir of every directory of the trees, deepest first; what is still busy is retried `retries` times 50 ms apart (its processes SIGKILLed). */
async function removeTree(roots: string[], log: Logger, retries: number): Promise<number> {
  let removed = 0;
  const rmdirDeep = (dir: string): boolean => {
    let entries: string[] = [];
    try {
      entries = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === "ENOENT";
    }
    let all = true;
    for (const name of entries) all = rmdirDeep(join(dir, name)) && all;
    if (!all) return false;
    try {
      rmdirSync(dir);
      removed++;
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === "ENOENT";
    }
  };
  let left = roots;
  for (let attempt = 0; ; attempt++) {
    left = left.filter((r) => !rmdirDeep(r));
    if (left.length === 0 || attempt >= retries) break;
    for (const pid of left.flatMap(procsBelow)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Gone meanwhile.
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  if (left.length > 0 && retries > 0) log.warn({ cgroups: left }, "cgroups still busy: left for the next sweep");
  return removed;
}

/** One container's cgroup. */
export class ContainerCgroup {
  constructor(
    readonly version: 1 | 2,
    private readonly d: { memory: string; cpu: string; cpuacct: string; all: string[] },
    private readonly log: Logger,
  ) {}

  /** The cgroup.procs files the container's first process writes its pid into before it execs the sandbox. */
  get procsFiles(): string[] {
    return this.d.all.map((x) => join(x, "cgroup.procs"));
  }

  /** CPU time and memory of every process in the cgroup (working set: usage minus inactive file pages). */
  usage(): ProcessTreeUsage {
    const stat = parseKeyValues(read(join(this.d.memory, "memory.stat")));
    if (this.version === 2) {
      const usageBytes = Number(read(join(this.d.memory, "memory.current")).trim()) || 0;
      const cpuUs = parseKeyValues(read(join(this.d.cpu, "cpu.stat"))).get("usage_usec") ?? 0;
      return { cpuSeconds: cpuUs / 1e6, rssBytes: stat.get("anon") ?? 0, usageBytes, workingSetBytes: workingSet(usageBytes, stat.get("inactive_file") ?? 0) };
    }
    const usageBytes = Number(read(join(this.d.memory, "memory.usage_in_bytes")).trim()) || 0;
    const cpuNs = Number(read(join(this.d.cpuacct, "cpuacct.usage")).trim()) || 0;
    return { cpuSeconds: cpuNs / 1e9, rssBytes: stat.get("total_rss") ?? stat.get("rss") ?? 0, usageBytes, workingSetBytes: workingSet(usageBytes, stat.get("total_inactive_file") ?? stat.get("inactive_file") ?? 0) };
  }

  /** Whether the kernel's OOM killer killed one of its processes (read before remove). */
  oomKilled(killedBySigkill: boolean): boolean {
    if (this.version === 2) return oomKilled(2, { events: read(join(this.d.memory, "memory.events")) }, killedBySigkill);
    return oomKilled(1, { oomControl: read(join(this.d.memory, "memory.oom_control")), failcnt: read(join(this.d.memory, "memory.failcnt")) }, killedBySigkill);
  }

  /** Removes the cgroup once its processes are gone; a process left behind (a daemon of a plain container) is killed, as runc does. */
  async remove(): Promise<void> {
    await removeTree(this.d.all, this.log, 40);
  }
}
