/**
 * Server-side rollback (upstream's rollback.go), asked for with the annotation apps/v1beta1's
 * spec.rollbackTo round-trips as (`deprecated.deployment.rollback.to: "<revision>"`, 0 = the
 * previous one). The Deployment takes that revision's template and annotations and the
 * annotation is removed. kubectl's `rollout undo` does not use this: it patches the template
 * itself from the ReplicaSets' revision annotations.
 */
import { Resources } from "@kubemu/common";
import { setDeploymentAnnotationsTo } from "./annotations.js";
import { type DeploymentDeps, quote } from "./deps.js";
import { getAllReplicaSetsAndSyncRevision } from "./new-replica-set.js";
import { equalIgnoreHash, lastRevision, revisionOf } from "./replica-sets.js";
import type { Deployment, ReplicaSet } from "./types.js";
import { DEPRECATED_ROLLBACK_TO_ANNOTATION, POD_TEMPLATE_HASH_LABEL, Reasons } from "./types.js";

/** The revision asked for, or undefined when none (or not a number). */
export function getRollbackTo(d: Deployment): number | undefined {
  const v = d.metadata.annotations?.[DEPRECATED_ROLLBACK_TO_ANNOTATION];
  if (!v || !/^[-+]?\d+$/.test(v)) return undefined;
  return Number(v);
}

export async function rollback(deps: DeploymentDeps, d: Deployment, rsList: readonly ReplicaSet[]): Promise<void> {
  const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(deps, d, rsList, true);
  const allRSs = [...oldRSs, ...(newRS ? [newRS] : [])];
  let revision = getRollbackTo(d) ?? 0;
  if (revision === 0) {
    revision = lastRevision(allRSs);
    if (revision === 0) {
      deps.recorder.event(d, "Warning", Reasons.rollbackRevisionNotFound, "Unable to find last revision.");
      return updateDeploymentAndClearRollbackTo(deps, d);
    }
  }
  const target = allRSs.find((rs) => revisionOf(rs) === revision);
  if (!target) {
    deps.recorder.event(d, "Warning", Reasons.rollbackRevisionNotFound, "Unable to find the revision to rollback to.");
    return updateDeploymentAndClearRollbackTo(deps, d);
  }
  // The revision number goes up on the next sync, when the target becomes the new ReplicaSet again.
  if (await rollbackToTemplate(deps, d, target)) deps.recorder.event(d, "Normal", Reasons.rollbackDone, `Rolled back deployment ${quote(d.metadata.name)} to revision ${revision}`);
}

/** Copies the ReplicaSet's template (without its hash label) and annotations onto the Deployment; true if the template differed. */
async function rollbackToTemplate(deps: DeploymentDeps, d: Deployment, rs: ReplicaSet): Promise<boolean> {
  let performed = false;
  if (!equalIgnoreHash(d.spec.template, rs.spec.template)) {
    const template = structuredClone(rs.spec.template ?? {});
    if (template.metadata?.labels) delete template.metadata.labels[POD_TEMPLATE_HASH_LABEL];
    d.spec.template = template;
    // Otherwise the current change-cause would be copied onto the ReplicaSet rolled back to.
    setDeploymentAnnotationsTo(d, rs);
    performed = true;
  } else {
    deps.recorder.event(d, "Warning", Reasons.rollbackTemplateUnchanged, `The rollback revision contains the same template as current deployment ${quote(d.metadata.name)}`);
  }
  await updateDeploymentAndClearRollbackTo(deps, d);
  return performed;
}

async function updateDeploymentAndClearRollbackTo(deps: DeploymentDeps, d: Deployment): Promise<void> {
  if (d.metadata.annotations) delete d.metadata.annotations[DEPRECATED_ROLLBACK_TO_ANNOTATION];
  await deps.client.update(Resources.deployments, d);
}
