/**
 * FitError: why a pod fits no node, in the words of upstream's FitError.Error():
 * `0/3 nodes are available: <PreFilter message>. <reason histogram>. <PostFilter message>` —
 * the histogram counts each reason over the nodes ("2 Insufficient cpu") and sorts the
 * "count reason" strings as strings, exactly as upstream (so "10 …" sorts before "2 …").
 */
import type { Pod } from "kubernetes-types/core/v1.js";
import type { NodeToStatus } from "./interface.js";

/** Why the cycle failed, per node (upstream's Diagnosis). */
export interface Diagnosis {
  nodeToStatus: NodeToStatus;
  /** Plugins that returned Unschedulable(AndUnresolvable): the queue requeues on their events. */
  unschedulablePlugins: Set<string>;
  preFilterMsg: string;
  postFilterMsg: string;
}

/** The FailedScheduling message for numAllNodes nodes. */
export function fitErrorMessage(numAllNodes: number, statuses: NodeToStatus, preFilterMsg: string, postFilterMsg: string): string {
  let msg = `0/${numAllNodes} nodes are available:`;
  if (preFilterMsg !== "") msg += ` ${preFilterMsg}.`;
  else {
    const counts = new Map<string, number>();
    for (const [, s] of statuses.entries()) for (const r of s.reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
    if (statuses.size < numAllNodes) {
      for (const r of statuses.absentNodesStatus.reasons) counts.set(r, (counts.get(r) ?? 0) + numAllNodes - statuses.size);
    }
    const parts = [...counts].map(([r, n]) => `${n} ${r}`).sort();
    if (parts.length > 0) msg += ` ${parts.join(", ")}.`;
  }
  if (postFilterMsg !== "") msg += ` ${postFilterMsg}`;
  return msg;
}

/** The pod fits no node. `message` is the FailedScheduling event text. */
export class FitError extends Error {
  constructor(
    readonly pod: Pod,
    readonly numAllNodes: number,
    readonly diagnosis: Diagnosis,
  ) {
    super("");
    this.name = "FitError";
    // Computed on read: PostFilter's message joins the diagnosis after the error is made.
    Object.defineProperty(this, "message", {
      get: () => fitErrorMessage(this.numAllNodes, diagnosis.nodeToStatus, diagnosis.preFilterMsg, diagnosis.postFilterMsg),
      configurable: true,
      enumerable: false,
    });
  }
}
