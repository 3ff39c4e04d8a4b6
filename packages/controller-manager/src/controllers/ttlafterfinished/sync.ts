/**
 * TTL after finished (upstream's ttlafterfinished_controller.go): a Job with
 * spec.ttlSecondsAfterFinished is deleted that many seconds after its Complete or Failed
 * condition's transition. Before deleting, the Job is read fresh from the API and checked again
 * (its TTL may have just changed); the delete is a cascading Foreground delete with the fresh
 * uid as precondition, as upstream's.
 */
import type { Clock, Lister, Logger } from "@kubemu/common";
import { Resources, isNotFound, splitKey } from "@kubemu/common";
import type { ControllerClient } from "../../controller/client.js";
import { finishedCondition, timeMs, type JobObject } from "../job/util.js";

export interface TtlSyncParts {
  client: ControllerClient;
  jobs: Lister<JobObject>;
  clock: Clock;
  logger: Logger;
  /** Syncs the Job again after ms (when its TTL will have expired). */
  enqueueAfter(key: string, ms: number): void;
}

/** Finished and carrying a TTL. */
export function needsCleanup(job: JobObject): boolean {
  const ttl = job.spec?.ttlSecondsAfterFinished;
  return ttl !== undefined && ttl !== null && finishedCondition(job) !== undefined;
}

export class TtlAfterFinishedSync {
  constructor(private readonly p: TtlSyncParts) {}

  async processJob(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    this.p.logger.debug({ job: key }, "checking if job is ready for cleanup");
    const cached = this.p.jobs.get(namespace, name);
    if (!cached || !this.expired(key, cached)) return;
    // The cached TTL may be stale: check the latest Job before deleting it. (A Job recreated
    // under the name has another uid; the checks simply run on it.)
    let fresh: JobObject;
    try {
      fresh = await this.p.client.get<JobObject>(Resources.jobs, namespace, name);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (!this.expired(key, fresh)) return;
    this.p.logger.debug({ job: key }, "cleaning up job");
    try {
      await this.p.client.delete(Resources.jobs, namespace, name, { propagationPolicy: "Foreground", preconditions: { uid: fresh.metadata.uid! } });
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
  }

  /** True when the TTL has run out; otherwise (TTL still running) the Job is requeued for then. */
  private expired(key: string, job: JobObject): boolean {
    if (job.metadata.deletionTimestamp || !needsCleanup(job)) return false;
    const left = timeLeft(job, this.p.clock.now());
    if (left <= 0) return true;
    this.p.enqueueAfter(key, left);
    return false;
  }
}

/** Milliseconds until the Job's TTL expires (negative once past). Throws without a finish time. */
export function timeLeft(job: JobObject, now: number): number {
  const cond = finishedCondition(job);
  const finishedAt = timeMs(cond?.lastTransitionTime);
  if (finishedAt === undefined) throw new Error(`unable to find the time when the Job ${job.metadata.namespace}/${job.metadata.name} finished`);
  return finishedAt + job.spec!.ttlSecondsAfterFinished! * 1000 - now;
}
