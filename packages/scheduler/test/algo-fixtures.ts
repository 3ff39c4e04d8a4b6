/** Builders for the scheduling-algorithm tests: nodes, pods, a plain Snapshot, listers, a Handle. */
import type { Container, Node, PersistentVolume, PersistentVolumeClaim, Pod, Service, Taint, Toleration } from "kubernetes-types/core/v1.js";
import type { ReplicaSet } from "kubernetes-types/apps/v1.js";
import type { StorageClass } from "kubernetes-types/storage/v1.js";
import type { PodDisruptionBudget } from "kubernetes-types/policy/v1.js";
import type { Namespace } from "kubernetes-types/core/v1.js";
import { CycleState, NodeInfo, newPodInfo, type ClusterListers, type Handle, type PodInfo, type PodNominator, type Snapshot } from "@kubemu/scheduler";

let uidCounter = 0;

export interface NodeOpts {
  cpu?: string;
  memory?: string;
  pods?: number;
  ephemeral?: string;
  extra?: Record<string, string>;
  labels?: Record<string, string>;
  taints?: Taint[];
  unschedulable?: boolean;
}

/** A node with allocatable resources and the hostname label set to its name. */
export function makeNode(name: string, o: NodeOpts = {}): Node {
  const allocatable: Record<string, string> = { cpu: o.cpu ?? "4", memory: o.memory ?? "8Gi", pods: String(o.pods ?? 110), ...(o.extra ?? {}) };
  if (o.ephemeral !== undefined) allocatable["ephemeral-storage"] = o.ephemeral;
  return {
    metadata: { name, uid: `node-${name}`, labels: { "kubernetes.io/hostname": name, ...(o.labels ?? {}) } },
    spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
    status: { allocatable, capacity: allocatable },
  };
}

export interface PodOpts {
  namespace?: string;
  cpu?: string;
  memory?: string;
  requests?: Record<string, string>;
  labels?: Record<string, string>;
  nodeName?: string;
  priority?: number;
  tolerations?: Toleration[];
  containers?: Container[];
  initContainers?: Container[];
  spec?: Partial<Pod["spec"]>;
  status?: Pod["status"];
  owner?: { apiVersion: string; kind: string; name: string };
  uid?: string;
}

/** A pod with one container requesting cpu/memory (both optional). */
export function makePod(name: string, o: PodOpts = {}): Pod {
  const requests: Record<string, string> = { ...(o.requests ?? {}) };
  if (o.cpu !== undefined) requests["cpu"] = o.cpu;
  if (o.memory !== undefined) requests["memory"] = o.memory;
  const containers: Container[] = o.containers ?? [{ name: "c", image: "pause", ...(Object.keys(requests).length > 0 ? { resources: { requests } } : {}) }];
  return {
    metadata: {
      name,
      namespace: o.namespace ?? "default",
      uid: o.uid ?? `uid-${name}-${++uidCounter}`,
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.owner ? { ownerReferences: [{ ...o.owner, uid: `owner-${o.owner.name}`, controller: true }] } : {}),
    },
    spec: {
      containers,
      ...(o.initContainers ? { initContainers: o.initContainers } : {}),
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      ...(o.priority !== undefined ? { priority: o.priority } : {}),
      ...(o.tolerations ? { tolerations: o.tolerations } : {}),
      ...(o.spec ?? {}),
    },
    ...(o.status ? { status: o.status } : {}),
  };
}

/** A Snapshot over NodeInfos, with the affinity sub-lists computed as the cache does. */
export class TestSnapshot implements Snapshot {
  readonly nodeInfoList: NodeInfo[];
  private readonly byName = new Map<string, NodeInfo>();

  constructor(nodes: NodeInfo[]) {
    this.nodeInfoList = nodes;
    for (const n of nodes) this.byName.set(n.name, n);
  }

  get havePodsWithAffinityNodeInfoList(): NodeInfo[] {
    return this.nodeInfoList.filter((n) => n.podsWithAffinity.length > 0);
  }

  get havePodsWithRequiredAntiAffinityNodeInfoList(): NodeInfo[] {
    return this.nodeInfoList.filter((n) => n.podsWithRequiredAntiAffinity.length > 0);
  }

  get(name: string): NodeInfo | undefined {
    return this.byName.get(name);
  }
}

/** NodeInfos for nodes, with each pod placed on the node its spec.nodeName names. */
export function nodeInfos(nodes: Node[], pods: Pod[] = []): NodeInfo[] {
  const infos = nodes.map((n) => new NodeInfo(n));
  const byName = new Map(infos.map((i) => [i.name, i]));
  for (const p of pods) {
    const ni = byName.get(p.spec?.nodeName ?? "");
    if (ni === undefined) throw new Error(`pod ${p.metadata?.name} names no known node`);
    ni.addPod(p);
  }
  return infos;
}

export function snapshotOf(nodes: Node[], pods: Pod[] = []): TestSnapshot {
  return new TestSnapshot(nodeInfos(nodes, pods));
}

export interface ListerData {
  pvcs?: PersistentVolumeClaim[];
  pvs?: PersistentVolume[];
  storageClasses?: StorageClass[];
  services?: Service[];
  replicaSets?: ReplicaSet[];
  namespaces?: Namespace[];
  pdbs?: PodDisruptionBudget[];
}

/** ClusterListers over fixed object lists. */
export function listersOf(d: ListerData = {}): ClusterListers {
  const ns = (o: { metadata?: { namespace?: string } }) => o.metadata?.namespace ?? "";
  const nm = (o: { metadata?: { name?: string } }) => o.metadata?.name ?? "";
  return {
    persistentVolumeClaim: (n, name) => d.pvcs?.find((p) => ns(p) === n && nm(p) === name),
    persistentVolume: (name) => d.pvs?.find((p) => nm(p) === name),
    persistentVolumes: () => d.pvs ?? [],
    storageClass: (name) => d.storageClasses?.find((s) => nm(s) === name),
    services: (n) => (d.services ?? []).filter((s) => ns(s) === n),
    replicaSet: (n, name) => d.replicaSets?.find((r) => ns(r) === n && nm(r) === name),
    statefulSet: () => undefined,
    replicationController: () => undefined,
    namespace: (name) => d.namespaces?.find((x) => nm(x) === name),
    namespaces: () => d.namespaces ?? [],
    podDisruptionBudgets: () => d.pdbs ?? [],
  };
}

/** A Handle over a snapshot and listers (time fixed at `now`). */
export function handleOf(snapshot: Snapshot, listers: ClusterListers = listersOf(), now = 1_700_000_000_000, nominator?: PodNominator): Handle {
  return { snapshot, listers, nominator, now: () => now };
}

export { CycleState, newPodInfo };
export type { PodInfo };
