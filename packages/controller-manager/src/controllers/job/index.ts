/**
 * The Job controller ("job-controller"; `--controllers job` also works): runs Jobs' pods to
 * completion — see sync.ts for the reconcile and controller.ts for the wiring.
 */
import { ItemExponentialRateLimiter, Resources } from "@kubemu/common";
import type { ControllerDescriptor } from "../../controller/context.js";
import type { PodObject } from "../../controller/pod-control.js";
import { runQueueController } from "../../controller/run.js";
import { JobController } from "./controller.js";
import { DEFAULT_JOB_OPTIONS } from "./options.js";
import type { JobObject } from "./util.js";

export const jobController: ControllerDescriptor = {
  name: "job-controller",
  aliases: ["job"],
  informers(ctx) {
    ctx.informers.informerFor(Resources.jobs);
    ctx.informers.informerFor(Resources.pods);
  },
  run(ctx, signal) {
    const jobs = ctx.informers.informerFor<JobObject>(Resources.jobs);
    const pods = ctx.informers.informerFor<PodObject>(Resources.pods);
    const options = {
      ...DEFAULT_JOB_OPTIONS,
      ...(ctx.options?.jobPodFailureBackoffMs !== undefined ? { podFailureBackoffMs: ctx.options.jobPodFailureBackoffMs } : {}),
      ...(ctx.options?.jobPodFailureBackoffMaxMs !== undefined ? { podFailureBackoffMaxMs: ctx.options.jobPodFailureBackoffMaxMs } : {}),
    };
    let controller: JobController | undefined;
    return runQueueController(
      ctx,
      {
        name: "job",
        workers: 5,
        // Upstream's DefaultJobApiBackOff and MaxJobApiBackOff: a failing sync retries after 1 s, doubling to 1 min.
        rateLimiter: new ItemExponentialRateLimiter<string>(1000, 60_000),
        register(queue) {
          const c = (controller = new JobController({ client: ctx.client, jobs: jobs.lister, pods: pods.lister, recorder: ctx.recorder("job-controller"), clock: ctx.clock, logger: ctx.logger.child({ controller: "job" }), options }, queue));
          return [
            jobs.addEventHandler({ onAdd: (j) => c.jobAdded(j), onUpdate: (o, n) => c.jobUpdated(o, n), onDelete: (j) => c.jobDeleted(j) }),
            pods.addEventHandler({ onAdd: (p) => c.podAdded(p), onUpdate: (o, n) => c.podUpdated(o, n), onDelete: (p) => c.podDeleted(p, true) }),
          ];
        },
        reconcile: (key) => controller!.reconcile(key),
      },
      signal,
    );
  },
};
