/**
 * The Deployment controller's reconcile (upstream's syncDeployment): claim the ReplicaSets the
 * selector matches, then — a Deployment being deleted only gets its status; a paused one or a
 * scaling event is scaled proportionally; a rollback annotation is acted on; otherwise the
 * strategy (RollingUpdate or Recreate) takes its next step.
 */
import { Indexes, Resources, selectorFromObject, splitKey } from "@kubemu/common";
import { claimObjects, controllerOf } from "../../controller/controller-ref.js";
import { getCondition, hasProgressDeadline, newCondition, setCondition } from "./conditions.js";
import { type DeploymentDeps, updateDeploymentStatus } from "./deps.js";
import { cleanupDeployment } from "./cleanup.js";
import { getAllReplicaSetsAndSyncRevision } from "./new-replica-set.js";
import { rolloutRecreate, type PodMap } from "./recreate.js";
import { getRollbackTo, rollback } from "./rollback.js";
import { rolloutRolling } from "./rolling.js";
import { isScalingEvent, scale } from "./scale.js";
import { syncDeploymentStatus } from "./status.js";
import type { Deployment, PodObject, ReplicaSet } from "./types.js";
import { ConditionTypes, Reasons } from "./types.js";

/** A selector that is `{}`: it would select every pod, which upstream refuses to act on. */
function selectsEverything(d: Deployment): boolean {
  const s = d.spec.selector as { matchLabels?: object; matchExpressions?: unknown[] } | undefined;
  return !!s && Object.keys(s.matchLabels ?? {}).length === 0 && (s.matchExpressions ?? []).length === 0;
}

export class DeploymentSync {
  constructor(readonly deps: DeploymentDeps) {}

  async syncDeployment(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const cached = this.deps.deployments.get(namespace, name);
    if (!cached) {
      this.deps.logger.debug({ deployment: key }, "Deployment has been deleted");
      return;
    }
    // Never change the cache's copy.
    const d = structuredClone(cached);

    if (selectsEverything(d)) {
      this.deps.recorder.event(d, "Warning", "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.");
      if ((d.status?.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) {
        (d.status ??= {}).observedGeneration = d.metadata.generation;
        await updateDeploymentStatus(this.deps, d);
      }
      return;
    }

    const rsList = await this.getReplicaSetsForDeployment(d);
    const podMap = this.getPodMapForDeployment(rsList);

    if (d.metadata.deletionTimestamp) return this.syncStatusOnly(d, rsList);

    // Pausing and resuming are recorded as Unknown Progressing, so a resumed rollout is not judged on the time it sat paused.
    await this.checkPausedConditions(d);
    if (d.spec.paused) return this.sync(d, rsList);

    // A rollback rewrites the template; nothing else happens until its annotation is gone.
    if (getRollbackTo(d) !== undefined) return rollback(this.deps, d, rsList);

    if (await isScalingEvent(this.deps, d, rsList)) return this.sync(d, rsList);

    switch (d.spec.strategy?.type) {
      case "Recreate":
        return rolloutRecreate(this.deps, d, rsList, podMap);
      case "RollingUpdate":
        return rolloutRolling(this.deps, d, rsList);
    }
    throw new Error(`unexpected deployment strategy type: ${d.spec.strategy?.type ?? ""}`);
  }

  /**
   * The ReplicaSets this Deployment controls, adopting matching orphans and releasing owned ones
   * that no longer match (ClaimReplicaSets, with the fresh-read recheck before adopting).
   */
  async getReplicaSetsForDeployment(d: Deployment): Promise<ReplicaSet[]> {
    const all = this.deps.replicaSets.list({ namespace: d.metadata.namespace });
    const selector = selectorFromObject(d.spec.selector);
    // A nil selector selects nothing (an empty one was refused above).
    const hasSelector = !!d.spec.selector;
    return claimObjects<ReplicaSet>(all, {
      client: this.deps.client,
      owner: d,
      ownerResource: Resources.deployments,
      resource: Resources.replicaSets,
      matches: (rs) => hasSelector && selector.matches(rs.metadata.labels),
    });
  }

  /** Each ReplicaSet's pods by their controller reference (the ownerUid index), terminal ones too. */
  getPodMapForDeployment(rsList: readonly ReplicaSet[]): PodMap {
    const map = new Map<string, PodObject[]>();
    for (const rs of rsList) {
      const uid = rs.metadata.uid!;
      map.set(
        uid,
        this.deps.pods.byIndex(Indexes.ownerUid, uid).filter((p) => controllerOf(p)?.uid === uid),
      );
    }
    return map;
  }

  /** Status only: what a Deployment being deleted gets. */
  private async syncStatusOnly(d: Deployment, rsList: readonly ReplicaSet[]): Promise<void> {
    const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(this.deps, d, rsList, false);
    await syncDeploymentStatus(this.deps, [...oldRSs, newRS], newRS, d);
  }

  /** Scaling events and paused Deployments: resize proportionally, no rollout progress. */
  private async sync(d: Deployment, rsList: readonly ReplicaSet[]): Promise<void> {
    const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(this.deps, d, rsList, false);
    await scale(this.deps, d, newRS, oldRSs);
    // A paused Deployment with no rollback pending still keeps only revisionHistoryLimit old ReplicaSets.
    if (d.spec.paused && getRollbackTo(d) === undefined) await cleanupDeployment(this.deps, oldRSs, d);
    await syncDeploymentStatus(this.deps, [...oldRSs, newRS], newRS, d);
  }

  private async checkPausedConditions(d: Deployment): Promise<void> {
    if (!hasProgressDeadline(d)) return;
    const cond = getCondition(d.status, ConditionTypes.progressing);
    // A reported lack of progress stays reported.
    if (cond?.reason === Reasons.timedOut) return;
    const pausedCondExists = cond?.reason === Reasons.paused;
    const now = this.deps.clock.now();
    if (d.spec.paused && !pausedCondExists) {
      setCondition((d.status ??= {}), newCondition(now, ConditionTypes.progressing, "Unknown", Reasons.paused, "Deployment is paused"));
    } else if (!d.spec.paused && pausedCondExists) {
      setCondition((d.status ??= {}), newCondition(now, ConditionTypes.progressing, "Unknown", Reasons.resumed, "Deployment is resumed"));
    } else return;
    await updateDeploymentStatus(this.deps, d);
  }
}
