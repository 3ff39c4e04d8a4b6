/**
 * Cluster events (upstream's framework.ClusterEvent): each plugin declares, with
 * `eventsToRegister()`, the events that could make a pod it rejected schedulable, and the
 * scheduling queue moves unschedulable pods back to active or backoff only on such events.
 */

/** The resource an event is about. `Pod` in a registration matches AssignedPod and UnscheduledPod events too. */
export type EventResource =
  | "Pod"
  | "AssignedPod"
  | "UnscheduledPod"
  | "Node"
  | "PersistentVolume"
  | "PersistentVolumeClaim"
  | "StorageClass"
  | "CSINode"
  | "CSIDriver"
  | "CSIStorageCapacity"
  | "VolumeAttachment"
  | "PriorityClass"
  | "*";

/**
 * What happened. The Update* kinds are the specific updates upstream distinguishes; `Update`
 * covers all of them and `All` covers everything.
 */
export type ActionType =
  | "Add"
  | "Delete"
  | "UpdateNodeAllocatable"
  | "UpdateNodeLabel"
  | "UpdateNodeTaint"
  | "UpdateNodeCondition"
  | "UpdateNodeAnnotation"
  | "UpdatePodLabel"
  | "UpdatePodScaleDown"
  | "UpdatePodToleration"
  | "UpdatePodSchedulingGatesEliminated"
  | "Update"
  | "All";

export interface ClusterEvent {
  resource: EventResource;
  actionType: ActionType;
}

const SPECIFIC_UPDATES: readonly ActionType[] = [
  "UpdateNodeAllocatable",
  "UpdateNodeLabel",
  "UpdateNodeTaint",
  "UpdateNodeCondition",
  "UpdateNodeAnnotation",
  "UpdatePodLabel",
  "UpdatePodScaleDown",
  "UpdatePodToleration",
  "UpdatePodSchedulingGatesEliminated",
];

/** Bit masks as upstream's ActionType: Update is the union of the specific updates, All of everything. */
const BITS: Record<ActionType, number> = (() => {
  const bits = { Add: 1, Delete: 2 } as Record<ActionType, number>;
  let next = 4;
  let update = 0;
  for (const a of SPECIFIC_UPDATES) {
    bits[a] = next;
    update |= next;
    next <<= 1;
  }
  bits.Update = update;
  bits.All = bits.Add | bits.Delete | update;
  return bits;
})();

/** The wildcard event: it moves every unschedulable pod (upstream's WildCardEvent). */
export const WILDCARD_EVENT: ClusterEvent = { resource: "*", actionType: "All" };

function resourceMatches(registered: EventResource, incoming: EventResource): boolean {
  return registered === "*" || registered === incoming || (registered === "Pod" && (incoming === "AssignedPod" || incoming === "UnscheduledPod"));
}

/**
 * True if the incoming event is the registered one or more specific (upstream's
 * MatchClusterEvents): a registered `Node/Update` matches an incoming `Node/UpdateNodeLabel`, not
 * the other way round. An incoming wildcard matches only a registered wildcard.
 */
export function matchClusterEvent(registered: ClusterEvent, incoming: ClusterEvent): boolean {
  if (registered.resource === "*" && registered.actionType === "All") return true;
  const r = BITS[registered.actionType];
  const i = BITS[incoming.actionType];
  return resourceMatches(registered.resource, incoming.resource) && (r & i) !== 0 && i <= r;
}

/** True if the incoming event matches any of the registered ones. */
export function matchAnyClusterEvent(registered: readonly ClusterEvent[], incoming: ClusterEvent): boolean {
  return registered.some((r) => matchClusterEvent(r, incoming));
}

/** `Resource/Action`, as upstream's ClusterEvent.Label() (for metrics and logs). */
export function clusterEventLabel(e: ClusterEvent): string {
  return e.resource === "*" && e.actionType === "All" ? "WildCard" : `${e.resource}${e.actionType}`;
}
