/**
 * The Deployment controller's wiring (upstream's deployment_controller.go handlers): a
 * Deployment's own changes enqueue it; a ReplicaSet enqueues its controlling Deployment (or,
 * when an orphan, every Deployment whose selector matches it, so one can adopt it); a deleted
 * pod wakes a Recreate Deployment once the last of its pods is gone.
 */
import type { Lister, SharedInformer, WorkQueue } from "@kubemu/common";
import { DeletedFinalStateUnknown, Indexes, deletedObject, objectKey, selectorFromObject } from "@kubemu/common";
import { controllerOf } from "../../controller/controller-ref.js";
import type { OwnerReference } from "@kubemu/common";
import { canonicalJson } from "../../controller/hash.js";
import type { Deployment, PodObject, ReplicaSet } from "./types.js";

export interface DeploymentInformers {
  deployments: SharedInformer<Deployment>;
  replicaSets: SharedInformer<ReplicaSet>;
  pods: SharedInformer<PodObject>;
}

/** The Deployment a controller reference names, if it still exists with that uid. */
export function resolveControllerRef(deployments: Lister<Deployment>, namespace: string | undefined, ref: OwnerReference): Deployment | undefined {
  if (ref.kind !== "Deployment") return undefined;
  const d = deployments.get(namespace, ref.name);
  return d && d.metadata.uid === ref.uid ? d : undefined;
}

/** Deployments whose (non-empty) selector matches the ReplicaSet's labels (GetDeploymentsForReplicaSet). */
export function deploymentsForReplicaSet(deployments: Lister<Deployment>, rs: ReplicaSet): Deployment[] {
  if (!rs.metadata.labels || Object.keys(rs.metadata.labels).length === 0) return [];
  return deployments.list({ namespace: rs.metadata.namespace }).filter((d) => {
    const sel = selectorFromObject(d.spec.selector);
    // A nil or empty selector matches nothing here, not everything.
    return sel.requirements.length > 0 && sel.matches(rs.metadata.labels);
  });
}

/** The Deployment behind a pod: pod → its ReplicaSet (by name and uid) → that ReplicaSet's controller. */
export function deploymentForPod(deployments: Lister<Deployment>, replicaSets: Lister<ReplicaSet>, pod: PodObject): Deployment | undefined {
  const ref = controllerOf(pod);
  if (!ref || ref.kind !== "ReplicaSet") return undefined;
  const rs = replicaSets.get(pod.metadata.namespace, ref.name);
  if (!rs || rs.metadata.uid !== ref.uid) return undefined;
  const rsRef = controllerOf(rs);
  return rsRef ? resolveControllerRef(deployments, rs.metadata.namespace, rsRef) : undefined;
}

/** Adds the handlers; each only enqueues Deployment keys. */
export function registerHandlers(inf: DeploymentInformers, queue: WorkQueue<string>): { remove(): void }[] {
  const dLister = inf.deployments.lister;
  const rsLister = inf.replicaSets.lister;
  const enqueue = (d: Deployment) => queue.add(objectKey(d));

  const deploymentHandlers = inf.deployments.addEventHandler({
    onAdd: enqueue,
    onUpdate: (_old, cur) => enqueue(cur),
    onDelete: (obj) => enqueue(deletedObject(obj)),
  });

  const deleteReplicaSet = (obj: ReplicaSet | DeletedFinalStateUnknown<ReplicaSet>) => {
    const rs = deletedObject(obj);
    const ref = controllerOf(rs);
    // Nobody cares about an orphan being deleted.
    if (!ref) return;
    const d = resolveControllerRef(dLister, rs.metadata.namespace, ref);
    if (d) enqueue(d);
  };
  const replicaSetHandlers = inf.replicaSets.addEventHandler({
    onAdd: (rs) => {
      // After a restart a ReplicaSet may first show up already being deleted.
      if (rs.metadata.deletionTimestamp) return deleteReplicaSet(rs);
      const ref = controllerOf(rs);
      if (ref) {
        const d = resolveControllerRef(dLister, rs.metadata.namespace, ref);
        if (d) enqueue(d);
        return;
      }
      for (const d of deploymentsForReplicaSet(dLister, rs)) enqueue(d);
    },
    onUpdate: (oldRS, curRS) => {
      // Resyncs deliver the same version twice.
      if (oldRS.metadata.resourceVersion === curRS.metadata.resourceVersion) return;
      const curRef = controllerOf(curRS);
      const oldRef = controllerOf(oldRS);
      const refChanged = canonicalJson(curRef ?? null) !== canonicalJson(oldRef ?? null);
      if (refChanged && oldRef) {
        const d = resolveControllerRef(dLister, oldRS.metadata.namespace, oldRef);
        if (d) enqueue(d);
      }
      if (curRef) {
        const d = resolveControllerRef(dLister, curRS.metadata.namespace, curRef);
        if (d) enqueue(d);
        return;
      }
      // An orphan: if its labels or owner changed, a Deployment may want it now.
      const labelsChanged = canonicalJson(curRS.metadata.labels ?? {}) !== canonicalJson(oldRS.metadata.labels ?? {});
      if (labelsChanged || refChanged) for (const d of deploymentsForReplicaSet(dLister, curRS)) enqueue(d);
    },
    onDelete: deleteReplicaSet,
  });

  const podHandlers = inf.pods.addEventHandler({
    onDelete: (obj) => {
      const pod = deletedObject(obj);
      const d = deploymentForPod(dLister, rsLister, pod);
      if (!d || d.spec.strategy?.type !== "Recreate") return;
      // Sync once the Deployment has no pods left at all.
      const owned = rsLister.list({ namespace: d.metadata.namespace }).filter((rs) => controllerOf(rs)?.uid === d.metadata.uid);
      const pods = owned.reduce((n, rs) => n + inf.pods.lister.byIndex(Indexes.ownerUid, rs.metadata.uid!).length, 0);
      if (pods === 0) enqueue(d);
    },
  });

  return [deploymentHandlers, replicaSetHandlers, podHandlers];
}
