/**
 * The Endpoints controller's wiring (upstream's NewEndpointController): a Service change queues
 * the Service; a pod change queues the Services it was or is in (only when something that shows
 * in Endpoints changed); a deleted Endpoints object queues its Service so it is rewritten. At
 * start every existing Endpoints object is queued once, so those of Services deleted while no
 * controller ran are cleaned up.
 */
import type { SharedInformer, WorkQueue } from "@kubemu/common";
import { deletedObject, objectKey } from "@kubemu/common";
import type { ControllerContext } from "../../controller/context.js";
import { enqueueSelf, type QueueController } from "../../controller/run.js";
import { enqueueServicesOfPods } from "../endpoint-util/handlers.js";
import { LEADER_ANNOTATION, type PodObject, type ServiceObject } from "../endpoint-util/pods.js";
import { EndpointsSync, type EndpointsObject } from "./sync.js";

/** kube-controller-manager's --concurrent-endpoint-syncs default. */
export const ENDPOINT_WORKERS = 5;

export interface EndpointInformers {
  services: SharedInformer<ServiceObject>;
  pods: SharedInformer<PodObject>;
  endpoints: SharedInformer<EndpointsObject>;
}

export function endpointController(ctx: ControllerContext, inf: EndpointInformers): QueueController {
  const sync = new EndpointsSync({
    client: ctx.client,
    services: inf.services.lister,
    pods: inf.pods.lister,
    endpoints: inf.endpoints.lister,
    recorder: ctx.recorder("endpoint-controller"),
    logger: ctx.logger.child({ controller: "endpoint" }),
  });
  return {
    name: "endpoint",
    workers: ENDPOINT_WORKERS,
    register: (queue: WorkQueue<string>) => [
      enqueueSelf(inf.services, queue),
      enqueueServicesOfPods(inf.pods, inf.services.lister, queue),
      inf.endpoints.addEventHandler({ onDelete: (e) => queue.add(objectKey(deletedObject(e))) }, { resync: false }),
    ],
    reconcile: (key) => sync.sync(key),
    async background(queue) {
      // checkLeftoverEndpoints: Endpoints whose Service went away while nobody watched.
      for (const ep of inf.endpoints.lister.list()) {
        if (ep.metadata.annotations?.[LEADER_ANNOTATION] !== undefined) continue;
        queue.add(objectKey(ep));
      }
    },
  };
}
