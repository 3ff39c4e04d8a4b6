/**
 * The Job controller's wiring (upstream's job_controller.go handlers): pod events find the
 * pods' Job by controller reference (or, for orphans, by selector) and sync it after the
 * batching period; Job events sync at once (spec changes) or batched (status changes).
 * Expectations are lowered here as the informer shows the creates, deletes and finalizer
 * removals a sync made. Orphaned pods still carrying the tracking finalizer are queued as
 * `orphan-pod:<namespace>/<name>` keys so their finalizer is removed.
 */
import type { OwnerReference, WorkQueue } from "@kubemu/common";
import { DeletedFinalStateUnknown, objectKey, selectorFromObject } from "@kubemu/common";
import { controllerOf } from "../../controller/controller-ref.js";
import { ControllerExpectations } from "../../controller/expectations.js";
import type { PodObject } from "../../controller/pod-control.js";
import { BackoffStore } from "./backoff.js";
import type { JobSyncParts } from "./parts.js";
import { JobSync } from "./sync.js";
import { FinalizerExpectations, hasJobTrackingFinalizer } from "./tracking.js";
import { isJobFinished, timeMs, type JobObject } from "./util.js";

/** Queue keys of orphaned pods whose tracking finalizer must go (':' never occurs in a namespace). */
export const ORPHAN_POD_PREFIX = "orphan-pod:";

/** What the controller is built from: the sync's parts but the bookkeeping the controller owns and shares with its handlers. */
export type JobControllerParts = Omit<JobSyncParts, "expectations" | "finalizerExpectations" | "backoffs" | "enqueueAfter">;

type Queue = Pick<WorkQueue<string>, "add" | "addAfter">;

export class JobController {
  readonly expectations: ControllerExpectations;
  readonly finalizerExpectations = new FinalizerExpectations();
  readonly backoffs = new BackoffStore();
  readonly sync: JobSync;

  constructor(
    private readonly parts: JobControllerParts,
    private readonly queue: Queue,
  ) {
    this.expectations = new ControllerExpectations(parts.clock);
    this.sync = new JobSync({
      ...parts,
      expectations: this.expectations,
      finalizerExpectations: this.finalizerExpectations,
      backoffs: this.backoffs,
      enqueueAfter: (key, ms) => queue.addAfter(key, ms),
    });
  }

  reconcile(key: string): Promise<void> {
    return key.startsWith(ORPHAN_POD_PREFIX) ? this.sync.syncOrphanPod(key.slice(ORPHAN_POD_PREFIX.length)) : this.sync.syncJob(key);
  }

  podAdded(pod: PodObject): void {
    if (pod.metadata.deletionTimestamp) {
      // After a restart a pod may first appear already terminating: not a creation.
      this.podDeleted(pod, false);
      return;
    }
    const ref = controllerOf(pod);
    if (ref) {
      const job = this.resolveControllerRef(pod.metadata.namespace!, ref);
      if (!job) return;
      this.expectations.creationObserved(objectKey(job));
      this.enqueueBatched(job);
      return;
    }
    if (hasJobTrackingFinalizer(pod)) this.enqueueOrphanPod(pod);
    // An orphan: let every Job selecting it consider adopting it (no creation to observe).
    for (const job of this.podJobs(pod)) this.enqueueBatched(job);
  }

  podUpdated(old: PodObject, cur: PodObject): void {
    if (cur.metadata.resourceVersion === old.metadata.resourceVersion) return;
    if (cur.metadata.deletionTimestamp) {
      // A graceful delete: replace the pod now rather than when the kubelet removes it.
      this.podDeleted(cur, false);
      return;
    }
    // The finalizer may come and go during an ownership change; record the latest state.
    const finalizerRemoved = !hasJobTrackingFinalizer(cur);
    const curRef = controllerOf(cur);
    const oldRef = controllerOf(old);
    const refChanged = !sameRef(curRef, oldRef);
    if (refChanged && oldRef) {
      const job = this.resolveControllerRef(old.metadata.namespace!, oldRef);
      if (job) {
        if (finalizerRemoved) this.finalizerExpectations.removalObserved(objectKey(job), cur.metadata.uid ?? "");
        this.enqueueBatched(job);
      }
    }
    if (curRef) {
      const job = this.resolveControllerRef(cur.metadata.namespace!, curRef);
      if (!job) return;
      if (finalizerRemoved) this.finalizerExpectations.removalObserved(objectKey(job), cur.metadata.uid ?? "");
      this.enqueueBatched(job);
      return;
    }
    if (hasJobTrackingFinalizer(cur)) this.enqueueOrphanPod(cur);
    const labelsChanged = JSON.stringify(cur.metadata.labels ?? {}) !== JSON.stringify(old.metadata.labels ?? {});
    if (labelsChanged || refChanged) for (const job of this.podJobs(cur)) this.enqueueBatched(job);
  }

  /** `final`: the pod is gone from the API (not just marked for deletion). */
  podDeleted(obj: PodObject | DeletedFinalStateUnknown<PodObject>, final: boolean): void {
    const pod = obj instanceof DeletedFinalStateUnknown ? obj.obj : obj;
    const ref = controllerOf(pod);
    const hasFinalizer = hasJobTrackingFinalizer(pod);
    if (!ref) {
      // The garbage collector may have dropped the reference of a pod that still carries ours.
      if (hasFinalizer) this.enqueueOrphanPod(pod);
      return;
    }
    const job = this.resolveControllerRef(pod.metadata.namespace!, ref);
    if (!job || isJobFinished(job)) {
      // syncJob will not remove this finalizer.
      if (hasFinalizer) this.enqueueOrphanPod(pod);
      return;
    }
    const key = objectKey(job);
    this.expectations.deletionObserved(key);
    // A final delete removed the finalizer with the pod; a deletion mark counts once it is gone.
    if (final || !hasFinalizer) this.finalizerExpectations.removalObserved(key, pod.metadata.uid ?? "");
    this.enqueueBatched(job);
  }

  jobAdded(job: JobObject): void {
    this.queue.add(objectKey(job));
  }

  jobUpdated(old: JobObject, cur: JobObject): void {
    const key = objectKey(cur);
    // Status-only updates (same generation) are batched; spec changes sync at once.
    if (cur.metadata.generation === old.metadata.generation) this.enqueueBatched(cur);
    else this.queue.add(key);
    // Backup: a finished Job's pods should have no finalizer left.
    if (isJobFinished(cur)) this.cleanupPodFinalizers(cur);
    const start = timeMs(cur.status?.startTime);
    const ads = cur.spec?.activeDeadlineSeconds;
    if (start !== undefined && ads !== undefined && ads !== null && ads !== old.spec?.activeDeadlineSeconds) {
      const left = ads * 1000 - (this.parts.clock.now() - start);
      this.parts.logger.debug({ key, intervalMs: left }, "job's activeDeadlineSeconds updated, will resync");
      this.queue.addAfter(key, left);
    }
  }

  jobDeleted(obj: JobObject | DeletedFinalStateUnknown<JobObject>): void {
    const job = obj instanceof DeletedFinalStateUnknown ? obj.obj : obj;
    this.queue.add(objectKey(job));
    this.cleanupPodFinalizers(job);
  }

  private enqueueBatched(job: JobObject): void {
    this.queue.addAfter(objectKey(job), this.parts.options.syncBatchMs);
  }

  private enqueueOrphanPod(pod: PodObject): void {
    this.queue.add(`${ORPHAN_POD_PREFIX}${objectKey(pod)}`);
  }

  /** The Job a controller reference names, if it is a Job with that uid in the cache. */
  private resolveControllerRef(namespace: string, ref: OwnerReference): JobObject | undefined {
    if (ref.kind !== "Job") return undefined;
    const job = this.parts.jobs.get(namespace, ref.name);
    return job && job.metadata.uid === ref.uid ? job : undefined;
  }

  /** Jobs of the pod's namespace whose selector matches it (upstream's GetPodJobs). */
  private podJobs(pod: PodObject): JobObject[] {
    if (!pod.metadata.labels || Object.keys(pod.metadata.labels).length === 0) return [];
    const jobs = this.parts.jobs.list({ namespace: pod.metadata.namespace! }).filter((j) => {
      const sel = j.spec?.selector;
      if (!sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0)) return false;
      return selectorFromObject(sel).matches(pod.metadata.labels);
    });
    if (jobs.length > 1) this.parts.logger.warn({ pod: objectKey(pod), labels: pod.metadata.labels }, "user error! more than one job is selecting pods with labels");
    return jobs;
  }

  /** Queues the Job's pods that still have the tracking finalizer for removal. */
  private cleanupPodFinalizers(job: JobObject): void {
    const sel = job.spec?.selector;
    if (!sel) return;
    const selector = selectorFromObject(sel);
    for (const pod of this.parts.pods.list({ namespace: job.metadata.namespace!, selector })) {
      if (controllerOf(pod)?.uid === job.metadata.uid && hasJobTrackingFinalizer(pod)) this.enqueueOrphanPod(pod);
    }
  }
}

function sameRef(a: OwnerReference | undefined, b: OwnerReference | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}
