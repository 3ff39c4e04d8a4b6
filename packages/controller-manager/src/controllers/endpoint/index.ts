/** The Endpoints controller, as kube-controller-manager names it. */
import { Resources } from "@kubemu/common";
import { queueControllerDescriptor } from "../../controller/descriptor.js";
import type { PodObject, ServiceObject } from "../endpoint-util/pods.js";
import { endpointController } from "./controller.js";
import type { EndpointsObject } from "./sync.js";

export const endpointControllerDescriptor = queueControllerDescriptor({
  name: "endpoints-controller",
  aliases: ["endpoint"],
  informers: (ctx) => ({
    services: ctx.informers.informerFor<ServiceObject>(Resources.services),
    pods: ctx.informers.informerFor<PodObject>(Resources.pods),
    endpoints: ctx.informers.informerFor<EndpointsObject>(Resources.endpoints),
  }),
  controller: endpointController,
});
