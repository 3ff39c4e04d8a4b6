/** Node and pod conditions as the node controllers read and change them (upstream's controller/util/node and api/v1/pod helpers). */
import type { KubeObject } from "@kubemu/common";
import type { NodeCondition, NodeStatus, Pod, PodCondition, PodStatus } from "kubernetes-types/core/v1.js";
import type { NodeObject } from "./taints.js";

export type PodObject = Pod & KubeObject;

export function nodeCondition(status: NodeStatus | undefined, type: string): NodeCondition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/** Ready=True (upstream's pkg/util/node IsNodeReady). */
export function isNodeReady(node: NodeObject): boolean {
  return nodeCondition(node.status, "Ready")?.status === "True";
}

/**
 * Sets `condition` in `status` (upstream's podutil.UpdatePodCondition): lastTransitionTime is now
 * unless the status stays the same; answers whether anything changed.
 */
export function updatePodCondition(status: PodStatus, condition: PodCondition, now: string): boolean {
  const conditions = status.conditions ?? (status.conditions = []);
  const i = conditions.findIndex((c) => c.type === condition.type);
  const next: PodCondition = { ...condition, lastTransitionTime: now };
  if (i === -1) {
    conditions.push(next);
    return true;
  }
  const old = conditions[i]!;
  if (next.status === old.status) next.lastTransitionTime = old.lastTransitionTime;
  const same =
    next.status === old.status &&
    (next.reason ?? "") === (old.reason ?? "") &&
    (next.message ?? "") === (old.message ?? "") &&
    (next.lastProbeTime ?? null) === (old.lastProbeTime ?? null) &&
    (next.lastTransitionTime ?? null) === (old.lastTransitionTime ?? null);
  conditions[i] = next;
  return !same;
}
