/**
 * The StatefulSet controller's wiring (upstream's stateful_set.go handlers): a set's own events
 * enqueue it; a pod's events enqueue the set its controller reference names, or — for an orphan
 * whose labels changed — every set whose selector matches it, so one can adopt it. A pod turning
 * Ready under a set with minReadySeconds brings the set back once it can count as available.
 */
import type { KubeObject, Lister, Logger, OwnerReference, SharedInformer, WorkQueue } from "@kubemu/common";
import { deletedObject, objectKey, selectorFromObject } from "@kubemu/common";
import { controllerOf } from "../../controller/controller-ref.js";
import { isPodReady } from "../../controller/pod-util.js";
import type { PodObject, StatefulSetObject } from "./types.js";

export interface StatefulSetInformers {
  sets: SharedInformer<StatefulSetObject>;
  pods: SharedInformer<PodObject>;
}

/** What the handlers enqueue on. */
export type KeyQueue = Pick<WorkQueue<string>, "add" | "addAfter">;

export interface StatefulSetHandlers {
  addPod(pod: PodObject): void;
  updatePod(old: PodObject, cur: PodObject): void;
  deletePod(pod: PodObject): void;
  onSet(set: StatefulSetObject): void;
}

/** The handlers over the set lister: pure mapping of events to keys, testable without informers. */
export function statefulSetHandlers(sets: Lister<StatefulSetObject>, queue: KeyQueue, log: Logger): StatefulSetHandlers {
  const enqueue = (set: KubeObject) => queue.add(objectKey(set));

  const resolve = (namespace: string | undefined, ref: OwnerReference): StatefulSetObject | undefined => {
    if (ref.kind !== "StatefulSet") return undefined;
    const set = sets.get(namespace, ref.name);
    return set && set.metadata.uid === ref.uid ? set : undefined;
  };

  /** Sets in the pod's namespace whose (non-empty) selector matches its labels. */
  const setsForPod = (pod: PodObject): StatefulSetObject[] => {
    const matching = sets.list({ namespace: pod.metadata.namespace! }).filter((s) => {
      const sel = selectorFromObject(s.spec?.selector);
      return sel.requirements.length > 0 && sel.matches(pod.metadata.labels);
    });
    if (matching.length > 1) log.warn({ pod: objectKey(pod), labels: pod.metadata.labels, sets: matching.map((s) => s.metadata.name) }, "user error: more than one StatefulSet is selecting pods with labels");
    return matching;
  };

  const deletePod = (pod: PodObject) => {
    const ref = controllerOf(pod);
    if (!ref) return;
    const set = resolve(pod.metadata.namespace, ref);
    if (set) enqueue(set);
  };

  const addPod = (pod: PodObject) => {
    // After a restart a pod may appear already terminating: not a creation to count.
    if (pod.metadata.deletionTimestamp) return deletePod(pod);
    const ref = controllerOf(pod);
    if (ref) {
      const set = resolve(pod.metadata.namespace, ref);
      if (set) enqueue(set);
      return;
    }
    for (const set of setsForPod(pod)) enqueue(set);
  };

  const updatePod = (old: PodObject, cur: PodObject) => {
    if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
    const labelsChanged = JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(cur.metadata.labels ?? {});
    const curRef = controllerOf(cur);
    const oldRef = controllerOf(old);
    const refChanged = JSON.stringify(curRef) !== JSON.stringify(oldRef);
    if (refChanged && oldRef) {
      const oldSet = resolve(old.metadata.namespace, oldRef);
      if (oldSet) enqueue(oldSet);
    }
    if (curRef) {
      const set = resolve(cur.metadata.namespace, curRef);
      if (!set) return;
      enqueue(set);
      const minReadySeconds = set.spec.minReadySeconds ?? 0;
      // A second more than minReadySeconds, against millisecond skew in addAfter.
      if (!isPodReady(old) && isPodReady(cur) && minReadySeconds > 0) queue.addAfter(objectKey(set), minReadySeconds * 1000 + 1000);
      return;
    }
    if (labelsChanged || refChanged) for (const set of setsForPod(cur)) enqueue(set);
  };

  return { addPod, updatePod, deletePod, onSet: (set) => enqueue(set) };
}

export function registerHandlers(inf: StatefulSetInformers, queue: WorkQueue<string>, log: Logger): { remove(): void }[] {
  const h = statefulSetHandlers(inf.sets.lister, queue, log);
  return [
    inf.pods.addEventHandler({ onAdd: h.addPod, onUpdate: h.updatePod, onDelete: (o) => h.deletePod(deletedObject(o)) }),
    inf.sets.addEventHandler({ onAdd: h.onSet, onUpdate: (_old, cur) => h.onSet(cur), onDelete: (o) => h.onSet(deletedObject(o)) }),
  ];
}
