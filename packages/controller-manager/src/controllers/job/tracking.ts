/**
 * Pod tracking with the `batch.kubernetes.io/job-tracking` finalizer (upstream's
 * tracking_utils.go): every Job pod carries it until the controller has counted the pod in the
 * Job's status; the controller remembers which pods' finalizer removals it still waits to see,
 * so a sync that runs before the informer shows a removal does not count the pod twice.
 */
import type { Pod } from "kubernetes-types/core/v1.js";

export const JOB_TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking";

export function hasJobTrackingFinalizer(pod: Pod): boolean {
  return pod.metadata?.finalizers?.includes(JOB_TRACKING_FINALIZER) ?? false;
}

/** The strategic merge patch that drops the finalizer, or undefined when the pod has none. */
export function removeTrackingFinalizerPatch(pod: Pod): unknown {
  if (!hasJobTrackingFinalizer(pod)) return undefined;
  return { metadata: { [`$deleteFromPrimitiveList/finalizers`]: [JOB_TRACKING_FINALIZER] } };
}

/** Pod uids, per Job key, whose finalizer removal was sent but not yet observed. */
export class FinalizerExpectations {
  private readonly byJob = new Map<string, Set<string>>();

  expectRemoved(jobKey: string, uids: readonly string[]): void {
    let set = this.byJob.get(jobKey);
    if (!set) this.byJob.set(jobKey, (set = new Set()));
    for (const u of uids) set.add(u);
  }

  removalObserved(jobKey: string, uid: string): void {
    this.byJob.get(jobKey)?.delete(uid);
  }

  /** A copy of the uids still expected. */
  expected(jobKey: string): Set<string> {
    return new Set(this.byJob.get(jobKey) ?? []);
  }

  delete(jobKey: string): void {
    this.byJob.delete(jobKey);
  }
}
