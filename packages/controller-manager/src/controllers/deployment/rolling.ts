/**
 * The RollingUpdate strategy (upstream's rolling.go). Each sync takes one step: grow the new
 * ReplicaSet as far as maxSurge allows, else shrink the old ones as far as maxUnavailable allows
 * (their unhealthy replicas first, since removing those costs no availability), then write status.
 */
import { deploymentComplete } from "./conditions.js";
import type { DeploymentDeps } from "./deps.js";
import { cleanupDeployment } from "./cleanup.js";
import { getAllReplicaSetsAndSyncRevision } from "./new-replica-set.js";
import { availableReplicaSum, maxUnavailable, newRSNewReplicas, specReplicaSum } from "./replicas.js";
import { byCreationTimestamp, filterActive } from "./replica-sets.js";
import { scaleReplicaSetAndRecordEvent } from "./scale.js";
import { syncRolloutStatus } from "./status.js";
import type { Deployment, ReplicaSet } from "./types.js";
import { replicasOf } from "./types.js";

export async function rolloutRolling(deps: DeploymentDeps, d: Deployment, rsList: readonly ReplicaSet[]): Promise<void> {
  const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(deps, d, rsList, true);
  const allRSs = [...oldRSs, newRS];
  if (!newRS) throw new Error(`no new replica set for deployment ${d.metadata.namespace}/${d.metadata.name}`);

  if (await reconcileNewReplicaSet(deps, allRSs, newRS, d)) return syncRolloutStatus(deps, allRSs, newRS, d);
  if (await reconcileOldReplicaSets(deps, allRSs, filterActive(oldRSs), newRS, d)) return syncRolloutStatus(deps, allRSs, newRS, d);
  if (deploymentComplete(d, d.status ?? {})) await cleanupDeployment(deps, oldRSs, d);
  return syncRolloutStatus(deps, allRSs, newRS, d);
}

/** Scales the new ReplicaSet toward spec.replicas within the surge; true if it was resized. */
export async function reconcileNewReplicaSet(deps: DeploymentDeps, allRSs: readonly (ReplicaSet | undefined)[], newRS: ReplicaSet, d: Deployment): Promise<boolean> {
  const want = replicasOf(d);
  if (replicasOf(newRS) === want) return false;
  if (replicasOf(newRS) > want) return (await scaleReplicaSetAndRecordEvent(deps, newRS, want, d)).scaled;
  return (await scaleReplicaSetAndRecordEvent(deps, newRS, newRSNewReplicas(d, allRSs, newRS), d)).scaled;
}

/**
 * How far the old ReplicaSets may shrink now: all pods, less the minimum that must stay
 * available, less the new ReplicaSet's pods that are not available yet (so a new ReplicaSet
 * that never becomes available cannot drain the old ones).
 */
export function maxScaledDown(allRSs: readonly (ReplicaSet | undefined)[], newRS: ReplicaSet, d: Deployment): number {
  const minAvailable = replicasOf(d) - maxUnavailable(d);
  const newRSUnavailable = replicasOf(newRS) - (newRS.status?.availableReplicas ?? 0);
  return specReplicaSum(allRSs) - minAvailable - newRSUnavailable;
}

/** Shrinks old ReplicaSets within maxUnavailable; true if any was resized. */
export async function reconcileOldReplicaSets(deps: DeploymentDeps, allRSs: readonly (ReplicaSet | undefined)[], oldRSs: ReplicaSet[], newRS: ReplicaSet, d: Deployment): Promise<boolean> {
  if (specReplicaSum(oldRSs) === 0) return false;
  const max = maxScaledDown(allRSs, newRS, d);
  if (max <= 0) return false;
  // Upstream swallows these errors (returns no progress); the next sync retries.
  try {
    const cleaned = await cleanupUnhealthyReplicas(deps, oldRSs, d, max);
    const scaledDown = await scaleDownOldReplicaSetsForRollingUpdate(deps, [...cleaned.oldRSs, newRS], cleaned.oldRSs, d);
    return cleaned.count + scaledDown > 0;
  } catch (e) {
    deps.logger.info({ deployment: `${d.metadata.namespace}/${d.metadata.name}`, err: e instanceof Error ? e.message : String(e) }, "scaling down old replica sets failed");
    return false;
  }
}

/**
 * Scales old ReplicaSets down by their unavailable replicas, oldest first, at most `maxCleanup`
 * in all (the ReplicaSet controller deletes not-ready pods first, so availability holds).
 */
export async function cleanupUnhealthyReplicas(deps: DeploymentDeps, oldRSs: ReplicaSet[], d: Deployment, maxCleanup: number): Promise<{ oldRSs: ReplicaSet[]; count: number }> {
  const sorted = [...oldRSs].sort(byCreationTimestamp);
  let total = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (total >= maxCleanup) break;
    const rs = sorted[i]!;
    const replicas = replicasOf(rs);
    const available = rs.status?.availableReplicas ?? 0;
    if (replicas === 0 || replicas === available) continue;
    const count = Math.min(maxCleanup - total, replicas - available);
    const next = replicas - count;
    if (next > replicas) throw new Error(`when cleaning up unhealthy replicas, got invalid request to scale down ${rs.metadata.namespace}/${rs.metadata.name} ${replicas} -> ${next}`);
    sorted[i] = (await scaleReplicaSetAndRecordEvent(deps, rs, next, d)).rs;
    total += count;
  }
  return { oldRSs: sorted, count: total };
}

/** Scales old ReplicaSets down, oldest first, by what the available pods above the minimum allow. */
export async function scaleDownOldReplicaSetsForRollingUpdate(deps: DeploymentDeps, allRSs: readonly (ReplicaSet | undefined)[], oldRSs: readonly ReplicaSet[], d: Deployment): Promise<number> {
  const minAvailable = replicasOf(d) - maxUnavailable(d);
  const available = availableReplicaSum(allRSs);
  if (available <= minAvailable) return 0;
  const want = available - minAvailable;
  let total = 0;
  for (const rs of [...oldRSs].sort(byCreationTimestamp)) {
    if (total >= want) break;
    const replicas = replicasOf(rs);
    if (replicas === 0) continue;
    const count = Math.min(replicas, want - total);
    const next = replicas - count;
    if (next > replicas) throw new Error(`when scaling down old RS, got invalid request to scale down ${rs.metadata.namespace}/${rs.metadata.name} ${replicas} -> ${next}`);
    await scaleReplicaSetAndRecordEvent(deps, rs, next, d);
    total += count;
  }
  return total;
}
