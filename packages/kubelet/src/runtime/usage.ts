/**
 * Resource usage as the kubelet's /metrics/resource endpoint reports it (what metrics-server
 * scrapes for `kubectl top`): cumulative CPU seconds and working-set bytes per container (its
 * process tree, from /proc), per pod, and for the node (/proc/stat, /proc/meminfo, scaled to the
 * node's capacity: nodeUsage). A container in a cgroup reports the cgroup's figures (cgroups.ts);
 * without cgroups its working set is its resident memory.
 */
import { readFileSync } from "node:fs";

/** USER_HZ: /proc times are in these ticks on every Linux the kernel ships (not sysconf-able from Node). */
const TICKS_PER_SECOND = 100;

export interface ProcessTreeUsage {
  cpuSeconds: number;
  rssBytes: number;
  /** From a cgroup (cgroups.ts): usage minus inactive file pages, and the cgroup's whole usage. Without cgroups the working set is rssBytes. */
  workingSetBytes?: number;
  usageBytes?: number;
}

/** The working set a usage reading stands for. */
export const workingSetOf = (u: ProcessTreeUsage): number => u.workingSetBytes ?? u.rssBytes;

/** CPU (own + reaped children) and resident memory of pid and its live descendants. */
export function treeUsage(pid: number): ProcessTreeUsage {
  let ticks = 0;
  let rss = 0;
  const seen = new Set<number>();
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      rss += Number(f[21]) * 4096;
      for (const c of readFileSync(`/proc/${p}/task/${p}/children`, "utf8").split(" ").filter(Boolean)) stack.push(Number(c));
    } catch {
      // Exited meanwhile.
    }
  }
  return { cpuSeconds: ticks / TICKS_PER_SECOND, rssBytes: rss };
}

/** What the node's usage is measured against: the capacity it reports (cores, bytes). */
export interface NodeSize {
  cores: number;
  memoryBytes: number;
}

/**
 * The node's busy CPU seconds and used memory. Every kubemu node shares one host, so the host's
 * figures (/proc/stat busy time, MemTotal - MemAvailable) are scaled by the node's capacity over
 * the host's size: a node reporting 2 of 8 host CPUs reports a quarter of the host's busy time,
 * and its CPU% and MEMORY% in `kubectl top node` are the host's. Unscaled without a size, or when
 * the capacity is the host's (the default).
 */
export function nodeUsage(size?: NodeSize): ProcessTreeUsage {
  let cpuSeconds = 0;
  let rssBytes = 0;
  let cpuShare = 1;
  let memoryShare = 1;
  try {
    const lines = readFileSync("/proc/stat", "utf8").split("\n");
    const [, ...v] = lines[0]!.trim().split(/\s+/);
    const n = v.map(Number);
    const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
    cpuSeconds = (total - (n[3] ?? 0) - (n[4] ?? 0)) / TICKS_PER_SECOND;
    const hostCpus = lines.filter((l) => /^cpu\d+ /.test(l)).length;
    if (size && hostCpus > 0) cpuShare = size.cores / hostCpus;
  } catch {
    cpuSeconds = 0;
  }
  try {
    const mem = readFileSync("/proc/meminfo", "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB$`, "m").exec(mem)?.[1] ?? 0) * 1024;
    rssBytes = kb("MemTotal") - kb("MemAvailable");
    if (size && kb("MemTotal") > 0) memoryShare = size.memoryBytes / kb("MemTotal");
  } catch {
    rssBytes = 0;
  }
  return { cpuSeconds: cpuSeconds * cpuShare, rssBytes: Math.round(rssBytes * memoryShare) };
}

export interface ContainerUsage {
  namespace: string;
  pod: string;
  container: string;
  startedAt: number;
  usage: ProcessTreeUsage;
}

const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"');

/** The /metrics/resource text (Prometheus exposition with millisecond timestamps, as upstream). */
export function resourceMetrics(node: ProcessTreeUsage, containers: readonly ContainerUsage[], now: number): string {
  const lines: string[] = [];
  const family = (name: string, help: string, type: "counter" | "gauge", rows: [string, number][]) => {
    lines.push(`# HELP ${name} [STABLE] ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of rows) lines.push(`${name}${labels} ${v} ${now}`);
  };
  const cl = (c: ContainerUsage) => `{container="${esc(c.container)}",namespace="${esc(c.namespace)}",pod="${esc(c.pod)}"}`;
  family("container_cpu_usage_seconds_total", "Cumulative cpu time consumed by the container in core-seconds", "counter", containers.map((c) => [cl(c), c.usage.cpuSeconds]));
  family("container_memory_working_set_bytes", "Current working set of the container in bytes", "gauge", containers.map((c) => [cl(c), workingSetOf(c.usage)]));
  family("container_start_time_seconds", "Start time of the container since unix epoch in seconds", "gauge", containers.map((c) => [cl(c), c.startedAt / 1000]));
  family("node_cpu_usage_seconds_total", "Cumulative cpu time consumed by the node in core-seconds", "counter", [["", node.cpuSeconds]]);
  family("node_memory_working_set_bytes", "Current working set of the node in bytes", "gauge", [["", node.rssBytes]]);
  const pods = new Map<string, { ns: string; pod: string; cpu: number; mem: number }>();
  for (const c of containers) {
    const k = `${c.namespace}/${c.pod}`;
    const p = pods.get(k) ?? { ns: c.namespace, pod: c.pod, cpu: 0, mem: 0 };
    p.cpu += c.usage.cpuSeconds;
    p.mem += workingSetOf(c.usage);
    pods.set(k, p);
  }
  const pl = (p: { ns: string; pod: string }) => `{namespace="${esc(p.ns)}",pod="${esc(p.pod)}"}`;
  family("pod_cpu_usage_seconds_total", "Cumulative cpu time consumed by the pod in core-seconds", "counter", [...pods.values()].map((p) => [pl(p), p.cpu]));
  family("pod_memory_working_set_bytes", "Current working set of the pod in bytes", "gauge", [...pods.values()].map((p) => [pl(p), p.mem]));
  lines.push("# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise", "# TYPE resource_scrape_error gauge", "resource_scrape_error 0");
  return `${lines.join("\n")}\n`;
}
