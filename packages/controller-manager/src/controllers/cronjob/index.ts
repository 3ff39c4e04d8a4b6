/**
 * The CronJob controller ("cronjob-controller"; `--controllers cronjob` also works): creates a
 * Job per schedule time — see sync.ts for the reconcile, schedule.ts and times.ts for the cron
 * arithmetic, controller.ts for the wiring.
 */
import { Resources } from "@kubemu/common";
import type { ControllerDescriptor } from "../../controller/context.js";
import { runQueueController } from "../../controller/run.js";
import type { JobObject } from "../job/util.js";
import { CronJobController } from "./controller.js";
import type { CronJobObject } from "./jobs.js";

export const cronJobController: ControllerDescriptor = {
  name: "cronjob-controller",
  aliases: ["cronjob"],
  informers(ctx) {
    ctx.informers.informerFor(Resources.jobs);
    ctx.informers.informerFor(Resources.cronJobs);
  },
  run(ctx, signal) {
    const jobs = ctx.informers.informerFor<JobObject>(Resources.jobs);
    const cronJobs = ctx.informers.informerFor<CronJobObject>(Resources.cronJobs);
    let controller: CronJobController | undefined;
    return runQueueController(
      ctx,
      {
        name: "cronjob",
        workers: 5,
        register(queue) {
          const c = (controller = new CronJobController({ client: ctx.client, cronJobs: cronJobs.lister, jobs: jobs.lister, recorder: ctx.recorder("cronjob-controller"), clock: ctx.clock, logger: ctx.logger.child({ controller: "cronjob" }) }, queue));
          return [
            jobs.addEventHandler({ onAdd: (j) => c.jobAdded(j), onUpdate: (o, n) => c.jobUpdated(o, n), onDelete: (j) => c.jobDeleted(j) }),
            cronJobs.addEventHandler({ onAdd: (j) => c.cronJobAdded(j), onUpdate: (o, n) => c.cronJobUpdated(o, n), onDelete: (j) => c.cronJobDeleted(j) }),
          ];
        },
        reconcile: (key) => controller!.reconcile(key),
      },
      signal,
    );
  },
};
