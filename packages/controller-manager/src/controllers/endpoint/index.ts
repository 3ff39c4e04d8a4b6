/** The Endpoints controller, as kube-controller-manager names it. */
import { Resources } from "@kubemu/common";
import type { ControllerContext, ControllerDescriptor } from "../../controller/context.js";
import { runQueueController } from "../../controller/run.js";
import type { PodObject, ServiceObject } from "../endpoint-util/pods.js";
import { endpointController, type EndpointInformers } from "./controller.js";
import type { EndpointsObject } from "./sync.js";

function informers(ctx: ControllerContext): EndpointInformers {
  return {
    services: ctx.informers.informerFor<ServiceObject>(Resources.services),
    pods: ctx.informers.informerFor<PodObject>(Resources.pods),
    endpoints: ctx.informers.informerFor<EndpointsObject>(Resources.endpoints),
  };
}

export const endpointControllerDescriptor: ControllerDescriptor = {
  name: "endpoints-controller",
  aliases: ["endpoint"],
  informers(ctx) {
    informers(ctx);
  },
  run: (ctx, signal) => runQueueController(ctx, endpointController(ctx, informers(ctx)), signal),
};
