/**
 * Framework: runs a profile's plugins at each extension point, in order, the way upstream's
 * frameworkImpl does (pkg/scheduler/framework/runtime/framework.go): the first failing Filter
 * decides a node's status; PreFilter/PreScore Skip switches the plugin's Filter/Score off for the
 * cycle; scores are normalized per plugin, checked to lie in [0, MAX_NODE_SCORE], weighted and
 * summed.
 */
import type { CycleState } from "./cycle-state.js";
import type { ClusterEvent } from "./events.js";
import {
  MAX_NODE_SCORE,
  type FilterPlugin,
  type Handle,
  type NodeToStatus,
  type PostFilterOutcome,
  type PostFilterPlugin,
  type PreFilterPlugin,
  type PreFilterResult,
  type PreScorePlugin,
  type ScorePlugin,
  type Plugin,
} from "./interface.js";
import type { NodeInfo, PodInfo } from "./node-info.js";
import { Status, asStatus } from "./status.js";

/** A Score plugin with its weight in the profile. */
export interface WeightedScorePlugin {
  plugin: ScorePlugin;
  weight: number;
}

/** The plugins of a profile per extension point, each list in execution order. */
export interface FrameworkPlugins {
  preFilter: PreFilterPlugin[];
  filter: FilterPlugin[];
  postFilter: PostFilterPlugin[];
  preScore: PreScorePlugin[];
  score: WeightedScorePlugin[];
}

export interface PreFilterRun {
  result: PreFilterResult | undefined;
  status: Status | null;
  /** The plugins that narrowed the nodes (upstream counts them as unschedulable plugins). */
  unschedulablePlugins: Set<string>;
}

export class Framework {
  readonly plugins: FrameworkPlugins;
  private readonly filtersByState = new WeakMap<CycleState, FilterPlugin[]>();
  private lastState: CycleState | undefined;
  private lastFilters: FilterPlugin[] = [];

  constructor(
    readonly handle: Handle,
    plugins: FrameworkPlugins,
  ) {
    for (const { plugin, weight } of plugins.score) {
      if (!Number.isInteger(weight) || weight <= 0) throw new Error(`score plugin "${plugin.name}" needs a positive integer weight, got ${weight}`);
    }
    this.plugins = plugins;
  }

  /** True if the profile has Score plugins (otherwise the first feasible node wins). */
  hasScorePlugins(): boolean {
    return this.plugins.score.length > 0;
  }

  hasFilterPlugins(): boolean {
    return this.plugins.filter.length > 0;
  }

  hasPostFilterPlugins(): boolean {
    return this.plugins.postFilter.length > 0;
  }

  /**
   * Runs PreFilter plugins. An UnschedulableAndUnresolvable status stops at once; Unschedulable
   * is remembered while the others still run (preemption needs their state); a PreFilterResult
   * intersection that leaves no node is UnschedulableAndUnresolvable. `unschedulablePlugins` is
   * upstream's third result: the plugins that narrowed the node set.
   */
  runPreFilterPlugins(state: CycleState, pod: PodInfo): PreFilterRun {
    let result: PreFilterResult | undefined;
    let returnStatus: Status | null = null;
    const withNodes = new Set<string>();
    for (const pl of this.plugins.preFilter) {
      let out;
      try {
        out = pl.preFilter(state, pod);
      } catch (e) {
        return { result: undefined, status: asStatus(e).withPlugin(pl.name), unschedulablePlugins: new Set() };
      }
      const s = out.status;
      if (s !== null && s.isSkip()) {
        state.skipFilterPlugins.add(pl.name);
        continue;
      }
      if (s !== null && !s.isSuccess()) {
        s.withPlugin(pl.name);
        if (s.code === "UnschedulableAndUnresolvable") return { result: undefined, status: s, unschedulablePlugins: new Set() };
        if (s.code === "Unschedulable") {
          returnStatus = s;
          continue;
        }
        return { result: undefined, status: new Status("Error", [`running PreFilter plugin "${pl.name}": ${s.message()}`]).withPlugin(pl.name), unschedulablePlugins: new Set() };
      }
      const r = out.result;
      if (r !== undefined && r.nodeNames !== undefined) {
        withNodes.add(pl.name);
        result = { nodeNames: result?.nodeNames === undefined ? r.nodeNames : intersect(result.nodeNames, r.nodeNames) };
        if (result.nodeNames!.size === 0) {
          const names = [...withNodes].sort();
          const msg = names.length === 1 ? `node(s) didn't satisfy plugin ${names[0]}` : `node(s) didn't satisfy plugin(s) [${names.join(" ")}] simultaneously`;
          return { result, status: new Status("UnschedulableAndUnresolvable", [msg]), unschedulablePlugins: withNodes };
        }
      }
    }
    return { result, status: returnStatus, unschedulablePlugins: withNodes };
  }

  /** Tells every PreFilter extension that podToAdd joins nodeInfo. */
  runPreFilterExtensionAddPod(state: CycleState, podToSchedule: PodInfo, podToAdd: PodInfo, nodeInfo: NodeInfo): Status | null {
    for (const pl of this.plugins.preFilter) {
      if (pl.addPod === undefined || state.skipFilterPlugins.has(pl.name)) continue;
      const s = pl.addPod(state, podToSchedule, podToAdd, nodeInfo);
      if (s !== null && !s.isSuccess()) return new Status("Error", [`running AddPod on PreFilter plugin "${pl.name}": ${s.message()}`]).withPlugin(pl.name);
    }
    return null;
  }

  /** Tells every PreFilter extension that podToRemove left nodeInfo. */
  runPreFilterExtensionRemovePod(state: CycleState, podToSchedule: PodInfo, podToRemove: PodInfo, nodeInfo: NodeInfo): Status | null {
    for (const pl of this.plugins.preFilter) {
      if (pl.removePod === undefined || state.skipFilterPlugins.has(pl.name)) continue;
      const s = pl.removePod(state, podToSchedule, podToRemove, nodeInfo);
      if (s !== null && !s.isSuccess()) return new Status("Error", [`running RemovePod on PreFilter plugin "${pl.name}": ${s.message()}`]).withPlugin(pl.name);
    }
    return null;
  }

  /** The Filter plugins the cycle's PreFilter did not switch off, computed once per CycleState. */
  private activeFilters(state: CycleState): FilterPlugin[] {
    if (state === this.lastState) return this.lastFilters;
    let list = this.filtersByState.get(state);
    if (list === undefined) {
      const skip = state.skipFilterPlugins;
      list = skip.size === 0 ? this.plugins.filter : this.plugins.filter.filter((p) => !skip.has(p.name));
      this.filtersByState.set(state, list);
    }
    this.lastState = state;
    this.lastFilters = list;
    return list;
  }

  /** Runs the Filter plugins on one node; the first non-success status is the node's. */
  runFilterPlugins(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Status | null {
    const filters = this.activeFilters(state);
    let i = 0;
    let s: Status | null = null;
    try {
      for (; i < filters.length; i++) {
        s = filters[i]!.filter(state, pod, nodeInfo);
        if (s !== null && !s.isSuccess()) break;
        s = null;
      }
    } catch (e) {
      s = asStatus(e);
    }
    if (s === null) return null;
    const pl = filters[i]!;
    if (!s.isRejected()) s = new Status("Error", [`running "${pl.name}" filter plugin: ${s.message()}`]);
    return s.withPlugin(pl.name);
  }

  /**
   * Runs the filters with the node's nominated pods of equal or higher priority counted as
   * present, and, if that passes and such pods exist, once more without them (upstream's
   * RunFilterPluginsWithNominatedPods: the pod must fit either way).
   */
  runFilterPluginsWithNominatedPods(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Status | null {
    const nominator = this.handle.nominator;
    if (nominator === undefined) return this.runFilterPlugins(state, pod, nodeInfo);
    const nominated = nominator.nominatedPodsForNode(nodeInfo.name);
    if (nominated.length === 0) return this.runFilterPlugins(state, pod, nodeInfo);
    let stateWith: CycleState | undefined;
    let nodeWith: NodeInfo | undefined;
    for (const pi of nominated) {
      if (pi.priority < pod.priority || pi.uid === pod.uid) continue;
      if (nodeWith === undefined) {
        nodeWith = nodeInfo.clone();
        stateWith = state.clone();
      }
      nodeWith.addPodInfo(pi);
      const s = this.runPreFilterExtensionAddPod(stateWith!, pod, pi, nodeWith);
      if (s !== null) return s;
    }
    if (nodeWith === undefined) return this.runFilterPlugins(state, pod, nodeInfo);
    const first = this.runFilterPlugins(stateWith!, pod, nodeWith);
    if (first !== null) return first;
    return this.runFilterPlugins(state, pod, nodeInfo);
  }

  /** Runs PostFilter plugins until one succeeds; their reasons are joined otherwise. */
  runPostFilterPlugins(state: CycleState, pod: PodInfo, statuses: NodeToStatus): PostFilterOutcome {
    const reasons: string[] = [];
    let result: PostFilterOutcome["result"] = null;
    let rejector = "";
    for (const pl of this.plugins.postFilter) {
      let out: PostFilterOutcome;
      try {
        out = pl.postFilter(state, pod, statuses);
      } catch (e) {
        return { result: null, status: asStatus(e).withPlugin(pl.name) };
      }
      if (out.status.isSuccess()) return out;
      if (out.status.code !== "Unschedulable" && out.status.code !== "UnschedulableAndUnresolvable") return { result: null, status: out.status.withPlugin(pl.name) };
      reasons.push(...out.status.reasons);
      if (out.result !== null) result = out.result;
      rejector = pl.name;
    }
    return { result, status: new Status("Unschedulable", reasons).withPlugin(rejector) };
  }

  /** Runs PreScore plugins; Skip switches the plugin's Score off for this cycle. */
  runPreScorePlugins(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): Status | null {
    for (const pl of this.plugins.preScore) {
      let s: Status | null;
      try {
        s = pl.preScore(state, pod, nodes);
      } catch (e) {
        s = asStatus(e);
      }
      if (s === null || s.isSuccess()) continue;
      if (s.isSkip()) {
        state.skipScorePlugins.add(pl.name);
        continue;
      }
      return new Status("Error", [`running PreScore plugin "${pl.name}": ${s.message()}`]).withPlugin(pl.name);
    }
    return null;
  }

  /**
   * Scores every node with every (non-skipped) Score plugin, normalizes per plugin and returns the
   * weighted totals (totals[i] belongs to nodes[i]). Throws on a score outside [0, 100].
   */
  runScorePlugins(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): number[] {
    const n = nodes.length;
    const totals = new Array<number>(n).fill(0);
    const scores = new Array<number>(n);
    for (const { plugin, weight } of this.plugins.score) {
      if (state.skipScorePlugins.has(plugin.name)) continue;
      for (let i = 0; i < n; i++) scores[i] = plugin.score(state, pod, nodes[i]!);
      plugin.normalizeScore?.(state, pod, scores, nodes);
      for (let i = 0; i < n; i++) {
        const s = scores[i]!;
        if (!(s >= 0 && s <= MAX_NODE_SCORE)) throw new Error(`plugin "${plugin.name}" returns an invalid score ${s}, it should in the range of [0, ${MAX_NODE_SCORE}] after normalizing`);
        totals[i]! += s * weight;
      }
    }
    return totals;
  }

  /** Every plugin once, in the order they were configured. */
  allPlugins(): Plugin[] {
    const seen = new Set<Plugin>();
    const add = (p: Plugin) => seen.add(p);
    this.plugins.preFilter.forEach(add);
    this.plugins.filter.forEach(add);
    this.plugins.postFilter.forEach(add);
    this.plugins.preScore.forEach(add);
    this.plugins.score.forEach((w) => add(w.plugin));
    return [...seen];
  }

  /**
   * The cluster events each plugin registered (upstream's EventsToRegister, without queueing
   * hints): a pod rejected by plugin P should go back to the active queue only on an event that
   * matches one of P's.
   */
  eventsToRegister(): Map<string, ClusterEvent[]> {
    const out = new Map<string, ClusterEvent[]>();
    for (const p of this.allPlugins()) if (p.eventsToRegister) out.set(p.name, p.eventsToRegister());
    return out;
  }
}

function intersect(a: ReadonlySet<string>, b: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const x of a) if (b.has(x)) out.add(x);
  return out;
}
