/**
 * A StatefulSet's ControllerRevisions (upstream's getPatch/newRevision/ApplyRevision): each one
 * holds a strategic merge patch that puts the pod template back,
 *   {"spec":{"template":{"$patch":"replace", ...the template...}}}
 * which is also what `kubectl rollout undo` sends and `kubectl rollout history --revision` applies.
 */
import { Resources } from "@kubemu/common";
import { newControllerRevision, templatePatch, type RevisionObject } from "../../controller/history.js";
import type { StatefulSetObject } from "./types.js";

type Json = Record<string, unknown>;
const isMap = (v: unknown): v is Json => !!v && typeof v === "object" && !Array.isArray(v);

/** A new revision (number `revision`) of the set's template; it carries the set's annotations. */
export function newRevision(set: StatefulSetObject, revision: number, collisionCount: number): RevisionObject {
  const cr = newControllerRevision(set, Resources.statefulSets, set.spec.template.metadata?.labels, templatePatch(set.spec.template), revision, collisionCount);
  if (set.metadata.annotations && Object.keys(set.metadata.annotations).length) cr.metadata.annotations = { ...set.metadata.annotations };
  return cr;
}

/**
 * A strategic merge patch as revisions use it: maps merge, `null` removes a field, lists and
 * scalars replace, and `$patch: replace` replaces the whole map. (Revisions written by this
 * controller and by upstream's need nothing more; merge-key lists are not merged.)
 */
function applyPatch(target: unknown, patch: unknown): unknown {
  if (!isMap(patch)) return structuredClone(patch);
  if (patch.$patch === "replace") return applyPatch(undefined, Object.fromEntries(Object.entries(patch).filter(([k]) => k !== "$patch")));
  const out: Json = isMap(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith("$")) continue;
    if (v === null) delete out[k];
    else out[k] = applyPatch(out[k], v);
  }
  return out;
}

/** The set as it was at `revision`: its template restored from the revision's patch. */
export function applyRevision(set: StatefulSetObject, revision: RevisionObject): StatefulSetObject {
  return applyPatch(structuredClone(set), revision.data ?? {}) as StatefulSetObject;
}

/** One past the newest revision's number (revisions sorted ascending), 1 for none. */
export function nextRevision(sorted: readonly RevisionObject[]): number {
  return sorted.length === 0 ? 1 : sorted[sorted.length - 1]!.revision + 1;
}
