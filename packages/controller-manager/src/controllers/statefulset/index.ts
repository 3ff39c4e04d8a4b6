/** The StatefulSet controller (upstream's "statefulset-controller", 5 workers). */
import { Resources, type WorkQueue } from "@kubemu/common";
import type { ControllerContext, ControllerDescriptor } from "../../controller/context.js";
import type { RevisionObject } from "../../controller/history.js";
import { runQueueController } from "../../controller/run.js";
import { registerHandlers } from "./controller.js";
import { StatefulSetSync } from "./sync.js";
import type { ClaimObject, PodObject, StatefulSetObject } from "./types.js";

export const NAME = "statefulset-controller";
const WORKERS = 5;

function informers(ctx: ControllerContext) {
  return {
    sets: ctx.informers.informerFor<StatefulSetObject>(Resources.statefulSets),
    pods: ctx.informers.informerFor<PodObject>(Resources.pods),
    claims: ctx.informers.informerFor<ClaimObject>(Resources.persistentVolumeClaims),
    revisions: ctx.informers.informerFor<RevisionObject>(Resources.controllerRevisions),
  };
}

export const statefulSetController: ControllerDescriptor = {
  name: NAME,
  aliases: ["statefulset"],
  informers(ctx) {
    informers(ctx);
  },
  run(ctx, signal) {
    const inf = informers(ctx);
    const log = ctx.logger.child({ controller: NAME });
    let queue: WorkQueue<string> | undefined;
    const sync = new StatefulSetSync({
      client: ctx.client,
      listers: { sets: inf.sets.lister, pods: inf.pods.lister, claims: inf.claims.lister, revisions: inf.revisions.lister },
      recorder: ctx.recorder(NAME),
      clock: ctx.clock,
      logger: log,
      enqueueAfter: (key, ms) => queue?.addAfter(key, ms),
    });
    return runQueueController(
      ctx,
      {
        name: "statefulset",
        workers: WORKERS,
        register(q) {
          queue = q;
          return registerHandlers(inf, q, log);
        },
        reconcile: (key) => sync.sync(key),
      },
      signal,
    );
  },
};
