/**
 * The plugin framework's contracts (upstream's pkg/scheduler/framework/interface.go, simplified):
 * PreFilter → Filter → (on failure) PostFilter, and PreScore → Score → NormalizeScore. Reserve,
 * Permit, PreBind and Bind are the caller's business: the cycle's outcome carries what they need
 * (the node, the volume decisions, the preemption victims).
 */
import type { Namespace, PersistentVolume, PersistentVolumeClaim, Pod, ReplicationController, Service } from "kubernetes-types/core/v1.js";
import type { ReplicaSet, StatefulSet } from "kubernetes-types/apps/v1.js";
import type { StorageClass } from "kubernetes-types/storage/v1.js";
import type { PodDisruptionBudget } from "kubernetes-types/policy/v1.js";
import type { CycleState } from "./cycle-state.js";
import type { ClusterEvent } from "./events.js";
import type { NodeInfo, PodInfo } from "./node-info.js";
import type { Snapshot } from "./snapshot.js";
import { Status } from "./status.js";

/** Upstream's framework.MaxNodeScore: every normalized score lies in [0, 100]. */
export const MAX_NODE_SCORE = 100;

/**
 * ClusterListers: the cluster objects the algorithm reads besides nodes and pods, served by the
 * caller's informers. Every method is a synchronous cache lookup; `undefined` means "not in the
 * cache". The optional members degrade gracefully when absent (noted on each).
 */
export interface ClusterListers {
  /** VolumeBinding, VolumeRestrictions. */
  persistentVolumeClaim(namespace: string, name: string): PersistentVolumeClaim | undefined;
  /** VolumeBinding: the PV a bound claim names. */
  persistentVolume(name: string): PersistentVolume | undefined;
  /** VolumeBinding: candidate PVs for WaitForFirstConsumer claims (filtered by class here). */
  persistentVolumes(): readonly PersistentVolume[];
  /** VolumeBinding: binding mode, provisioner, allowedTopologies. */
  storageClass(name: string): StorageClass | undefined;
  /** PodTopologySpread's default constraints: Services in the pod's namespace. */
  services(namespace: string): readonly Service[];
  /** PodTopologySpread's default constraints: the pod's controller. */
  replicaSet(namespace: string, name: string): ReplicaSet | undefined;
  statefulSet(namespace: string, name: string): StatefulSet | undefined;
  replicationController(namespace: string, name: string): ReplicationController | undefined;
  /** InterPodAffinity's namespaceSelector; without it a namespaceSelector matches no namespace labels. */
  namespace?(name: string): Namespace | undefined;
  /** InterPodAffinity: namespaces a term's namespaceSelector selects. */
  namespaces?(): readonly Namespace[];
  /** DefaultPreemption prefers victims whose eviction violates no PDB; without it PDBs are ignored. */
  podDisruptionBudgets?(): readonly PodDisruptionBudget[];
}

/** Pods nominated to nodes (by earlier preemptions), from the scheduling queue. */
export interface PodNominator {
  nominatedPodsForNode(nodeName: string): readonly PodInfo[];
}

/** What plugins may read besides their arguments. `snapshot` is replaced at the start of each cycle. */
export interface Handle {
  snapshot: Snapshot;
  readonly listers: ClusterListers;
  readonly nominator: PodNominator | undefined;
  /** Wall-clock milliseconds, injected (preemption orders victims by start time; a pod without one "started now"). */
  now(): number;
}

/** A named plugin; `eventsToRegister` lists the cluster events that may make a pod it rejected schedulable. */
export interface Plugin {
  readonly name: string;
  eventsToRegister?(): ClusterEvent[];
}

/** PreFilter may narrow the nodes to evaluate; undefined nodeNames = all nodes. */
export interface PreFilterResult {
  nodeNames: ReadonlySet<string> | undefined;
}

export interface PreFilterOutcome {
  result?: PreFilterResult;
  status: Status | null;
}

export interface PreFilterPlugin extends Plugin {
  /** Computes the cycle's state. Skip = this plugin's Filter has nothing to check for the pod. */
  preFilter(state: CycleState, pod: PodInfo): PreFilterOutcome;
  /** Updates the state as if podToAdd were on nodeInfo (nominated pods, preemption's reprieves). */
  addPod?(state: CycleState, podToSchedule: PodInfo, podToAdd: PodInfo, nodeInfo: NodeInfo): Status | null;
  /** Updates the state as if podToRemove were gone from nodeInfo (preemption's victims). */
  removePod?(state: CycleState, podToSchedule: PodInfo, podToRemove: PodInfo, nodeInfo: NodeInfo): Status | null;
}

export interface FilterPlugin extends Plugin {
  /** null = the pod fits this node as far as this plugin is concerned. */
  filter(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Status | null;
}

/** The node statuses of a failed cycle, with one status standing for every node not listed. */
export class NodeToStatus {
  private readonly byNode = new Map<string, Status>();
  /** The status of nodes not in the map (upstream's default: UnschedulableAndUnresolvable, no reasons). */
  absentNodesStatus: Status = new Status("UnschedulableAndUnresolvable");

  set(nodeName: string, status: Status): void {
    this.byNode.set(nodeName, status);
  }

  /** A node's status: its own, or the absent-nodes status. */
  get(nodeName: string): Status {
    return this.byNode.get(nodeName) ?? this.absentNodesStatus;
  }

  get size(): number {
    return this.byNode.size;
  }

  entries(): IterableIterator<[string, Status]> {
    return this.byNode.entries();
  }

  /** The nodes whose status has `code`, absent nodes included when the absent status has it. */
  nodesForStatusCode(nodes: readonly NodeInfo[], code: Status["code"]): NodeInfo[] {
    const out: NodeInfo[] = [];
    const absentMatches = this.absentNodesStatus.code === code;
    for (const ni of nodes) {
      const s = this.byNode.get(ni.name);
      if (s === undefined ? absentMatches : s.code === code) out.push(ni);
    }
    return out;
  }
}

/** PostFilter's result: the node to nominate ("" clears a nomination) and who must go for it. */
export interface PostFilterResult {
  nominatedNodeName: string;
  /** Pods to delete so the preemptor fits (empty when nothing is nominated). */
  victims: Pod[];
  /** Lower-priority pods nominated to the same node whose nomination must be cleared. */
  clearNominationOf: Pod[];
}

export interface PostFilterOutcome {
  result: PostFilterResult | null;
  status: Status;
}

export interface PostFilterPlugin extends Plugin {
  postFilter(state: CycleState, pod: PodInfo, statuses: NodeToStatus): PostFilterOutcome;
}

export interface PreScorePlugin extends Plugin {
  /** Skip = this plugin's Score has nothing to say for the pod. */
  preScore(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): Status | null;
}

export interface ScorePlugin extends Plugin {
  /** The raw score of one feasible node. */
  score(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): number;
  /** Rescales scores[i] (of nodes[i]) into [0, MAX_NODE_SCORE] in place. */
  normalizeScore?(state: CycleState, pod: PodInfo, scores: number[], nodes: readonly NodeInfo[]): void;
}
