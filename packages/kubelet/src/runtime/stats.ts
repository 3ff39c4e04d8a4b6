/**
 * The kubelet's Summary API (`GET /stats/summary`, upstream's statsapi.Summary), the source of
 * `kubectl top` in kubemu: the API servers' metrics.k8s.io asks each node for it. Upstream's
 * cAdvisor keeps recent samples of each container's cumulative CPU time and reports the rate
 * between the last two as usageNanoCores; the UsageSampler does the same from /proc (usage.ts),
 * sampling every SAMPLE_INTERVAL_MS: a container's cgroup (cpuacct/cpu.stat, memory usage minus
 * inactive file pages) where the kubelet has cgroups, else its process tree from /proc (working
 * set = RSS).
 */
import { workingSetOf, type ProcessTreeUsage } from "./usage.js";

/** How often usage is sampled: the window a CPU rate is measured over (cAdvisor's housekeeping is 10 s too). */
export const SAMPLE_INTERVAL_MS = 10_000;

export interface Sample {
  /** Wall-clock milliseconds of the reading. */
  at: number;
  cpuSeconds: number;
  rssBytes: number;
  workingSetBytes?: number;
  usageBytes?: number;
}

/** The CPU rate between two readings of a cumulative counter in nanocores; undefined without an earlier reading, or when time or the counter went back. */
export function nanoCores(prev: Sample | undefined, cur: Sample): number | undefined {
  if (!prev) return undefined;
  const seconds = (cur.at - prev.at) / 1000;
  const used = cur.cpuSeconds - prev.cpuSeconds;
  if (!(seconds > 0) || used < 0) return undefined;
  return Math.round((used / seconds) * 1e9);
}

/** Upstream's CPUStats and MemoryStats (the fields metrics-server reads, plus rssBytes). */
export interface CpuStats {
  time: string;
  usageNanoCores?: number;
  usageCoreNanoSeconds: number;
}
export interface MemoryStats {
  time: string;
  workingSetBytes: number;
  rssBytes: number;
  usageBytes: number;
}

/** The last two readings per key (a container instance, or the node). */
export class UsageSampler {
  private readonly readings = new Map<string, { prev?: Sample; cur: Sample }>();

  record(key: string, at: number, usage: ProcessTreeUsage): void {
    const had = this.readings.get(key);
    this.readings.set(key, { ...(had ? { prev: had.cur } : {}), cur: { at, cpuSeconds: usage.cpuSeconds, rssBytes: usage.rssBytes, workingSetBytes: workingSetOf(usage), usageBytes: usage.usageBytes ?? usage.rssBytes } });
  }

  /** Forgets every key not in `live` (containers that stopped). */
  retain(live: ReadonlySet<string>): void {
    for (const k of this.readings.keys()) if (!live.has(k)) this.readings.delete(k);
  }

  cpu(key: string): CpuStats | undefined {
    const r = this.readings.get(key);
    if (!r) return undefined;
    const rate = nanoCores(r.prev, r.cur);
    return { time: new Date(r.cur.at).toISOString(), ...(rate !== undefined ? { usageNanoCores: rate } : {}), usageCoreNanoSeconds: Math.round(r.cur.cpuSeconds * 1e9) };
  }

  memory(key: string): MemoryStats | undefined {
    const r = this.readings.get(key);
    if (!r) return undefined;
    return { time: new Date(r.cur.at).toISOString(), workingSetBytes: r.cur.workingSetBytes ?? r.cur.rssBytes, rssBytes: r.cur.rssBytes, usageBytes: r.cur.usageBytes ?? r.cur.rssBytes };
  }
}

export interface RunningContainer {
  namespace: string;
  pod: string;
  uid: string;
  container: string;
  startedAt: number;
}

/** A container instance's key: a restarted container starts a new series (its counter restarts). */
export const containerKey = (c: RunningContainer): string => `${c.uid}/${c.container}/${c.startedAt}`;
export const NODE_KEY = "";

/** The Summary document for a node and its running containers, from the sampler's readings. */
export function summary(nodeName: string, nodeStartedAt: number, sampler: UsageSampler, containers: readonly RunningContainer[]): Record<string, unknown> {
  const pods = new Map<string, { ref: { name: string; namespace: string; uid: string }; startedAt: number; containers: Record<string, unknown>[]; cpu?: CpuStats; memory?: MemoryStats }>();
  for (const c of containers) {
    const key = containerKey(c);
    const cpu = sampler.cpu(key);
    const memory = sampler.memory(key);
    if (!cpu || !memory) continue;
    const pod = pods.get(c.uid) ?? { ref: { name: c.pod, namespace: c.namespace, uid: c.uid }, startedAt: c.startedAt, containers: [] };
    pod.startedAt = Math.min(pod.startedAt, c.startedAt);
    pod.containers.push({ name: c.container, startTime: new Date(c.startedAt).toISOString(), cpu, memory });
    pod.cpu = addCpu(pod.cpu, cpu);
    pod.memory = addMemory(pod.memory, memory);
    pods.set(c.uid, pod);
  }
  return {
    node: { nodeName, startTime: new Date(nodeStartedAt).toISOString(), ...(sampler.cpu(NODE_KEY) ? { cpu: sampler.cpu(NODE_KEY), memory: sampler.memory(NODE_KEY) } : {}) },
    pods: [...pods.values()].map((p) => ({ podRef: p.ref, startTime: new Date(p.startedAt).toISOString(), containers: p.containers, ...(p.cpu ? { cpu: p.cpu } : {}), ...(p.memory ? { memory: p.memory } : {}) })),
  };
}

/** A pod's CPU: the sum of its containers'; its rate only when every container has one. */
function addCpu(sum: CpuStats | undefined, c: CpuStats): CpuStats {
  if (!sum) return { ...c };
  const rate = sum.usageNanoCores !== undefined && c.usageNanoCores !== undefined ? sum.usageNanoCores + c.usageNanoCores : undefined;
  return { time: sum.time > c.time ? sum.time : c.time, ...(rate !== undefined ? { usageNanoCores: rate } : {}), usageCoreNanoSeconds: sum.usageCoreNanoSeconds + c.usageCoreNanoSeconds };
}

function addMemory(sum: MemoryStats | undefined, m: MemoryStats): MemoryStats {
  if (!sum) return { ...m };
  return { time: sum.time > m.time ? sum.time : m.time, workingSetBytes: sum.workingSetBytes + m.workingSetBytes, rssBytes: sum.rssBytes + m.rssBytes, usageBytes: sum.usageBytes + m.usageBytes };
}
