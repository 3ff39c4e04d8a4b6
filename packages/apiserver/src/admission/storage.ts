/**
 * Storage admission, as upstream's plugins under plugin/pkg/admission/storage:
 *
 * - DefaultStorageClass: a PersistentVolumeClaim created without a class (no
 *   `spec.storageClassName` at all, no beta class annotation; `""` is an explicit "no class") gets
 *   the default StorageClass (annotation `storageclass.kubernetes.io/is-default-class: "true"`, or
 *   the beta one; of several, the newest, then the first by name). Without a default the claim
 *   keeps no class and the PV controller assigns one later, once a default exists.
 * - StorageObjectInUseProtection: a created PersistentVolumeClaim gets the
 *   `kubernetes.io/pvc-protection` finalizer and a created PersistentVolume the
 *   `kubernetes.io/pv-protection` finalizer, which the protection controllers remove once the
 *   object is no longer in use.
 *
 * Both act on create only, as upstream.
 */
import type { KubeObject } from "../storage/index.js";
import type { Admission } from "../registry/types.js";

export const PVC_PROTECTION_FINALIZER = "kubernetes.io/pvc-protection";
export const PV_PROTECTION_FINALIZER = "kubernetes.io/pv-protection";
const BETA_STORAGE_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class";
const DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class";
const BETA_DEFAULT_CLASS_ANNOTATION = "storageclass.beta.kubernetes.io/is-default-class";

function addFinalizer(o: KubeObject, finalizer: string): void {
  const finalizers = o.metadata.finalizers ?? [];
  if (!finalizers.includes(finalizer)) o.metadata.finalizers = [...finalizers, finalizer];
}

/** True if the claim names a class, "" included (upstream's PersistentVolumeClaimHasClass). */
function claimHasClass(pvc: KubeObject): boolean {
  if (pvc.metadata.annotations?.[BETA_STORAGE_CLASS_ANNOTATION] !== undefined) return true;
  const name = (pvc.spec as { storageClassName?: unknown } | undefined)?.storageClassName;
  return name !== undefined && name !== null;
}

function isDefaultClass(sc: KubeObject): boolean {
  const a = sc.metadata.annotations ?? {};
  return a[DEFAULT_CLASS_ANNOTATION] === "true" || a[BETA_DEFAULT_CLASS_ANNOTATION] === "true";
}

/** The default StorageClass: newest creationTimestamp first, then name (upstream's GetDefaultClass). */
export function pickDefaultStorageClass(classes: readonly KubeObject[]): KubeObject | undefined {
  const created = (o: KubeObject) => Date.parse(o.metadata.creationTimestamp ?? "") || 0;
  return classes
    .filter(isDefaultClass)
    .sort((a, b) => created(b) - created(a) || (a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0))[0];
}

/** DefaultStorageClass: a PersistentVolumeClaim created without a class gets the default one. */
export async function defaultStorageClass(a: Admission): Promise<void> {
  const pvc = a.object;
  if (a.operation !== "CREATE" || !pvc || claimHasClass(pvc)) return;
  const def = pickDefaultStorageClass(await a.list("storage.k8s.io", "v1", "storageclasses"));
  if (def) pvc.spec = { ...((pvc.spec as Record<string, unknown> | undefined) ?? {}), storageClassName: def.metadata.name };
}

/** StorageObjectInUseProtection: a created claim or volume gets its protection finalizer. */
export function protectStorageObject(a: Admission, finalizer: typeof PVC_PROTECTION_FINALIZER | typeof PV_PROTECTION_FINALIZER): void {
  if (a.operation === "CREATE" && a.object) addFinalizer(a.object, finalizer);
}
