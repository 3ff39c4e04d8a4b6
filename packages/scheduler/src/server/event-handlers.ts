/**
 * Informer events → scheduling queue and cache (kube-scheduler's eventhandlers.go):
 * - a pod without a node that this scheduler is responsible for goes to the queue;
 * - a pod with a node is in the cache (it takes that node's resources) until it is deleted or
 *   terminal, and its arrival or departure may make queued pods schedulable;
 * - a pod moving from unassigned to assigned (bound by us or anyone) leaves the queue and enters
 *   the cache;
 * - nodes go to the cache; node and volume changes move unschedulable pods back for another try.
 */
import type { KubeObject, SharedInformer } from "@kubemu/common";
import { deletedObject, type DeletedFinalStateUnknown } from "@kubemu/common";
import type { Node, Pod } from "kubernetes-types/core/v1.js";
import type { ClusterEvent } from "../framework/events.js";
import { computePodResourceRequest } from "../framework/node-info.js";
import type { SchedulingQueue } from "../queue/scheduling-queue.js";
import { responsibleForPod } from "../queue/scheduling-queue.js";
import type { SchedulerCache } from "../cache/cache.js";
import { nodeUpdateEvents } from "./node-events.js";

const assigned = (p: Pod) => !!p.spec?.nodeName;
/** The pod now asks for less (an in-place resize): room on its node may have opened. */
function scaledDown(oldPod: Pod, newPod: Pod): boolean {
  const a = computePodResourceRequest(oldPod);
  const b = computePodResourceRequest(newPod);
  return b.milliCPU < a.milliCPU || b.memory < a.memory || b.ephemeralStorage < a.ephemeralStorage;
}
const terminal = (p: Pod) => p.status?.phase === "Succeeded" || p.status?.phase === "Failed";
/** Pods that hold a node's resources: assigned and not finished. */
const occupying = (p: Pod) => assigned(p) && !terminal(p);

export interface Handlers {
  remove(): void;
}

type Informer<T> = SharedInformer<T & KubeObject>;

export function registerEventHandlers(o: {
  pods: Informer<Pod>;
  nodes: Informer<Node>;
  /** Other resources whose changes may make a pod schedulable (PV, PVC, StorageClass, ...), by event resource name. */
  others: { informer: SharedInformer<KubeObject>; resource: ClusterEvent["resource"] }[];
  queue: SchedulingQueue;
  cache: SchedulerCache;
  schedulerNames?: readonly string[];
}): Handlers {
  const { queue, cache } = o;
  const mine = (p: Pod) => !assigned(p) && responsibleForPod(p, o.schedulerNames) && !terminal(p);
  const onPodAdd = (pod: Pod) => {
    if (occupying(pod)) {
      cache.addPod(pod);
      queue.assignedPodAdded(pod);
    } else if (mine(pod)) queue.add(pod);
  };
  const onPodDelete = (pod: Pod) => {
    if (occupying(pod)) {
      cache.removePod(pod);
      queue.moveAllToActiveOrBackoffQueue({ resource: "AssignedPod", actionType: "Delete" }, pod, undefined);
    } else if (!assigned(pod)) {
      // Also an assumed pod deleted before its bind was seen: the cache lets go of it.
      if (cache.isAssumedPod(pod)) cache.removePod(pod);
      queue.delete(pod);
      // A pod that vanished while nominated frees the room it held for preemption.
      queue.deleteNominatedPodIfExists(pod);
    }
  };
  const regs = [
    o.pods.addEventHandler(
      {
        onAdd: (obj) => onPodAdd(obj as Pod),
        onUpdate: (oldObj, newObj) => {
          const oldPod = oldObj as Pod;
          const newPod = newObj as Pod;
          if (oldObj.metadata.resourceVersion === newObj.metadata.resourceVersion) return;
          if (oldPod.metadata?.uid !== newPod.metadata?.uid) {
            // Deleted and recreated under the same name while the informer relisted: two pods, not one.
            onPodDelete(oldPod);
            onPodAdd(newPod);
            return;
          }
          // Bound by us and not yet seen so: the binding cycle owns it (upstream skips assumed pods too).
          if (!assigned(newPod) && cache.isAssumedPod(newPod)) return;
          const wasOcc = occupying(oldPod);
          const isOcc = occupying(newPod);
          if (wasOcc && isOcc) {
            cache.updatePod(oldPod, newPod);
            queue.assignedPodUpdated(oldPod, newPod, scaledDown(oldPod, newPod) ? { resource: "AssignedPod", actionType: "UpdatePodScaleDown" } : { resource: "AssignedPod", actionType: "Update" });
          } else if (wasOcc && !isOcc) {
            // Finished: its resources are free now.
            cache.removePod(oldPod);
            queue.moveAllToActiveOrBackoffQueue({ resource: "AssignedPod", actionType: "Delete" }, oldPod, undefined);
          } else if (isOcc) {
            // Bound (by us or anyone): out of the queue, into the cache.
            if (mine(oldPod) || !assigned(oldPod)) queue.delete(oldPod);
            cache.addPod(newPod);
            queue.assignedPodAdded(newPod);
          } else if (mine(newPod)) {
            if (mine(oldPod)) queue.update(oldPod, newPod);
            else queue.add(newPod);
          } else if (mine(oldPod)) queue.delete(oldPod);
        },
        onDelete: (obj) => onPodDelete(deletedObject(obj as Pod & KubeObject | DeletedFinalStateUnknown<Pod & KubeObject>) as Pod),
      },
      { resync: false },
    ),
    o.nodes.addEventHandler(
      {
        onAdd: (obj) => {
          cache.addNode(obj as Node);
          queue.moveAllToActiveOrBackoffQueue({ resource: "Node", actionType: "Add" }, undefined, obj);
        },
        onUpdate: (oldObj, newObj) => {
          if (oldObj.metadata.resourceVersion === newObj.metadata.resourceVersion) return;
          cache.updateNode(oldObj as Node, newObj as Node);
          for (const ev of nodeUpdateEvents(oldObj as Node, newObj as Node)) queue.moveAllToActiveOrBackoffQueue(ev, oldObj, newObj);
        },
        onDelete: (obj) => {
          cache.removeNode(deletedObject(obj as Node & KubeObject | DeletedFinalStateUnknown<Node & KubeObject>) as Node);
        },
      },
      { resync: false },
    ),
    ...o.others.map(({ informer, resource }) =>
      informer.addEventHandler(
        {
          onAdd: (obj, initial) => {
            if (!initial) queue.moveAllToActiveOrBackoffQueue({ resource, actionType: "Add" }, undefined, obj);
          },
          onUpdate: (oldObj, newObj) => {
            if (oldObj.metadata.resourceVersion !== newObj.metadata.resourceVersion) queue.moveAllToActiveOrBackoffQueue({ resource, actionType: "Update" }, oldObj, newObj);
          },
          onDelete: (obj) => queue.moveAllToActiveOrBackoffQueue({ resource, actionType: "Delete" }, deletedObject(obj), undefined),
        },
        { resync: false },
      ),
    ),
  ];
  return { remove: () => regs.forEach((r) => r.remove()) };
}
