/**
 * The Job controller ("job-controller"; `--controllers job` also works): runs Jobs' pods to
 * completion — see sync.ts for the reconcile and controller.ts for the wiring.
 */
import { ItemExponentialRateLimiter, Resources } from "@kubemu/common";
import type { ControllerContext } from "../../controller/context.js";
import { queueControllerDescriptor, withQueue } from "../../controller/descriptor.js";
import type { PodObject } from "../../controller/pod-control.js";
import { JobController } from "./controller.js";
import { DEFAULT_JOB_OPTIONS, type JobControllerOptions } from "./options.js";
import type { JobObject } from "./util.js";

/** The defaults, with the manager's --job-pod-failure-backoff flags where given. */
function jobOptions(ctx: ControllerContext): JobControllerOptions {
  return {
    ...DEFAULT_JOB_OPTIONS,
    ...(ctx.options?.jobPodFailureBackoffMs !== undefined ? { podFailureBackoffMs: ctx.options.jobPodFailureBackoffMs } : {}),
    ...(ctx.options?.jobPodFailureBackoffMaxMs !== undefined ? { podFailureBackoffMaxMs: ctx.options.jobPodFailureBackoffMaxMs } : {}),
  };
}

export const jobController = queueControllerDescriptor({
  name: "job-controller",
  aliases: ["job"],
  informers: (ctx) => ({
    jobs: ctx.informers.informerFor<JobObject>(Resources.jobs),
    pods: ctx.informers.informerFor<PodObject>(Resources.pods),
  }),
  controller: (ctx, { jobs, pods }) =>
    withQueue(
      // Upstream's DefaultJobApiBackOff and MaxJobApiBackOff: a failing sync retries after 1 s, doubling to 1 min.
      { name: "job", workers: 5, rateLimiter: new ItemExponentialRateLimiter<string>(1000, 60_000) },
      (queue) => {
        const c = new JobController({ client: ctx.client, jobs: jobs.lister, pods: pods.lister, recorder: ctx.recorder("job-controller"), clock: ctx.clock, logger: ctx.logger.child({ controller: "job" }), options: jobOptions(ctx) }, queue);
        return {
          reconcile: (key) => c.reconcile(key),
          handlers: [
            jobs.addEventHandler({ onAdd: (j) => c.jobAdded(j), onUpdate: (o, n) => c.jobUpdated(o, n), onDelete: (j) => c.jobDeleted(j) }),
            pods.addEventHandler({ onAdd: (p) => c.podAdded(p), onUpdate: (o, n) => c.podUpdated(o, n), onDelete: (p) => c.podDeleted(p, true) }),
          ],
        };
      },
    ),
});
