/**
 * The wiring of the ReplicaSet / ReplicationController controller (upstream's NewBaseController
 * handlers): owner events enqueue the owner; pod events find the pod's owner through its
 * controller reference (or, for an orphan, every owner whose selector matches it) and record
 * what they show in the expectations before enqueueing.
 */
import type { Lister, SharedInformer, WorkQueue } from "@kubemu/common";
import { deletedObject, objectKey } from "@kubemu/common";
import type { OwnerReference } from "@kubemu/common";
import { controllerOf } from "../../controller/controller-ref.js";
import type { UidTrackingExpectations } from "../../controller/expectations.js";
import type { PodObject } from "../../controller/pod-control.js";
import { isPodReady } from "../../controller/pod-util.js";
import type { ReplicaKind, ReplicaOwner } from "./kind.js";

export interface HandlerDeps {
  kind: ReplicaKind;
  owners: SharedInformer<ReplicaOwner>;
  pods: SharedInformer<PodObject>;
  expectations: UidTrackingExpectations;
}

export class ReplicaSetHandlers {
  constructor(
    private readonly d: HandlerDeps,
    private readonly queue: Pick<WorkQueue<string>, "add" | "addAfter">,
  ) {}

  register(): { remove(): void }[] {
    return [
      this.d.owners.addEventHandler({
        onAdd: (o) => this.queue.add(objectKey(o)),
        onUpdate: (old, cur) => this.updateOwner(old, cur),
        onDelete: (o) => this.deleteOwner(deletedObject(o)),
      }),
      this.d.pods.addEventHandler({
        onAdd: (p) => this.addPod(p),
        onUpdate: (old, cur) => this.updatePod(old, cur),
        onDelete: (p) => this.deletePod(deletedObject(p)),
      }),
    ];
  }

  private get ownerLister(): Lister<ReplicaOwner> {
    return this.d.owners.lister;
  }

  private updateOwner(old: ReplicaOwner, cur: ReplicaOwner): void {
    // Deleted and recreated under the same name between two events: the old one's expectations go.
    if (old.metadata.uid !== cur.metadata.uid) this.deleteOwner(old);
    // Every update syncs (a resync retries owners whose creates failed), not only spec changes.
    this.queue.add(objectKey(cur));
  }

  private deleteOwner(owner: ReplicaOwner): void {
    const key = objectKey(owner);
    // A new owner with the same name starts with clean expectations.
    this.d.expectations.delete(key);
    this.queue.add(key);
  }

  /** A new pod: a creation we may be waiting for, or an orphan someone may adopt. */
  addPod(pod: PodObject): void {
    if (pod.metadata.deletionTimestamp) {
      // Seen for the first time already terminating (after a restart): a deletion, not a creation.
      this.deletePod(pod);
      return;
    }
    const ref = controllerOf(pod);
    if (ref) {
      const owner = this.resolve(pod.metadata.namespace, ref);
      if (!owner) return;
      const key = objectKey(owner);
      this.d.expectations.creationObserved(key);
      this.queue.add(key);
      return;
    }
    // An orphan: no one waits for it, but every matching owner should consider adopting it.
    for (const o of this.ownersSelecting(pod)) this.queue.add(objectKey(o));
  }

  updatePod(old: PodObject, cur: PodObject): void {
    // A resync: nothing changed.
    if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
    const labelsChanged = !sameLabels(old.metadata.labels, cur.metadata.labels);
    if (cur.metadata.deletionTimestamp) {
      // Graceful deletion starts: replace the pod now rather than when the kubelet removes it.
      this.deletePod(cur);
      if (labelsChanged) this.deletePod(old);
      return;
    }
    const curRef = controllerOf(cur);
    const oldRef = controllerOf(old);
    const refChanged = JSON.stringify(curRef ?? null) !== JSON.stringify(oldRef ?? null);
    if (refChanged && oldRef) {
      const previous = this.resolve(old.metadata.namespace, oldRef);
      if (previous) this.queue.add(objectKey(previous));
    }
    if (curRef) {
      const owner = this.resolve(cur.metadata.namespace, curRef);
      if (!owner) return;
      const key = objectKey(owner);
      this.queue.add(key);
      // Availability is not an event of its own: look again once minReadySeconds have passed
      // (plus a second against millisecond skew, as upstream).
      const minReadySeconds = owner.spec?.minReadySeconds ?? 0;
      if (!isPodReady(old) && isPodReady(cur) && minReadySeconds > 0) this.queue.addAfter(key, minReadySeconds * 1000 + 1000);
      return;
    }
    if (labelsChanged || refChanged) for (const o of this.ownersSelecting(cur)) this.queue.add(objectKey(o));
  }

  /** A pod gone (or going): a deletion we may be waiting for. */
  deletePod(pod: PodObject): void {
    const ref = controllerOf(pod);
    if (!ref) return;
    const owner = this.resolve(pod.metadata.namespace, ref);
    if (!owner) return;
    const key = objectKey(owner);
    this.d.expectations.deletionObservedOf(key, objectKey(pod));
    this.queue.add(key);
  }

  /** The owner a controller reference names, if it is of our kind and still the same object. */
  private resolve(namespace: string | undefined, ref: OwnerReference): ReplicaOwner | undefined {
    if (ref.kind !== this.d.kind.kind) return undefined;
    const owner = this.ownerLister.get(namespace, ref.name);
    return owner && owner.metadata.uid === ref.uid ? owner : undefined;
  }

  /** Owners in the pod's namespace whose selector matches it; an empty or invalid selector matches nothing. */
  private ownersSelecting(pod: PodObject): ReplicaOwner[] {
    return this.ownerLister.list({ namespace: pod.metadata.namespace }).filter((o) => {
      try {
        const sel = this.d.kind.selector(o);
        return sel !== undefined && sel.requirements.length > 0 && sel.matches(pod.metadata.labels);
      } catch {
        return false;
      }
    });
  }
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b ?? {}, k) && a![k] === b![k]);
}
