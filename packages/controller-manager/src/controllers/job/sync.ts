/**
 * The Job controller's reconcile (upstream's syncJob): claim the Job's pods, count what finished,
 * decide whether the Job is failing (backoffLimit, activeDeadlineSeconds, pod failure policy,
 * failed indexes) or succeeding (completions, success policy), manage its active pods, keep the
 * Suspended condition, and write status through the finalizer-tracking steps of track.ts.
 */
import { Resources, isNotFound, selectorFromObject, splitKey } from "@kubemu/common";
import { claimObjects, controllerOf } from "../../controller/controller-ref.js";
import type { PodObject } from "../../controller/pod-control.js";
import { isPodActive } from "../../controller/pod-util.js";
import { Messages, Reasons, ensureConditionStatus, failedFromFailureTarget, findCondition, hasSuccessCriteriaMet, newCondition, newFailureCondition, newSuccessCondition } from "./conditions.js";
import { hasBackoffLimitPerIndex, isIndexedJob, OrderedIntervals } from "./indexed.js";
import { deleteActivePods, isSuspended, manageJob } from "./manage.js";
import type { JobSyncParts } from "./parts.js";
import {
  completionsOf,
  countReady,
  failJobMessage,
  failedIndexes,
  isPodTerminating,
  newFinishedPods,
  nonIgnoredFailedCount,
  pastBackoffLimitOnFailure,
  podsWithDelayedDeletionPerIndex,
  succeededIndexes,
} from "./pods.js";
import { matchSuccessPolicy } from "./success-policy.js";
import type { SyncJobCtx } from "./sync-context.js";
import { trackJobStatusAndRemoveFinalizers } from "./track.js";
import { JOB_TRACKING_FINALIZER, hasJobTrackingFinalizer, removeTrackingFinalizerPatch } from "./tracking.js";
import { isJobFinished, managedByExternalController, rfc3339, timeMs, type JobObject } from "./util.js";

export class JobSync {
  constructor(private readonly p: JobSyncParts) {}

  /** Syncs the Job `namespace/name`; throws to be retried with backoff. */
  async syncJob(key: string): Promise<void> {
    const p = this.p;
    const { namespace, name } = splitKey(key);
    if (!namespace || !name) throw new Error(`invalid job key "${key}": either namespace or name is missing`);
    const shared = p.jobs.get(namespace, name);
    if (!shared) {
      p.logger.debug({ key }, "job has been deleted");
      p.expectations.delete(key);
      p.finalizerExpectations.delete(key);
      p.backoffs.remove(key);
      return;
    }
    const external = managedByExternalController(shared);
    if (external) {
      p.logger.debug({ key, controllerName: external }, "skipping the job: it is managed by an external controller");
      return;
    }
    const job = structuredClone(shared);
    // A finished Job is never reconsidered.
    if (isJobFinished(job)) {
      p.backoffs.remove(key);
      return;
    }
    const mode = job.spec?.completionMode;
    if (mode !== undefined && mode !== "NonIndexed" && mode !== "Indexed") {
      p.recorder.event(job, "Warning", "UnknownCompletionMode", "Skipped Job sync because completion mode is unknown");
      return;
    }
    const status = (job.status ??= {});
    status.uncountedTerminatedPods ??= {};

    // Read expectations before listing pods: a pod created after this point defers the sync
    // to the next event instead of being missed.
    const satisfied = p.expectations.satisfied(key);
    const pods = await this.podsForJob(job);
    const activePods = pods.filter(isPodActive);
    const now = p.clock.now();
    const ctx: SyncJobCtx = {
      job,
      pods,
      activePods,
      finishedCondition: undefined,
      succeeded: 0,
      failed: 0,
      prevSucceededIndexes: new OrderedIntervals(),
      succeededIndexes: new OrderedIntervals(),
      failedIndexes: undefined,
      newBackoffRecord: { key, failuresAfterLastSuccess: 0, lastFailureTime: undefined },
      expectedRmFinalizers: p.finalizerExpectations.expected(key),
      uncounted: { succeeded: new Set(status.uncountedTerminatedPods.succeeded ?? []), failed: new Set(status.uncountedTerminatedPods.failed ?? []) },
      podsWithDelayedDeletionPerIndex: new Map(),
      terminating: pods.filter(isPodTerminating).length,
      ready: countReady(activePods),
    };
    let active = activePods.length;
    const finished = newFinishedPods(ctx);
    ctx.succeeded = (status.succeeded ?? 0) + finished.succeeded.length + ctx.uncounted.succeeded.size;
    ctx.failed = (status.failed ?? 0) + nonIgnoredFailedCount(job, finished.failed) + ctx.uncounted.failed.size;

    // First start (not while suspended).
    if (!status.startTime && !isSuspended(job)) status.startTime = rfc3339(now);
    ctx.newBackoffRecord = p.backoffs.newRecord(key, finished.succeeded, finished.failed);

    ctx.finishedCondition = hasSuccessCriteriaMet(job);
    // With SuccessCriteriaMet already recorded, failure is no longer considered.
    if (!ctx.finishedCondition) {
      const target = findCondition(job, "FailureTarget");
      if (target?.status === "True") ctx.finishedCondition = failedFromFailureTarget(target, now);
      else {
        const msg = failJobMessage(job, pods);
        // The interim FailureTarget records the message before the finalizers (and so the pods) go.
        if (msg !== undefined) ctx.finishedCondition = newFailureCondition(Reasons.podFailurePolicy, msg, now);
      }
    }
    if (!ctx.finishedCondition) {
      const backoffLimit = job.spec?.backoffLimit ?? 6;
      if (ctx.failed > backoffLimit || pastBackoffLimitOnFailure(job, pods)) {
        ctx.finishedCondition = newFailureCondition(Reasons.backoffLimitExceeded, Messages.backoffLimitExceeded, now);
      } else if (this.pastActiveDeadline(job, now)) {
        ctx.finishedCondition = newFailureCondition(Reasons.deadlineExceeded, Messages.deadlineExceeded, now);
      } else if (job.spec?.activeDeadlineSeconds !== undefined && job.spec.activeDeadlineSeconds !== null && !isSuspended(job)) {
        const left = job.spec.activeDeadlineSeconds * 1000 - (now - (timeMs(status.startTime) ?? now));
        p.logger.debug({ key, nextSyncInMs: left }, "job has activeDeadlineSeconds: will sync it again");
        p.enqueueAfter(key, left);
      }
    }

    if (isIndexedJob(job)) {
      const completions = completionsOf(job);
      const indexes = succeededIndexes(job, pods);
      ctx.prevSucceededIndexes = indexes.prev;
      ctx.succeededIndexes = indexes.now;
      ctx.succeeded = indexes.now.total();
      if (hasBackoffLimitPerIndex(job)) {
        ctx.failedIndexes = failedIndexes(job, pods);
        if (!ctx.finishedCondition) {
          const maxFailed = job.spec?.maxFailedIndexes;
          if (maxFailed !== undefined && maxFailed !== null && ctx.failedIndexes.total() > maxFailed) {
            ctx.finishedCondition = newFailureCondition(Reasons.maxFailedIndexesExceeded, Messages.maxFailedIndexesExceeded, now);
          } else if (ctx.failedIndexes.total() > 0 && ctx.failedIndexes.total() + ctx.succeededIndexes.total() >= completions) {
            ctx.finishedCondition = newFailureCondition(Reasons.failedIndexes, Messages.failedIndexes, now);
          }
        }
        ctx.podsWithDelayedDeletionPerIndex = podsWithDelayedDeletionPerIndex(ctx);
      }
      if (!ctx.finishedCondition) {
        const msg = matchSuccessPolicy(job.spec?.successPolicy, completions, ctx.succeededIndexes);
        if (msg !== undefined) ctx.finishedCondition = newCondition("SuccessCriteriaMet", "True", Reasons.successPolicy, msg, now);
      }
    }

    let suspendCondChanged = false;
    let manageError: unknown;
    if (ctx.finishedCondition) {
      // Finishing: stop every active pod.
      const r = await deleteActivePods(p, job, ctx.activePods);
      // Not finished yet while deletes failed or pods may be missing from the cache.
      if (r.deleted !== active || !satisfied) ctx.finishedCondition = undefined;
      active -= r.deleted;
      ctx.terminating += r.deleted;
      ctx.ready -= r.deletedReady;
      manageError = r.error;
    } else {
      let manageCalled = false;
      if (satisfied && !job.metadata.deletionTimestamp) {
        const r = await manageJob(p, job, ctx);
        active = r.active;
        manageError = r.error;
        manageCalled = true;
      }
      const completions = job.spec?.completions;
      // Without completions, the Job succeeds once any pod succeeded and none is active.
      const complete = completions === undefined || completions === null ? ctx.succeeded > 0 && active === 0 : ctx.succeeded >= completions && active === 0;
      if (complete) ctx.finishedCondition = newSuccessCondition(now);
      else if (manageCalled) suspendCondChanged = this.updateSuspendedCondition(job, now);
    }

    const needsStatusUpdate = suspendCondChanged || active !== (status.active ?? 0) || ctx.ready !== status.ready || ctx.terminating !== status.terminating;
    status.active = active;
    status.ready = ctx.ready;
    status.terminating = ctx.terminating;
    try {
      await trackJobStatusAndRemoveFinalizers(p, ctx, needsStatusUpdate);
    } catch (e) {
      throw new Error(`tracking status: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    if (manageError !== undefined) throw manageError;
  }

  /** Suspended=True while suspended; False (JobResumed, startTime reset) once resumed. */
  private updateSuspendedCondition(job: JobObject, now: number): boolean {
    if (isSuspended(job)) {
      if (!ensureConditionStatus(job, "Suspended", "True", "JobSuspended", "Job suspended", now)) return false;
      this.p.recorder.event(job, "Normal", "Suspended", "Job suspended");
      return true;
    }
    if (!ensureConditionStatus(job, "Suspended", "False", "JobResumed", "Job resumed", now)) return false;
    this.p.recorder.event(job, "Normal", "Resumed", "Job resumed");
    // activeDeadlineSeconds counts continuous activity: a resumed Job starts its clock again.
    job.status!.startTime = rfc3339(now);
    return true;
  }

  private pastActiveDeadline(job: JobObject, now: number): boolean {
    const ads = job.spec?.activeDeadlineSeconds;
    const start = timeMs(job.status?.startTime);
    if (ads === undefined || ads === null || start === undefined || isSuspended(job)) return false;
    return now - start >= ads * 1000;
  }

  /**
   * The Job's pods after claiming (adopting matching orphans with the tracking finalizer,
   * releasing owned pods that stopped matching). Every pod of the namespace is considered, so
   * pods whose labels changed but that still name the Job as controller are found.
   */
  private async podsForJob(job: JobObject): Promise<PodObject[]> {
    const selector = job.spec?.selector ? selectorFromObject(job.spec.selector) : undefined;
    const all = this.p.pods.list({ namespace: job.metadata.namespace! });
    const claimed = await claimObjects<PodObject>(all, {
      client: this.p.client,
      owner: job,
      ownerResource: Resources.jobs,
      resource: Resources.pods,
      matches: (pod) => selector !== undefined && selector.matches(pod.metadata.labels),
      finalizers: [JOB_TRACKING_FINALIZER],
    });
    return claimed.map((pod) => {
      const adopted = !pod.metadata.ownerReferences?.some((r) => r.uid === job.metadata.uid);
      if (!adopted || hasJobTrackingFinalizer(pod)) return pod;
      const copy = structuredClone(pod);
      copy.metadata.finalizers = [...(copy.metadata.finalizers ?? []), JOB_TRACKING_FINALIZER];
      return copy;
    });
  }

  /**
   * Removes the tracking finalizer from a pod no unfinished batch/v1 Job controls any more (its
   * Job was deleted, finished, or let it go), so the pod can be deleted.
   */
  async syncOrphanPod(podKey: string): Promise<void> {
    const p = this.p;
    const { namespace, name } = splitKey(podKey);
    const pod = p.pods.get(namespace, name);
    if (!pod) return;
    const ref = controllerOf(pod);
    if (ref) {
      // Owned by something that is not a Job: not ours to touch.
      if (ref.kind !== "Job" || ref.apiVersion !== "batch/v1") return;
      const job = p.jobs.get(namespace, ref.name);
      const owner = job && job.metadata.uid === ref.uid ? job : undefined;
      if (owner && managedByExternalController(owner)) return;
      // Adopted again by a running Job: it keeps the finalizer.
      if (owner && !isJobFinished(owner)) return;
    }
    const patch = removeTrackingFinalizerPatch(pod);
    if (patch === undefined) return;
    try {
      await p.client.patch(Resources.pods, namespace, name, "strategic", patch);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

