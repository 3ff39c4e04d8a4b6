/**
 * TaintToleration: Filter rejects nodes with a NoSchedule/NoExecute taint the pod does not
 * tolerate; Score counts the PreferNoSchedule taints it does not tolerate (fewer is better).
 */
import type { Toleration } from "kubernetes-types/core/v1.js";
import type { CycleState, StateData } from "../framework/cycle-state.js";
import type { ClusterEvent } from "../framework/events.js";
import type { FilterPlugin, PreScorePlugin, ScorePlugin } from "../framework/interface.js";
import type { NodeInfo, PodInfo } from "../framework/node-info.js";
import { Status } from "../framework/status.js";
import { defaultNormalizeScore } from "./helper/normalize.js";
import { findMatchingUntoleratedTaint, isDoNotScheduleTaint, tolerationsTolerateTaint } from "./helper/taints.js";
import { TAINT_TOLERATION } from "./names.js";

const PRE_SCORE_KEY = "PreScore" + TAINT_TOLERATION;

class PreScoreState implements StateData {
  constructor(readonly tolerationsPreferNoSchedule: Toleration[]) {}
  clone(): StateData {
    return this;
  }
}

export class TaintToleration implements FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = TAINT_TOLERATION;

  eventsToRegister(): ClusterEvent[] {
    return [
      { resource: "Node", actionType: "Add" },
      { resource: "Node", actionType: "UpdateNodeTaint" },
      { resource: "Pod", actionType: "UpdatePodToleration" },
    ];
  }

  filter(_state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Status | null {
    const taints = nodeInfo.node?.spec?.taints;
    if (taints === undefined || taints.length === 0) return null;
    const taint = findMatchingUntoleratedTaint(taints, pod.pod.spec?.tolerations, isDoNotScheduleTaint);
    if (taint === undefined) return null;
    return new Status("UnschedulableAndUnresolvable", [`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ""}}`]);
  }

  preScore(state: CycleState, pod: PodInfo): Status | null {
    // An empty effect means every effect, PreferNoSchedule included.
    const tolerations = (pod.pod.spec?.tolerations ?? []).filter((t) => !t.effect || t.effect === "PreferNoSchedule");
    state.write(PRE_SCORE_KEY, new PreScoreState(tolerations));
    return null;
  }

  score(state: CycleState, _pod: PodInfo, nodeInfo: NodeInfo): number {
    const taints = nodeInfo.node?.spec?.taints;
    if (taints === undefined) return 0;
    const s = state.read<PreScoreState>(PRE_SCORE_KEY);
    if (s === undefined) throw new Error(`reading "${PRE_SCORE_KEY}" from cycleState: not found`);
    let count = 0;
    for (const t of taints) {
      if (t.effect !== "PreferNoSchedule") continue;
      if (!tolerationsTolerateTaint(s.tolerationsPreferNoSchedule, t)) count++;
    }
    return count;
  }

  normalizeScore(_state: CycleState, _pod: PodInfo, scores: number[]): void {
    defaultNormalizeScore(scores, true);
  }
}
