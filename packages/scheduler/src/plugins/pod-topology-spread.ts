/**
 * PodTopologySpread: spreads matching pods across topology domains.
 *
 * Filter enforces the pod's `whenUnsatisfiable: DoNotSchedule` constraints: placing the pod must
 * keep `matching pods in the node's domain + self - global minimum <= maxSkew` (the global minimum
 * is 0 while fewer than minDomains domains exist). Score follows the `ScheduleAnyway` constraints,
 * or, for a pod without constraints, upstream's system defaults (maxSkew 3 per hostname, 5 per
 * zone) with the selector of the Services and controller that own the pod: fewer matching pods in
 * a node's domains is better, weighted by log(domains + 2) per constraint.
 */
import type { Node, Pod, TopologySpreadConstraint } from "kubernetes-types/core/v1.js";
import type { CycleState, StateData } from "../framework/cycle-state.js";
import type { ClusterEvent } from "../framework/events.js";
import { MAX_NODE_SCORE, type FilterPlugin, type Handle, type PreFilterOutcome, type PreFilterPlugin, type PreScorePlugin, type ScorePlugin } from "../framework/interface.js";
import { compileLabelSelector, type LabelMatcher } from "../framework/labels.js";
import type { NodeInfo, PodInfo } from "../framework/node-info.js";
import { Status } from "../framework/status.js";
import { DomainCounts } from "./helper/domain-counts.js";
import { admitsEveryNode, requiredNodeAffinityOf, type RequiredNodeAffinity } from "./helper/node-affinity.js";
import { defaultSelector } from "./helper/spread.js";
import { findMatchingUntoleratedTaint, isDoNotScheduleTaint } from "./helper/taints.js";
import { POD_TOPOLOGY_SPREAD } from "./names.js";

/** Upstream's ErrReasonConstraintsNotMatch. */
export const ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints";
/** Upstream's ErrReasonNodeLabelNotMatch. */
export const ERR_REASON_NODE_LABEL_NOT_MATCH = ERR_REASON_CONSTRAINTS_NOT_MATCH + " (missing required label)";

const LABEL_HOSTNAME = "kubernetes.io/hostname";
const LABEL_ZONE = "topology.kubernetes.io/zone";

/** Upstream's systemDefaultConstraints. */
export const SYSTEM_DEFAULT_CONSTRAINTS: readonly TopologySpreadConstraint[] = [
  { topologyKey: LABEL_HOSTNAME, whenUnsatisfiable: "ScheduleAnyway", maxSkew: 3 },
  { topologyKey: LABEL_ZONE, whenUnsatisfiable: "ScheduleAnyway", maxSkew: 5 },
];

const PRE_FILTER_KEY = "PreFilter" + POD_TOPOLOGY_SPREAD;
const PRE_SCORE_KEY = "PreScore" + POD_TOPOLOGY_SPREAD;
const MAX_INT32 = 2147483647;
/** Distinct selectors remembered per node before the node's memo is dropped. */
const MEMO_PER_NODE = 64;

/** A parsed constraint (upstream's topologySpreadConstraint). */
export interface SpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  selector: LabelMatcher;
  /** Canonical text of the selector, for the per-node count memo. */
  selectorKey: string;
  /** The interned id of (namespace, selectorKey), set on first use in a cycle. */
  memoId?: number;
  minDomains: number;
  nodeAffinityPolicy: string;
  nodeTaintsPolicy: string;
}

function nodeLabelsMatchSpreadConstraints(labels: Readonly<Record<string, string>> | undefined, constraints: readonly SpreadConstraint[]): boolean {
  if (labels === undefined) return constraints.length === 0;
  for (const c of constraints) if (labels[c.topologyKey] === undefined) return false;
  return true;
}

function matchNodeInclusionPolicies(c: SpreadConstraint, pod: Pod, node: Node, required: RequiredNodeAffinity): boolean {
  if (c.nodeAffinityPolicy === "Honor" && !required.match(node)) return false;
  if (c.nodeTaintsPolicy === "Honor" && findMatchingUntoleratedTaint(node.spec?.taints, pod.spec?.tolerations, isDoNotScheduleTaint) !== undefined) return false;
  return true;
}

/** True if the constraint's node inclusion policies cannot exclude any node for this pod. */
function inclusionIsTrivial(c: SpreadConstraint, required: RequiredNodeAffinity): boolean {
  return (c.nodeAffinityPolicy !== "Honor" || admitsEveryNode(required)) && c.nodeTaintsPolicy !== "Honor";
}

/** Pods in `ns`, not terminating, that the selector matches; an empty selector counts nothing (upstream). */
function countPodsMatchSelector(pods: readonly PodInfo[], selector: LabelMatcher, ns: string): number {
  if (selector.everything || selector.nothing) return 0;
  let n = 0;
  for (let i = 0; i < pods.length; i++) {
    const p = pods[i]!.pod;
    const meta = p.metadata;
    if (meta === undefined || meta.deletionTimestamp !== undefined || (meta.namespace ?? "") !== ns) continue;
    if (selector.matches(meta.labels)) n++;
  }
  return n;
}

/** The selector with matchLabelKeys' values from the pod's labels ANDed in (upstream's mergeLabelSetWithSelector). */
function constraintSelector(c: TopologySpreadConstraint, podLabels: Readonly<Record<string, string>> | undefined): LabelMatcher {
  const keys = c.matchLabelKeys ?? [];
  if (keys.length === 0 || c.labelSelector === undefined) return compileLabelSelector(c.labelSelector);
  const extra: Record<string, string> = {};
  let any = false;
  for (const k of keys) {
    const v = podLabels?.[k];
    if (v !== undefined) {
      extra[k] = v;
      any = true;
    }
  }
  if (!any) return compileLabelSelector(c.labelSelector);
  return compileLabelSelector({ ...c.labelSelector, matchLabels: { ...(c.labelSelector.matchLabels ?? {}), ...extra } });
}

function filterConstraints(constraints: readonly TopologySpreadConstraint[], podLabels: Readonly<Record<string, string>> | undefined, action: string): SpreadConstraint[] {
  const out: SpreadConstraint[] = [];
  for (const c of constraints) {
    if (c.whenUnsatisfiable !== action) continue;
    out.push({
      maxSkew: c.maxSkew,
      topologyKey: c.topologyKey,
      selector: constraintSelector(c, podLabels),
      selectorKey: JSON.stringify([c.labelSelector ?? null, (c.matchLabelKeys ?? []).map((k) => [k, podLabels?.[k] ?? null])]),
      minDomains: c.minDomains ?? 1,
      nodeAffinityPolicy: c.nodeAffinityPolicy ?? "Honor",
      nodeTaintsPolicy: c.nodeTaintsPolicy ?? "Ignore",
    });
  }
  return out;
}

/** Two lowest-count domains of a topology key (upstream's criticalPaths). */
class CriticalPaths {
  v0 = "";
  n0 = MAX_INT32;
  v1 = "";
  n1 = MAX_INT32;

  copy(): CriticalPaths {
    const c = new CriticalPaths();
    c.v0 = this.v0;
    c.n0 = this.n0;
    c.v1 = this.v1;
    c.n1 = this.n1;
    return c;
  }

  update(value: string, num: number): void {
    if (value === this.v0 || value === this.v1) {
      if (value === this.v0) this.n0 = num;
      else this.n1 = num;
      if (this.n0 > this.n1) {
        [this.v0, this.v1] = [this.v1, this.v0];
        [this.n0, this.n1] = [this.n1, this.n0];
      }
    } else if (num < this.n0) {
      this.v1 = this.v0;
      this.n1 = this.n0;
      this.v0 = value;
      this.n0 = num;
    } else if (num < this.n1) {
      this.v1 = value;
      this.n1 = num;
    }
  }
}

const pairKey = (key: string, value: string) => `${key}\u0000${value}`;

class PreFilterState implements StateData {
  constructor(
    readonly constraints: SpreadConstraint[],
    readonly criticalPaths: Map<string, CriticalPaths>,
    readonly domainsNum: Map<string, number>,
    readonly pairToMatchNum: Map<string, number>,
  ) {}

  clone(): StateData {
    const paths = new Map<string, CriticalPaths>();
    for (const [k, p] of this.criticalPaths) paths.set(k, p.copy());
    return new PreFilterState(this.constraints, paths, this.domainsNum, new Map(this.pairToMatchNum));
  }

  minMatchNum(key: string, minDomains: number): number | undefined {
    const paths = this.criticalPaths.get(key);
    if (paths === undefined) return undefined;
    const domains = this.domainsNum.get(key);
    if (domains === undefined) return undefined;
    return domains < minDomains ? 0 : paths.n0;
  }
}

class PreScoreState implements StateData {
  constructor(
    readonly constraints: SpreadConstraint[],
    readonly ignoredNodes: Set<string>,
    /** Per constraint: domain value → matching pods (hostname constraints are counted in Score). */
    readonly valueToPodCounts: Map<string, number>[],
    readonly normalizingWeight: number[],
  ) {}
  clone(): StateData {
    return this;
  }
}

/** Upstream's topologyNormalizingWeight: log(size + 2). */
function topologyNormalizingWeight(size: number): number {
  return Math.log(size + 2);
}

/** Upstream's scoreForCount. */
function scoreForCount(cnt: number, maxSkew: number, weight: number): number {
  return cnt * weight + (maxSkew - 1);
}

/** Options: upstream's PodTopologySpreadArgs (defaultingType System uses SYSTEM_DEFAULT_CONSTRAINTS). */
export interface PodTopologySpreadOptions {
  /** Cluster-level default constraints; undefined = the system defaults. */
  defaultConstraints?: readonly TopologySpreadConstraint[];
}

export class PodTopologySpread implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = POD_TOPOLOGY_SPREAD;
  private readonly defaultConstraints: readonly TopologySpreadConstraint[];
  private readonly systemDefaulted: boolean;
  /** Selector text → small id, so the per-node memo hashes numbers, not long strings. */
  private readonly selectorIds = new Map<string, number>();
  private nextSelectorId = 0;

  private readonly domainCounts = new Map<string, DomainCounts>();

  /** The constraint's domain counts over all nodes, synced with the snapshot (see DomainCounts). */
  private domainCountsFor(c: SpreadConstraint, ns: string, requireAll: boolean, constraints: readonly SpreadConstraint[]): DomainCounts {
    let id = c.memoId;
    if (id === undefined) c.memoId = id = this.internSelector(`${ns}\u0000${c.selectorKey}`);
    const keys = requireAll ? constraints.map((x) => x.topologyKey) : [];
    const key = `${id}\u0000${c.topologyKey}\u0000${requireAll}\u0000${keys.join("\u0001")}`;
    let dc = this.domainCounts.get(key);
    if (dc === undefined) {
      if (this.domainCounts.size >= 256) this.domainCounts.clear();
      this.domainCounts.set(key, (dc = new DomainCounts(c.topologyKey, keys, requireAll)));
    }
    dc.sync(this.handle.snapshot.nodeInfoList, (ni) => this.countMatching(ni, c, ns));
    return dc;
  }

  private internSelector(text: string): number {
    let id = this.selectorIds.get(text);
    if (id === undefined) {
      // Ids are never reused: forgetting old texts only costs recounting.
      if (this.selectorIds.size >= 10_000) this.selectorIds.clear();
      this.selectorIds.set(text, (id = this.nextSelectorId++));
    }
    return id;
  }

  constructor(
    private readonly handle: Handle,
    opts: PodTopologySpreadOptions = {},
  ) {
    this.systemDefaulted = opts.defaultConstraints === undefined;
    this.defaultConstraints = opts.defaultConstraints ?? SYSTEM_DEFAULT_CONSTRAINTS;
  }

  eventsToRegister(): ClusterEvent[] {
    return [
      { resource: "Pod", actionType: "Add" },
      { resource: "Pod", actionType: "UpdatePodLabel" },
      { resource: "Pod", actionType: "Delete" },
      { resource: "Node", actionType: "Add" },
      { resource: "Node", actionType: "Delete" },
      { resource: "Node", actionType: "UpdateNodeLabel" },
      { resource: "Node", actionType: "UpdateNodeTaint" },
    ];
  }

  /** The pod's constraints for `action`, or the defaults with DefaultSelector (upstream's buildDefaultConstraints). */
  private constraintsFor(pod: Pod, action: "DoNotSchedule" | "ScheduleAnyway"): SpreadConstraint[] {
    const own = pod.spec?.topologySpreadConstraints ?? [];
    if (own.length > 0) return filterConstraints(own, pod.metadata?.labels, action);
    const constraints = filterConstraints(this.defaultConstraints, pod.metadata?.labels, action);
    if (constraints.length === 0) return constraints;
    const selector = defaultSelector(pod, this.handle.listers);
    if (selector.empty) return [];
    for (const c of constraints) {
      c.selector = selector;
      c.selectorKey = `default:${selector.key}`;
    }
    return constraints;
  }

  /**
   * countPodsMatchSelector for a node, memoised per (NodeInfo, generation): a NodeInfo's
   * generation changes with every pod added or removed, so an unchanged node — nearly all of them
   * from one cycle to the next — is not walked again.
   */
  private countMatching(ni: NodeInfo, c: SpreadConstraint, ns: string): number {
    let memo = ni.spreadCountMemo;
    if (memo === undefined) ni.spreadCountMemo = memo = new Map();
    let key = c.memoId;
    if (key === undefined) c.memoId = key = this.internSelector(`${ns}\u0000${c.selectorKey}`);
    const hit = memo.get(key);
    if (hit !== undefined && hit.generation === ni.generation) return hit.count;
    const count = countPodsMatchSelector(ni.pods, c.selector, ns);
    if (hit !== undefined) {
      hit.generation = ni.generation;
      hit.count = count;
    } else {
      if (memo.size >= MEMO_PER_NODE) memo.clear();
      memo.set(key, { generation: ni.generation, count });
    }
    return count;
  }

  preFilter(state: CycleState, pi: PodInfo): PreFilterOutcome {
    const pod = pi.pod;
    const constraints = this.constraintsFor(pod, "DoNotSchedule");
    if (constraints.length === 0) return { status: new Status("Skip") };
    const ns = pod.metadata?.namespace ?? "";
    const required = requiredNodeAffinityOf(pod);
    const pairToMatchNum = new Map<string, number>();
    const direct: SpreadConstraint[] = [];
    for (const c of constraints) {
      if (!inclusionIsTrivial(c, required)) {
        direct.push(c);
        continue;
      }
      const dc = this.domainCountsFor(c, ns, true, constraints);
      for (const value of dc.domainNodes.keys()) pairToMatchNum.set(pairKey(c.topologyKey, value), dc.totals.get(value) ?? 0);
    }
    if (direct.length > 0) {
      for (const ni of this.handle.snapshot.nodeInfoList) {
        const node = ni.node;
        if (node === undefined) continue;
        const labels = node.metadata?.labels;
        if (!nodeLabelsMatchSpreadConstraints(labels, constraints)) continue;
        for (const c of direct) {
          if (!matchNodeInclusionPolicies(c, pod, node, required)) continue;
          const k = pairKey(c.topologyKey, labels![c.topologyKey]!);
          pairToMatchNum.set(k, (pairToMatchNum.get(k) ?? 0) + this.countMatching(ni, c, ns));
        }
      }
    }
    const domainsNum = new Map<string, number>();
    const criticalPaths = new Map<string, CriticalPaths>();
    for (const c of constraints) criticalPaths.set(c.topologyKey, new CriticalPaths());
    for (const [k, num] of pairToMatchNum) {
      const sep = k.indexOf("\u0000");
      const key = k.slice(0, sep);
      domainsNum.set(key, (domainsNum.get(key) ?? 0) + 1);
      criticalPaths.get(key)!.update(k.slice(sep + 1), num);
    }
    state.write(PRE_FILTER_KEY, new PreFilterState(constraints, criticalPaths, domainsNum, pairToMatchNum));
    return { status: null };
  }

  private updateWithPod(state: CycleState, updated: PodInfo, preemptor: PodInfo, nodeInfo: NodeInfo, delta: number): Status | null {
    const s = state.read<PreFilterState>(PRE_FILTER_KEY);
    const node = nodeInfo.node;
    if (s === undefined || node === undefined) return null;
    if ((updated.pod.metadata?.namespace ?? "") !== (preemptor.pod.metadata?.namespace ?? "")) return null;
    const labels = node.metadata?.labels;
    if (!nodeLabelsMatchSpreadConstraints(labels, s.constraints)) return null;
    const required = requiredNodeAffinityOf(preemptor.pod);
    for (const c of s.constraints) {
      if (!c.selector.matches(updated.pod.metadata?.labels)) continue;
      if (!matchNodeInclusionPolicies(c, preemptor.pod, node, required)) continue;
      const value = labels![c.topologyKey]!;
      const k = pairKey(c.topologyKey, value);
      const n = (s.pairToMatchNum.get(k) ?? 0) + delta;
      s.pairToMatchNum.set(k, n);
      s.criticalPaths.get(c.topologyKey)!.update(value, n);
    }
    return null;
  }

  addPod(state: CycleState, podToSchedule: PodInfo, podToAdd: PodInfo, nodeInfo: NodeInfo): Status | null {
    return this.updateWithPod(state, podToAdd, podToSchedule, nodeInfo, 1);
  }

  removePod(state: CycleState, podToSchedule: PodInfo, podToRemove: PodInfo, nodeInfo: NodeInfo): Status | null {
    return this.updateWithPod(state, podToRemove, podToSchedule, nodeInfo, -1);
  }

  filter(state: CycleState, pi: PodInfo, nodeInfo: NodeInfo): Status | null {
    const s = state.read<PreFilterState>(PRE_FILTER_KEY);
    if (s === undefined) throw new Error(`reading "${PRE_FILTER_KEY}" from cycleState: not found`);
    const labels = nodeInfo.node?.metadata?.labels ?? {};
    const podLabels = pi.pod.metadata?.labels;
    for (const c of s.constraints) {
      const value = labels[c.topologyKey];
      if (value === undefined) return new Status("UnschedulableAndUnresolvable", [ERR_REASON_NODE_LABEL_NOT_MATCH]);
      const min = s.minMatchNum(c.topologyKey, c.minDomains);
      if (min === undefined) continue;
      const self = c.selector.matches(podLabels) ? 1 : 0;
      const matchNum = s.pairToMatchNum.get(pairKey(c.topologyKey, value)) ?? 0;
      if (matchNum + self - min > c.maxSkew) return new Status("Unschedulable", [ERR_REASON_CONSTRAINTS_NOT_MATCH]);
    }
    return null;
  }

  preScore(state: CycleState, pi: PodInfo, filteredNodes: readonly NodeInfo[]): Status | null {
    const allNodes = this.handle.snapshot.nodeInfoList;
    if (allNodes.length === 0) return new Status("Skip");
    const pod = pi.pod;
    const constraints = this.constraintsFor(pod, "ScheduleAnyway");
    if (constraints.length === 0) return new Status("Skip");
    // Only non-default constraints need every topology label on a node (so nodes without a zone
    // still get hostname spreading from the system defaults).
    const requireAll = (pod.spec?.topologySpreadConstraints?.length ?? 0) > 0 || !this.systemDefaulted;
    const ignored = new Set<string>();
    const counts = constraints.map(() => new Map<string, number>());
    const topoSize = constraints.map(() => 0);
    for (const ni of filteredNodes) {
      const labels = ni.node?.metadata?.labels;
      if (requireAll && !nodeLabelsMatchSpreadConstraints(labels, constraints)) {
        ignored.add(ni.name);
        continue;
      }
      for (let i = 0; i < constraints.length; i++) {
        const c = constraints[i]!;
        if (c.topologyKey === LABEL_HOSTNAME) continue;
        const value = labels?.[c.topologyKey] ?? "";
        if (!counts[i]!.has(value)) {
          counts[i]!.set(value, 0);
          topoSize[i]!++;
        }
      }
    }
    const weights = constraints.map((c, i) => topologyNormalizingWeight(c.topologyKey === LABEL_HOSTNAME ? filteredNodes.length - ignored.size : topoSize[i]!));
    const ns = pod.metadata?.namespace ?? "";
    const required = requiredNodeAffinityOf(pod);
    const direct: number[] = [];
    for (let i = 0; i < constraints.length; i++) {
      const c = constraints[i]!;
      const m = counts[i]!;
      // Hostname constraints are counted per node in Score; nothing to add up here.
      if (m.size === 0) continue;
      if (!inclusionIsTrivial(c, required)) {
        direct.push(i);
        continue;
      }
      const dc = this.domainCountsFor(c, ns, requireAll, constraints);
      for (const value of m.keys()) m.set(value, dc.totals.get(value) ?? 0);
    }
    if (direct.length > 0) {
      for (const ni of allNodes) {
        const node = ni.node;
        if (node === undefined) continue;
        const labels = node.metadata?.labels;
        if (requireAll && !nodeLabelsMatchSpreadConstraints(labels, constraints)) continue;
        for (const i of direct) {
          const c = constraints[i]!;
          const m = counts[i]!;
          const value = labels?.[c.topologyKey] ?? "";
          const cur = m.get(value);
          if (cur === undefined) continue;
          if (!matchNodeInclusionPolicies(c, pod, node, required)) continue;
          m.set(value, cur + this.countMatching(ni, c, ns));
        }
      }
    }
    state.write(PRE_SCORE_KEY, new PreScoreState(constraints, ignored, counts, weights));
    return null;
  }

  score(state: CycleState, pi: PodInfo, nodeInfo: NodeInfo): number {
    const s = state.read<PreScoreState>(PRE_SCORE_KEY);
    if (s === undefined) throw new Error(`reading "${PRE_SCORE_KEY}" from cycleState: not found`);
    if (s.ignoredNodes.size > 0 && s.ignoredNodes.has(nodeInfo.name)) return 0;
    const labels = nodeInfo.node?.metadata?.labels ?? {};
    const ns = pi.pod.metadata?.namespace ?? "";
    let score = 0;
    for (let i = 0; i < s.constraints.length; i++) {
      const c = s.constraints[i]!;
      const value = labels[c.topologyKey];
      if (value === undefined) continue;
      const cnt = c.topologyKey === LABEL_HOSTNAME ? this.countMatching(nodeInfo, c, ns) : (s.valueToPodCounts[i]!.get(value) ?? 0);
      score += scoreForCount(cnt, c.maxSkew, s.normalizingWeight[i]!);
    }
    // Go's math.Round rounds half away from zero; scores are never negative here.
    return Math.round(score);
  }

  normalizeScore(state: CycleState, _pod: PodInfo, scores: number[], nodes: readonly NodeInfo[]): void {
    const s = state.read<PreScoreState>(PRE_SCORE_KEY);
    if (s === undefined) return;
    let min = Number.MAX_SAFE_INTEGER;
    let max = 0;
    const invalid = new Array<boolean>(scores.length).fill(false);
    for (let i = 0; i < scores.length; i++) {
      if (s.ignoredNodes.has(nodes[i]!.name)) {
        invalid[i] = true;
        continue;
      }
      const v = scores[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    for (let i = 0; i < scores.length; i++) {
      if (invalid[i]) scores[i] = 0;
      else if (max === 0) scores[i] = MAX_NODE_SCORE;
      else scores[i] = Math.trunc((MAX_NODE_SCORE * (max + min - scores[i]!)) / max);
    }
  }
}
