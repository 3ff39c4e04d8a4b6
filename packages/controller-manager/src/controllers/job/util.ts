/**
 * Job facts other controllers read too (upstream's pkg/controller/job/util): whether a Job has
 * finished and how, and the RFC 3339 timestamps the API stores (whole seconds, as metav1.Time).
 */
import type { KubeObject } from "@kubemu/common";
import type { Job, JobCondition } from "kubernetes-types/batch/v1.js";

export type JobObject = Job & KubeObject;

/** The API's name for the job controller in spec.managedBy (upstream's JobControllerName). */
export const JOB_CONTROLLER_NAME = "kubernetes.io/job-controller";

/** The Complete or Failed condition that is True, if the Job has finished. */
export function finishedCondition(job: Job): JobCondition | undefined {
  return job.status?.conditions?.find((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
}

export function isJobFinished(job: Job): boolean {
  return finishedCondition(job) !== undefined;
}

export function isJobSucceeded(job: Job): boolean {
  return finishedCondition(job)?.type === "Complete";
}

/** spec.managedBy naming another controller: this one leaves the Job alone. */
export function managedByExternalController(job: Job): string | undefined {
  const by = job.spec?.managedBy;
  return by !== undefined && by !== JOB_CONTROLLER_NAME ? by : undefined;
}

/** A metav1.Time: RFC 3339 in UTC, truncated to whole seconds. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Milliseconds of an RFC 3339 time, undefined when absent or unparseable. */
export function timeMs(t: string | null | undefined): number | undefined {
  if (!t) return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}
