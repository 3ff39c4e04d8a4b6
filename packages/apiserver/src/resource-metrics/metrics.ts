/**
 * metrics.k8s.io/v1beta1 (what `kubectl top` reads), computed on every read as metrics-server
 * would answer it: each Ready node's kubelet is asked for its Summary (`/stats/summary`, CPU as
 * a rate the kubelet measured between its last two samples, memory as working set) and the
 * answer turned into NodeMetrics and PodMetrics, with metrics-server's quantity formats (CPU in
 * nanocores, memory in bytes as a binary quantity) and its rules: a node or pod without a CPU
 * rate yet has no metrics, a pod is reported only when all its running containers are.
 */
import type { Node, Pod } from "kubernetes-types/core/v1.js";
import { formatQuantity, newNotFound } from "@kubemu/common";
import type { KubeObject } from "../storage/index.js";
import type { ComputeContext } from "../registry/types.js";

/**
 * The window a CPU rate is measured over: the kubelet's sampling interval (its stats.ts
 * SAMPLE_INTERVAL_MS), reported as metrics-server reports the time between its two scrapes.
 */
export const METRICS_WINDOW = "10s";

interface CpuStats {
  time?: string;
  usageNanoCores?: number;
}
interface MemoryStats {
  time?: string;
  workingSetBytes?: number;
}
interface ContainerStats {
  name: string;
  cpu?: CpuStats;
  memory?: MemoryStats;
}
interface PodStats {
  podRef: { name: string; namespace: string; uid?: string };
  containers?: ContainerStats[];
}
export interface Summary {
  node?: { nodeName?: string; cpu?: CpuStats; memory?: MemoryStats };
  pods?: PodStats[];
}

/** CPU as metrics-server writes it: nanocores, canonical (`123456789n`, `250m`). */
export function cpuQuantity(nanoCores: number): string {
  return formatQuantity({ mantissa: BigInt(Math.max(0, Math.round(nanoCores))), exponent: -9, format: "DecimalSI" });
}

/** Memory as metrics-server writes it: bytes as a binary quantity (`14884Ki`, `1000`). */
export function memoryQuantity(bytes: number): string {
  return formatQuantity({ mantissa: BigInt(Math.max(0, Math.round(bytes))), exponent: 0, format: "BinarySI" });
}

const usageOf = (cpu: CpuStats | undefined, memory: MemoryStats | undefined): { cpu: string; memory: string } | undefined =>
  cpu?.usageNanoCores !== undefined && memory?.workingSetBytes !== undefined ? { cpu: cpuQuantity(cpu.usageNanoCores), memory: memoryQuantity(memory.workingSetBytes) } : undefined;

const meta = (name: string, labels: Record<string, string> | undefined, now: Date, namespace?: string) => ({
  name,
  ...(namespace !== undefined ? { namespace } : {}),
  creationTimestamp: now.toISOString(),
  ...(labels && Object.keys(labels).length ? { labels } : {}),
});

/** A node's NodeMetrics from its kubelet's Summary; undefined while the kubelet has no CPU rate yet. */
export function nodeMetrics(node: Node, s: Summary, now: Date): KubeObject | undefined {
  const usage = usageOf(s.node?.cpu, s.node?.memory);
  if (!usage) return undefined;
  return {
    kind: "NodeMetrics",
    apiVersion: "metrics.k8s.io/v1beta1",
    metadata: meta(node.metadata!.name!, node.metadata?.labels, now),
    timestamp: s.node!.cpu!.time ?? now.toISOString(),
    window: METRICS_WINDOW,
    usage,
  } as KubeObject;
}

/** A pod's PodMetrics, one entry per container; undefined when any of them has no rate yet. */
export function podMetrics(pod: Pod, stats: PodStats, now: Date): KubeObject | undefined {
  const containers: { name: string; usage: { cpu: string; memory: string } }[] = [];
  let timestamp = "";
  for (const c of stats.containers ?? []) {
    const usage = usageOf(c.cpu, c.memory);
    if (!usage) return undefined;
    containers.push({ name: c.name, usage });
    if ((c.cpu?.time ?? "") > timestamp) timestamp = c.cpu!.time!;
  }
  if (containers.length === 0) return undefined;
  return {
    kind: "PodMetrics",
    apiVersion: "metrics.k8s.io/v1beta1",
    metadata: meta(pod.metadata!.name!, pod.metadata?.labels, now, pod.metadata!.namespace!),
    timestamp: timestamp || now.toISOString(),
    window: METRICS_WINDOW,
    containers,
  } as KubeObject;
}

const isReady = (n: Node) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/** The Summaries of the Ready nodes that answered (a node that did not is left out). */
async function summaries(ctx: ComputeContext, nodes: Node[]): Promise<{ node: Node; summary: Summary }[]> {
  const answers = await Promise.all(
    nodes.filter(isReady).map(async (node) => {
      try {
        const summary = (await ctx.kubeletJson(node as KubeObject, "/stats/summary?only_cpu_and_memory=true")) as Summary;
        return { node, summary };
      } catch {
        return undefined;
      }
    }),
  );
  return answers.filter((a) => a !== undefined);
}

export async function computeNodeMetrics(ctx: ComputeContext): Promise<KubeObject[]> {
  const nodes = (await ctx.list("", "v1", "nodes")) as Node[];
  const now = ctx.now();
  return (await summaries(ctx, nodes)).map(({ node, summary }) => nodeMetrics(node, summary, now)).filter((m) => m !== undefined);
}

export async function computePodMetrics(ctx: ComputeContext, namespace: string | undefined): Promise<KubeObject[]> {
  const pods = ((await ctx.list("", "v1", "pods")) as Pod[]).filter((p) => p.spec?.nodeName && (namespace === undefined || p.metadata?.namespace === namespace));
  if (pods.length === 0) return [];
  const hosting = new Set(pods.map((p) => p.spec!.nodeName!));
  const nodes = ((await ctx.list("", "v1", "nodes")) as Node[]).filter((n) => hosting.has(n.metadata!.name!));
  const byKey = new Map(pods.map((p) => [`${p.metadata!.namespace}/${p.metadata!.name}`, p]));
  const now = ctx.now();
  const out: KubeObject[] = [];
  for (const { summary } of await summaries(ctx, nodes)) {
    for (const stats of summary.pods ?? []) {
      const pod = byKey.get(`${stats.podRef.namespace}/${stats.podRef.name}`);
      // A pod of the same name made again since the kubelet sampled is not this one.
      if (!pod || (stats.podRef.uid && stats.podRef.uid !== pod.metadata!.uid)) continue;
      const m = podMetrics(pod, stats, now);
      if (m) out.push(m);
    }
  }
  return out;
}

/** metrics-server's NotFound: `podmetrics.metrics.k8s.io "ns/name" not found`, `nodemetrics.metrics.k8s.io "name" not found`. */
export function metricsNotFound(resource: "nodemetrics" | "podmetrics") {
  return (name: string, namespace: string | undefined): Error => newNotFound({ group: "metrics.k8s.io", resource }, namespace !== undefined ? `${namespace}/${name}` : name);
}
