/**
 * The Jobs a CronJob creates and tracks (upstream's cronjob utils.go): deterministic names from
 * the scheduled minute (the name is the lock against creating one run twice), the
 * scheduled-timestamp annotation, status.active references, and history order.
 */
import type { KubeObject, OwnerReference } from "@kubemu/common";
import { Resources } from "@kubemu/common";
import type { CronJob } from "kubernetes-types/batch/v1.js";
import type { ObjectReference } from "kubernetes-types/core/v1.js";
import { newControllerRef } from "../../controller/controller-ref.js";
import { rfc3339, timeMs, type JobObject } from "../job/util.js";
import { croneZone } from "./schedule.js";
import { rfc3339InZone } from "./times.js";

export type CronJobObject = CronJob & KubeObject;

export const SCHEDULED_TIMESTAMP_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp";

/** `<cronjob>-<scheduled time in minutes since the epoch>`. */
export function jobName(cj: CronJobObject, scheduledMs: number): string {
  return `${cj.metadata.name}-${Math.floor(scheduledMs / 60_000)}`;
}

/** The Job for the run scheduled at `scheduledMs` (upstream's getJobFromTemplate2). */
export function jobFromTemplate(cj: CronJobObject, scheduledMs: number): JobObject {
  const tmpl = cj.spec!.jobTemplate;
  const annotations = { ...(tmpl.metadata?.annotations ?? {}), [SCHEDULED_TIMESTAMP_ANNOTATION]: rfc3339InZone(scheduledMs, croneZone(cj.spec?.timeZone)) };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: jobName(cj, scheduledMs),
      namespace: cj.metadata.namespace,
      labels: { ...(tmpl.metadata?.labels ?? {}) },
      annotations,
      creationTimestamp: rfc3339(scheduledMs),
      ownerReferences: [newControllerRef(cj, Resources.cronJobs) as OwnerReference],
    },
    spec: structuredClone(tmpl.spec!),
  } as JobObject;
}

/** The object reference status.active keeps (upstream's ref.GetReference). */
export function jobRef(job: JobObject): ObjectReference {
  return { kind: "Job", namespace: job.metadata.namespace, name: job.metadata.name, uid: job.metadata.uid, apiVersion: "batch/v1", resourceVersion: job.metadata.resourceVersion };
}

export function inActiveList(cj: CronJob, uid: string | undefined): boolean {
  return (cj.status?.active ?? []).some((r) => r.uid === uid);
}

export function inActiveListByName(cj: CronJob, namespace: string | undefined, name: string): boolean {
  return (cj.status?.active ?? []).some((r) => r.name === name && r.namespace === namespace);
}

export function deleteFromActiveList(cj: CronJob, uid: string | undefined): void {
  const status = (cj.status ??= {});
  status.active = (status.active ?? []).filter((r) => r.uid !== uid);
}

/** Oldest first by status.startTime (Jobs never started last), names breaking ties. */
export function byJobStartTime(a: JobObject, b: JobObject): number {
  const sa = timeMs(a.status?.startTime);
  const sb = timeMs(b.status?.startTime);
  if (sa === undefined && sb !== undefined) return 1;
  if (sa !== undefined && sb === undefined) return -1;
  if (sa === sb) return a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0;
  return sa! - sb!;
}
