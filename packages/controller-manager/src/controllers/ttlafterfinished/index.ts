/**
 * The TTL-after-finished controller ("ttl-after-finished-controller"; `--controllers
 * ttl-after-finished` also works): deletes finished Jobs ttlSecondsAfterFinished after they finish.
 */
import { Resources } from "@kubemu/common";
import { queueControllerDescriptor, withQueue } from "../../controller/descriptor.js";
import type { JobObject } from "../job/util.js";
import { TtlAfterFinishedController } from "./controller.js";

export const ttlAfterFinishedController = queueControllerDescriptor({
  name: "ttl-after-finished-controller",
  aliases: ["ttl-after-finished"],
  informers: (ctx) => ({ jobs: ctx.informers.informerFor<JobObject>(Resources.jobs) }),
  controller: (ctx, { jobs }) =>
    // Upstream's queue name and ConcurrentTTLSyncs default.
    withQueue({ name: "ttl_jobs_to_delete", workers: 5 }, (queue) => {
      const c = new TtlAfterFinishedController({ client: ctx.client, jobs: jobs.lister, clock: ctx.clock, logger: ctx.logger.child({ controller: "ttl-after-finished" }) }, queue);
      return {
        reconcile: (key) => c.reconcile(key),
        handlers: [jobs.addEventHandler({ onAdd: (j) => c.jobChanged(j), onUpdate: (_o, n) => c.jobChanged(n) })],
      };
    }),
});
