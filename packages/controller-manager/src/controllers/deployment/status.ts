/**
 * The Deployment's status (upstream's calculateStatus / syncDeploymentStatus and progress.go's
 * syncRolloutStatus): counts summed from the ReplicaSets' statuses, the Available condition, and
 * during a rollout the Progressing condition — NewReplicaSetAvailable once complete,
 * ReplicaSetUpdated while it moves, ProgressDeadlineExceeded once it stood still longer than
 * progressDeadlineSeconds — with a requeue for the moment the deadline would pass.
 */
import { canonicalJson } from "../../controller/hash.js";
import {
  deploymentComplete,
  deploymentProgressing,
  deploymentTimedOut,
  getCondition,
  hasProgressDeadline,
  newCondition,
  removeCondition,
  replicaSetToDeploymentCondition,
  setCondition,
} from "./conditions.js";
import { type DeploymentDeps, quote, updateDeploymentStatus } from "./deps.js";
import { actualReplicaSum, availableReplicaSum, maxUnavailable, readyReplicaSum, specReplicaSum } from "./replicas.js";
import type { Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet } from "./types.js";
import { ConditionTypes, Reasons, replicasOf } from "./types.js";

/** The status as Go serialises it: zero counters and an empty condition list are omitted. */
function omitEmpty(s: DeploymentStatus): DeploymentStatus {
  const out: DeploymentStatus = {};
  for (const [k, v] of Object.entries(s) as [keyof DeploymentStatus, unknown][]) {
    if (v === undefined || v === null || v === 0 || (Array.isArray(v) && v.length === 0)) continue;
    (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

/** reflect.DeepEqual of two statuses, as the API stores them. */
export function sameStatus(a: DeploymentStatus | undefined, b: DeploymentStatus | undefined): boolean {
  return canonicalJson(omitEmpty(a ?? {})) === canonicalJson(omitEmpty(b ?? {}));
}

export function calculateStatus(allRSs: readonly (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined, d: Deployment, nowMs: number): DeploymentStatus {
  const available = availableReplicaSum(allRSs);
  // More available than desired (while scaling down) is not negative unavailability.
  const unavailable = Math.max(0, specReplicaSum(allRSs) - available);
  const status: DeploymentStatus = {
    observedGeneration: d.metadata.generation ?? 0,
    replicas: actualReplicaSum(allRSs),
    updatedReplicas: actualReplicaSum([newRS]),
    readyReplicas: readyReplicaSum(allRSs),
    availableReplicas: available,
    unavailableReplicas: unavailable,
    ...(d.status?.collisionCount !== undefined ? { collisionCount: d.status.collisionCount } : {}),
    conditions: (d.status?.conditions ?? []).map((c) => ({ ...c })),
  };
  if (available >= replicasOf(d) - maxUnavailable(d)) {
    setCondition(status, newCondition(nowMs, ConditionTypes.available, "True", Reasons.minimumReplicasAvailable, "Deployment has minimum availability."));
  } else {
    setCondition(status, newCondition(nowMs, ConditionTypes.available, "False", Reasons.minimumReplicasUnavailable, "Deployment does not have minimum availability."));
  }
  return omitEmpty(status);
}

async function writeIfChanged(deps: DeploymentDeps, d: Deployment, next: DeploymentStatus): Promise<boolean> {
  if (sameStatus(d.status, next)) return false;
  d.status = next;
  await updateDeploymentStatus(deps, d);
  return true;
}

/** Status outside a rollout (scaling, paused, being deleted): counts and Available only. */
export async function syncDeploymentStatus(deps: DeploymentDeps, allRSs: readonly (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined, d: Deployment): Promise<void> {
  await writeIfChanged(deps, d, calculateStatus(allRSs, newRS, d, deps.clock.now()));
}

/** ReplicaFailure conditions of the new ReplicaSet, else of any ReplicaSet. */
function replicaFailures(allRSs: readonly (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined): DeploymentCondition[] {
  const failuresOf = (rs: ReplicaSet | undefined) => (rs?.status?.conditions ?? []).filter((c) => c.type === ConditionTypes.replicaFailure).map(replicaSetToDeploymentCondition);
  const fromNew = failuresOf(newRS);
  if (fromNew.length) return fromNew;
  return allRSs.flatMap(failuresOf);
}

/** Status during a rollout, with the Progressing condition judged against the deadline. */
export async function syncRolloutStatus(deps: DeploymentDeps, allRSs: readonly (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined, d: Deployment): Promise<void> {
  const now = deps.clock.now();
  const next = calculateStatus(allRSs, newRS, d, now);
  if (!hasProgressDeadline(d)) removeCondition(next, ConditionTypes.progressing);

  // Only one ReplicaSet and a finished rollout: a resync, with no progress to estimate.
  const current = getCondition(d.status, ConditionTypes.progressing);
  const isCompleteDeployment = (next.replicas ?? 0) === (next.updatedReplicas ?? 0) && current?.reason === Reasons.newRSAvailable;
  if (hasProgressDeadline(d) && !isCompleteDeployment) {
    const subject = newRS ? `ReplicaSet ${quote(newRS.metadata.name)}` : `Deployment ${quote(d.metadata.name)}`;
    if (deploymentComplete(d, next)) {
      setCondition(next, newCondition(now, ConditionTypes.progressing, "True", Reasons.newRSAvailable, `${subject} has successfully progressed.`));
    } else if (deploymentProgressing(d, next)) {
      // Progress moves lastUpdateTime even with the same reason; lastTransitionTime stays while it was True.
      const condition = newCondition(now, ConditionTypes.progressing, "True", Reasons.replicaSetUpdated, `${subject} is progressing.`);
      if (current) {
        if (current.status === "True" && current.lastTransitionTime) condition.lastTransitionTime = current.lastTransitionTime;
        removeCondition(next, ConditionTypes.progressing);
      }
      setCondition(next, condition);
    } else if (deploymentTimedOut(d, next, now)) {
      setCondition(next, newCondition(now, ConditionTypes.progressing, "False", Reasons.timedOut, `${subject} has timed out progressing.`));
    }
  }

  const failures = replicaFailures(allRSs, newRS);
  if (failures.length) setCondition(next, failures[0]!);
  else removeCondition(next, ConditionTypes.replicaFailure);

  if (!(await writeIfChanged(deps, d, next))) requeueStuckDeployment(deps, d, next);
}

/**
 * A rollout that is neither complete nor timed out is looked at again when its deadline would
 * pass (lastUpdateTime + progressDeadlineSeconds, plus a second of slack), or at once
 * (rate-limited) when that is under a second away. Returns the delay in ms, -1 for none.
 */
export function requeueStuckDeployment(deps: DeploymentDeps, d: Deployment, next: DeploymentStatus): number {
  const current = getCondition(d.status, ConditionTypes.progressing);
  if (!hasProgressDeadline(d) || !current) return -1;
  if (deploymentComplete(d, next) || current.reason === Reasons.timedOut) return -1;
  const key = `${d.metadata.namespace}/${d.metadata.name}`;
  const last = current.lastUpdateTime ? Date.parse(current.lastUpdateTime) : deps.clock.now();
  const after = last + d.spec.progressDeadlineSeconds! * 1000 - deps.clock.now();
  if (after < 1000) {
    deps.queue.addRateLimited(key);
    return 0;
  }
  deps.queue.addAfter(key, after + 1000);
  return after;
}
