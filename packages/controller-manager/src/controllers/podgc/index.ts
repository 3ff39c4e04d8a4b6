/**
 * The pod garbage collector (upstream's pod-garbage-collector-controller): pods of deleted nodes,
 * terminated pods over the threshold, unscheduled terminating pods and terminating pods of
 * out-of-service nodes are force-deleted (README: "pod-garbage-collector-controller").
 */
import type { ControllerDescriptor } from "../../controller/context.js";
import { Resources } from "@kubemu/common";
import { every } from "../../controller/periodic.js";
import type { PodObject } from "../node-util/conditions.js";
import type { NodeObject } from "../node-util/taints.js";
import { PodGC } from "./sync.js";

export const CONTROLLER_NAME = "pod-garbage-collector-controller";

export const podGCController: ControllerDescriptor = {
  name: CONTROLLER_NAME,
  aliases: ["podgc"],
  informers(ctx) {
    ctx.informers.informerFor(Resources.pods);
    ctx.informers.informerFor(Resources.nodes);
  },
  async run(ctx, signal) {
    if (!(await ctx.informers.waitForCacheSync(signal))) return;
    const log = ctx.logger.child({ controller: CONTROLLER_NAME });
    const gc = new PodGC({
      client: ctx.client,
      listers: { pods: ctx.informers.informerFor<PodObject>(Resources.pods).lister, nodes: ctx.informers.informerFor<NodeObject>(Resources.nodes).lister },
      clock: ctx.clock,
      ...(ctx.options?.podGC ? { options: ctx.options.podGC } : {}),
      logger: log,
    });
    log.info("starting controller");
    await every(ctx.clock, log, gc.options.gcPeriodMs, signal, "pod garbage collection failed", () => gc.gc());
    log.info("stopped controller");
  },
};
