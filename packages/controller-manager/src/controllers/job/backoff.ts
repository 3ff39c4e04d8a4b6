/**
 * The delay before a failed Job pod is replaced (upstream's backoff_utils.go): after n
 * consecutive failures since the last success the controller waits base·2^(n-1), capped, from
 * the last failure's finish time. The record lives in memory, per Job, as upstream's does.
 */
import type { Pod } from "kubernetes-types/core/v1.js";
import { podCondition } from "../../controller/pod-util.js";
import { indexAbsoluteFailureCount } from "./indexed.js";
import { timeMs } from "./util.js";

export interface BackoffRecord {
  key: string;
  failuresAfterLastSuccess: number;
  /** Milliseconds; undefined when nothing failed since the last success. */
  lastFailureTime: number | undefined;
}

export class BackoffStore {
  private readonly records = new Map<string, BackoffRecord>();

  update(record: BackoffRecord): void {
    this.records.set(record.key, { ...record });
  }

  remove(key: string): void {
    this.records.delete(key);
  }

  get(key: string): BackoffRecord | undefined {
    return this.records.get(key);
  }

  /** The record after this sync's newly finished pods (not stored until update()). */
  newRecord(key: string, newSucceeded: readonly Pod[], newFailed: readonly Pod[]): BackoffRecord {
    const old = this.records.get(key);
    const record: BackoffRecord = { key, failuresAfterLastSuccess: old?.failuresAfterLastSuccess ?? 0, lastFailureTime: old?.lastFailureTime };
    const succeeded = [...newSucceeded].sort(byFinishedTime);
    const failed = [...newFailed].sort(byFinishedTime);
    if (succeeded.length === 0) {
      if (failed.length === 0) return record;
      record.failuresAfterLastSuccess += failed.length;
      record.lastFailureTime = finishedTime(failed[failed.length - 1]!);
      return record;
    }
    record.failuresAfterLastSuccess = 0;
    record.lastFailureTime = undefined;
    const lastSuccess = finishedTime(succeeded[succeeded.length - 1]!);
    for (let i = failed.length - 1; i >= 0; i--) {
      const t = finishedTime(failed[i]!);
      if (t <= lastSuccess) break;
      record.lastFailureTime ??= t;
      record.failuresAfterLastSuccess++;
    }
    return record;
  }
}

function byFinishedTime(a: Pod, b: Pod): number {
  return finishedTime(a) - finishedTime(b);
}

/**
 * When a pod finished: the latest container finish time if every container terminated, else
 * the Ready=False transition, else deletionTimestamp minus its grace period, else creation.
 */
export function finishedTime(pod: Pod): number {
  return finishTimeFromContainers(pod) ?? finishTimeFromReadyFalse(pod) ?? finishTimeFromDeletion(pod) ?? timeMs(pod.metadata?.creationTimestamp) ?? 0;
}

function finishTimeFromContainers(pod: Pod): number | undefined {
  let latest: number | undefined;
  for (const s of pod.status?.containerStatuses ?? []) {
    const t = timeMs(s.state?.terminated?.finishedAt);
    if (t === undefined) return undefined;
    if (latest === undefined || latest < t) latest = t;
  }
  return latest;
}

function finishTimeFromReadyFalse(pod: Pod): number | undefined {
  const c = podCondition(pod, "Ready");
  return c?.status === "False" ? timeMs(c.lastTransitionTime) : undefined;
}

function finishTimeFromDeletion(pod: Pod): number | undefined {
  const t = timeMs(pod.metadata?.deletionTimestamp);
  return t === undefined ? undefined : t - (pod.metadata?.deletionGracePeriodSeconds ?? 0) * 1000;
}

/** Milliseconds left before the next pod may be created after `failures` failures, 0 if none. */
export function remainingBackoff(nowMs: number, baseMs: number, maxMs: number, failures: number, lastFailureTime: number | undefined): number {
  if (failures === 0 || lastFailureTime === undefined) return 0;
  let delay = baseMs;
  for (let i = 1; i < failures; i++) {
    delay *= 2;
    if (delay >= maxMs) {
      delay = maxMs;
      break;
    }
  }
  const elapsed = nowMs - lastFailureTime;
  return delay < elapsed ? 0 : delay - elapsed;
}

/** The delay for an index under backoffLimitPerIndex, from the last failed pod of that index. */
export function remainingBackoffPerIndex(nowMs: number, baseMs: number, maxMs: number, lastFailedPod: Pod | undefined): number {
  if (!lastFailedPod) return 0;
  const failures = indexAbsoluteFailureCount(lastFailedPod) + 1;
  return remainingBackoff(nowMs, baseMs, maxMs, failures, finishedTime(lastFailedPod));
}
