/** The StatefulSet controller (upstream's "statefulset-controller", 5 workers). */
import { Resources } from "@kubemu/common";
import { queueControllerDescriptor, withQueue } from "../../controller/descriptor.js";
import type { RevisionObject } from "../../controller/history.js";
import { registerHandlers } from "./controller.js";
import { StatefulSetSync } from "./sync.js";
import type { ClaimObject, PodObject, StatefulSetObject } from "./types.js";

export const NAME = "statefulset-controller";
const WORKERS = 5;

export const statefulSetController = queueControllerDescriptor({
  name: NAME,
  aliases: ["statefulset"],
  informers: (ctx) => ({
    sets: ctx.informers.informerFor<StatefulSetObject>(Resources.statefulSets),
    pods: ctx.informers.informerFor<PodObject>(Resources.pods),
    claims: ctx.informers.informerFor<ClaimObject>(Resources.persistentVolumeClaims),
    revisions: ctx.informers.informerFor<RevisionObject>(Resources.controllerRevisions),
  }),
  controller: (ctx, inf) =>
    withQueue({ name: "statefulset", workers: WORKERS }, (queue) => {
      const log = ctx.logger.child({ controller: NAME });
      const sync = new StatefulSetSync({
        client: ctx.client,
        listers: { sets: inf.sets.lister, pods: inf.pods.lister, claims: inf.claims.lister, revisions: inf.revisions.lister },
        recorder: ctx.recorder(NAME),
        clock: ctx.clock,
        logger: log,
        enqueueAfter: (key, ms) => queue.addAfter(key, ms),
      });
      return { reconcile: (key) => sync.sync(key), handlers: registerHandlers(inf, queue, log) };
    }),
});
