/**
 * The CronJob controller's reconcile (upstream's cronjob_controllerv2.go sync and syncCronJob):
 * prune finished Jobs beyond the history limits, reconcile status.active with the Jobs that
 * exist, and — unless suspended or being deleted — create the Job for the most recent unmet
 * schedule time within startingDeadlineSeconds as concurrencyPolicy allows. Returns when to
 * sync again: just after the next schedule time.
 */
import type { Clock, Lister, Logger } from "@kubemu/common";
import { Resources, isAlreadyExists, isNotFound, splitKey } from "@kubemu/common";
import type { ControllerClient } from "../../controller/client.js";
import type { Recorder } from "../../controller/context.js";
import { controllerOf, isControlledBy } from "../../controller/controller-ref.js";
import { isNamespaceTerminating, messageOf } from "../../controller/pod-control.js";
import { finishedCondition, isJobSucceeded, rfc3339, timeMs, type JobObject } from "../job/util.js";
import { byJobStartTime, deleteFromActiveList, inActiveList, inActiveListByName, jobFromTemplate, jobName, jobRef, type CronJobObject } from "./jobs.js";
import { parseSchedule, validTimeZone, type Schedule } from "./schedule.js";
import { nextScheduleTime, nextScheduleTimeDuration, rfc1123z } from "./times.js";

export interface CronJobSyncParts {
  client: ControllerClient;
  cronJobs: Lister<CronJobObject>;
  jobs: Lister<JobObject>;
  recorder: Recorder;
  clock: Clock;
  logger: Logger;
}

interface SyncResult {
  cronJob: CronJobObject;
  requeueAfter?: number;
  updateStatus: boolean;
  error?: unknown;
}

export class CronJobSync {
  constructor(private readonly p: CronJobSyncParts) {}

  /** Syncs one CronJob; resolves to the delay before its next sync (undefined: none needed). */
  async sync(key: string): Promise<number | undefined> {
    const { namespace, name } = splitKey(key);
    const cached = this.p.cronJobs.get(namespace, name);
    if (!cached) {
      this.p.logger.debug({ key }, "cronjob not found, may be it is deleted");
      return undefined;
    }
    const jobs = this.jobsToBeReconciled(cached);
    // One copy collects every status change, written once.
    const copy = structuredClone(cached);
    const cleaned = await this.cleanupFinishedJobs(copy, jobs);
    const r = await this.syncCronJob(copy, jobs);
    if (r.error !== undefined) this.p.logger.info({ cronjob: key, err: messageOf(r.error) }, "error reconciling cronjob");
    if (cleaned || r.updateStatus) {
      const out = structuredClone(r.cronJob);
      if (out.status?.active?.length === 0) delete out.status.active;
      await this.p.client.updateStatus(Resources.cronJobs, out);
    }
    if (r.requeueAfter !== undefined) {
      this.p.logger.debug({ cronjob: key, requeueAfterMs: r.requeueAfter }, "re-queuing cronjob");
      return r.requeueAfter;
    }
    if (r.error !== undefined) throw r.error;
    return undefined;
  }

  /** Every Job of the namespace whose controller reference names this CronJob (as upstream: by name). */
  private jobsToBeReconciled(cj: CronJobObject): JobObject[] {
    return this.p.jobs.list({ namespace: cj.metadata.namespace! }).filter((j) => controllerOf(j)?.name === cj.metadata.name);
  }

  private async syncCronJob(cronJob: CronJobObject, jobs: readonly JobObject[]): Promise<SyncResult> {
    const p = this.p;
    const now = p.clock.now();
    let cj = cronJob;
    let updateStatus = false;
    const children = new Set<string>();
    for (const j of jobs) {
      const uid = j.metadata.uid ?? "";
      children.add(uid);
      const found = inActiveList(cj, uid);
      const finished = finishedCondition(j);
      if (!found && !finished) {
        let fresh: CronJobObject;
        try {
          fresh = await p.client.get<CronJobObject>(Resources.cronJobs, cj.metadata.namespace, cj.metadata.name!);
        } catch (e) {
          return { cronJob: cj, updateStatus, error: e };
        }
        // Our cache was behind: the fresh copy knows the Job.
        if (inActiveList(fresh, uid)) {
          cj = fresh;
          continue;
        }
        // Created by us just before a crash, newer than our status, or made by someone to be adopted.
        p.recorder.event(cj, "Warning", "UnexpectedJob", `Saw a job that the controller did not create or forgot: ${j.metadata.name}`);
      } else if (found && finished) {
        deleteFromActiveList(cj, uid);
        p.recorder.event(cj, "Normal", "SawCompletedJob", `Saw completed job: ${j.metadata.name}, condition: ${finished.type}`);
        updateStatus = true;
      }
      if (isJobSucceeded(j)) {
        // A Job need not be active to count: its completion time is what matters.
        const done = j.status?.completionTime;
        const last = timeMs(cj.status?.lastSuccessfulTime);
        if (done && (last === undefined || (timeMs(done) ?? 0) > last)) {
          (cj.status ??= {}).lastSuccessfulTime = done;
          updateStatus = true;
        }
      }
    }

    // An active reference to a Job that is gone would keep the CronJob "active" forever.
    for (const ref of [...(cj.status?.active ?? [])]) {
      if (children.has(ref.uid ?? "")) continue;
      try {
        // Ask the API: a slow watch must not make a Job look missing.
        await p.client.get(Resources.jobs, ref.namespace, ref.name!);
      } catch (e) {
        if (!isNotFound(e)) return { cronJob: cj, updateStatus, error: e };
        p.recorder.event(cj, "Normal", "MissingJob", `Active job went missing: ${ref.name}`);
        deleteFromActiveList(cj, ref.uid);
        updateStatus = true;
      }
    }

    if (cj.metadata.deletionTimestamp) return { cronJob: cj, updateStatus };

    const zone = cj.spec?.timeZone;
    if (zone !== undefined && zone !== null && !validTimeZone(zone)) {
      p.logger.debug({ cronjob: cj.metadata.name, timeZone: zone }, "not starting job because timeZone is invalid");
      p.recorder.event(cj, "Warning", "UnknownTimeZone", `invalid timeZone: ${JSON.stringify(zone)}: unknown time zone ${zone}`);
      return { cronJob: cj, updateStatus };
    }
    if (cj.spec?.suspend === true) {
      p.logger.debug({ cronjob: cj.metadata.name }, "not starting job because the cron is suspended");
      return { cronJob: cj, updateStatus };
    }

    let schedule: Schedule;
    try {
      schedule = parseSchedule(formatSchedule(cj, p.recorder));
    } catch (e) {
      // A user error: nothing to do until the spec changes.
      p.recorder.event(cj, "Warning", "UnparseableSchedule", `unparseable schedule: ${JSON.stringify(cj.spec?.schedule ?? "")} : ${messageOf(e)}`);
      return { cronJob: cj, updateStatus };
    }

    let scheduled: number | undefined;
    try {
      const r = nextScheduleTime(cj, now, schedule);
      if (r.missed === "many" && r.time !== undefined) {
        p.recorder.event(cj, "Warning", "TooManyMissedTimes", "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew");
        p.logger.info({ cronjob: cj.metadata.name }, "too many missed times");
      }
      scheduled = r.time;
    } catch (e) {
      p.recorder.event(cj, "Warning", "InvalidSchedule", `invalid schedule: ${cj.spec?.schedule ?? ""} : ${messageOf(e)}`);
      return { cronJob: cj, updateStatus };
    }
    const next = () => nextScheduleTimeDuration(cj, now, schedule);
    if (scheduled === undefined) {
      // Only after a restart: otherwise the queue wakes us at a schedule time.
      p.logger.debug({ cronjob: cj.metadata.name }, "no unmet start times");
      return { cronJob: cj, updateStatus, requeueAfter: next() };
    }

    const sds = cj.spec?.startingDeadlineSeconds;
    if (sds !== undefined && sds !== null && scheduled + sds * 1000 < now) {
      p.recorder.event(cj, "Warning", "MissSchedule", `Missed scheduled time to start a job: ${rfc1123z(scheduled)}`);
      return { cronJob: cj, updateStatus, requeueAfter: next() };
    }
    const name = jobName(cj, scheduled);
    if (inActiveListByName(cj, cj.metadata.namespace, name) || timeMs(cj.status?.lastScheduleTime) === Math.floor(scheduled / 1000) * 1000) {
      p.logger.debug({ cronjob: cj.metadata.name, scheduled }, "not starting job because the scheduled time is already processed");
      return { cronJob: cj, updateStatus, requeueAfter: next() };
    }
    if (cj.spec?.concurrencyPolicy === "Forbid" && (cj.status?.active?.length ?? 0) > 0) {
      // Some risk remains of missing an active Job (a status not yet seen); runs far enough apart avoid it.
      p.recorder.event(cj, "Normal", "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid");
      return { cronJob: cj, updateStatus, requeueAfter: next() };
    }
    if (cj.spec?.concurrencyPolicy === "Replace") {
      for (const ref of [...(cj.status?.active ?? [])]) {
        let job: JobObject;
        try {
          job = await p.client.get<JobObject>(Resources.jobs, ref.namespace, ref.name!);
        } catch (e) {
          p.recorder.event(cj, "Warning", "FailedGet", `Get job: ${messageOf(e)}`);
          return { cronJob: cj, updateStatus, error: e };
        }
        if (!(await this.deleteJob(cj, job))) return { cronJob: cj, updateStatus, error: new Error(`could not replace job ${job.metadata.namespace}/${job.metadata.name}`) };
        updateStatus = true;
      }
    }

    const want = jobFromTemplate(cj, scheduled);
    let created: JobObject;
    let alreadyExists = false;
    try {
      created = await p.client.create<JobObject>(Resources.jobs, want, { namespace: cj.metadata.namespace! });
    } catch (e) {
      if (isNamespaceTerminating(e)) return { cronJob: cj, updateStatus, error: e };
      if (!isAlreadyExists(e)) {
        p.recorder.event(cj, "Warning", "FailedCreate", `Error creating job: ${messageOf(e)}`);
        return { cronJob: cj, updateStatus, error: e };
      }
      // Created earlier (the status write after it was lost), or by someone else.
      alreadyExists = true;
      try {
        created = await p.client.get<JobObject>(Resources.jobs, cj.metadata.namespace, name);
      } catch (e2) {
        return { cronJob: cj, updateStatus, error: e2 };
      }
      // Not ours: assume its controller keeps the status.
      if (!isControlledBy(created, cj)) return { cronJob: cj, updateStatus };
      if (inActiveList(cj, created.metadata.uid)) return { cronJob: cj, updateStatus };
    }
    if (alreadyExists) p.logger.info({ cronjob: cj.metadata.name, job: name }, "job already exists");
    else p.recorder.event(cj, "Normal", "SuccessfulCreate", `Created job ${created.metadata.name}`);

    // The job name is the lock: were we to crash before this status write, the next sync would
    // hit AlreadyExists instead of starting the run twice.
    const status = (cj.status ??= {});
    status.active = [...(status.active ?? []), jobRef(created)];
    status.lastScheduleTime = rfc3339(scheduled);
    return { cronJob: cj, updateStatus: true, requeueAfter: next() };
  }

  /** Deletes finished Jobs beyond successfulJobsHistoryLimit and failedJobsHistoryLimit, oldest first. */
  private async cleanupFinishedJobs(cj: CronJobObject, jobs: readonly JobObject[]): Promise<boolean> {
    const successLimit = cj.spec?.successfulJobsHistoryLimit;
    const failedLimit = cj.spec?.failedJobsHistoryLimit;
    if ((successLimit === undefined || successLimit === null) && (failedLimit === undefined || failedLimit === null)) return false;
    const succeeded = jobs.filter((j) => finishedCondition(j)?.type === "Complete");
    const failed = jobs.filter((j) => finishedCondition(j)?.type === "Failed");
    let update = false;
    if (successLimit !== undefined && successLimit !== null && (await this.removeOldestJobs(cj, succeeded, successLimit))) update = true;
    if (failedLimit !== undefined && failedLimit !== null && (await this.removeOldestJobs(cj, failed, failedLimit))) update = true;
    return update;
  }

  private async removeOldestJobs(cj: CronJobObject, jobs: readonly JobObject[], keep: number): Promise<boolean> {
    const n = jobs.length - keep;
    if (n <= 0) return false;
    this.p.logger.debug({ cronjob: cj.metadata.name, deleting: n, jobs: jobs.length }, "cleaning up jobs from cronjob list");
    let update = false;
    for (const job of [...jobs].sort(byJobStartTime).slice(0, n)) if (await this.deleteJob(cj, job)) update = true;
    return update;
  }

  /** Deletes the Job (its pods follow, Background) and drops it from status.active. */
  private async deleteJob(cj: CronJobObject, job: JobObject): Promise<boolean> {
    try {
      await this.p.client.delete(Resources.jobs, job.metadata.namespace, job.metadata.name!, { propagationPolicy: "Background" });
    } catch (e) {
      this.p.recorder.event(cj, "Warning", "FailedDelete", `Deleted job: ${messageOf(e)}`);
      this.p.logger.warn({ cronjob: cj.metadata.name, job: job.metadata.name, err: messageOf(e) }, "error deleting job from cronjob");
      return false;
    }
    deleteFromActiveList(cj, job.metadata.uid);
    this.p.recorder.event(cj, "Normal", "SuccessfulDelete", `Deleted job ${job.metadata.name}`);
    return true;
  }
}

/**
 * The schedule with spec.timeZone as a TZ= prefix. A schedule that names its own TZ is used as
 * written, with a warning (recorder given) that this is not officially supported.
 */
export function formatSchedule(cj: CronJobObject, recorder: Recorder | undefined): string {
  const schedule = cj.spec?.schedule ?? "";
  if (schedule.includes("TZ")) {
    recorder?.event(cj, "Warning", "UnsupportedSchedule", `CRON_TZ or TZ used in schedule ${JSON.stringify(schedule)} is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details`);
    return schedule;
  }
  const zone = cj.spec?.timeZone;
  if (zone !== undefined && zone !== null) return validTimeZone(zone) ? `TZ=${zone} ${schedule}` : schedule;
  return schedule;
}
