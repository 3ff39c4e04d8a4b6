/**
 * The pure parts of the kubelet's cgroup layer (cgroups.ts does the file system): which
 * hierarchies /proc/self/mountinfo offers, where a container's cgroup goes (upstream's cgroupfs
 * layout kubepods[/burstable|/besteffort]/pod<uid>/<containerID>, below a parent of kubemu's own
 * per node), the values written from a container's resources (upstream's MilliCPUToQuota,
 * MilliCPUToShares and the v2 weight conversion), and the parsers of what the kernel reports
 * (memory.stat, memory.oom_control, memory.events, cpu.stat).
 */
import { createHash } from "node:crypto";
import { posix } from "node:path";
import type { QosClass } from "../pod/qos.js";

/** Upstream's CFS period (100 ms) and the smallest quota it writes (1 ms). */
export const CPU_PERIOD_US = 100_000;
export const MIN_QUOTA_US = 1_000;
/** cpu.shares bounds (the kernel's). */
export const MIN_SHARES = 2;
export const MAX_SHARES = 262_144;

/** cfs_quota_us for a CPU limit in millicores (upstream's MilliCPUToQuota); undefined without a limit. */
export function milliCpuToQuota(milliCpu: number, periodUs = CPU_PERIOD_US): number | undefined {
  if (!(milliCpu > 0)) return undefined;
  return Math.max(Math.floor((milliCpu * periodUs) / 1000), MIN_QUOTA_US);
}

/** cpu.shares for a CPU request in millicores (upstream's MilliCPUToShares): 1024 per core, at least 2. */
export function milliCpuToShares(milliCpu: number): number {
  if (!(milliCpu > 0)) return MIN_SHARES;
  return Math.min(Math.max(Math.floor((milliCpu * 1024) / 1000), MIN_SHARES), MAX_SHARES);
}

/** cgroup v2 cpu.weight [1, 10000] from v1 shares [2, 262144] (the OCI runtimes' and upstream's conversion). */
export function sharesToWeight(shares: number): number {
  const s = Math.min(Math.max(shares, MIN_SHARES), MAX_SHARES);
  return 1 + Math.floor(((s - 2) * 9999) / 262_142);
}

/** What a container's cgroup is given: bytes, and CPU in millicores. */
export interface ContainerLimits {
  memoryLimitBytes?: number;
  cpuLimitMilli?: number;
  cpuRequestMilli?: number;
}

/** The files and values written into a container's cgroup, per controller (v1) or in the one directory (v2). */
export function limitFiles(version: 1 | 2, l: ContainerLimits): { controller: "memory" | "cpu"; file: string; value: string }[] {
  const quota = l.cpuLimitMilli !== undefined ? milliCpuToQuota(l.cpuLimitMilli) : undefined;
  // With a limit but no request the API defaults the request to the limit; kubemu's pods may lack that defaulting.
  const shares = milliCpuToShares(l.cpuRequestMilli ?? l.cpuLimitMilli ?? 0);
  const out: { controller: "memory" | "cpu"; file: string; value: string }[] = [];
  if (version === 1) {
    if (l.memoryLimitBytes !== undefined) out.push({ controller: "memory", file: "memory.limit_in_bytes", value: String(l.memoryLimitBytes) });
    out.push({ controller: "cpu", file: "cpu.shares", value: String(shares) });
    if (quota !== undefined) out.push({ controller: "cpu", file: "cpu.cfs_period_us", value: String(CPU_PERIOD_US) }, { controller: "cpu", file: "cpu.cfs_quota_us", value: String(quota) });
    return out;
  }
  if (l.memoryLimitBytes !== undefined) out.push({ controller: "memory", file: "memory.max", value: String(l.memoryLimitBytes) });
  // Upstream's kubelet on v2 has the kernel kill the whole container on OOM (memory.oom.group).
  out.push({ controller: "memory", file: "memory.oom.group", value: "1" });
  out.push({ controller: "cpu", file: "cpu.weight", value: String(sharesToWeight(shares)) });
  if (quota !== undefined) out.push({ controller: "cpu", file: "cpu.max", value: `${quota} ${CPU_PERIOD_US}` });
  return out;
}

/**
 * The node's own subtree, relative to a hierarchy's root: kubemu/<node>_<8 hex of sha256(rootDir)>.
 * The hash keeps two clusters' nodes of the same name (every test cluster has a `kubemu`) apart,
 * so a kubelet sweeping its stale cgroups never touches another kubelet's.
 */
export function nodeCgroupParent(nodeName: string, rootDir: string): string {
  const safe = nodeName.replace(/[^A-Za-z0-9_.-]/g, "_");
  return `kubemu/${safe}_${createHash("sha256").update(rootDir).digest("hex").slice(0, 8)}`;
}

/** A pod's directory below the node's parent, as upstream's cgroupfs driver names it. */
export function podCgroupPath(parent: string, qos: QosClass, podUid: string): string {
  const tier = qos === "Guaranteed" ? "" : qos === "Burstable" ? "burstable/" : "besteffort/";
  return posix.join(parent, "kubepods", `${tier}pod${podUid.replace(/[^A-Za-z0-9-]/g, "")}`);
}

export function containerCgroupPath(parent: string, qos: QosClass, podUid: string, containerID: string): string {
  if (!/^[0-9a-f]{1,64}$/.test(containerID)) throw new Error(`container ID "${containerID}" is not hexadecimal`);
  return posix.join(podCgroupPath(parent, qos, podUid), containerID);
}

/** One cgroup hierarchy mounted on this machine. */
export interface Hierarchy {
  version: 1 | 2;
  mountPoint: string;
  /** v1: the controllers bound to it (cpu, cpuacct, memory, …); v2: empty (read cgroup.controllers). */
  controllers: string[];
}

/** Cgroup hierarchies from /proc/self/mountinfo (field 5 the mount point; after " - " the type and super options). */
export function parseMountinfo(text: string): Hierarchy[] {
  const out: Hierarchy[] = [];
  for (const line of text.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep === -1) continue;
    const fields = line.slice(0, sep).split(" ");
    const [type, , superOpts = ""] = line.slice(sep + 3).split(" ");
    const mountPoint = (fields[4] ?? "").replace(/\\040/g, " ");
    if (type === "cgroup2") out.push({ version: 2, mountPoint, controllers: [] });
    else if (type === "cgroup") out.push({ version: 1, mountPoint, controllers: superOpts.split(",").filter((o) => !["rw", "ro"].includes(o) && !o.includes("=")) });
  }
  return out;
}

/** "key value" lines (memory.stat, cpu.stat, memory.events, memory.oom_control) as numbers. */
export function parseKeyValues(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^-?\d+$/.test(v)) out.set(k, Number(v));
  }
  return out;
}

/** The working set as cAdvisor computes it: usage minus inactive file pages, never below 0. */
export function workingSet(usageBytes: number, inactiveFileBytes: number): number {
  return Math.max(0, usageBytes - inactiveFileBytes);
}

/**
 * Whether the kernel's OOM killer killed a process of the cgroup. v1: memory.oom_control's
 * oom_kill counter (kernels ≥ 4.13); on older kernels under_oom, or a hit limit (failcnt) with
 * the container killed by SIGKILL. v2: memory.events' oom_kill.
 */
export function oomKilled(version: 1 | 2, files: { oomControl?: string; failcnt?: string; events?: string }, killedBySigkill: boolean): boolean {
  if (version === 2) return (parseKeyValues(files.events ?? "").get("oom_kill") ?? 0) > 0;
  const oc = parseKeyValues(files.oomControl ?? "");
  const kills = oc.get("oom_kill");
  if (kills !== undefined) return kills > 0;
  return (oc.get("under_oom") ?? 0) > 0 || (killedBySigkill && Number((files.failcnt ?? "0").trim()) > 0);
}
