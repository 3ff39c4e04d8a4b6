/**
 * deployment-controller: rolls Deployments out through ReplicaSets (upstream's
 * pkg/controller/deployment). It writes only ReplicaSets and the Deployment's status; the
 * ReplicaSet controller makes the pods.
 */
import { Resources } from "@kubemu/common";
import { queueControllerDescriptor, withQueue } from "../../controller/descriptor.js";
import { registerHandlers, type DeploymentInformers } from "./controller.js";
import { DeploymentSync } from "./sync.js";
import type { Deployment, PodObject, ReplicaSet } from "./types.js";

const WORKERS = 5;

export const deploymentController = queueControllerDescriptor({
  name: "deployment-controller",
  aliases: ["deployment"],
  informers: (ctx): DeploymentInformers => ({
    deployments: ctx.informers.informerFor<Deployment>(Resources.deployments),
    replicaSets: ctx.informers.informerFor<ReplicaSet>(Resources.replicaSets),
    pods: ctx.informers.informerFor<PodObject>(Resources.pods),
  }),
  controller: (ctx, inf) =>
    withQueue({ name: "deployment", workers: WORKERS }, (queue) => {
      const sync = new DeploymentSync({
        client: ctx.client,
        recorder: ctx.recorder("deployment-controller"),
        clock: ctx.clock,
        logger: ctx.logger.child({ controller: "deployment" }),
        deployments: inf.deployments.lister,
        replicaSets: inf.replicaSets.lister,
        pods: inf.pods.lister,
        queue,
      });
      return { reconcile: (key) => sync.syncDeployment(key), handlers: registerHandlers(inf, queue) };
    }),
});
