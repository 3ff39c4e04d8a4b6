/**
 * The patches the collector sends (upstream's patch.go and GenerateDeleteOwnerRefStrategicMergeBytes):
 * a strategic merge patch first — its metadata.uid makes it fail on a same-name successor — and,
 * for resources that refuse strategic merge (custom resources: 415), a JSON merge patch carrying
 * the resourceVersion it was computed from.
 */
import type { KubeObject, OwnerReference } from "@kubemu/common";
import type { GraphNode } from "./graph.js";

/** Removes the ownerReferences to `ownerUids` from the dependent `dependentUid`. */
export function deleteOwnerRefStrategicPatch(dependentUid: string, ownerUids: readonly string[]): unknown {
  return { metadata: { ownerReferences: ownerUids.map((uid) => ({ $patch: "delete", uid })), uid: dependentUid } };
}

/** The merge-patch form: the object's ownerReferences without `ownerUids`, at its resourceVersion. */
export function deleteOwnerRefMergePatch(current: KubeObject, ownerUids: readonly string[]): unknown {
  const kept = (current.metadata.ownerReferences ?? []).filter((r) => !ownerUids.includes(r.uid));
  return { metadata: { resourceVersion: current.metadata.resourceVersion, ownerReferences: kept.length ? kept : null } };
}

/** Sets blockOwnerDeletion: false on every blocking ownerReference of the node (strategic). */
export function unblockOwnerReferencesStrategicPatch(n: GraphNode): unknown {
  const refs: OwnerReference[] = n.owners.filter((o) => o.blockOwnerDeletion === true).map((o) => ({ ...o, blockOwnerDeletion: false }));
  return { metadata: { ownerReferences: refs, uid: n.identity.uid } };
}

/** The merge-patch form: every ownerReference of the node with blockOwnerDeletion: false. */
export function unblockOwnerReferencesMergePatch(n: GraphNode, current: KubeObject): unknown {
  return { metadata: { resourceVersion: current.metadata.resourceVersion, ownerReferences: n.owners.map((o) => ({ ...o, blockOwnerDeletion: false })) } };
}

/** Replaces the finalizers, at the resourceVersion they were read at (removeFinalizer's patch). */
export function finalizersMergePatch(current: KubeObject, finalizers: readonly string[]): unknown {
  return { metadata: { resourceVersion: current.metadata.resourceVersion, finalizers: finalizers.length ? finalizers : null } };
}
