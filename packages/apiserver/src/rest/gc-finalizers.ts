/**
 * Which garbage-collection finalizers a DELETE leaves on an object (upstream's
 * deletionFinalizersForGarbageCollection): `orphan` when the dependents are to be orphaned,
 * `foregroundDeletion` when they are to be deleted first. An explicit policy (or the legacy
 * orphanDependents flag) decides; without one, a finalizer already on the object does; without
 * that, the resource's default policy. Both finalizers are taken off first and put back only if
 * wanted, so `--cascade=background` on an object held by `orphan` lets it go.
 */
import type { ResourceDef } from "../registry/types.js";
import type { DeleteOptions } from "./delete-options.js";

export const ORPHAN_FINALIZER = "orphan";
export const FOREGROUND_FINALIZER = "foregroundDeletion";

function shouldOrphan(def: ResourceDef, finalizers: readonly string[], o: DeleteOptions): boolean {
  if (o.orphanDependents !== undefined) return o.orphanDependents;
  if (o.propagationPolicy !== undefined) return o.propagationPolicy === "Orphan";
  for (const f of finalizers) {
    if (f === ORPHAN_FINALIZER) return true;
    if (f === FOREGROUND_FINALIZER) return false;
  }
  return def.defaultGarbageCollectionPolicy === "OrphanDependents";
}

function shouldDeleteDependents(finalizers: readonly string[], o: DeleteOptions): boolean {
  if (o.orphanDependents !== undefined) return false;
  if (o.propagationPolicy !== undefined) return o.propagationPolicy === "Foreground";
  for (const f of finalizers) {
    if (f === FOREGROUND_FINALIZER) return true;
    if (f === ORPHAN_FINALIZER) return false;
  }
  return false;
}

/** The object's finalizers after a DELETE with options `o` (the order of the others is kept). */
export function deletionFinalizers(def: ResourceDef, finalizers: readonly string[], o: DeleteOptions): string[] {
  if (def.defaultGarbageCollectionPolicy === "Unsupported") return [...finalizers];
  const out = finalizers.filter((f) => f !== ORPHAN_FINALIZER && f !== FOREGROUND_FINALIZER);
  if (shouldOrphan(def, finalizers, o)) out.push(ORPHAN_FINALIZER);
  if (shouldDeleteDependents(finalizers, o)) out.push(FOREGROUND_FINALIZER);
  // Unchanged as a set: keep the object's own order (no needless write).
  const same = out.length === new Set(finalizers).size && out.every((f) => finalizers.includes(f));
  return same ? [...finalizers] : out;
}
