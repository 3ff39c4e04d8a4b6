/**
 * Pure decisions over a Job's pods (upstream's job_controller.go and indexed_job_utils.go
 * helpers): which pods failed or succeeded since they were last counted, which indexes are
 * done, which active pods to remove first, and which indexes to start next.
 */
import type { Pod } from "kubernetes-types/core/v1.js";
import type { PodObject } from "../../controller/pod-control.js";
import { isPodReady, isPodTerminal } from "../../controller/pod-util.js";
import { compareActivePods } from "../../controller/active-pods.js";
import { finishedTime } from "./backoff.js";
import { INDEX_IGNORED_FAILURE_COUNT_ANNOTATION, UNKNOWN_INDEX, ascending, byCompletionIndex, completionIndex, indexAbsoluteFailureCount, indexFailureCount, indexesOf, int32Annotation, isIndexedJob, OrderedIntervals } from "./indexed.js";
import { matchPodFailurePolicy } from "./pod-failure-policy.js";
import type { SyncJobCtx } from "./sync-context.js";
import { hasJobTrackingFinalizer } from "./tracking.js";
import type { JobObject } from "./util.js";

export function completionsOf(job: JobObject): number {
  return job.spec?.completions ?? 0;
}

/**
 * Replacement pods wait for failed ones only (podReplacementPolicy Failed, implied by a pod
 * failure policy); otherwise a terminating pod is replaced at once.
 */
export function onlyReplaceFailedPods(job: JobObject): boolean {
  return job.spec?.podReplacementPolicy === "Failed" || job.spec?.podFailurePolicy !== undefined;
}

/** Failed, or (unless only failed pods are replaced) deleted before it succeeded. */
export function isPodFailed(pod: Pod, job: JobObject): boolean {
  if (pod.status?.phase === "Failed") return true;
  if (onlyReplaceFailedPods(job)) return false;
  // A deleted pod counts as failed: an orphaned pod may never reach the Failed phase.
  return !!pod.metadata?.deletionTimestamp && pod.status?.phase !== "Succeeded";
}

/** Not terminal but being deleted (upstream's controller.IsPodTerminating). */
export function isPodTerminating(pod: Pod): boolean {
  return !isPodTerminal(pod) && !!pod.metadata?.deletionTimestamp;
}

export function countReady(pods: readonly Pod[]): number {
  return pods.filter(isPodReady).length;
}

/**
 * Pods not yet counted: still carrying the tracking finalizer, not in `uncounted`, not
 * awaiting a finalizer removal, with a valid index for Indexed Jobs; then `filter`.
 */
export function validPodsWithFilter(ctx: SyncJobCtx, uncounted: ReadonlySet<string> | undefined, filter: (p: PodObject) => boolean): PodObject[] {
  const indexed = isIndexedJob(ctx.job);
  const completions = completionsOf(ctx.job);
  return ctx.pods.filter((p) => {
    const uid = p.metadata.uid ?? "";
    if (!hasJobTrackingFinalizer(p) || uncounted?.has(uid) || ctx.expectedRmFinalizers.has(uid)) return false;
    if (indexed) {
      const ix = completionIndex(p);
      if (ix === UNKNOWN_INDEX || ix >= completions) return false;
    }
    return filter(p);
  });
}

/** Pods that succeeded and failed since the last count. */
export function newFinishedPods(ctx: SyncJobCtx): { succeeded: PodObject[]; failed: PodObject[] } {
  return {
    succeeded: validPodsWithFilter(ctx, ctx.uncounted.succeeded, (p) => p.status?.phase === "Succeeded"),
    failed: validPodsWithFilter(ctx, ctx.uncounted.failed, (p) => isPodFailed(p, ctx.job)),
  };
}

/** Failed pods that count against backoffLimit (a pod failure policy may ignore some). */
export function nonIgnoredFailedCount(job: JobObject, failed: readonly Pod[]): number {
  const policy = job.spec?.podFailurePolicy;
  if (!policy) return failed.length;
  return failed.filter((p) => matchPodFailurePolicy(policy, p).countFailed).length;
}

/** The FailJob message of the first failed pod a FailJob rule matches. */
export function failJobMessage(job: JobObject, pods: readonly Pod[]): string | undefined {
  const policy = job.spec?.podFailurePolicy;
  if (!policy) return undefined;
  for (const p of pods) {
    if (!isPodFailed(p, job)) continue;
    const m = matchPodFailurePolicy(policy, p).failJobMessage;
    if (m !== undefined) return m;
  }
  return undefined;
}

/** restartPolicy OnFailure: the containers' restarts of running pods reached backoffLimit. */
export function pastBackoffLimitOnFailure(job: JobObject, pods: readonly Pod[]): boolean {
  if (job.spec?.template.spec?.restartPolicy !== "OnFailure") return false;
  let restarts = 0;
  for (const p of pods) {
    if (p.status?.phase !== "Running" && p.status?.phase !== "Pending") continue;
    for (const s of [...(p.status.initContainerStatuses ?? []), ...(p.status.containerStatuses ?? [])]) restarts += s.restartCount ?? 0;
  }
  const limit = job.spec.backoffLimit ?? 6;
  return limit === 0 ? restarts > 0 : restarts >= limit;
}

/** status.completedIndexes before this sync, and with the indexes that succeeded since. */
export function succeededIndexes(job: JobObject, pods: readonly Pod[]): { prev: OrderedIntervals; now: OrderedIntervals } {
  const completions = completionsOf(job);
  const prev = OrderedIntervals.parse(job.status?.completedIndexes, completions);
  const fresh = new Set<number>();
  for (const p of pods) {
    const ix = completionIndex(p);
    if (p.status?.phase === "Succeeded" && ix !== UNKNOWN_INDEX && ix < completions && hasJobTrackingFinalizer(p)) fresh.add(ix);
  }
  return { prev, now: prev.withOrderedIndexes(ascending(fresh)) };
}

/** status.failedIndexes plus indexes whose pods used up backoffLimitPerIndex (or hit FailIndex). */
export function failedIndexes(job: JobObject, pods: readonly Pod[]): OrderedIntervals {
  const completions = completionsOf(job);
  const prev = OrderedIntervals.parse(job.status?.failedIndexes, completions);
  const fresh = new Set<number>();
  for (const p of pods) {
    const ix = completionIndex(p);
    if (ix !== UNKNOWN_INDEX && ix < completions && hasJobTrackingFinalizer(p) && isIndexFailed(job, p)) fresh.add(ix);
  }
  return prev.withOrderedIndexes(ascending(fresh));
}

function isIndexFailed(job: JobObject, pod: Pod): boolean {
  let counted = false;
  if (isPodFailed(pod, job)) {
    const policy = job.spec?.podFailurePolicy;
    if (policy) {
      const m = matchPodFailurePolicy(policy, pod);
      if (m.action === "FailIndex") return true;
      counted = m.countFailed;
    } else counted = true;
  }
  return counted && indexFailureCount(pod) >= (job.spec?.backoffLimitPerIndex ?? 0);
}

/**
 * backoffLimitPerIndex: per index with no active, succeeded or failed state, the latest failed
 * pod, kept (finalizer and all) until its replacement carries the failure count forward.
 */
export function podsWithDelayedDeletionPerIndex(ctx: SyncJobCtx): Map<number, PodObject> {
  const active = indexesOf(ctx.activePods);
  const completions = completionsOf(ctx.job);
  const out = new Map<number, PodObject>();
  validPodsWithFilter(ctx, undefined, (p) => {
    if (!isPodFailed(p, ctx.job)) return false;
    const ix = completionIndex(p);
    if (ix === UNKNOWN_INDEX || ix >= completions) return false;
    if (ctx.succeededIndexes.has(ix) || ctx.failedIndexes?.has(ix) || active.has(ix)) return false;
    const last = out.get(ix);
    if (!last || (indexAbsoluteFailureCount(last) <= indexAbsoluteFailureCount(p) && finishedTime(p) >= finishedTime(last))) out.set(ix, p);
    return false;
  });
  return out;
}

/**
 * The failure counts a replacement for `replaced` starts with: its predecessor's, plus one
 * failure (or one ignored failure when the pod failure policy ignored it).
 */
export function newIndexFailureCounts(job: JobObject, replaced: Pod | undefined): { failures: number; ignored: number } {
  if (!replaced) return { failures: 0, ignored: 0 };
  let failures = indexFailureCount(replaced);
  let ignored = int32Annotation(replaced, INDEX_IGNORED_FAILURE_COUNT_ANNOTATION);
  const policy = job.spec?.podFailurePolicy;
  if (policy && !matchPodFailurePolicy(policy, replaced).countFailed) ignored++;
  else failures++;
  return { failures, ignored };
}

/**
 * `count` indexes below `completions` that no active pod, succeeded or failed index (and, when
 * only failed pods are replaced, no terminating pod) covers.
 */
export function firstPendingIndexes(ctx: SyncJobCtx, count: number, completions: number): number[] {
  if (count === 0) return [];
  let nonPending = ctx.succeededIndexes.withOrderedIndexes(ascending(indexesOf(ctx.activePods)));
  if (onlyReplaceFailedPods(ctx.job)) nonPending = nonPending.withOrderedIndexes(ascending(indexesOf(ctx.pods.filter(isPodTerminating))));
  if (ctx.failedIndexes) nonPending = nonPending.merge(ctx.failedIndexes);
  const result: number[] = [];
  let candidate = 0;
  for (const iv of nonPending.intervals) {
    for (; candidate < completions && result.length < count && candidate < iv.first; candidate++) result.push(candidate);
    if (candidate < iv.last + 1) candidate = iv.last + 1;
  }
  for (; candidate < completions && result.length < count; candidate++) result.push(candidate);
  return result;
}

/**
 * Active pods to remove: for Indexed Jobs every pod without a valid index and all but one pod
 * per repeated index; then, to reach `rmAtLeast`, the cheapest by controller.ActivePods
 * (not ready before ready, unscheduled before scheduled, pending before running).
 */
export function activePodsForRemoval(job: JobObject, pods: readonly PodObject[], rmAtLeast: number): PodObject[] {
  let rm: PodObject[] = [];
  let left: PodObject[];
  if (isIndexedJob(job)) ({ rm, left } = duplicatedIndexPodsForRemoval(pods, completionsOf(job)));
  else left = [...pods];
  if (rm.length < rmAtLeast) {
    left.sort(compareActivePods);
    rm = rm.concat(left.slice(0, rmAtLeast - rm.length));
  }
  return rm;
}

function duplicatedIndexPodsForRemoval(pods: readonly PodObject[], completions: number): { rm: PodObject[]; left: PodObject[] } {
  const rm: PodObject[] = [];
  const left: PodObject[] = [];
  const sorted = [...pods].sort(byCompletionIndex);
  const groups = new Map<number, PodObject[]>();
  for (const p of sorted) {
    const ix = completionIndex(p);
    if (ix === UNKNOWN_INDEX || ix >= completions) {
      rm.push(p);
      continue;
    }
    let g = groups.get(ix);
    if (!g) groups.set(ix, (g = []));
    g.push(p);
  }
  for (const g of groups.values()) {
    if (g.length === 1) {
      left.push(g[0]!);
      continue;
    }
    // Keep the pod ActivePods ranks last (the most valuable), remove the rest.
    g.sort(compareActivePods);
    rm.push(...g.slice(0, -1));
    left.push(g[g.length - 1]!);
  }
  return { rm, left };
}

