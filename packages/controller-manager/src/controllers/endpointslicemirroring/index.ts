/** The EndpointSlice mirroring controller, as kube-controller-manager names it. */
import { Resources } from "@kubemu/common";
import type { ControllerContext, ControllerDescriptor } from "../../controller/context.js";
import { runQueueController } from "../../controller/run.js";
import type { ServiceObject } from "../endpoint-util/pods.js";
import type { EndpointSliceObject } from "../endpointslice/endpoints.js";
import { mirroringController, type MirroringInformers } from "./controller.js";
import type { EndpointsObject } from "./reconciler.js";

function informers(ctx: ControllerContext): MirroringInformers {
  return {
    endpoints: ctx.informers.informerFor<EndpointsObject>(Resources.endpoints),
    services: ctx.informers.informerFor<ServiceObject>(Resources.services),
    slices: ctx.informers.informerFor<EndpointSliceObject>(Resources.endpointSlices),
  };
}

export const endpointSliceMirroringControllerDescriptor: ControllerDescriptor = {
  name: "endpointslice-mirroring-controller",
  aliases: ["endpointslicemirroring"],
  informers(ctx) {
    informers(ctx);
  },
  run: (ctx, signal) => runQueueController(ctx, mirroringController(ctx, informers(ctx)), signal),
};
