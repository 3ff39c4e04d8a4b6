/**
 * NodeAffinity: Filter enforces spec.nodeSelector and required node affinity; PreFilter narrows
 * the nodes when every term pins metadata.name; Score sums the weights of the matching preferred
 * terms (normalized so the best node gets 100).
 */
import type { CycleState, StateData } from "../framework/cycle-state.js";
import type { ClusterEvent } from "../framework/events.js";
import type { FilterPlugin, PreFilterOutcome, PreFilterPlugin, PreScorePlugin, ScorePlugin } from "../framework/interface.js";
import type { NodeInfo, PodInfo } from "../framework/node-info.js";
import { Status } from "../framework/status.js";
import { compilePreferredTerms, requiredNodeAffinityOf, type PreferredSchedulingTerms, type RequiredNodeAffinity } from "./helper/node-affinity.js";
import { defaultNormalizeScore } from "./helper/normalize.js";
import { NODE_AFFINITY } from "./names.js";

/** Upstream's ErrReasonPod. */
export const ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector";
/** Upstream's errReasonConflict. */
export const ERR_REASON_CONFLICT = "pod affinity terms conflict";

const PRE_FILTER_KEY = "PreFilter" + NODE_AFFINITY;
const PRE_SCORE_KEY = "PreScore" + NODE_AFFINITY;

class PreFilterState implements StateData {
  constructor(readonly required: RequiredNodeAffinity) {}
  clone(): StateData {
    return this;
  }
}

class PreScoreState implements StateData {
  constructor(readonly preferred: PreferredSchedulingTerms) {}
  clone(): StateData {
    return this;
  }
}

export class NodeAffinity implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = NODE_AFFINITY;

  eventsToRegister(): ClusterEvent[] {
    return [
      { resource: "Node", actionType: "Add" },
      { resource: "Node", actionType: "UpdateNodeLabel" },
      { resource: "Node", actionType: "UpdateNodeTaint" },
    ];
  }

  preFilter(state: CycleState, pi: PodInfo): PreFilterOutcome {
    const spec = pi.pod.spec;
    const required = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    if (required === undefined && (spec?.nodeSelector === undefined || spec.nodeSelector === null)) return { status: new Status("Skip") };
    state.write(PRE_FILTER_KEY, new PreFilterState(requiredNodeAffinityOf(pi.pod)));
    const terms = required?.nodeSelectorTerms ?? [];
    if (terms.length === 0) return { status: null };
    // If every term pins metadata.name, only those nodes can match.
    let names: Set<string> | undefined;
    for (const t of terms) {
      let termNames: Set<string> | undefined;
      for (const r of t.matchFields ?? []) {
        if (r.key !== "metadata.name" || r.operator !== "In") continue;
        const s = new Set(r.values ?? []);
        termNames = termNames === undefined ? s : new Set([...termNames].filter((x) => s.has(x)));
      }
      // A term without a name requirement lets every node through (terms are ORed).
      if (termNames === undefined) return { status: null };
      names = names === undefined ? termNames : new Set([...names, ...termNames]);
    }
    if (names !== undefined && names.size === 0) return { status: new Status("UnschedulableAndUnresolvable", [ERR_REASON_CONFLICT]) };
    return { status: null, result: { nodeNames: names } };
  }

  filter(state: CycleState, pi: PodInfo, nodeInfo: NodeInfo): Status | null {
    const s = state.read<PreFilterState>(PRE_FILTER_KEY);
    const required = s?.required ?? requiredNodeAffinityOf(pi.pod);
    if (nodeInfo.node === undefined || !required.match(nodeInfo.node)) return new Status("UnschedulableAndUnresolvable", [ERR_REASON_POD]);
    return null;
  }

  preScore(state: CycleState, pi: PodInfo): Status | null {
    const preferred = pi.pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution;
    if (preferred === undefined) return new Status("Skip");
    state.write(PRE_SCORE_KEY, new PreScoreState(compilePreferredTerms(preferred)));
    return null;
  }

  score(state: CycleState, pi: PodInfo, nodeInfo: NodeInfo): number {
    const s = state.read<PreScoreState>(PRE_SCORE_KEY);
    const preferred = s?.preferred ?? compilePreferredTerms(pi.pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []);
    return nodeInfo.node === undefined ? 0 : preferred.score(nodeInfo.node);
  }

  normalizeScore(_state: CycleState, _pod: PodInfo, scores: number[]): void {
    defaultNormalizeScore(scores, false);
  }
}
