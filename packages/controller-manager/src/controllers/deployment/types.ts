/**
 * The objects the Deployment controller reads and writes, and the names upstream gives to its
 * annotations, condition reasons and event reasons (pkg/controller/deployment/util).
 */
import type { KubeObject } from "@kubemu/common";
import type { DeploymentCondition, DeploymentSpec, DeploymentStatus, ReplicaSetSpec, ReplicaSetStatus } from "kubernetes-types/apps/v1.js";
import type { Pod } from "kubernetes-types/core/v1.js";

export type Deployment = KubeObject & { spec: DeploymentSpec; status?: DeploymentStatus };
export type ReplicaSet = KubeObject & { spec: ReplicaSetSpec; status?: ReplicaSetStatus };
export type PodObject = KubeObject & Pod;
export type { DeploymentCondition, DeploymentStatus };

/** The label that keeps each ReplicaSet's pods apart (apps.DefaultDeploymentUniqueLabelKey). */
export const POD_TEMPLATE_HASH_LABEL = "pod-template-hash";

export const REVISION_ANNOTATION = "deployment.kubernetes.io/revision";
export const REVISION_HISTORY_ANNOTATION = "deployment.kubernetes.io/revision-history";
export const DESIRED_REPLICAS_ANNOTATION = "deployment.kubernetes.io/desired-replicas";
export const MAX_REPLICAS_ANNOTATION = "deployment.kubernetes.io/max-replicas";
/** What apps/v1beta1's spec.rollbackTo round-trips as (apps.DeprecatedRollbackTo). */
export const DEPRECATED_ROLLBACK_TO_ANNOTATION = "deprecated.deployment.rollback.to";
export const LAST_APPLIED_CONFIG_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration";

/** Longest revision-history annotation kept (upstream's maxRevHistoryLengthInChars). */
export const MAX_REVISION_HISTORY_CHARS = 2000;

/** Condition and event reasons, in upstream's words. */
export const Reasons = {
  replicaSetUpdated: "ReplicaSetUpdated",
  failedRSCreate: "ReplicaSetCreateError",
  newReplicaSet: "NewReplicaSetCreated",
  foundNewRS: "FoundNewReplicaSet",
  newRSAvailable: "NewReplicaSetAvailable",
  timedOut: "ProgressDeadlineExceeded",
  paused: "DeploymentPaused",
  resumed: "DeploymentResumed",
  minimumReplicasAvailable: "MinimumReplicasAvailable",
  minimumReplicasUnavailable: "MinimumReplicasUnavailable",
  rollbackRevisionNotFound: "DeploymentRollbackRevisionNotFound",
  rollbackTemplateUnchanged: "DeploymentRollbackTemplateUnchanged",
  rollbackDone: "DeploymentRollback",
} as const;

/** Progressing, Available and ReplicaFailure. */
export const ConditionTypes = {
  progressing: "Progressing",
  available: "Available",
  replicaFailure: "ReplicaFailure",
} as const;

/** spec.replicas of a ReplicaSet or Deployment (the API defaults it to 1; absent means that). */
export function replicasOf(o: { spec?: { replicas?: number } } | undefined): number {
  return o?.spec?.replicas ?? 1;
}
