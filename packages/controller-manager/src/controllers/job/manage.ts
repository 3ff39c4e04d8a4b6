/**
 * Bringing a Job's active pods to what it wants (upstream's manageJob, deleteJobPods,
 * deleteActivePods): delete surplus or suspended pods, else create the missing ones in slow-start
 * batches — after the pod-failure backoff — with the tracking finalizer and, for Indexed Jobs,
 * their completion index.
 */
import { Resources, isNotFound, objectKey } from "@kubemu/common";
import type { PodTemplateSpec } from "kubernetes-types/core/v1.js";
import { PodControl, isNamespaceTerminating, podFromTemplate, type PodObject } from "../../controller/pod-control.js";
import { isPodReady, slowStartBatch } from "../../controller/pod-util.js";
import { remainingBackoff, remainingBackoffPerIndex } from "./backoff.js";
import {
  INDEX_FAILURE_COUNT_ANNOTATION,
  INDEX_IGNORED_FAILURE_COUNT_ANNOTATION,
  UNKNOWN_INDEX,
  addCompletionIndexEnv,
  hasBackoffLimitPerIndex,
  isIndexedJob,
  podGenerateNameWithIndex,
  stampCompletionIndex,
} from "./indexed.js";
import type { JobSyncParts } from "./parts.js";
import { activePodsForRemoval, firstPendingIndexes, newIndexFailureCounts, onlyReplaceFailedPods } from "./pods.js";
import type { SyncJobCtx } from "./sync-context.js";
import { JOB_TRACKING_FINALIZER, removeTrackingFinalizerPatch } from "./tracking.js";
import type { JobObject } from "./util.js";

/** Upstream's controller.SlowStartInitialBatchSize. */
const SLOW_START_INITIAL_BATCH_SIZE = 1;

export interface Removal {
  deleted: number;
  deletedReady: number;
  error?: unknown;
}

export function isSuspended(job: JobObject): boolean {
  return job.spec?.suspend === true;
}

/** Enqueues the Job after `ms`, never sooner than the batching period. */
export function enqueueWithDelay(p: JobSyncParts, job: JobObject, ms: number): void {
  p.enqueueAfter(objectKey(job), Math.max(ms, p.options.syncBatchMs));
}

/**
 * Creates or deletes pods; returns the number of active pods after it. Does not modify
 * ctx.activePods; adjusts ctx.terminating and ctx.ready for what it deleted.
 */
export async function manageJob(p: JobSyncParts, job: JobObject, ctx: SyncJobCtx): Promise<{ active: number; error?: unknown }> {
  let active = ctx.activePods.length;
  const key = objectKey(job);
  const parallelism = job.spec?.parallelism ?? 1;
  const completions = job.spec?.completions;

  if (isSuspended(job)) {
    const toDelete = activePodsForRemoval(job, ctx.activePods, active);
    p.expectations.expectDeletions(key, toDelete.length);
    const r = await deleteJobPods(p, job, key, toDelete);
    ctx.terminating += r.deleted;
    ctx.ready -= r.deletedReady;
    return { active: active - r.deleted, error: r.error };
  }

  let wantActive: number;
  if (completions === undefined || completions === null) {
    // Without completions the Job is done once any pod succeeded: leave running what runs.
    wantActive = ctx.succeeded > 0 ? active : parallelism;
  } else {
    wantActive = Math.max(0, Math.min(completions - ctx.succeeded, parallelism));
  }

  let toDelete = activePodsForRemoval(job, ctx.activePods, Math.max(0, active - wantActive));
  if (toDelete.length > p.options.maxPodCreateDeletePerSync) toDelete = toDelete.slice(0, p.options.maxPodCreateDeletePerSync);
  if (toDelete.length > 0) {
    p.expectations.expectDeletions(key, toDelete.length);
    p.logger.debug({ job: key, deleted: toDelete.length, target: wantActive }, "too many pods running for job");
    const r = await deleteJobPods(p, job, key, toDelete);
    ctx.terminating += r.deleted;
    ctx.ready -= r.deletedReady;
    // Deleting and creating in one sync is possible (repeated indexes); deletion goes first.
    return { active: active - r.deleted, error: r.error };
  }

  const terminating = onlyReplaceFailedPods(job) ? ctx.terminating : 0;
  let diff = wantActive - terminating - active;
  if (diff <= 0) return { active };

  const now = p.clock.now();
  if (!hasBackoffLimitPerIndex(job)) {
    const remaining = remainingBackoff(now, p.options.podFailureBackoffMs, p.options.podFailureBackoffMaxMs, ctx.newBackoffRecord.failuresAfterLastSuccess, ctx.newBackoffRecord.lastFailureTime);
    if (remaining > 0) {
      enqueueWithDelay(p, job, remaining);
      // As upstream: while backing off the sync reports 0 active (status.active follows).
      return { active: 0 };
    }
  }
  diff = Math.min(diff, p.options.maxPodCreateDeletePerSync);

  let indexesToAdd: number[] = [];
  if (isIndexedJob(job)) {
    indexesToAdd = firstPendingIndexes(ctx, diff, completions ?? 0);
    if (hasBackoffLimitPerIndex(job)) {
      const r = indexesReadyToCreate(p, now, indexesToAdd, ctx.podsWithDelayedDeletionPerIndex);
      if (r.remaining > 0) {
        enqueueWithDelay(p, job, r.remaining);
        return { active: 0 };
      }
      indexesToAdd = r.indexes;
    }
    diff = indexesToAdd.length;
  }

  p.expectations.expectCreations(key, diff);
  p.logger.debug({ job: key, need: wantActive, creating: diff }, "too few pods running");
  active += diff;

  const template = structuredClone(job.spec!.template) as PodTemplateSpec;
  if (isIndexedJob(job)) addCompletionIndexEnv(template);
  const meta = (template.metadata ??= {});
  if (!meta.finalizers?.includes(JOB_TRACKING_FINALIZER)) meta.finalizers = [...(meta.finalizers ?? []), JOB_TRACKING_FINALIZER];

  const podControl = new PodControl(p.client, p.recorder);
  let attempted = 0;
  const createOne = async (): Promise<void> => {
    attempted++;
    const index = indexesToAdd.length > 0 ? indexesToAdd.shift()! : UNKNOWN_INDEX;
    let t = template;
    let generateName: string | undefined;
    if (index !== UNKNOWN_INDEX) {
      t = structuredClone(template);
      stampCompletionIndex(t, job.metadata.name!, index);
      generateName = podGenerateNameWithIndex(job.metadata.name!, index);
      if (hasBackoffLimitPerIndex(job)) stampIndexFailureCounts(t, job, ctx.podsWithDelayedDeletionPerIndex.get(index));
    }
    const pod = podFromTemplate(t, job, Resources.jobs);
    if (generateName) pod.metadata.generateName = generateName;
    try {
      await podControl.create(pod, job);
    } catch (e) {
      // A terminating namespace fails every create; upstream neither counts nor retries it.
      if (isNamespaceTerminating(e)) return;
      p.expectations.creationObserved(key);
      active--;
      throw e;
    }
  };
  const result = await slowStartBatch(diff, SLOW_START_INITIAL_BATCH_SIZE, createOne);
  const skipped = diff - attempted;
  if (result.error !== undefined && skipped > 0) {
    // Pods never attempted are not expected; the next sync starts the slow start again.
    p.logger.debug({ job: key, skipped }, "slow-start failure: skipping the remaining pod creations");
    active -= skipped;
    p.expectations.lower(key, skipped, 0);
  }
  return { active, error: result.error };
}

/** backoffLimitPerIndex: the indexes whose per-index backoff is over, or the shortest wait. */
function indexesReadyToCreate(p: JobSyncParts, now: number, indexes: readonly number[], delayed: ReadonlyMap<number, PodObject>): { indexes: number[]; remaining: number } {
  const ready: number[] = [];
  let minRemaining: number | undefined;
  for (const ix of indexes) {
    const r = remainingBackoffPerIndex(now, p.options.podFailureBackoffMs, p.options.podFailureBackoffMaxMs, delayed.get(ix));
    if (r === 0) ready.push(ix);
    else if (minRemaining === undefined || r < minRemaining) minRemaining = r;
  }
  return ready.length > 0 ? { indexes: ready, remaining: 0 } : { indexes: [], remaining: minRemaining ?? 0 };
}

function stampIndexFailureCounts(template: PodTemplateSpec, job: JobObject, replaced: PodObject | undefined): void {
  const { failures, ignored } = newIndexFailureCounts(job, replaced);
  const annotations = ((template.metadata ??= {}).annotations ??= {});
  annotations[INDEX_FAILURE_COUNT_ANNOTATION] = String(failures);
  if (ignored > 0) annotations[INDEX_IGNORED_FAILURE_COUNT_ANNOTATION] = String(ignored);
}

/**
 * Deletes pods the Job no longer wants, dropping their tracking finalizer first (they are not
 * counted as failed). A pod already gone counts as deleted.
 */
export async function deleteJobPods(p: JobSyncParts, job: JobObject, key: string, pods: readonly PodObject[]): Promise<Removal> {
  const podControl = new PodControl(p.client, p.recorder);
  let deleted = pods.length;
  let deletedReady = 0;
  let error: unknown;
  const failDelete = (e: unknown) => {
    // The informer will not show this deletion: stop waiting for it.
    p.expectations.deletionObserved(key);
    if (isNotFound(e)) return;
    deleted--;
    error ??= e;
  };
  await Promise.all(
    pods.map(async (pod) => {
      const ns = pod.metadata.namespace!;
      const name = pod.metadata.name!;
      const patch = removeTrackingFinalizerPatch(pod);
      if (patch !== undefined) {
        try {
          await p.client.patch(Resources.pods, ns, name, "strategic", patch);
        } catch (e) {
          failDelete(isNotFound(e) ? e : new Error(`removing completion finalizer: ${e instanceof Error ? e.message : String(e)}`, { cause: e }));
          return;
        }
      }
      try {
        if (!(await podControl.delete(ns, name, job))) p.expectations.deletionObserved(key);
      } catch (e) {
        failDelete(e);
      }
      if (isPodReady(pod)) deletedReady++;
    }),
  );
  return { deleted, deletedReady, error };
}

/**
 * Deletes the active pods of a Job that is finishing, keeping their finalizers: the status
 * tracking counts them (as failed) and then drops the finalizers.
 */
export async function deleteActivePods(p: JobSyncParts, job: JobObject, pods: readonly PodObject[]): Promise<Removal> {
  const podControl = new PodControl(p.client, p.recorder);
  let deleted = pods.length;
  let deletedReady = 0;
  let error: unknown;
  await Promise.all(
    pods.map(async (pod) => {
      try {
        await podControl.delete(job.metadata.namespace!, pod.metadata.name!, job);
      } catch (e) {
        deleted--;
        error ??= e;
        p.logger.warn({ job: objectKey(job), pod: pod.metadata.name, err: e instanceof Error ? e.message : String(e) }, "deleting an active pod of a finishing job failed");
      }
      if (isPodReady(pod)) deletedReady++;
    }),
  );
  return { deleted, deletedReady, error };
}
