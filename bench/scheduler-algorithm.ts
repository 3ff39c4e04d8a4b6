/**
 * Scheduling-algorithm benchmark: the pure algorithm alone (no queue, cache, API or binding).
 * Builds N nodes (32 cpu / 256Gi / 110 pods, spread over 3 zones) and schedules M pause pods with
 * small requests one by one, adding each to the NodeInfo of its chosen node, as the cache's assume
 * would. By default the pods belong to 10 ReplicaSets, so PodTopologySpread's system-default
 * spreading is active, as for Deployment pods in a real cluster.
 *
 *   npm run bench -- scheduler-algorithm [--nodes 1000] [--pods 10000] [--replicasets 10]
 *   node --cpu-prof --import tsx bench/main.ts scheduler-algorithm …   (profile; bench/lib/cpuprofile.ts reads it)
 *
 * `benchAlgorithm` is exported for the `scheduler` benchmark to compose.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import type { Node, Pod } from "kubernetes-types/core/v1.js";
import type { ReplicaSet } from "kubernetes-types/apps/v1.js";
import { SeededRng } from "@kubemu/common";
import { NodeInfo, SchedulingAlgorithm, newPodInfo, type ClusterListers, type Snapshot } from "@kubemu/scheduler";

export interface AlgorithmBenchOptions {
  nodes: number;
  pods: number;
  /** Pods are spread round-robin over this many ReplicaSets (0 = bare pods, no default spreading). */
  replicaSets?: number;
  zones?: number;
  seed?: number;
  /** Each pod's requests (default 10m / 16Mi; scheduler_perf's pod-default.yaml asks 100m / 500Mi). */
  requests?: { cpu: string; memory: string };
}

export interface AlgorithmBenchResult {
  nodes: number;
  pods: number;
  replicaSets: number;
  scheduled: number;
  unschedulable: number;
  totalMs: number;
  podsPerSec: number;
  /** Per-pod scheduling time (one cycle), in µs. */
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

/** A Snapshot over a fixed node list; the affinity sub-lists are recomputed when a pod with affinity lands. */
class BenchSnapshot implements Snapshot {
  readonly nodeInfoList: NodeInfo[];
  private readonly byName: Map<string, NodeInfo>;
  havePodsWithAffinityNodeInfoList: NodeInfo[] = [];
  havePodsWithRequiredAntiAffinityNodeInfoList: NodeInfo[] = [];

  constructor(nodes: NodeInfo[]) {
    this.nodeInfoList = nodes;
    this.byName = new Map(nodes.map((n) => [n.name, n]));
  }

  get(name: string): NodeInfo | undefined {
    return this.byName.get(name);
  }

  assume(pod: Pod, nodeName: string): void {
    const ni = this.byName.get(nodeName)!;
    const pi = newPodInfo({ ...pod, spec: { ...pod.spec!, nodeName } });
    ni.addPodInfo(pi);
    if (pi.hasAffinity) {
      this.havePodsWithAffinityNodeInfoList = this.nodeInfoList.filter((n) => n.podsWithAffinity.length > 0);
      this.havePodsWithRequiredAntiAffinityNodeInfoList = this.nodeInfoList.filter((n) => n.podsWithRequiredAntiAffinity.length > 0);
    }
  }
}

function benchNode(i: number, zones: number): Node {
  const name = `node-${String(i).padStart(5, "0")}`;
  const allocatable = { cpu: "32", memory: "256Gi", pods: "110", "ephemeral-storage": "500Gi" };
  return {
    metadata: { name, uid: `uid-${name}`, labels: { "kubernetes.io/hostname": name, "topology.kubernetes.io/zone": `zone-${i % zones}`, "kubernetes.io/os": "linux" } },
    spec: {},
    status: { allocatable, capacity: allocatable },
  };
}

function pausePod(i: number, rsCount: number, requests = { cpu: "10m", memory: "16Mi" }): Pod {
  const rs = rsCount > 0 ? i % rsCount : -1;
  const labels: Record<string, string> = rs >= 0 ? { app: `app-${rs}`, "pod-template-hash": "5d4f8c" } : { app: "bare" };
  return {
    metadata: {
      name: `pause-${i}`,
      namespace: "default",
      uid: `pod-uid-${i}`,
      labels,
      ...(rs >= 0 ? { ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: `app-${rs}-5d4f8c`, uid: `rs-${rs}`, controller: true }] } : {}),
    },
    spec: {
      containers: [{ name: "pause", image: "registry.k8s.io/pause:3.9", resources: { requests } }],
      tolerations: [
        { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
        { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
      ],
    },
  };
}

function listers(rsCount: number): ClusterListers {
  const replicaSets = new Map<string, ReplicaSet>();
  for (let r = 0; r < rsCount; r++) {
    const name = `app-${r}-5d4f8c`;
    replicaSets.set(name, { metadata: { name, namespace: "default" }, spec: { selector: { matchLabels: { app: `app-${r}`, "pod-template-hash": "5d4f8c" } }, template: {} } });
  }
  return {
    persistentVolumeClaim: () => undefined,
    persistentVolume: () => undefined,
    persistentVolumes: () => [],
    storageClass: () => undefined,
    services: () => [],
    replicaSet: (_ns, name) => replicaSets.get(name),
    statefulSet: () => undefined,
    replicationController: () => undefined,
  };
}

const percentile = (sorted: Float64Array, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

/** Schedules `pods` pause pods on `nodes` nodes through the algorithm alone. */
export function benchAlgorithm(opts: AlgorithmBenchOptions): AlgorithmBenchResult {
  const zones = opts.zones ?? 3;
  const rsCount = opts.replicaSets ?? 10;
  const snapshot = new BenchSnapshot(Array.from({ length: opts.nodes }, (_, i) => new NodeInfo(benchNode(i, zones))));
  const algo = new SchedulingAlgorithm({ listers: listers(rsCount), rng: new SeededRng(opts.seed ?? 1), now: () => 0 });
  const pods = Array.from({ length: opts.pods }, (_, i) => pausePod(i, rsCount, opts.requests));
  const times = new Float64Array(opts.pods);
  let scheduled = 0;
  let unschedulable = 0;
  const t0 = performance.now();
  for (let i = 0; i < pods.length; i++) {
    const pod = pods[i]!;
    const s = performance.now();
    const out = algo.schedule(pod, snapshot);
    times[i] = (performance.now() - s) * 1000;
    if (out.kind === "Scheduled") {
      snapshot.assume(pod, out.nodeName);
      scheduled++;
    } else if (out.kind === "Unschedulable") unschedulable++;
    else throw out.error;
  }
  const totalMs = performance.now() - t0;
  times.sort();
  return {
    nodes: opts.nodes,
    pods: opts.pods,
    replicaSets: rsCount,
    scheduled,
    unschedulable,
    totalMs: Math.round(totalMs),
    podsPerSec: Math.round((opts.pods / totalMs) * 1000),
    p50Us: Math.round(percentile(times, 0.5)),
    p99Us: Math.round(percentile(times, 0.99)),
    maxUs: Math.round(times[times.length - 1]!),
  };
}

function flag(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : dflt;
}

/** The dispatcher's entry (bench/main.ts runs every bench file): prints a table, writes bench/results/scheduler-algorithm.json. */
export async function run(args: string[]): Promise<void> {
  const pods = flag(args, "pods", 10_000);
  const rs = flag(args, "replicasets", 10);
  const nodeCounts = args.includes("--nodes") ? [flag(args, "nodes", 1000)] : [1000, 5000];
  const results: AlgorithmBenchResult[] = [];
  for (const nodes of nodeCounts) {
    for (const replicaSets of rs === 0 ? [0] : [rs, 0]) {
      // Warm-up on a small cluster so the JIT has compiled the hot paths before timing.
      benchAlgorithm({ nodes: 200, pods: 2000, replicaSets });
      results.push(benchAlgorithm({ nodes, pods, replicaSets }));
    }
  }
  console.log("nodes  pods   replicaSets  scheduled  pods/s   p50 µs  p99 µs  max µs  total ms");
  for (const r of results) {
    console.log(
      [r.nodes, r.pods, r.replicaSets, r.scheduled, r.podsPerSec, r.p50Us, r.p99Us, r.maxUs, r.totalMs].map((v, i) => String(v).padEnd([7, 7, 13, 11, 9, 8, 8, 8, 8][i]!)).join(""),
    );
  }
  const out = { name: "scheduler-algorithm", at: new Date().toISOString(), loadavg: loadavg(), results };
  const dir = fileURLToPath(new URL("./results/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}scheduler-algorithm.json`, JSON.stringify(out, null, 2) + "\n");
  console.log(`BENCH scheduler-algorithm ${JSON.stringify(results)}`);
}
