/**
 * The in-use protection finalizers (upstream's pkg/controller/volume/protectionutil): an object
 * being deleted that still carries the finalizer waits for its controller's check; a live object
 * missing it (made before the admission plugin added it) gets it back.
 */
import type { KubeObject } from "@kubemu/common";

export const PVC_PROTECTION_FINALIZER = "kubernetes.io/pvc-protection";
export const PV_PROTECTION_FINALIZER = "kubernetes.io/pv-protection";

export function hasFinalizer(o: KubeObject, finalizer: string): boolean {
  return (o.metadata.finalizers ?? []).includes(finalizer);
}

/** Being deleted and still held by the finalizer: the controller decides whether it may go. */
export function isDeletionCandidate(o: KubeObject, finalizer: string): boolean {
  return !!o.metadata.deletionTimestamp && hasFinalizer(o, finalizer);
}

/** Not being deleted and missing the finalizer. */
export function needToAddFinalizer(o: KubeObject, finalizer: string): boolean {
  return !o.metadata.deletionTimestamp && !hasFinalizer(o, finalizer);
}

/** A copy without the finalizer (others kept in order). */
export function withoutFinalizer<T extends KubeObject>(o: T, finalizer: string): T {
  const next = structuredClone(o);
  const rest = (o.metadata.finalizers ?? []).filter((f) => f !== finalizer);
  if (rest.length > 0) next.metadata.finalizers = rest;
  else delete next.metadata.finalizers;
  return next;
}

/** A copy with the finalizer appended. */
export function withFinalizer<T extends KubeObject>(o: T, finalizer: string): T {
  const next = structuredClone(o);
  next.metadata.finalizers = [...(o.metadata.finalizers ?? []), finalizer];
  return next;
}
