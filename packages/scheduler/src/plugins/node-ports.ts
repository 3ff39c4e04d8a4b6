/** NodePorts: the pod's host ports must be free on the node (0.0.0.0 collides with every IP). */
import type { CycleState } from "../framework/cycle-state.js";
import type { ClusterEvent } from "../framework/events.js";
import type { FilterPlugin, PreFilterOutcome, PreFilterPlugin } from "../framework/interface.js";
import type { NodeInfo, PodInfo } from "../framework/node-info.js";
import { Status } from "../framework/status.js";
import { NODE_PORTS } from "./names.js";

/** Upstream's ErrReason. */
export const ERR_REASON_NODE_PORTS = "node(s) didn't have free ports for the requested pod ports";

export class NodePorts implements PreFilterPlugin, FilterPlugin {
  readonly name = NODE_PORTS;

  eventsToRegister(): ClusterEvent[] {
    return [
      { resource: "Pod", actionType: "Delete" },
      { resource: "Node", actionType: "Add" },
      { resource: "Node", actionType: "UpdateNodeLabel" },
      { resource: "Node", actionType: "UpdateNodeTaint" },
    ];
  }

  preFilter(_state: CycleState, pi: PodInfo): PreFilterOutcome {
    return { status: pi.hostPorts.length === 0 ? new Status("Skip") : null };
  }

  filter(_state: CycleState, pi: PodInfo, nodeInfo: NodeInfo): Status | null {
    for (const p of pi.hostPorts) {
      if (nodeInfo.usedPorts.checkConflict(p.hostIP, p.protocol, p.hostPort)) return new Status("Unschedulable", [ERR_REASON_NODE_PORTS]);
    }
    return null;
  }
}
