/** The EndpointSlice mirroring controller, as kube-controller-manager names it. */
import { Resources } from "@kubemu/common";
import { queueControllerDescriptor } from "../../controller/descriptor.js";
import type { ServiceObject } from "../endpoint-util/pods.js";
import type { EndpointSliceObject } from "../endpointslice/endpoints.js";
import { mirroringController } from "./controller.js";
import type { EndpointsObject } from "./reconciler.js";

export const endpointSliceMirroringControllerDescriptor = queueControllerDescriptor({
  name: "endpointslice-mirroring-controller",
  aliases: ["endpointslicemirroring"],
  informers: (ctx) => ({
    endpoints: ctx.informers.informerFor<EndpointsObject>(Resources.endpoints),
    services: ctx.informers.informerFor<ServiceObject>(Resources.services),
    slices: ctx.informers.informerFor<EndpointSliceObject>(Resources.endpointSlices),
  }),
  controller: mirroringController,
});
