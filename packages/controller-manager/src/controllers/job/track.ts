/**
 * Counting finished pods and finishing the Job (upstream's trackJobStatusAndRemoveFinalizers and
 * friends). Every finished pod goes through three steps, each written before the next so a crash
 * between them neither loses nor double-counts a pod:
 *  1. its uid is added to status.uncountedTerminatedPods (status write);
 *  2. its tracking finalizer is removed (pod patch);
 *  3. its uid moves from the uncounted lists to the succeeded/failed counters (status write).
 * Only once nothing is uncounted and no pod is terminating does the Job get Complete or Failed.
 */
import { Resources, isNotFound, objectKey } from "@kubemu/common";
import type { JobCondition, JobStatus } from "kubernetes-types/batch/v1.js";
import type { PodObject } from "../../controller/pod-control.js";
import { ensureConditionStatus, failedFromFailureTarget, hasSuccessCriteriaMet, isSuccessCriteriaMet, newCondition } from "./conditions.js";
import { UNKNOWN_INDEX, byCompletionIndex, completionIndex, hasBackoffLimitPerIndex, isIndexedJob } from "./indexed.js";
import type { JobSyncParts } from "./parts.js";
import { matchPodFailurePolicy } from "./pod-failure-policy.js";
import { completionsOf, isPodFailed } from "./pods.js";
import type { SyncJobCtx } from "./sync-context.js";
import { hasJobTrackingFinalizer, removeTrackingFinalizerPatch } from "./tracking.js";
import type { JobObject } from "./util.js";

export async function trackJobStatusAndRemoveFinalizers(p: JobSyncParts, ctx: SyncJobCtx, needsFlushIn: boolean): Promise<void> {
  let needsFlush = needsFlushIn;
  const job = ctx.job;
  const status = job.status!;
  const uncounted = status.uncountedTerminatedPods!;
  const indexed = isIndexedJob(job);
  const completions = completionsOf(job);
  const now = p.clock.now();
  const podsToRemoveFinalizer: PodObject[] = [];
  const newSucceededIndexes: number[] = [];
  // Indexed: visit pods by index so completed indexes are added in order.
  if (indexed) ctx.pods.sort(byCompletionIndex);
  const uidsWithFinalizer = new Set<string>();
  for (const pod of ctx.pods) {
    const uid = pod.metadata.uid ?? "";
    if (hasJobTrackingFinalizer(pod) && !ctx.expectedRmFinalizers.has(uid)) uidsWithFinalizer.add(uid);
  }
  if (cleanUncountedPodsWithoutFinalizers(status, uidsWithFinalizer)) needsFlush = true;

  let reachedMaxUncounted = false;
  for (const pod of ctx.pods) {
    const uid = pod.metadata.uid ?? "";
    // Counted in an earlier sync.
    if (!hasJobTrackingFinalizer(pod) || ctx.expectedRmFinalizers.has(uid)) continue;
    const considerFailed = isPodFailed(pod, job);
    if (!canRemoveFinalizer(ctx, pod, considerFailed)) continue;
    podsToRemoveFinalizer.push(pod);
    if (pod.status?.phase === "Succeeded" && !ctx.uncounted.failed.has(uid)) {
      if (indexed) {
        // The index is enough to avoid counting a succeeded pod twice.
        const ix = completionIndex(pod);
        if (ix !== UNKNOWN_INDEX && ix < completions && !ctx.prevSucceededIndexes.has(ix)) {
          newSucceededIndexes.push(ix);
          needsFlush = true;
        }
      } else if (!ctx.uncounted.succeeded.has(uid)) {
        needsFlush = true;
        (uncounted.succeeded ??= []).push(uid);
      }
    } else if (considerFailed || (ctx.finishedCondition && !isSuccessCriteriaMet(ctx.finishedCondition))) {
      // A Job that is failing counts every pod it stops as failed.
      const ix = completionIndex(pod);
      if (!ctx.uncounted.failed.has(uid) && (!indexed || (ix !== UNKNOWN_INDEX && ix < completions))) {
        const policy = job.spec?.podFailurePolicy;
        if (!policy || matchPodFailurePolicy(policy, pod).countFailed) {
          needsFlush = true;
          (uncounted.failed ??= []).push(uid);
        }
      }
    }
    if (newSucceededIndexes.length + (uncounted.succeeded?.length ?? 0) + (uncounted.failed?.length ?? 0) >= p.options.maxUncountedPods) {
      // Keeps status small and one big Job from starving the others; the writes requeue the Job.
      reachedMaxUncounted = true;
      break;
    }
  }

  if (indexed) {
    ctx.succeededIndexes = ctx.succeededIndexes.withOrderedIndexes(newSucceededIndexes);
    const completed = ctx.succeededIndexes.toString();
    if (completed !== (status.completedIndexes ?? "")) needsFlush = true;
    status.succeeded = ctx.succeededIndexes.total();
    status.completedIndexes = completed;
    const failedText = ctx.failedIndexes?.toString();
    if (status.failedIndexes !== failedText) {
      status.failedIndexes = failedText;
      needsFlush = true;
    }
  }
  if (ctx.finishedCondition?.type === "FailureTarget") {
    // Written now, before finalizers go; Failed follows once the pods are gone.
    (status.conditions ??= []).push(ctx.finishedCondition);
    needsFlush = true;
    ctx.finishedCondition = failedFromFailureTarget(ctx.finishedCondition, now);
  }
  if (isSuccessCriteriaMet(ctx.finishedCondition)) {
    if (!hasSuccessCriteriaMet(job)) {
      (status.conditions ??= []).push(ctx.finishedCondition!);
      needsFlush = true;
    }
    ctx.finishedCondition = newCondition("Complete", "True", ctx.finishedCondition!.reason ?? "", ctx.finishedCondition!.message ?? "", now);
  }

  needsFlush = await flushUncountedAndRemoveFinalizers(p, ctx, podsToRemoveFinalizer, uidsWithFinalizer, needsFlush);
  const finished = !reachedMaxUncounted && enactJobFinished(p, ctx);
  if (finished) needsFlush = true;
  if (needsFlush) {
    try {
      ctx.job = await updateJobStatus(p, ctx.job);
    } catch (e) {
      throw wrap("removing uncounted pods from status", e);
    }
    if (finished) recordJobFinished(p, ctx.job, ctx.finishedCondition!);
  }
}

/**
 * Whether the pod's finalizer may go: the Job is being deleted or is finishing, the pod
 * succeeded, or it failed — unless backoffLimitPerIndex keeps it until its replacement exists.
 */
function canRemoveFinalizer(ctx: SyncJobCtx, pod: PodObject, considerFailed: boolean): boolean {
  if (ctx.job.metadata.deletionTimestamp || ctx.finishedCondition || pod.status?.phase === "Succeeded") return true;
  if (!considerFailed) return false;
  if (hasBackoffLimitPerIndex(ctx.job)) {
    const ix = completionIndex(pod);
    if (ix !== UNKNOWN_INDEX && ctx.podsWithDelayedDeletionPerIndex.get(ix)?.metadata.uid === pod.metadata.uid) return false;
  }
  return true;
}

/** Step 1 (status write), step 2 (finalizer patches), and the counters of step 3 in memory. */
async function flushUncountedAndRemoveFinalizers(p: JobSyncParts, ctx: SyncJobCtx, pods: readonly PodObject[], uidsWithFinalizer: Set<string>, needsFlushIn: boolean): Promise<boolean> {
  let needsFlush = needsFlushIn;
  if (needsFlush) {
    try {
      ctx.job = await updateJobStatus(p, ctx.job);
    } catch (e) {
      throw wrap("adding uncounted pods to status", e);
    }
    p.backoffs.update(ctx.newBackoffRecord);
    needsFlush = false;
  }
  const key = objectKey(ctx.job);
  let rmError: unknown;
  if (pods.length > 0) {
    const r = await removeTrackingFinalizers(p, key, pods);
    pods.forEach((pod, i) => {
      if (r.removed[i]) uidsWithFinalizer.delete(pod.metadata.uid ?? "");
    });
    rmError = r.error;
  }
  if (cleanUncountedPodsWithoutFinalizers(ctx.job.status!, uidsWithFinalizer)) needsFlush = true;
  if (rmError !== undefined) {
    // Some removals failed: record the progress that was made, then fail the sync.
    if (needsFlush) {
      try {
        await updateJobStatus(p, ctx.job);
      } catch (e) {
        throw wrap("removing uncounted pods from status", e);
      }
    }
    throw rmError;
  }
  return needsFlush;
}

/** Moves uids whose finalizer is gone from the uncounted lists to the counters. */
function cleanUncountedPodsWithoutFinalizers(status: JobStatus, uidsWithFinalizer: ReadonlySet<string>): boolean {
  const u = (status.uncountedTerminatedPods ??= {});
  let updated = false;
  const keep = (list: string[] | undefined) => (list ?? []).filter((uid) => uidsWithFinalizer.has(uid));
  const succeeded = keep(u.succeeded);
  if (succeeded.length !== (u.succeeded?.length ?? 0)) {
    updated = true;
    status.succeeded = (status.succeeded ?? 0) + (u.succeeded!.length - succeeded.length);
    u.succeeded = succeeded;
  }
  const failed = keep(u.failed);
  if (failed.length !== (u.failed?.length ?? 0)) {
    updated = true;
    status.failed = (status.failed ?? 0) + (u.failed!.length - failed.length);
    u.failed = failed;
  }
  return updated;
}

/** Patches the finalizer off each pod; a pod already gone counts as done. */
async function removeTrackingFinalizers(p: JobSyncParts, jobKey: string, pods: readonly PodObject[]): Promise<{ removed: boolean[]; error?: unknown }> {
  p.finalizerExpectations.expectRemoved(
    jobKey,
    pods.map((pod) => pod.metadata.uid ?? ""),
  );
  const removed = pods.map(() => false);
  let error: unknown;
  await Promise.all(
    pods.map(async (pod, i) => {
      const patch = removeTrackingFinalizerPatch(pod);
      if (patch === undefined) return;
      try {
        await p.client.patch(Resources.pods, pod.metadata.namespace, pod.metadata.name!, "strategic", patch);
      } catch (e) {
        // No update will show this removal: stop waiting for it.
        p.finalizerExpectations.removalObserved(jobKey, pod.metadata.uid ?? "");
        if (!isNotFound(e)) {
          error ??= wrap("removing tracking finalizer", e);
          return;
        }
      }
      removed[i] = true;
    }),
  );
  return { removed, error };
}

/** Sets Complete or Failed once every pod is counted and none is terminating. */
function enactJobFinished(p: JobSyncParts, ctx: SyncJobCtx): boolean {
  const cond = ctx.finishedCondition;
  if (!cond) return false;
  const job = ctx.job;
  const u = job.status?.uncountedTerminatedPods;
  const uncountedCount = (u?.succeeded?.length ?? 0) + (u?.failed?.length ?? 0);
  if (uncountedCount > 0) {
    p.logger.debug({ job: objectKey(job), condition: cond.type, count: uncountedCount }, "delaying marking the job as finished: uncounted pods");
    return false;
  }
  if (ctx.terminating > 0) {
    p.logger.debug({ job: objectKey(job), condition: cond.type, count: ctx.terminating }, "delaying marking the job as finished: terminating pods");
    return false;
  }
  ensureConditionStatus(job, cond.type, cond.status as "True", cond.reason ?? "", cond.message ?? "", p.clock.now());
  if (cond.type === "Complete") job.status!.completionTime = cond.lastTransitionTime;
  return true;
}

function recordJobFinished(p: JobSyncParts, job: JobObject, cond: JobCondition): void {
  if (cond.type === "Complete") {
    const completions = job.spec?.completions;
    if (completions !== undefined && completions !== null && (job.status?.succeeded ?? 0) > completions) {
      p.recorder.event(job, "Warning", "TooManySucceededPods", "Too many succeeded pods running after completion count reached");
    }
    p.recorder.event(job, "Normal", "Completed", "Job completed");
  } else {
    p.recorder.event(job, "Warning", cond.reason ?? "", cond.message ?? "");
  }
}

/**
 * Writes the Job's status as Go's JSON would carry it (zero counters and empty lists omitted;
 * ready, terminating and uncountedTerminatedPods kept) and returns the stored Job.
 */
export async function updateJobStatus(p: JobSyncParts, job: JobObject): Promise<JobObject> {
  const out = structuredClone(job);
  out.status = wireStatus(job.status ?? {});
  const stored = await p.client.updateStatus<JobObject>(Resources.jobs, out);
  const status = (stored.status ??= {});
  status.uncountedTerminatedPods ??= {};
  return stored;
}

function wireStatus(s: JobStatus): JobStatus {
  const out: JobStatus = { ...s };
  for (const k of ["active", "succeeded", "failed"] as const) if (!out[k]) delete out[k];
  if (!out.completedIndexes) delete out.completedIndexes;
  if (out.failedIndexes === undefined) delete out.failedIndexes;
  if (out.conditions?.length === 0) delete out.conditions;
  const u = s.uncountedTerminatedPods ?? {};
  out.uncountedTerminatedPods = { ...(u.succeeded?.length ? { succeeded: [...u.succeeded] } : {}), ...(u.failed?.length ? { failed: [...u.failed] } : {}) };
  return out;
}

function wrap(what: string, e: unknown): Error {
  return new Error(`${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}
