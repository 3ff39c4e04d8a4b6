/**
 * The scheduling algorithm of one cycle (upstream's schedulePod in pkg/scheduler/schedule_one.go),
 * pure and synchronous: given a pod and a Snapshot, it runs PreFilter, filters nodes from a
 * rotating start index until enough feasible ones are found (upstream's adaptive
 * percentageOfNodesToScore), scores them, and picks one of the best at random (reservoir sampling
 * with the injected Rng). When no node fits it runs PostFilter (preemption) and returns the
 * FailedScheduling message in upstream's words.
 *
 * Not here (the caller's): assuming the pod in the cache, binding, events, the pod's condition,
 * applying volume decisions, deleting victims and setting nominatedNodeName.
 */
import type { Pod } from "kubernetes-types/core/v1.js";
import type { Rng } from "@kubemu/common";
import { CycleState } from "../framework/cycle-state.js";
import type { ClusterEvent } from "../framework/events.js";
import { FitError, type Diagnosis } from "../framework/fit-error.js";
import type { Framework } from "../framework/framework.js";
import { NodeToStatus } from "../framework/interface.js";
import { newPodInfo, type NodeInfo, type PodInfo } from "../framework/node-info.js";
import type { Snapshot } from "../framework/snapshot.js";
import { Status } from "../framework/status.js";
import { newDefaultProfile, type DefaultFrameworkOptions } from "../plugins/registry.js";
import type { VolumeBinding, VolumeDecisions } from "../plugins/volume-binding.js";

/** Upstream's minFeasibleNodesToFind. */
export const MIN_FEASIBLE_NODES_TO_FIND = 100;
/** Upstream's minFeasibleNodesPercentageToFind. */
export const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5;
/** Upstream's ErrNoNodesAvailable text. */
export const ERR_NO_NODES_AVAILABLE = "no nodes available to schedule pods";

/**
 * How many feasible nodes to look for before scoring (upstream's numFeasibleNodesToFind): all of
 * them below 100 nodes; else `percentage` of them (0 = adaptive: 50% - 1% per 125 nodes, at least
 * 5%), and never fewer than 100.
 */
export function numFeasibleNodesToFind(percentageOfNodesToScore: number, numAllNodes: number): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes;
  let percentage = percentageOfNodesToScore;
  if (percentage === 0) {
    percentage = 50 - Math.trunc(numAllNodes / 125);
    if (percentage < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND) percentage = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND;
  }
  const n = Math.trunc((numAllNodes * percentage) / 100);
  return n < MIN_FEASIBLE_NODES_TO_FIND ? MIN_FEASIBLE_NODES_TO_FIND : n;
}

/** The pod goes to `nodeName`. */
export interface Scheduled {
  kind: "Scheduled";
  nodeName: string;
  /** Nodes filtered in this cycle, and how many of them fit (upstream's ScheduleResult). */
  evaluatedNodes: number;
  feasibleNodes: number;
  /** PVs to bind and claims to provision before binding the pod; undefined when there is none. */
  volumes: VolumeDecisions | undefined;
}

/** The pod fits nowhere now. */
export interface Unschedulable {
  kind: "Unschedulable";
  /** The FailedScheduling event message and PodScheduled=False condition message. */
  message: string;
  /** UnschedulableAndUnresolvable only when the cluster has no nodes (as upstream's ErrNoNodesAvailable). */
  code: "Unschedulable" | "UnschedulableAndUnresolvable";
  /** Absent when the cluster has no nodes. */
  fitError: FitError | undefined;
  /** Plugins that rejected the pod: requeue it on their registered events (empty = any event). */
  unschedulablePlugins: Set<string>;
  /**
   * The nomination to apply to pod.status.nominatedNodeName: undefined = leave it as it is,
   * "" = clear it, a name = nominate that node (preemption succeeded).
   */
  nominatedNodeName: string | undefined;
  /** Preemption's victims, to delete (with a DisruptionTarget condition) when nominating. */
  victims: Pod[];
  /** Lower-priority pods nominated to the same node whose nomination must be cleared. */
  clearNominationOf: Pod[];
}

/** An internal error (a plugin failed); retry after backoff. */
export interface ScheduleError {
  kind: "Error";
  message: string;
  error: Error;
}

export type ScheduleOutcome = Scheduled | Unschedulable | ScheduleError;

export interface SchedulingAlgorithmOptions extends DefaultFrameworkOptions {
  /** Upstream's percentageOfNodesToScore; 0 or undefined = adaptive. */
  percentageOfNodesToScore?: number;
}

/** One profile's scheduling algorithm; keeps the rotating start index between cycles. */
export class SchedulingAlgorithm {
  readonly framework: Framework;
  private readonly volumeBinding: VolumeBinding;
  private readonly rng: Rng;
  private readonly percentage: number;
  private nextStartNodeIndex = 0;

  constructor(opts: SchedulingAlgorithmOptions) {
    const profile = newDefaultProfile(opts);
    this.framework = profile.framework;
    this.volumeBinding = profile.volumeBinding;
    this.rng = opts.rng;
    this.percentage = opts.percentageOfNodesToScore ?? 0;
    if (!(this.percentage >= 0 && this.percentage <= 100)) throw new Error(`percentageOfNodesToScore must be in [0, 100], got ${this.percentage}`);
  }

  /** The events each plugin registered, for the scheduling queue. */
  eventsToRegister(): Map<string, ClusterEvent[]> {
    return this.framework.eventsToRegister();
  }

  /** Runs one scheduling cycle for the pod (a Pod, or its PodInfo if the caller keeps one) on the snapshot. */
  schedule(pod: Pod | PodInfo, snapshot: Snapshot): ScheduleOutcome {
    const pi = "uid" in pod && "requests" in pod ? pod : newPodInfo(pod);
    this.framework.handle.snapshot = snapshot;
    const numNodes = snapshot.nodeInfoList.length;
    if (numNodes === 0) {
      return {
        kind: "Unschedulable",
        message: ERR_NO_NODES_AVAILABLE,
        code: "UnschedulableAndUnresolvable",
        fitError: undefined,
        unschedulablePlugins: new Set(),
        nominatedNodeName: "",
        victims: [],
        clearNominationOf: [],
      };
    }
    const state = new CycleState();
    let found: { feasible: NodeInfo[]; diagnosis: Diagnosis; evaluated: number } | Status;
    try {
      found = this.findNodesThatFitPod(state, pi, snapshot);
    } catch (e) {
      found = new Status("Error", [e instanceof Error ? e.message : String(e)]);
    }
    if (found instanceof Status) return errorOutcome(found.message());
    const { feasible, diagnosis, evaluated } = found;
    if (feasible.length === 0) return this.unschedulable(state, pi, numNodes, diagnosis);
    let nodeName: string;
    if (feasible.length === 1) nodeName = feasible[0]!.name;
    else {
      try {
        nodeName = this.selectHost(feasible, this.prioritizeNodes(state, pi, feasible));
      } catch (e) {
        return errorOutcome(e instanceof Error ? e.message : String(e));
      }
    }
    return {
      kind: "Scheduled",
      nodeName,
      evaluatedNodes: evaluated,
      feasibleNodes: feasible.length,
      volumes: this.volumeBinding.decisionsFor(state, nodeName),
    };
  }

  private unschedulable(state: CycleState, pi: PodInfo, numNodes: number, diagnosis: Diagnosis): Unschedulable {
    const fitError = new FitError(pi.pod, numNodes, diagnosis);
    let nominatedNodeName: string | undefined = "";
    let victims: Pod[] = [];
    let clearNominationOf: Pod[] = [];
    if (this.framework.hasPostFilterPlugins()) {
      const out = this.framework.runPostFilterPlugins(state, pi, diagnosis.nodeToStatus);
      diagnosis.postFilterMsg = out.status.message();
      nominatedNodeName = out.result?.nominatedNodeName;
      if (out.result !== null) {
        victims = out.result.victims;
        clearNominationOf = out.result.clearNominationOf;
      }
    }
    return { kind: "Unschedulable", message: fitError.message, code: "Unschedulable", fitError, unschedulablePlugins: diagnosis.unschedulablePlugins, nominatedNodeName, victims, clearNominationOf };
  }

  /** Upstream's findNodesThatFitPod: PreFilter, the nominated node first, then the filters. */
  private findNodesThatFitPod(state: CycleState, pi: PodInfo, snapshot: Snapshot): { feasible: NodeInfo[]; diagnosis: Diagnosis; evaluated: number } | Status {
    const fw = this.framework;
    const allNodes = snapshot.nodeInfoList;
    const diagnosis: Diagnosis = { nodeToStatus: new NodeToStatus(), unschedulablePlugins: new Set(), preFilterMsg: "", postFilterMsg: "" };
    const pre = fw.runPreFilterPlugins(state, pi);
    diagnosis.unschedulablePlugins = pre.unschedulablePlugins;
    if (pre.status !== null && !pre.status.isSuccess()) {
      if (!pre.status.isRejected()) return pre.status;
      diagnosis.nodeToStatus.absentNodesStatus = pre.status;
      diagnosis.preFilterMsg = pre.status.message();
      if (pre.status.plugin !== "") diagnosis.unschedulablePlugins.add(pre.status.plugin);
      return { feasible: [], diagnosis, evaluated: 0 };
    }
    const nominated = pi.pod.status?.nominatedNodeName;
    if (nominated) {
      const ni = snapshot.get(nominated);
      if (ni !== undefined) {
        const feasible = this.findNodesThatPassFilters(state, pi, diagnosis, [ni], false);
        if (feasible.length > 0) return { feasible, diagnosis, evaluated: 1 };
      }
    }
    let nodes: readonly NodeInfo[] = allNodes;
    if (pre.result?.nodeNames !== undefined) {
      const narrowed: NodeInfo[] = [];
      for (const name of pre.result.nodeNames) {
        const ni = snapshot.get(name);
        if (ni !== undefined) narrowed.push(ni);
      }
      nodes = narrowed;
      diagnosis.nodeToStatus.absentNodesStatus = new Status("UnschedulableAndUnresolvable", [`node(s) didn't satisfy plugin(s) [${[...pre.unschedulablePlugins].sort().join(" ")}]`]);
    }
    const feasible = this.findNodesThatPassFilters(state, pi, diagnosis, nodes, true);
    return { feasible, diagnosis, evaluated: feasible.length + diagnosis.nodeToStatus.size };
  }

  /**
   * Filters `nodes` from nextStartNodeIndex on until numFeasibleNodesToFind fit; failures go to the
   * diagnosis. With `advance`, the start index moves past the processed nodes (upstream does so
   * regardless of the outcome, so every node gets its turn).
   */
  private findNodesThatPassFilters(state: CycleState, pi: PodInfo, diagnosis: Diagnosis, nodes: readonly NodeInfo[], advance: boolean): NodeInfo[] {
    const fw = this.framework;
    const n = nodes.length;
    const allNodes = fw.handle.snapshot.nodeInfoList.length;
    if (n === 0) return [];
    const toFind = fw.hasScorePlugins() ? numFeasibleNodesToFind(this.percentage, n) : 1;
    const feasible: NodeInfo[] = [];
    const start = this.nextStartNodeIndex;
    let processed = 0;
    if (!fw.hasFilterPlugins()) {
      for (let i = 0; i < toFind && i < n; i++) feasible.push(nodes[(start + i) % n]!);
      return feasible;
    }
    for (let i = 0; i < n && feasible.length < toFind; i++) {
      const ni = nodes[(start + i) % n]!;
      processed++;
      const s = fw.runFilterPluginsWithNominatedPods(state, pi, ni);
      if (s === null) feasible.push(ni);
      else {
        if (s.code === "Error") throw new Error(s.message());
        diagnosis.nodeToStatus.set(ni.name, s);
        if (s.plugin !== "") diagnosis.unschedulablePlugins.add(s.plugin);
      }
    }
    if (advance) this.nextStartNodeIndex = (start + processed) % allNodes;
    return feasible;
  }

  /** Upstream's prioritizeNodes: PreScore, then the weighted sum of normalized plugin scores. */
  private prioritizeNodes(state: CycleState, pi: PodInfo, nodes: NodeInfo[]): number[] {
    const fw = this.framework;
    if (!fw.hasScorePlugins()) return nodes.map(() => 1);
    const s = fw.runPreScorePlugins(state, pi, nodes);
    if (s !== null) throw new Error(s.message());
    return fw.runScorePlugins(state, pi, nodes);
  }

  /** One of the highest-scoring nodes, each equally likely (reservoir sampling, as upstream's selectHost). */
  private selectHost(nodes: readonly NodeInfo[], scores: readonly number[]): string {
    let best = 0;
    let count = 1;
    for (let i = 1; i < nodes.length; i++) {
      const s = scores[i]!;
      if (s > scores[best]!) {
        best = i;
        count = 1;
      } else if (s === scores[best]!) {
        count++;
        if (this.rng.int(count) === 0) best = i;
      }
    }
    return nodes[best]!.name;
  }
}

function errorOutcome(message: string): ScheduleError {
  return { kind: "Error", message, error: new Error(message) };
}
