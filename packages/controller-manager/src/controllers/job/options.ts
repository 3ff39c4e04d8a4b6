/**
 * The Job controller's tunables, upstream's package variables (exported there for tests): the
 * pod-failure backoff is settable on the process with --job-pod-failure-backoff and
 * --job-pod-failure-backoff-max so e2e tests need not wait minutes; the rest only in tests.
 */
export interface JobControllerOptions {
  /** First delay before a failed pod is replaced (upstream's DefaultJobPodFailureBackOff, 10 s). */
  podFailureBackoffMs: number;
  /** Cap of that delay (MaxJobPodFailureBackOff, 10 min). */
  podFailureBackoffMaxMs: number;
  /** Pod events and status changes sync a Job after this delay, batching them (syncJobBatchPeriod, 1 s). */
  syncBatchMs: number;
  /** Most pods added to status.uncountedTerminatedPods per sync (MaxUncountedPods). */
  maxUncountedPods: number;
  /** Most pods created or deleted per sync (MaxPodCreateDeletePerSync). */
  maxPodCreateDeletePerSync: number;
}

export const DEFAULT_JOB_OPTIONS: Readonly<JobControllerOptions> = {
  podFailureBackoffMs: 10_000,
  podFailureBackoffMaxMs: 10 * 60_000,
  syncBatchMs: 1000,
  maxUncountedPods: 500,
  maxPodCreateDeletePerSync: 500,
};
