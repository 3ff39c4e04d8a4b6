/**
 * Scaling ReplicaSets (upstream's sync.go scale / scaleReplicaSet / isScalingEvent). A scaling
 * event — spec.replicas changed while several ReplicaSets run, or while paused — spreads the
 * difference over the active ReplicaSets in proportion to their sizes, so scaling neither
 * hastens nor undoes a rollout. Every resize records upstream's ScalingReplicaSet event.
 */
import { type DeploymentDeps, updateReplicaSet } from "./deps.js";
import { getAllReplicaSetsAndSyncRevision } from "./new-replica-set.js";
import { getProportion, intAnnotation, isRollingUpdate, isSaturated, maxSurge, replicasAnnotationsNeedUpdate, setReplicasAnnotations, specReplicaSum } from "./replicas.js";
import { bySizeNewer, bySizeOlder, filterActive, findActiveOrLatest } from "./replica-sets.js";
import type { Deployment, ReplicaSet } from "./types.js";
import { DESIRED_REPLICAS_ANNOTATION, replicasOf } from "./types.js";

/**
 * Sets the ReplicaSet's size (and its desired/max-replicas annotations). Returns whether the
 * size changed and the ReplicaSet as stored.
 */
export async function scaleReplicaSet(deps: DeploymentDeps, rs: ReplicaSet, newScale: number, d: Deployment, operation: string): Promise<{ scaled: boolean; rs: ReplicaSet }> {
  const sizeNeedsUpdate = replicasOf(rs) !== newScale;
  const desired = replicasOf(d);
  const max = desired + maxSurge(d);
  if (!sizeNeedsUpdate && !replicasAnnotationsNeedUpdate(rs, desired, max)) return { scaled: false, rs };
  const oldScale = replicasOf(rs);
  const copy = structuredClone(rs);
  copy.spec.replicas = newScale;
  setReplicasAnnotations(copy, desired, max);
  const stored = await updateReplicaSet(deps, copy);
  if (sizeNeedsUpdate) deps.recorder.event(d, "Normal", "ScalingReplicaSet", `Scaled ${operation} replica set ${stored.metadata.name} from ${oldScale} to ${newScale}`);
  return { scaled: sizeNeedsUpdate, rs: stored };
}

/** scaleReplicaSet with "up" or "down" decided from the sizes; nothing to do when equal. */
export function scaleReplicaSetAndRecordEvent(deps: DeploymentDeps, rs: ReplicaSet, newScale: number, d: Deployment): Promise<{ scaled: boolean; rs: ReplicaSet }> {
  if (replicasOf(rs) === newScale) return Promise.resolve({ scaled: false, rs });
  return scaleReplicaSet(deps, rs, newScale, d, replicasOf(rs) < newScale ? "up" : "down");
}

/**
 * The scale step: one active ReplicaSet takes the whole spec.replicas; a saturated new one means
 * the old ones go to 0; otherwise (rolling) every active ReplicaSet gets its proportion of the
 * difference and the largest absorbs the rounding leftover.
 */
export async function scale(deps: DeploymentDeps, d: Deployment, newRS: ReplicaSet | undefined, oldRSs: readonly ReplicaSet[]): Promise<void> {
  const replicas = replicasOf(d);
  const only = findActiveOrLatest(newRS, oldRSs);
  if (only) {
    if (replicasOf(only) === replicas) return;
    await scaleReplicaSetAndRecordEvent(deps, only, replicas, d);
    return;
  }

  if (isSaturated(d, newRS)) {
    for (const old of filterActive(oldRSs)) await scaleReplicaSetAndRecordEvent(deps, old, 0, d);
    return;
  }

  if (!isRollingUpdate(d)) return;
  const allRSs = filterActive([...oldRSs, newRS]);
  const current = specReplicaSum(allRSs);
  const allowed = replicas > 0 ? replicas + maxSurge(d) : 0;
  const toAdd = allowed - current;
  // Scaling up gives newer ReplicaSets of equal size theirs first; scaling down takes from older ones first.
  let operation = "";
  if (toAdd > 0) {
    allRSs.sort(bySizeNewer);
    operation = "up";
  } else if (toAdd < 0) {
    allRSs.sort(bySizeOlder);
    operation = "down";
  }

  let added = 0;
  const sizes = new Map<string, number>();
  for (const rs of allRSs) {
    if (toAdd !== 0) {
      const proportion = getProportion(rs, d, toAdd, added);
      sizes.set(rs.metadata.name!, replicasOf(rs) + proportion);
      added += proportion;
    } else sizes.set(rs.metadata.name!, replicasOf(rs));
  }
  for (let i = 0; i < allRSs.length; i++) {
    const rs = allRSs[i]!;
    if (i === 0 && toAdd !== 0) sizes.set(rs.metadata.name!, Math.max(0, sizes.get(rs.metadata.name!)! + toAdd - added));
    await scaleReplicaSet(deps, rs, sizes.get(rs.metadata.name!)!, d, operation);
  }
}

/**
 * Whether spec.replicas changed since the active ReplicaSets were sized (their
 * desired-replicas annotation differs): a scaling event, handled by scale() and not as a rollout.
 */
export async function isScalingEvent(deps: DeploymentDeps, d: Deployment, rsList: readonly ReplicaSet[]): Promise<boolean> {
  const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(deps, d, rsList, false);
  for (const rs of filterActive([...oldRSs, newRS])) {
    const desired = intAnnotation(rs, DESIRED_REPLICAS_ANNOTATION);
    if (desired !== undefined && desired !== replicasOf(d)) return true;
  }
  return false;
}
