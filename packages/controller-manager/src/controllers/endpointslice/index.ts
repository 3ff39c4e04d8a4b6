/** The EndpointSlice controller, as kube-controller-manager names it. */
import { Resources, type KubeObject } from "@kubemu/common";
import { queueControllerDescriptor } from "../../controller/descriptor.js";
import type { PodObject, ServiceObject } from "../endpoint-util/pods.js";
import { endpointSliceController } from "./controller.js";
import type { EndpointSliceObject } from "./endpoints.js";

export const endpointSliceControllerDescriptor = queueControllerDescriptor({
  name: "endpointslice-controller",
  aliases: ["endpointslice"],
  informers: (ctx) => ({
    services: ctx.informers.informerFor<ServiceObject>(Resources.services),
    pods: ctx.informers.informerFor<PodObject>(Resources.pods),
    slices: ctx.informers.informerFor<EndpointSliceObject>(Resources.endpointSlices),
    nodes: ctx.informers.informerFor<KubeObject>(Resources.nodes),
  }),
  controller: endpointSliceController,
});
