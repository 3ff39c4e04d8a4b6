/** What one syncJob pass knows about a Job and its pods (upstream's syncJobCtx). */
import type { JobCondition } from "kubernetes-types/batch/v1.js";
import type { PodObject } from "../../controller/pod-control.js";
import type { BackoffRecord } from "./backoff.js";
import type { OrderedIntervals } from "./indexed.js";
import type { JobObject } from "./util.js";

export interface SyncJobCtx {
  /** A copy of the cached Job; its status is what the sync writes. */
  job: JobObject;
  /** Every pod the Job controls (after claiming). */
  pods: PodObject[];
  activePods: PodObject[];
  /** The condition the Job is finishing with, once decided (interim or final). */
  finishedCondition: JobCondition | undefined;
  succeeded: number;
  failed: number;
  prevSucceededIndexes: OrderedIntervals;
  succeededIndexes: OrderedIntervals;
  /** Only with backoffLimitPerIndex. */
  failedIndexes: OrderedIntervals | undefined;
  newBackoffRecord: BackoffRecord;
  /** Pod uids whose finalizer removal is sent but not yet seen. */
  expectedRmFinalizers: Set<string>;
  /** status.uncountedTerminatedPods as sets. */
  uncounted: { succeeded: Set<string>; failed: Set<string> };
  /** backoffLimitPerIndex: the failed pod of each index whose removal waits for its replacement. */
  podsWithDelayedDeletionPerIndex: Map<number, PodObject>;
  terminating: number;
  ready: number;
}
