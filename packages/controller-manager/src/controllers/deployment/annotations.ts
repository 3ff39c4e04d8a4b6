/**
 * The annotations a Deployment and its ReplicaSets share (upstream's deployment util): the
 * Deployment's own annotations (kubernetes.io/change-cause among them) are copied onto its new
 * ReplicaSet, which also carries its revision, the revisions it served before (a rollback makes
 * an old ReplicaSet new again) and the sizes it was made for. `kubectl rollout history` reads them.
 */
import type { Deployment, ReplicaSet } from "./types.js";
import {
  DEPRECATED_ROLLBACK_TO_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  LAST_APPLIED_CONFIG_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  replicasOf,
} from "./types.js";
import { maxSurge, setReplicasAnnotations } from "./replicas.js";

/** Annotations that belong to one object and are never copied between Deployment and ReplicaSet. */
const ANNOTATIONS_TO_SKIP = new Set([LAST_APPLIED_CONFIG_ANNOTATION, REVISION_ANNOTATION, REVISION_HISTORY_ANNOTATION, DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION, DEPRECATED_ROLLBACK_TO_ANNOTATION]);

export function skipCopyAnnotation(key: string): boolean {
  return ANNOTATIONS_TO_SKIP.has(key);
}

/** Copies the Deployment's annotations (but the skipped ones) onto the ReplicaSet; true if any changed. */
function copyDeploymentAnnotationsToReplicaSet(d: Deployment, rs: ReplicaSet): boolean {
  const a = (rs.metadata.annotations ??= {});
  let changed = false;
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (skipCopyAnnotation(k) || a[k] === v) continue;
    a[k] = v;
    changed = true;
  }
  return changed;
}

const isInt = (s: string) => /^[-+]?\d+$/.test(s);

/**
 * SetNewReplicaSetAnnotations: copies the Deployment's annotations, raises the revision to
 * newRevision if it is lower (keeping the revision it had in revision-history, at most
 * `historyLimitChars` long), and on a ReplicaSet about to be created sets its replica
 * annotations. True if anything changed.
 */
export function setNewReplicaSetAnnotations(d: Deployment, rs: ReplicaSet, newRevision: string, exists: boolean, historyLimitChars: number, warn: (msg: string) => void = () => undefined): boolean {
  let changed = copyDeploymentAnnotationsToReplicaSet(d, rs);
  const a = (rs.metadata.annotations ??= {});
  const hadRevision = Object.prototype.hasOwnProperty.call(a, REVISION_ANNOTATION);
  const oldRevision = a[REVISION_ANNOTATION] ?? "";
  let oldRevisionInt = 0;
  if (isInt(oldRevision)) oldRevisionInt = Number(oldRevision);
  else if (oldRevision !== "") {
    warn("Updating replica set revision OldRevision not int");
    return false;
  }
  if (!isInt(newRevision)) {
    warn("Updating replica set revision NewRevision not int");
    return false;
  }
  const newRevisionInt = Number(newRevision);
  if (oldRevisionInt < newRevisionInt) {
    a[REVISION_ANNOTATION] = newRevision;
    changed = true;
  }
  // A revision raised on a ReplicaSet that had one means a rollback to it: remember what it was.
  if (hadRevision && oldRevisionInt < newRevisionInt) {
    const history = a[REVISION_HISTORY_ANNOTATION] ?? "";
    const oldRevisions = history.split(",");
    if (oldRevisions[0]!.length === 0) a[REVISION_HISTORY_ANNOTATION] = oldRevision;
    else {
      let totalLen = history.length + oldRevision.length + 1;
      let start = 0;
      while (totalLen > historyLimitChars && start < oldRevisions.length) {
        totalLen -= oldRevisions[start]!.length + 1;
        start++;
      }
      if (totalLen <= historyLimitChars) a[REVISION_HISTORY_ANNOTATION] = [...oldRevisions.slice(start), oldRevision].join(",");
      else warn("Not appending revision due to revision history length limit reached");
    }
  }
  if (!exists && setReplicasAnnotations(rs, replicasOf(d), replicasOf(d) + maxSurge(d))) changed = true;
  return changed;
}

/**
 * SetDeploymentAnnotationsTo: on a rollback, the Deployment takes the annotations of the
 * ReplicaSet it rolls back to (keeping only its own skipped ones), so that ReplicaSet's
 * change-cause is not overwritten by the current one.
 */
export function setDeploymentAnnotationsTo(d: Deployment, rs: ReplicaSet): void {
  const kept: Record<string, string> = {};
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) if (skipCopyAnnotation(k)) kept[k] = v;
  for (const [k, v] of Object.entries(rs.metadata.annotations ?? {})) if (!skipCopyAnnotation(k)) kept[k] = v;
  d.metadata.annotations = kept;
}

/** Sets the Deployment's revision annotation; true if it changed. */
export function setDeploymentRevision(d: Deployment, revision: string): boolean {
  const a = (d.metadata.annotations ??= {});
  if (a[REVISION_ANNOTATION] === revision) return false;
  a[REVISION_ANNOTATION] = revision;
  return true;
}
