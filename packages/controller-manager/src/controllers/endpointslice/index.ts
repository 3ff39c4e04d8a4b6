/** The EndpointSlice controller, as kube-controller-manager names it. */
import { Resources, type KubeObject } from "@kubemu/common";
import type { ControllerContext, ControllerDescriptor } from "../../controller/context.js";
import { runQueueController } from "../../controller/run.js";
import type { PodObject, ServiceObject } from "../endpoint-util/pods.js";
import { endpointSliceController, type EndpointSliceInformers } from "./controller.js";
import type { EndpointSliceObject } from "./endpoints.js";

function informers(ctx: ControllerContext): EndpointSliceInformers {
  return {
    services: ctx.informers.informerFor<ServiceObject>(Resources.services),
    pods: ctx.informers.informerFor<PodObject>(Resources.pods),
    slices: ctx.informers.informerFor<EndpointSliceObject>(Resources.endpointSlices),
    nodes: ctx.informers.informerFor<KubeObject>(Resources.nodes),
  };
}

export const endpointSliceControllerDescriptor: ControllerDescriptor = {
  name: "endpointslice-controller",
  aliases: ["endpointslice"],
  informers(ctx) {
    informers(ctx);
  },
  run: (ctx, signal) => runQueueController(ctx, endpointSliceController(ctx, informers(ctx)), signal),
};
