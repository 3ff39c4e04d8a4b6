import type { Pod } from "kubernetes-types/core/v1.js";
import type { ClusterEvent } from "../src/framework/events.js";

let seq = 0;

/** A pending pod; uid defaults to the name. */
export function pod(name: string, opts: { priority?: number; uid?: string; namespace?: string; labels?: Record<string, string>; nodeName?: string; schedulerName?: string } = {}): Pod {
  seq++;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: opts.namespace ?? "default", uid: opts.uid ?? name, labels: opts.labels, resourceVersion: String(seq) },
    spec: {
      containers: [{ name: "c", image: "nginx" }],
      ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
      ...(opts.nodeName !== undefined ? { nodeName: opts.nodeName } : {}),
      ...(opts.schedulerName !== undefined ? { schedulerName: opts.schedulerName } : {}),
    },
  };
}

/** Events the in-tree plugins register (upstream's EventsToRegister, abridged to what the tests use). */
export const PLUGIN_EVENTS: ReadonlyMap<string, readonly ClusterEvent[]> = new Map<string, ClusterEvent[]>([
  [
    "NodeResourcesFit",
    [
      { resource: "Pod", actionType: "Delete" },
      { resource: "Pod", actionType: "UpdatePodScaleDown" },
      { resource: "Node", actionType: "Add" },
      { resource: "Node", actionType: "UpdateNodeAllocatable" },
    ],
  ],
  [
    "NodeAffinity",
    [
      { resource: "Node", actionType: "Add" },
      { resource: "Node", actionType: "UpdateNodeLabel" },
    ],
  ],
  [
    "InterPodAffinity",
    [
      { resource: "Pod", actionType: "All" },
      { resource: "Node", actionType: "Add" },
      { resource: "Node", actionType: "UpdateNodeLabel" },
    ],
  ],
  ["PodTopologySpread", [{ resource: "Pod", actionType: "All" }, { resource: "Node", actionType: "Add" }]],
  ["SchedulingGates", [{ resource: "Pod", actionType: "UpdatePodSchedulingGatesEliminated" }]],
  ["VolumeBinding", [{ resource: "PersistentVolume", actionType: "Add" }, { resource: "PersistentVolumeClaim", actionType: "Add" }]],
]);

export const NODE_ADD: ClusterEvent = { resource: "Node", actionType: "Add" };
export const NODE_LABEL: ClusterEvent = { resource: "Node", actionType: "UpdateNodeLabel" };
export const ASSIGNED_POD_DELETE: ClusterEvent = { resource: "AssignedPod", actionType: "Delete" };
export const PV_ADD: ClusterEvent = { resource: "PersistentVolume", actionType: "Add" };
export const CSI_NODE_ADD: ClusterEvent = { resource: "CSINode", actionType: "Add" };

/** Lets promise continuations run. */
export function tick(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
