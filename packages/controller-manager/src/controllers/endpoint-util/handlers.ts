/**
 * The event handlers the endpoint controllers share (upstream's addPod/updatePod/deletePod of the
 * Endpoints and EndpointSlice controllers, and onEndpointSliceAdd/Update/Delete of the slice and
 * mirroring controllers).
 */
import type { KubeObject, Lister, SharedInformer, WorkQueue } from "@kubemu/common";
import { deletedObject } from "@kubemu/common";
import { podServiceMemberships, servicesToUpdateOnPodChange, type PodObject, type ServiceObject } from "./pods.js";
import { MANAGED_BY_LABEL, SERVICE_NAME_LABEL, serviceKeyOfSlice, type EndpointSliceTracker } from "./slice-tracker.js";

/** A pod change queues the Services the pod was or is in (an update only when something Endpoints show changed). */
export function enqueueServicesOfPods(pods: SharedInformer<PodObject>, services: Lister<ServiceObject>, queue: WorkQueue<string>): { remove(): void } {
  const addAll = (keys: Iterable<string>) => {
    for (const k of keys) queue.add(k);
  };
  return pods.addEventHandler({
    onAdd: (p) => addAll(podServiceMemberships(services, p)),
    onUpdate: (o, p) => addAll(servicesToUpdateOnPodChange(services, o, p)),
    onDelete: (p) => addAll(podServiceMemberships(services, deletedObject(p))),
  });
}

/**
 * A slice change queues its Service after `delayMs` (so bursts fold into one sync) — only for
 * slices managed by `managedBy`, and only when the tracker does not recognise the change as the
 * controller's own write. A relabelled slice queues both its old and its new Service.
 */
export function enqueueServicesOfSlices<T extends KubeObject>(slices: SharedInformer<T>, o: { tracker: EndpointSliceTracker; managedBy: string; delayMs: number }, queue: WorkQueue<string>): { remove(): void } {
  const ours = (s: KubeObject) => s.metadata.labels?.[MANAGED_BY_LABEL] === o.managedBy;
  const queueFor = (s: KubeObject) => {
    const key = serviceKeyOfSlice(s);
    if (key) queue.addAfter(key, o.delayMs);
  };
  return slices.addEventHandler(
    {
      onAdd: (s) => {
        if (ours(s) && o.tracker.shouldSync(s)) queueFor(s);
      },
      onUpdate: (old, s) => {
        // Users may relabel a slice; both the old and the new Service need a look.
        if (old.metadata.labels?.[SERVICE_NAME_LABEL] !== s.metadata.labels?.[SERVICE_NAME_LABEL]) {
          queueFor(s);
          queueFor(old);
          return;
        }
        if (ours(old) !== ours(s) || (ours(s) && o.tracker.shouldSync(s))) queueFor(s);
      },
      onDelete: (d) => {
        const s = deletedObject(d);
        if (ours(s) && o.tracker.has(s) && !o.tracker.handleDeletion(s)) queueFor(s);
      },
    },
    { resync: false },
  );
}
