/**
 * A ReplicaSet's (or RC's) status from its pods (upstream's calculateStatus and the condition
 * helpers in replica_set_utils.go). Pure: the caller passes the time.
 */
import { labelSelectorOf } from "@kubemu/common";
import type { Pod } from "kubernetes-types/core/v1.js";
import { isPodAvailable, isPodReady } from "../../controller/pod-util.js";
import type { ReplicaCondition, ReplicaOwner, ReplicaStatus } from "./kind.js";

/** The condition type a failed create or delete sets (ReplicaSetReplicaFailure). */
export const REPLICA_FAILURE = "ReplicaFailure";

/** Metadata time format (whole seconds, as metav1.Time serialises). */
export function metaTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * The new status: replicas = active claimed pods; fullyLabeledReplicas = those whose labels
 * include every template label; readyReplicas; availableReplicas (ready for minReadySeconds);
 * a ReplicaFailure condition (FailedCreate / FailedDelete, the error's message) while
 * managing replicas fails, removed once it succeeds. observedGeneration is left as it was
 * (updateStatus sets it when it writes).
 */
export function calculateStatus(owner: ReplicaOwner, pods: readonly Pod[], manageError: unknown, nowMs: number): ReplicaStatus {
  const templateLabels = owner.spec?.template?.metadata?.labels ?? {};
  const template = labelSelectorOf(Object.entries(templateLabels).map(([key, v]) => ({ key, op: "=" as const, values: [v] })));
  const minReadySeconds = owner.spec?.minReadySeconds ?? 0;
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  for (const pod of pods) {
    if (template.matches(pod.metadata?.labels)) fullyLabeled++;
    if (isPodReady(pod)) {
      ready++;
      if (isPodAvailable(pod, minReadySeconds, nowMs)) available++;
    }
  }

  const old = owner.status;
  let conditions = old?.conditions ? [...old.conditions] : undefined;
  const failure = conditions?.find((c) => c.type === REPLICA_FAILURE);
  if (manageError !== undefined && !failure) {
    const diff = pods.length - (owner.spec?.replicas ?? 1);
    const reason = diff < 0 ? "FailedCreate" : diff > 0 ? "FailedDelete" : "";
    conditions = setCondition(conditions, { type: REPLICA_FAILURE, status: "True", lastTransitionTime: metaTime(nowMs), reason, message: errorMessage(manageError) });
  } else if (manageError === undefined && failure) {
    conditions = withoutCondition(conditions, REPLICA_FAILURE);
  }

  return {
    replicas: pods.length,
    ...(fullyLabeled ? { fullyLabeledReplicas: fullyLabeled } : {}),
    ...(ready ? { readyReplicas: ready } : {}),
    ...(available ? { availableReplicas: available } : {}),
    ...(old?.observedGeneration ? { observedGeneration: old.observedGeneration } : {}),
    ...(conditions ? { conditions } : {}),
  };
}

/** Adds or replaces a condition; one with the same status and reason is kept as it is (SetCondition). */
export function setCondition(conditions: readonly ReplicaCondition[] | undefined, c: ReplicaCondition): ReplicaCondition[] {
  const cur = conditions?.find((x) => x.type === c.type);
  if (cur && cur.status === c.status && cur.reason === c.reason) return [...(conditions ?? [])];
  return [...(withoutCondition(conditions, c.type) ?? []), c];
}

/** The conditions without `type`; undefined when none remain (Go's nil slice, omitted from JSON). */
export function withoutCondition(conditions: readonly ReplicaCondition[] | undefined, type: string): ReplicaCondition[] | undefined {
  const rest = (conditions ?? []).filter((c) => c.type !== type);
  return rest.length ? rest : undefined;
}

/** True when writing `next` would change nothing (updateReplicaSetStatus's steady state). */
export function statusUnchanged(owner: ReplicaOwner, next: ReplicaStatus): boolean {
  const cur = owner.status;
  return (
    (cur?.replicas ?? 0) === next.replicas &&
    (cur?.fullyLabeledReplicas ?? 0) === (next.fullyLabeledReplicas ?? 0) &&
    (cur?.readyReplicas ?? 0) === (next.readyReplicas ?? 0) &&
    (cur?.availableReplicas ?? 0) === (next.availableReplicas ?? 0) &&
    (owner.metadata.generation ?? 0) === (cur?.observedGeneration ?? 0) &&
    JSON.stringify(cur?.conditions ?? []) === JSON.stringify(next.conditions ?? [])
  );
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
