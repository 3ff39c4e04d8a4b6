/** Which scheduling-relevant properties a node update changed (upstream's nodeSchedulingPropertiesChange). */
import { isDeepStrictEqual } from "node:util";
import type { Node } from "kubernetes-types/core/v1.js";
import type { ClusterEvent } from "../framework/events.js";

const conditionsOf = (n: Node) => (n.status?.conditions ?? []).map((c) => [c.type, c.status]).sort();

/** The node events an update amounts to; none if nothing the scheduler reads changed. */
export function nodeUpdateEvents(oldNode: Node, newNode: Node): ClusterEvent[] {
  const events: ClusterEvent[] = [];
  const ev = (actionType: ClusterEvent["actionType"]) => events.push({ resource: "Node", actionType });
  // Uncordoned: upstream reports it as a taint change (the unschedulable taint went away).
  if (!!oldNode.spec?.unschedulable !== !!newNode.spec?.unschedulable && !newNode.spec?.unschedulable) ev("UpdateNodeTaint");
  if (!isDeepStrictEqual(oldNode.status?.allocatable ?? {}, newNode.status?.allocatable ?? {})) ev("UpdateNodeAllocatable");
  if (!isDeepStrictEqual(oldNode.metadata?.labels ?? {}, newNode.metadata?.labels ?? {})) ev("UpdateNodeLabel");
  if (!isDeepStrictEqual(oldNode.spec?.taints ?? [], newNode.spec?.taints ?? [])) ev("UpdateNodeTaint");
  if (!isDeepStrictEqual(conditionsOf(oldNode), conditionsOf(newNode))) ev("UpdateNodeCondition");
  if (!isDeepStrictEqual(oldNode.metadata?.annotations ?? {}, newNode.metadata?.annotations ?? {})) ev("UpdateNodeAnnotation");
  return events;
}
