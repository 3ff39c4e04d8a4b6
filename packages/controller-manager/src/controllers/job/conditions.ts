/**
 * Job conditions with upstream's reasons and messages. As in 1.32 (JobManagedBy and
 * JobPodReplacementPolicy on), a Job first gets the interim FailureTarget or SuccessCriteriaMet
 * condition and only gets Failed or Complete once none of its pods is still terminating.
 */
import type { JobCondition } from "kubernetes-types/batch/v1.js";
import type { JobObject } from "./util.js";
import { rfc3339 } from "./util.js";

export const Reasons = {
  backoffLimitExceeded: "BackoffLimitExceeded",
  deadlineExceeded: "DeadlineExceeded",
  podFailurePolicy: "PodFailurePolicy",
  maxFailedIndexesExceeded: "MaxFailedIndexesExceeded",
  failedIndexes: "FailedIndexes",
  successPolicy: "SuccessPolicy",
  completionsReached: "CompletionsReached",
} as const;

export const Messages = {
  backoffLimitExceeded: "Job has reached the specified backoff limit",
  deadlineExceeded: "Job was active longer than specified deadline",
  maxFailedIndexesExceeded: "Job has exceeded the specified maximal number of failed indexes",
  failedIndexes: "Job has failed indexes",
  completionsReached: "Reached expected number of succeeded pods",
} as const;

export function newCondition(type: string, status: "True" | "False", reason: string, message: string, nowMs: number): JobCondition {
  const t = rfc3339(nowMs);
  return { type, status, lastProbeTime: t, lastTransitionTime: t, ...(reason ? { reason } : {}), ...(message ? { message } : {}) };
}

export function findCondition(job: JobObject, type: string): JobCondition | undefined {
  return job.status?.conditions?.find((c) => c.type === type);
}

/** The interim condition a failing Job gets first (FailureTarget). */
export function newFailureCondition(reason: string, message: string, nowMs: number): JobCondition {
  return newCondition("FailureTarget", "True", reason, message, nowMs);
}

/** The interim condition a Job that reached its completions gets first (SuccessCriteriaMet). */
export function newSuccessCondition(nowMs: number): JobCondition {
  return newCondition("SuccessCriteriaMet", "True", Reasons.completionsReached, Messages.completionsReached, nowMs);
}

/** The final Failed condition carrying an interim FailureTarget's reason and message. */
export function failedFromFailureTarget(c: JobCondition, nowMs: number): JobCondition {
  return newCondition("Failed", "True", c.reason ?? "", c.message ?? "", nowMs);
}

export function hasSuccessCriteriaMet(job: JobObject): JobCondition | undefined {
  const c = findCondition(job, "SuccessCriteriaMet");
  return c?.status === "True" ? c : undefined;
}

export function isSuccessCriteriaMet(c: JobCondition | undefined): boolean {
  return c?.type === "SuccessCriteriaMet" && c.status === "True";
}

/**
 * Sets the condition of `type` to status/reason/message, replacing it when any differs; a
 * False condition is never added where none existed. Returns whether the list changed.
 */
export function ensureConditionStatus(job: JobObject, type: string, status: "True" | "False", reason: string, message: string, nowMs: number): boolean {
  const list = ((job.status ??= {}).conditions ??= []);
  const i = list.findIndex((c) => c.type === type);
  if (i >= 0) {
    const c = list[i]!;
    if (c.status === status && (c.reason ?? "") === reason && (c.message ?? "") === message) return false;
    list[i] = newCondition(type, status, reason, message, nowMs);
    return true;
  }
  if (status === "False") return false;
  list.push(newCondition(type, status, reason, message, nowMs));
  return true;
}
