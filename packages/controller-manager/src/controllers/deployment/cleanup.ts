/**
 * revisionHistoryLimit (upstream's cleanupDeployment): keep the newest N old ReplicaSets for
 * rollbacks and delete the older ones — only those scaled to 0 with no pods left and whose
 * controller has seen their latest spec.
 */
import { Resources, isNotFound } from "@kubemu/common";
import { hasRevisionHistoryLimit } from "./conditions.js";
import type { DeploymentDeps } from "./deps.js";
import { byRevision } from "./replica-sets.js";
import type { Deployment, ReplicaSet } from "./types.js";
import { replicasOf } from "./types.js";

export async function cleanupDeployment(deps: DeploymentDeps, oldRSs: readonly ReplicaSet[], d: Deployment): Promise<void> {
  if (!hasRevisionHistoryLimit(d)) return;
  const cleanable = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp);
  const diff = cleanable.length - d.spec.revisionHistoryLimit!;
  if (diff <= 0) return;
  cleanable.sort(byRevision);
  for (const rs of cleanable.slice(0, diff)) {
    // Never delete one that still has (or may still get) pods.
    if ((rs.status?.replicas ?? 0) !== 0 || replicasOf(rs) !== 0 || (rs.metadata.generation ?? 0) > (rs.status?.observedGeneration ?? 0) || rs.metadata.deletionTimestamp) continue;
    deps.logger.debug({ deployment: `${d.metadata.namespace}/${d.metadata.name}`, replicaSet: rs.metadata.name }, "Trying to cleanup replica set for deployment");
    try {
      await deps.client.delete(Resources.replicaSets, rs.metadata.namespace, rs.metadata.name!);
    } catch (e) {
      // Stop at the first failure rather than pile more deletes on a struggling API server.
      if (!isNotFound(e)) throw e;
    }
  }
}
