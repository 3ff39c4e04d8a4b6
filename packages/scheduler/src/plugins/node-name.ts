/** NodeName: a pod with spec.nodeName set fits only that node. */
import type { CycleState } from "../framework/cycle-state.js";
import type { ClusterEvent } from "../framework/events.js";
import type { FilterPlugin } from "../framework/interface.js";
import type { NodeInfo, PodInfo } from "../framework/node-info.js";
import { Status } from "../framework/status.js";
import { NODE_NAME } from "./names.js";

/** Upstream's ErrReason. */
export const ERR_REASON_NODE_NAME = "node(s) didn't match the requested node name";

export class NodeName implements FilterPlugin {
  readonly name = NODE_NAME;

  eventsToRegister(): ClusterEvent[] {
    return [{ resource: "Node", actionType: "Add" }];
  }

  filter(_state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Status | null {
    const want = pod.pod.spec?.nodeName;
    if (!want || want === nodeInfo.name) return null;
    return new Status("UnschedulableAndUnresolvable", [ERR_REASON_NODE_NAME]);
  }
}
