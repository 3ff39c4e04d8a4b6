/**
 * NodeUnschedulable: a cordoned node (spec.unschedulable) takes only pods that tolerate the
 * node.kubernetes.io/unschedulable:NoSchedule taint.
 */
import type { CycleState } from "../framework/cycle-state.js";
import type { ClusterEvent } from "../framework/events.js";
import type { FilterPlugin } from "../framework/interface.js";
import type { NodeInfo, PodInfo } from "../framework/node-info.js";
import { Status } from "../framework/status.js";
import { tolerationsTolerateTaint } from "./helper/taints.js";
import { NODE_UNSCHEDULABLE } from "./names.js";

/** Upstream's ErrReasonUnknownCondition. */
export const ERR_REASON_UNKNOWN_CONDITION = "node(s) had unknown conditions";
/** Upstream's ErrReasonUnschedulable. */
export const ERR_REASON_UNSCHEDULABLE = "node(s) were unschedulable";

const UNSCHEDULABLE_TAINT = { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" };

export class NodeUnschedulable implements FilterPlugin {
  readonly name = NODE_UNSCHEDULABLE;

  eventsToRegister(): ClusterEvent[] {
    return [
      { resource: "Node", actionType: "Add" },
      { resource: "Node", actionType: "UpdateNodeTaint" },
      { resource: "Pod", actionType: "UpdatePodToleration" },
    ];
  }

  filter(_state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Status | null {
    const node = nodeInfo.node;
    if (node === undefined) return new Status("UnschedulableAndUnresolvable", [ERR_REASON_UNKNOWN_CONDITION]);
    if (node.spec?.unschedulable !== true) return null;
    if (tolerationsTolerateTaint(pod.pod.spec?.tolerations, UNSCHEDULABLE_TAINT)) return null;
    return new Status("UnschedulableAndUnresolvable", [ERR_REASON_UNSCHEDULABLE]);
  }
}
