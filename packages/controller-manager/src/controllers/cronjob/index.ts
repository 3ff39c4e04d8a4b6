/**
 * The CronJob controller ("cronjob-controller"; `--controllers cronjob` also works): creates a
 * Job per schedule time — see sync.ts for the reconcile, schedule.ts and times.ts for the cron
 * arithmetic, controller.ts for the wiring.
 */
import { Resources } from "@kubemu/common";
import { queueControllerDescriptor, withQueue } from "../../controller/descriptor.js";
import type { JobObject } from "../job/util.js";
import { CronJobController } from "./controller.js";
import type { CronJobObject } from "./jobs.js";

export const cronJobController = queueControllerDescriptor({
  name: "cronjob-controller",
  aliases: ["cronjob"],
  informers: (ctx) => ({
    jobs: ctx.informers.informerFor<JobObject>(Resources.jobs),
    cronJobs: ctx.informers.informerFor<CronJobObject>(Resources.cronJobs),
  }),
  controller: (ctx, { jobs, cronJobs }) =>
    withQueue({ name: "cronjob", workers: 5 }, (queue) => {
      const c = new CronJobController({ client: ctx.client, cronJobs: cronJobs.lister, jobs: jobs.lister, recorder: ctx.recorder("cronjob-controller"), clock: ctx.clock, logger: ctx.logger.child({ controller: "cronjob" }) }, queue);
      return {
        reconcile: (key) => c.reconcile(key),
        handlers: [
          jobs.addEventHandler({ onAdd: (j) => c.jobAdded(j), onUpdate: (o, n) => c.jobUpdated(o, n), onDelete: (j) => c.jobDeleted(j) }),
          cronJobs.addEventHandler({ onAdd: (j) => c.cronJobAdded(j), onUpdate: (o, n) => c.cronJobUpdated(o, n), onDelete: (j) => c.cronJobDeleted(j) }),
        ],
      };
    }),
});
