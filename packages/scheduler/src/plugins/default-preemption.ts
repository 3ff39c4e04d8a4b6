/**
 * DefaultPreemption (PostFilter): when no node fits, find a node where evicting lower-priority
 * pods lets the pod fit, as upstream's preemption.Evaluator with the DefaultPreemption plugin:
 *
 * 1. The pod must be allowed to preempt (preemptionPolicy Never, or a victim of its earlier
 *    preemption still terminating on its nominated node, make it ineligible).
 * 2. Candidates are the nodes whose filter status was Unschedulable (not
 *    UnschedulableAndUnresolvable), dry-run from a random offset until enough are found
 *    (max(10% of them, 100), PDB-respecting ones preferred).
 * 3. On each, remove every lower-priority pod; if the pod then fits, add victims back from the
 *    most important down (PDB-violating ones first) while it still fits — the rest are victims.
 * 4. Pick the node: fewest PDB violations, then the lowest highest-victim priority, the smallest
 *    sum of priorities, the fewest victims, the latest earliest-start among the highest-priority
 *    victims, else the first.
 */
import type { Pod } from "kubernetes-types/core/v1.js";
import type { PodDisruptionBudget } from "kubernetes-types/policy/v1.js";
import type { Rng } from "@kubemu/common";
import type { CycleState } from "../framework/cycle-state.js";
import type { Framework } from "../framework/framework.js";
import { NodeToStatus, type Handle, type PostFilterOutcome, type PostFilterPlugin } from "../framework/interface.js";
import { compileLabelSelector } from "../framework/labels.js";
import type { NodeInfo, PodInfo } from "../framework/node-info.js";
import { Status } from "../framework/status.js";
import { fitErrorMessage } from "../framework/fit-error.js";
import { DEFAULT_PREEMPTION } from "./names.js";

/** The node status when no victims can be found on it (upstream's words). */
export const NO_VICTIMS_FOUND = "No preemption victims found for incoming pod";
/** The status of nodes preemption cannot help. */
export const PREEMPTION_NOT_HELPFUL = "Preemption is not helpful for scheduling";

/** Options (upstream's DefaultPreemptionArgs). */
export interface DefaultPreemptionOptions {
  minCandidateNodesPercentage?: number;
  minCandidateNodesAbsolute?: number;
}

/** A node where preemption would let the pod fit. */
export interface PreemptionCandidate {
  nodeName: string;
  /** Ordered from the most important down. */
  victims: PodInfo[];
  numPDBViolations: number;
}

function podPriority(p: Pod): number {
  return p.spec?.priority ?? 0;
}

export class DefaultPreemption implements PostFilterPlugin {
  readonly name = DEFAULT_PREEMPTION;
  private framework: Framework | undefined;
  private readonly minPercentage: number;
  private readonly minAbsolute: number;

  constructor(
    private readonly handle: Handle,
    private readonly rng: Rng,
    opts: DefaultPreemptionOptions = {},
  ) {
    this.minPercentage = opts.minCandidateNodesPercentage ?? 10;
    this.minAbsolute = opts.minCandidateNodesAbsolute ?? 100;
  }

  /** Connects the framework whose filters the dry runs use (set once by the profile builder). */
  attach(framework: Framework): void {
    this.framework = framework;
  }

  /** A pod's start time in ms: status.startTime, or now for a pod that has not started (upstream's GetPodStartTime). */
  private startTime(p: Pod): number {
    const t = p.status?.startTime;
    if (t !== undefined) {
      const ms = Date.parse(t);
      if (!Number.isNaN(ms)) return ms;
    }
    return this.handle.now();
  }

  /** Upstream's util.MoreImportantPod: higher priority, then the earlier start. */
  private moreImportant(a: Pod, b: Pod): boolean {
    const pa = podPriority(a);
    const pb = podPriority(b);
    if (pa !== pb) return pa > pb;
    return this.startTime(a) < this.startTime(b);
  }

  postFilter(state: CycleState, pi: PodInfo, statuses: NodeToStatus): PostFilterOutcome {
    const out = this.preempt(state, pi, statuses);
    const msg = out.status.message();
    if (msg.length > 0) return { result: out.result, status: new Status(out.status.code, [`preemption: ${msg}`]) };
    return out;
  }

  private preempt(state: CycleState, pi: PodInfo, statuses: NodeToStatus): PostFilterOutcome {
    const pod = pi.pod;
    const nominatedNode = pod.status?.nominatedNodeName ?? "";
    const eligible = this.podEligibleToPreemptOthers(pi, statuses.get(nominatedNode));
    if (eligible !== undefined) return { result: null, status: new Status("Unschedulable", [eligible]) };

    const allNodes = this.handle.snapshot.nodeInfoList;
    if (allNodes.length === 0) return { result: null, status: new Status("Error", ["no nodes available"]) };
    const potential = statuses.nodesForStatusCode(allNodes, "Unschedulable");
    let candidates: PreemptionCandidate[] = [];
    let nodeStatuses = new NodeToStatus();
    if (potential.length > 0) {
      const pdbs = this.handle.listers.podDisruptionBudgets?.() ?? [];
      const offset = this.rng.int(potential.length);
      const num = this.calculateNumCandidates(potential.length);
      ({ candidates, nodeStatuses } = this.dryRunPreemption(state, pi, potential, pdbs, offset, num));
    }
    if (candidates.length === 0) {
      nodeStatuses.absentNodesStatus = new Status("UnschedulableAndUnresolvable", [PREEMPTION_NOT_HELPFUL]);
      // Clear the pod's nomination, if any.
      return { result: { nominatedNodeName: "", victims: [], clearNominationOf: [] }, status: new Status("Unschedulable", [fitErrorMessage(allNodes.length, nodeStatuses, "", "")]) };
    }
    const best = this.selectCandidate(candidates);
    const lowerNominated = (this.handle.nominator?.nominatedPodsForNode(best.nodeName) ?? []).filter((p) => p.priority < pi.priority).map((p) => p.pod);
    return {
      result: { nominatedNodeName: best.nodeName, victims: best.victims.map((v) => v.pod), clearNominationOf: lowerNominated },
      status: new Status("Success"),
    };
  }

  /** undefined if the pod may preempt, else upstream's reason. */
  private podEligibleToPreemptOthers(pi: PodInfo, nominatedNodeStatus: Status): string | undefined {
    const pod = pi.pod;
    if (pod.spec?.preemptionPolicy === "Never") return "not eligible due to preemptionPolicy=Never.";
    const nominated = pod.status?.nominatedNodeName ?? "";
    if (nominated !== "") {
      // A nominated node that became unresolvable is worth preempting for again.
      if (nominatedNodeStatus.code === "UnschedulableAndUnresolvable") return undefined;
      const ni = this.handle.snapshot.get(nominated);
      if (ni !== undefined) {
        for (const p of ni.pods) {
          if (p.priority < pi.priority && podTerminatingByPreemption(p.pod)) return "not eligible due to a terminating pod on the nominated node.";
        }
      }
    }
    return undefined;
  }

  private calculateNumCandidates(numNodes: number): number {
    let n = Math.trunc((numNodes * this.minPercentage) / 100);
    if (n < this.minAbsolute) n = this.minAbsolute;
    return Math.min(n, numNodes);
  }

  /** Dry-runs preemption on the potential nodes from `offset`, stopping once enough candidates are found. */
  dryRunPreemption(
    state: CycleState,
    pi: PodInfo,
    potential: readonly NodeInfo[],
    pdbs: readonly PodDisruptionBudget[],
    offset: number,
    numCandidates: number,
  ): { candidates: PreemptionCandidate[]; nodeStatuses: NodeToStatus } {
    const nonViolating: PreemptionCandidate[] = [];
    const violating: PreemptionCandidate[] = [];
    const nodeStatuses = new NodeToStatus();
    for (let i = 0; i < potential.length; i++) {
      const ni = potential[(offset + i) % potential.length]!.clone();
      const stateCopy = state.clone();
      const { victims, numPDBViolations, status } = this.selectVictimsOnNode(stateCopy, pi, ni, pdbs);
      if (status === null && victims.length > 0) {
        const c = { nodeName: ni.name, victims, numPDBViolations };
        (numPDBViolations === 0 ? nonViolating : violating).push(c);
        if (nonViolating.length > 0 && nonViolating.length + violating.length >= numCandidates) break;
        continue;
      }
      nodeStatuses.set(ni.name, status ?? new Status("Error", [`expected at least one victim pod on node "${ni.name}"`]));
    }
    return { candidates: [...nonViolating, ...violating], nodeStatuses };
  }

  /**
   * The fewest lower-priority pods to evict from nodeInfo (a private copy) so the pod fits, as
   * upstream's SelectVictimsOnNode. status null = success.
   */
  selectVictimsOnNode(state: CycleState, pi: PodInfo, nodeInfo: NodeInfo, pdbs: readonly PodDisruptionBudget[]): { victims: PodInfo[]; numPDBViolations: number; status: Status | null } {
    const fw = this.framework;
    if (fw === undefined) throw new Error("DefaultPreemption is not attached to a framework");
    const potentialVictims: PodInfo[] = [];
    const remove = (v: PodInfo) => {
      nodeInfo.removePod(v.pod);
      const s = fw.runPreFilterExtensionRemovePod(state, pi, v, nodeInfo);
      if (s !== null) throw new Error(s.message());
    };
    const add = (v: PodInfo) => {
      nodeInfo.addPodInfo(v);
      const s = fw.runPreFilterExtensionAddPod(state, pi, v, nodeInfo);
      if (s !== null) throw new Error(s.message());
    };
    try {
      for (const p of nodeInfo.pods.slice()) {
        if (p.priority < pi.priority) {
          potentialVictims.push(p);
          remove(p);
        }
      }
      if (potentialVictims.length === 0) return { victims: [], numPDBViolations: 0, status: new Status("UnschedulableAndUnresolvable", [NO_VICTIMS_FOUND]) };
      const fits = fw.runFilterPluginsWithNominatedPods(state, pi, nodeInfo);
      if (fits !== null) return { victims: [], numPDBViolations: 0, status: fits };
      potentialVictims.sort((a, b) => (this.moreImportant(a.pod, b.pod) ? -1 : this.moreImportant(b.pod, a.pod) ? 1 : 0));
      const { violating, nonViolating } = filterPodsWithPDBViolation(potentialVictims, pdbs);
      const victims: PodInfo[] = [];
      let numViolating = 0;
      const reprieve = (p: PodInfo): boolean => {
        add(p);
        const ok = fw.runFilterPluginsWithNominatedPods(state, pi, nodeInfo) === null;
        if (!ok) {
          remove(p);
          victims.push(p);
        }
        return ok;
      };
      for (const p of violating) if (!reprieve(p)) numViolating++;
      for (const p of nonViolating) reprieve(p);
      if (violating.length > 0 && nonViolating.length > 0) victims.sort((a, b) => (this.moreImportant(a.pod, b.pod) ? -1 : this.moreImportant(b.pod, a.pod) ? 1 : 0));
      return { victims, numPDBViolations: numViolating, status: null };
    } catch (e) {
      return { victims: [], numPDBViolations: 0, status: new Status("Error", [e instanceof Error ? e.message : String(e)]) };
    }
  }

  /** Upstream's pickOneNodeForPreemption with the default score functions, in order. */
  selectCandidate(candidates: readonly PreemptionCandidate[]): PreemptionCandidate {
    if (candidates.length === 1) return candidates[0]!;
    const scoreFuncs: ((c: PreemptionCandidate) => number)[] = [
      (c) => -c.numPDBViolations,
      (c) => -podPriority(c.victims[0]!.pod),
      // MaxInt32+1 is added to each priority so negative priorities still sum meaningfully.
      (c) => -c.victims.reduce((s, v) => s + podPriority(v.pod) + 2147483648, 0),
      (c) => -c.victims.length,
      (c) => this.earliestStartOfHighestPriority(c),
    ];
    let pool = candidates.slice();
    for (const f of scoreFuncs) {
      let best = -Infinity;
      let selected: PreemptionCandidate[] = [];
      for (const c of pool) {
        const s = f(c);
        if (s > best) {
          best = s;
          selected = [c];
        } else if (s === best) selected.push(c);
      }
      if (selected.length === 1) return selected[0]!;
      pool = selected;
    }
    return pool[0]!;
  }

  /** The earliest start time among the highest-priority victims (upstream's GetEarliestPodStartTime). */
  private earliestStartOfHighestPriority(c: PreemptionCandidate): number {
    let maxPriority = podPriority(c.victims[0]!.pod);
    let earliest = this.startTime(c.victims[0]!.pod);
    for (const v of c.victims) {
      const p = podPriority(v.pod);
      const t = this.startTime(v.pod);
      if (p === maxPriority) {
        if (t < earliest) earliest = t;
      } else if (p > maxPriority) {
        maxPriority = p;
        earliest = t;
      }
    }
    return earliest;
  }
}

/** True if the pod is terminating because the scheduler preempted it (DisruptionTarget condition). */
function podTerminatingByPreemption(p: Pod): boolean {
  if (p.metadata?.deletionTimestamp === undefined) return false;
  for (const c of p.status?.conditions ?? []) {
    if (c.type === "DisruptionTarget") return c.status === "True" && c.reason === "PreemptionByScheduler";
  }
  return false;
}

/**
 * Splits pods (order kept) into those whose eviction would violate a PDB — the PDB in their
 * namespace selecting them has no disruptions left — and the rest (upstream's
 * filterPodsWithPDBViolation). Pods already listed in a PDB's disruptedPods do not count again.
 */
export function filterPodsWithPDBViolation(pods: readonly PodInfo[], pdbs: readonly PodDisruptionBudget[]): { violating: PodInfo[]; nonViolating: PodInfo[] } {
  const allowed = pdbs.map((p) => p.status?.disruptionsAllowed ?? 0);
  const selectors = pdbs.map((p) => (p.spec?.selector ? compileLabelSelector(p.spec.selector) : undefined));
  const violating: PodInfo[] = [];
  const nonViolating: PodInfo[] = [];
  for (const pi of pods) {
    const pod = pi.pod;
    let violated = false;
    if (pod.metadata?.labels !== undefined) {
      for (let i = 0; i < pdbs.length; i++) {
        const pdb = pdbs[i]!;
        if (pdb.metadata?.namespace !== pod.metadata?.namespace) continue;
        const sel = selectors[i];
        // An empty or missing selector matches nothing here, as upstream.
        if (sel === undefined || sel.everything || !sel.matches(pod.metadata.labels)) continue;
        if (pdb.status?.disruptedPods?.[pod.metadata?.name ?? ""] !== undefined) continue;
        allowed[i]!--;
        if (allowed[i]! < 0) violated = true;
      }
    }
    (violated ? violating : nonViolating).push(pi);
  }
  return { violating, nonViolating };
}
