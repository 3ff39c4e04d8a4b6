/**
 * The Recreate strategy (upstream's recreate.go): scale every old ReplicaSet to 0, wait until no
 * old pod is left running (terminal pods do not count; terminating ones do), and only then create
 * or scale up the new ReplicaSet to spec.replicas.
 */
import { deploymentComplete } from "./conditions.js";
import type { DeploymentDeps } from "./deps.js";
import { cleanupDeployment } from "./cleanup.js";
import { getAllReplicaSetsAndSyncRevision } from "./new-replica-set.js";
import { actualReplicaSum } from "./replicas.js";
import { filterActive } from "./replica-sets.js";
import { scaleReplicaSetAndRecordEvent } from "./scale.js";
import { syncRolloutStatus } from "./status.js";
import type { Deployment, PodObject, ReplicaSet } from "./types.js";
import { replicasOf } from "./types.js";

/** Pods of each of the Deployment's ReplicaSets, by ReplicaSet uid (terminal ones included). */
export type PodMap = ReadonlyMap<string, readonly PodObject[]>;

export async function rolloutRecreate(deps: DeploymentDeps, d: Deployment, rsList: readonly ReplicaSet[], podMap: PodMap): Promise<void> {
  // No new ReplicaSet yet: creating it now would scale up before the old ones are down.
  let { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(deps, d, rsList, false);
  let allRSs = [...oldRSs, newRS];

  if (await scaleDownOldReplicaSetsForRecreate(deps, filterActive(oldRSs), d)) return syncRolloutStatus(deps, allRSs, newRS, d);
  if (oldPodsRunning(newRS, oldRSs, podMap)) return syncRolloutStatus(deps, allRSs, newRS, d);

  if (!newRS) {
    ({ newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(deps, d, rsList, true));
    allRSs = [...oldRSs, newRS];
  }
  await scaleReplicaSetAndRecordEvent(deps, newRS!, replicasOf(d), d);
  if (deploymentComplete(d, d.status ?? {})) await cleanupDeployment(deps, oldRSs, d);
  return syncRolloutStatus(deps, allRSs, newRS, d);
}

async function scaleDownOldReplicaSetsForRecreate(deps: DeploymentDeps, oldRSs: readonly ReplicaSet[], d: Deployment): Promise<boolean> {
  let scaled = false;
  for (const rs of oldRSs) {
    if (replicasOf(rs) === 0) continue;
    if ((await scaleReplicaSetAndRecordEvent(deps, rs, 0, d)).scaled) scaled = true;
  }
  return scaled;
}

/**
 * Whether any old ReplicaSet still reports pods, or any pod of an old ReplicaSet is not in a
 * terminal phase (Unknown counts as running: it may be).
 */
export function oldPodsRunning(newRS: ReplicaSet | undefined, oldRSs: readonly ReplicaSet[], podMap: PodMap): boolean {
  if (actualReplicaSum(oldRSs) > 0) return true;
  for (const [rsUid, pods] of podMap) {
    if (newRS && newRS.metadata.uid === rsUid) continue;
    for (const pod of pods) {
      const phase = pod.status?.phase;
      if (phase === "Failed" || phase === "Succeeded") continue;
      return true;
    }
  }
  return false;
}
