/**
 * InterPodAffinity: pod (anti-)affinity by topology domain.
 *
 * Filter: the pod's required affinity terms need a matching pod in the node's domain of each term
 * (or, for the first pod of a self-affine group, no matching pod anywhere); its required
 * anti-affinity terms need none; and no existing pod's required anti-affinity may match the pod in
 * the node's domain. Score sums, per node, the weights of the preferred terms (both the pod's and
 * the existing pods', plus existing pods' required affinity at hardPodAffinityWeight 1) whose
 * matches share the node's domain, then rescales min..max to 0..100.
 */
import type { Pod } from "kubernetes-types/core/v1.js";
import type { CycleState, StateData } from "../framework/cycle-state.js";
import type { ClusterEvent } from "../framework/events.js";
import { MAX_NODE_SCORE, type FilterPlugin, type Handle, type PreFilterOutcome, type PreFilterPlugin, type PreScorePlugin, type ScorePlugin } from "../framework/interface.js";
import { nothingMatcher } from "../framework/labels.js";
import { affinityTermMatches, type AffinityTerm, type NodeInfo, type PodInfo, type WeightedAffinityTerm } from "../framework/node-info.js";
import { Status } from "../framework/status.js";
import { INTER_POD_AFFINITY } from "./names.js";

/** Upstream's ErrReasonExistingAntiAffinityRulesNotMatch. */
export const ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH = "node(s) didn't satisfy existing pods anti-affinity rules";
/** Upstream's ErrReasonAffinityRulesNotMatch. */
export const ERR_REASON_AFFINITY_RULES_NOT_MATCH = "node(s) didn't match pod affinity rules";
/** Upstream's ErrReasonAntiAffinityRulesNotMatch. */
export const ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH = "node(s) didn't match pod anti-affinity rules";

const PRE_FILTER_KEY = "PreFilter" + INTER_POD_AFFINITY;
const PRE_SCORE_KEY = "PreScore" + INTER_POD_AFFINITY;

type Labels = Readonly<Record<string, string>> | undefined;

/** topologyKey → value → count (upstream's topologyToMatchedTermCount, nested to avoid string keys). */
class TopologyCounts {
  readonly m = new Map<string, Map<string, number>>();
  size = 0;

  add(key: string, value: string, delta: number): void {
    let inner = this.m.get(key);
    if (inner === undefined) this.m.set(key, (inner = new Map()));
    const before = inner.get(value);
    const after = (before ?? 0) + delta;
    if (after === 0) {
      if (before !== undefined) {
        inner.delete(value);
        this.size--;
      }
    } else {
      if (before === undefined) this.size++;
      inner.set(value, after);
    }
  }

  get(key: string, value: string): number {
    return this.m.get(key)?.get(value) ?? 0;
  }

  clone(): TopologyCounts {
    const c = new TopologyCounts();
    for (const [k, inner] of this.m) c.m.set(k, new Map(inner));
    c.size = this.size;
    return c;
  }

  /** Adds `delta` for the term's domain on a node with `labels`, if the node has the topology key. */
  update(labels: Labels, key: string, delta: number): void {
    const v = labels?.[key];
    if (v !== undefined) this.add(key, v, delta);
  }
}

/** True if pod matches every term (namespaces already merged, so no namespace labels needed). */
function podMatchesAllAffinityTerms(terms: readonly AffinityTerm[], pod: Pod): boolean {
  if (terms.length === 0) return false;
  for (const t of terms) if (!affinityTermMatches(t, pod, undefined)) return false;
  return true;
}

class PreFilterState implements StateData {
  constructor(
    /** Existing pods' anti-affinity terms that match the incoming pod, by domain. */
    readonly existingAntiAffinityCounts: TopologyCounts,
    /** Pods matching all the incoming pod's affinity terms, by each term's domain. */
    readonly affinityCounts: TopologyCounts,
    /** Pods matching the incoming pod's anti-affinity terms, by domain. */
    readonly antiAffinityCounts: TopologyCounts,
    readonly podInfo: PodInfo,
    readonly affinityTerms: AffinityTerm[],
    readonly antiAffinityTerms: AffinityTerm[],
    readonly namespaceLabels: Labels,
  ) {}

  clone(): StateData {
    return new PreFilterState(
      this.existingAntiAffinityCounts.clone(),
      this.affinityCounts.clone(),
      this.antiAffinityCounts.clone(),
      this.podInfo,
      this.affinityTerms,
      this.antiAffinityTerms,
      this.namespaceLabels,
    );
  }

  updateWithPod(pi: PodInfo, nodeLabels: Labels, multiplier: number): void {
    for (const t of pi.requiredAntiAffinityTerms) {
      if (affinityTermMatches(t, this.podInfo.pod, this.namespaceLabels)) this.existingAntiAffinityCounts.update(nodeLabels, t.topologyKey, multiplier);
    }
    if (podMatchesAllAffinityTerms(this.affinityTerms, pi.pod)) for (const t of this.affinityTerms) this.affinityCounts.update(nodeLabels, t.topologyKey, multiplier);
    for (const t of this.antiAffinityTerms) if (affinityTermMatches(t, pi.pod, undefined)) this.antiAffinityCounts.update(nodeLabels, t.topologyKey, multiplier);
  }
}

class PreScoreState implements StateData {
  constructor(readonly topologyScore: TopologyCounts) {}
  clone(): StateData {
    return this;
  }
}

/** Options (upstream's InterPodAffinityArgs). */
export interface InterPodAffinityOptions {
  /** Weight of existing pods' required affinity terms in scoring; upstream's default is 1. */
  hardPodAffinityWeight?: number;
  ignorePreferredTermsOfExistingPods?: boolean;
}

export class InterPodAffinity implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = INTER_POD_AFFINITY;
  private readonly hardPodAffinityWeight: number;
  private readonly ignorePreferredTermsOfExistingPods: boolean;

  constructor(
    private readonly handle: Handle,
    opts: InterPodAffinityOptions = {},
  ) {
    this.hardPodAffinityWeight = opts.hardPodAffinityWeight ?? 1;
    this.ignorePreferredTermsOfExistingPods = opts.ignorePreferredTermsOfExistingPods ?? false;
  }

  eventsToRegister(): ClusterEvent[] {
    return [
      { resource: "Pod", actionType: "Add" },
      { resource: "Pod", actionType: "UpdatePodLabel" },
      { resource: "Pod", actionType: "Delete" },
      { resource: "Node", actionType: "Add" },
      { resource: "Node", actionType: "UpdateNodeLabel" },
      { resource: "Node", actionType: "UpdateNodeTaint" },
    ];
  }

  private namespaceLabels(ns: string): Labels {
    return this.handle.listers.namespace?.(ns)?.metadata?.labels;
  }

  /**
   * The incoming pod's term with the namespaces its namespaceSelector selects merged into its
   * namespace list (upstream's mergeAffinityTermNamespacesIfNotEmpty); an everything-selector stays.
   */
  private mergeNamespaces<T extends AffinityTerm>(t: T): T {
    if (t.namespaceSelector.everything || t.namespaceSelector.nothing) return t;
    const names = new Set(t.namespaces);
    for (const ns of this.handle.listers.namespaces?.() ?? []) if (t.namespaceSelector.matches(ns.metadata?.labels)) names.add(ns.metadata?.name ?? "");
    return { ...t, namespaces: names, namespaceSelector: nothingMatcher() };
  }

  preFilter(state: CycleState, pi: PodInfo): PreFilterOutcome {
    const snapshot = this.handle.snapshot;
    const affinityTerms = pi.requiredAffinityTerms.map((t) => this.mergeNamespaces(t));
    const antiAffinityTerms = pi.requiredAntiAffinityTerms.map((t) => this.mergeNamespaces(t));
    const nsLabels = this.namespaceLabels(pi.pod.metadata?.namespace ?? "");

    const existing = new TopologyCounts();
    for (const ni of snapshot.havePodsWithRequiredAntiAffinityNodeInfoList) {
      const labels = ni.node?.metadata?.labels;
      if (ni.node === undefined) continue;
      for (const ep of ni.podsWithRequiredAntiAffinity) {
        for (const t of ep.requiredAntiAffinityTerms) if (affinityTermMatches(t, pi.pod, nsLabels)) existing.update(labels, t.topologyKey, 1);
      }
    }
    const affinity = new TopologyCounts();
    const anti = new TopologyCounts();
    if (affinityTerms.length > 0 || antiAffinityTerms.length > 0) {
      for (const ni of snapshot.nodeInfoList) {
        if (ni.node === undefined) continue;
        const labels = ni.node.metadata?.labels;
        for (const ep of ni.pods) {
          if (podMatchesAllAffinityTerms(affinityTerms, ep.pod)) for (const t of affinityTerms) affinity.update(labels, t.topologyKey, 1);
          for (const t of antiAffinityTerms) if (affinityTermMatches(t, ep.pod, undefined)) anti.update(labels, t.topologyKey, 1);
        }
      }
    }
    if (existing.size === 0 && affinityTerms.length === 0 && antiAffinityTerms.length === 0) return { status: new Status("Skip") };
    state.write(PRE_FILTER_KEY, new PreFilterState(existing, affinity, anti, pi, affinityTerms, antiAffinityTerms, nsLabels));
    return { status: null };
  }

  addPod(state: CycleState, _pod: PodInfo, podToAdd: PodInfo, nodeInfo: NodeInfo): Status | null {
    state.read<PreFilterState>(PRE_FILTER_KEY)?.updateWithPod(podToAdd, nodeInfo.node?.metadata?.labels, 1);
    return null;
  }

  removePod(state: CycleState, _pod: PodInfo, podToRemove: PodInfo, nodeInfo: NodeInfo): Status | null {
    state.read<PreFilterState>(PRE_FILTER_KEY)?.updateWithPod(podToRemove, nodeInfo.node?.metadata?.labels, -1);
    return null;
  }

  filter(state: CycleState, _pi: PodInfo, nodeInfo: NodeInfo): Status | null {
    const s = state.read<PreFilterState>(PRE_FILTER_KEY);
    if (s === undefined) throw new Error(`reading "${PRE_FILTER_KEY}" from cycleState: not found`);
    const labels = nodeInfo.node?.metadata?.labels ?? {};
    if (!satisfyPodAffinity(s, labels)) return new Status("UnschedulableAndUnresolvable", [ERR_REASON_AFFINITY_RULES_NOT_MATCH]);
    if (!satisfyPodAntiAffinity(s, labels)) return new Status("Unschedulable", [ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH]);
    if (!satisfyExistingPodsAntiAffinity(s, labels)) return new Status("Unschedulable", [ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH]);
    return null;
  }

  preScore(state: CycleState, pi: PodInfo, nodes: readonly NodeInfo[]): Status | null {
    if (nodes.length === 0) return new Status("Skip");
    const hasConstraints = pi.preferredAffinityTerms.length > 0 || pi.preferredAntiAffinityTerms.length > 0;
    if (this.ignorePreferredTermsOfExistingPods && !hasConstraints) return new Status("Skip");
    const snapshot = this.handle.snapshot;
    // Without preferred terms of its own, only nodes hosting pods with affinity can add to a score.
    const allNodes = hasConstraints ? snapshot.nodeInfoList : snapshot.havePodsWithAffinityNodeInfoList;
    const preferred = pi.preferredAffinityTerms.map((t) => this.mergeNamespaces(t));
    const preferredAnti = pi.preferredAntiAffinityTerms.map((t) => this.mergeNamespaces(t));
    const nsLabels = this.namespaceLabels(pi.pod.metadata?.namespace ?? "");
    const score = new TopologyCounts();
    const processTerm = (t: AffinityTerm, weight: number, pod: Pod, podNs: Labels, labels: Labels, mult: number) => {
      if (affinityTermMatches(t, pod, podNs)) score.update(labels, t.topologyKey, weight * mult);
    };
    const processTerms = (terms: readonly WeightedAffinityTerm[], pod: Pod, podNs: Labels, labels: Labels, mult: number) => {
      for (const t of terms) processTerm(t, t.weight, pod, podNs, labels, mult);
    };
    for (const ni of allNodes) {
      const labels = ni.node?.metadata?.labels;
      if (labels === undefined || Object.keys(labels).length === 0) continue;
      const pods = hasConstraints ? ni.pods : ni.podsWithAffinity;
      for (const ep of pods) {
        processTerms(preferred, ep.pod, undefined, labels, 1);
        processTerms(preferredAnti, ep.pod, undefined, labels, -1);
        if (this.hardPodAffinityWeight > 0) for (const t of ep.requiredAffinityTerms) processTerm(t, this.hardPodAffinityWeight, pi.pod, nsLabels, labels, 1);
        processTerms(ep.preferredAffinityTerms, pi.pod, nsLabels, labels, 1);
        processTerms(ep.preferredAntiAffinityTerms, pi.pod, nsLabels, labels, -1);
      }
    }
    if (score.size === 0) return new Status("Skip");
    state.write(PRE_SCORE_KEY, new PreScoreState(score));
    return null;
  }

  score(state: CycleState, _pi: PodInfo, nodeInfo: NodeInfo): number {
    const s = state.read<PreScoreState>(PRE_SCORE_KEY);
    if (s === undefined) throw new Error(`reading "${PRE_SCORE_KEY}" from cycleState: not found`);
    const labels = nodeInfo.node?.metadata?.labels ?? {};
    let total = 0;
    for (const [key, values] of s.topologyScore.m) {
      const v = labels[key];
      if (v !== undefined) total += values.get(v) ?? 0;
    }
    return total;
  }

  normalizeScore(state: CycleState, _pod: PodInfo, scores: number[]): void {
    const s = state.read<PreScoreState>(PRE_SCORE_KEY);
    if (s === undefined || s.topologyScore.size === 0) return;
    let min = Infinity;
    let max = -Infinity;
    for (const v of scores) {
      if (v > max) max = v;
      if (v < min) min = v;
    }
    const diff = max - min;
    for (let i = 0; i < scores.length; i++) scores[i] = diff > 0 ? Math.trunc(MAX_NODE_SCORE * ((scores[i]! - min) / diff)) : 0;
  }
}

function satisfyExistingPodsAntiAffinity(s: PreFilterState, labels: Readonly<Record<string, string>>): boolean {
  if (s.existingAntiAffinityCounts.size === 0) return true;
  for (const key in labels) if (s.existingAntiAffinityCounts.get(key, labels[key]!) > 0) return false;
  return true;
}

function satisfyPodAntiAffinity(s: PreFilterState, labels: Readonly<Record<string, string>>): boolean {
  if (s.antiAffinityCounts.size === 0) return true;
  for (const t of s.antiAffinityTerms) {
    const v = labels[t.topologyKey];
    if (v !== undefined && s.antiAffinityCounts.get(t.topologyKey, v) > 0) return false;
  }
  return true;
}

function satisfyPodAffinity(s: PreFilterState, labels: Readonly<Record<string, string>>): boolean {
  let podsExist = true;
  for (const t of s.affinityTerms) {
    const v = labels[t.topologyKey];
    if (v === undefined) return false; // every topology label must exist on the node
    if (s.affinityCounts.get(t.topologyKey, v) <= 0) podsExist = false;
  }
  if (podsExist) return true;
  // The first pod of a group with affinity to itself: allowed when no pod matches anywhere and
  // the pod matches its own terms.
  return s.affinityCounts.size === 0 && podMatchesAllAffinityTerms(s.affinityTerms, s.podInfo.pod);
}
