/**
 * deployment-controller: rolls Deployments out through ReplicaSets (upstream's
 * pkg/controller/deployment). It writes only ReplicaSets and the Deployment's status; the
 * ReplicaSet controller makes the pods.
 */
import { Resources } from "@kubemu/common";
import type { ControllerContext, ControllerDescriptor } from "../../controller/context.js";
import { runQueueController } from "../../controller/run.js";
import { registerHandlers, type DeploymentInformers } from "./controller.js";
import { DeploymentSync } from "./sync.js";
import type { Deployment, PodObject, ReplicaSet } from "./types.js";

const WORKERS = 5;

function informersOf(ctx: ControllerContext): DeploymentInformers {
  return {
    deployments: ctx.informers.informerFor<Deployment>(Resources.deployments),
    replicaSets: ctx.informers.informerFor<ReplicaSet>(Resources.replicaSets),
    pods: ctx.informers.informerFor<PodObject>(Resources.pods),
  };
}

export const deploymentController: ControllerDescriptor = {
  name: "deployment-controller",
  aliases: ["deployment"],
  informers(ctx) {
    informersOf(ctx);
  },
  run(ctx, signal) {
    const inf = informersOf(ctx);
    const logger = ctx.logger.child({ controller: "deployment" });
    let sync: DeploymentSync | undefined;
    return runQueueController(
      ctx,
      {
        name: "deployment",
        workers: WORKERS,
        register(queue) {
          sync = new DeploymentSync({
            client: ctx.client,
            recorder: ctx.recorder("deployment-controller"),
            clock: ctx.clock,
            logger,
            deployments: inf.deployments.lister,
            replicaSets: inf.replicaSets.lister,
            pods: inf.pods.lister,
            queue,
          });
          return registerHandlers(inf, queue);
        },
        reconcile: (key) => sync!.syncDeployment(key),
      },
      signal,
    );
  },
};
