/**
 * The CronJob controller's wiring (upstream's ControllerV2 handlers): a Job event syncs the
 * CronJob its controller reference names; a CronJob whose schedule or time zone changed is
 * synced at its next schedule time, any other change at once. Each sync asks to be run again
 * just after the CronJob's next schedule time (on the injected clock).
 */
import type { OwnerReference, WorkQueue } from "@kubemu/common";
import { DeletedFinalStateUnknown, objectKey } from "@kubemu/common";
import { controllerOf } from "../../controller/controller-ref.js";
import type { JobObject } from "../job/util.js";
import type { CronJobObject } from "./jobs.js";
import { parseSchedule } from "./schedule.js";
import { CronJobSync, formatSchedule, type CronJobSyncParts } from "./sync.js";
import { nextScheduleTimeDuration } from "./times.js";

/** The controller is built from the same parts as its sync. */
export type CronJobControllerParts = CronJobSyncParts;

type Queue = Pick<WorkQueue<string>, "add" | "addAfter">;

export class CronJobController {
  readonly sync: CronJobSync;

  constructor(
    private readonly parts: CronJobControllerParts,
    private readonly queue: Queue,
  ) {
    this.sync = new CronJobSync(parts);
  }

  async reconcile(key: string): Promise<void> {
    const after = await this.sync.sync(key);
    if (after !== undefined) this.queue.addAfter(key, after);
  }

  jobAdded(job: JobObject): void {
    // After a restart a Job may first appear already being deleted.
    if (job.metadata.deletionTimestamp) return this.jobDeleted(job);
    const ref = controllerOf(job);
    const cj = ref && this.resolveControllerRef(job.metadata.namespace!, ref);
    if (cj) this.queue.add(objectKey(cj));
  }

  jobUpdated(old: JobObject, cur: JobObject): void {
    if (cur.metadata.resourceVersion === old.metadata.resourceVersion) return;
    const curRef = controllerOf(cur);
    const oldRef = controllerOf(old);
    if (oldRef && JSON.stringify(oldRef) !== JSON.stringify(curRef ?? null)) {
      const was = this.resolveControllerRef(old.metadata.namespace!, oldRef);
      if (was) this.queue.add(objectKey(was));
    }
    const cj = curRef && this.resolveControllerRef(cur.metadata.namespace!, curRef);
    if (cj) this.queue.add(objectKey(cj));
  }

  jobDeleted(obj: JobObject | DeletedFinalStateUnknown<JobObject>): void {
    const job = obj instanceof DeletedFinalStateUnknown ? obj.obj : obj;
    const ref = controllerOf(job);
    const cj = ref && this.resolveControllerRef(job.metadata.namespace!, ref);
    if (cj) this.queue.add(objectKey(cj));
  }

  cronJobAdded(cj: CronJobObject): void {
    this.queue.add(objectKey(cj));
  }

  cronJobUpdated(old: CronJobObject, cur: CronJobObject): void {
    const key = objectKey(cur);
    if (old.spec?.schedule === cur.spec?.schedule && (old.spec?.timeZone ?? null) === (cur.spec?.timeZone ?? null)) {
      // Within the starting deadline the sync acts on it; otherwise the next schedule time will.
      this.queue.add(key);
      return;
    }
    // A sooner schedule is handled by the queue (the earlier addAfter wins); a later one makes
    // the already queued sync a no-op.
    let schedule;
    try {
      schedule = parseSchedule(formatSchedule(cur, undefined));
    } catch (e) {
      this.parts.logger.info({ cronjob: key, schedule: cur.spec?.schedule, err: e instanceof Error ? e.message : String(e) }, "unparseable schedule for cronjob");
      this.parts.recorder.event(cur, "Warning", "UnParseableCronJobSchedule", `unparseable schedule for cronjob: ${cur.spec?.schedule ?? ""}`);
      return;
    }
    this.queue.addAfter(key, nextScheduleTimeDuration(cur, this.parts.clock.now(), schedule));
  }

  cronJobDeleted(obj: CronJobObject | DeletedFinalStateUnknown<CronJobObject>): void {
    const cj = obj instanceof DeletedFinalStateUnknown ? obj.obj : obj;
    this.queue.add(objectKey(cj));
  }

  private resolveControllerRef(namespace: string, ref: OwnerReference): CronJobObject | undefined {
    if (ref.kind !== "CronJob") return undefined;
    const cj = this.parts.cronJobs.get(namespace, ref.name);
    return cj && cj.metadata.uid === ref.uid ? cj : undefined;
  }
}
