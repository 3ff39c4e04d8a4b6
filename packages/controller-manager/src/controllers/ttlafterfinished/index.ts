/**
 * The TTL-after-finished controller ("ttl-after-finished-controller"; `--controllers
 * ttl-after-finished` also works): deletes finished Jobs ttlSecondsAfterFinished after they finish.
 */
import { Resources } from "@kubemu/common";
import type { ControllerDescriptor } from "../../controller/context.js";
import { runQueueController } from "../../controller/run.js";
import type { JobObject } from "../job/util.js";
import { TtlAfterFinishedController } from "./controller.js";

export const ttlAfterFinishedController: ControllerDescriptor = {
  name: "ttl-after-finished-controller",
  aliases: ["ttl-after-finished"],
  informers(ctx) {
    ctx.informers.informerFor(Resources.jobs);
  },
  run(ctx, signal) {
    const jobs = ctx.informers.informerFor<JobObject>(Resources.jobs);
    let controller: TtlAfterFinishedController | undefined;
    return runQueueController(
      ctx,
      {
        // Upstream's queue name and ConcurrentTTLSyncs default.
        name: "ttl_jobs_to_delete",
        workers: 5,
        register(queue) {
          const c = (controller = new TtlAfterFinishedController({ client: ctx.client, jobs: jobs.lister, clock: ctx.clock, logger: ctx.logger.child({ controller: "ttl-after-finished" }) }, queue));
          return [jobs.addEventHandler({ onAdd: (j) => c.jobChanged(j), onUpdate: (_o, n) => c.jobChanged(n) })];
        },
        reconcile: (key) => controller!.reconcile(key),
      },
      signal,
    );
  },
};
