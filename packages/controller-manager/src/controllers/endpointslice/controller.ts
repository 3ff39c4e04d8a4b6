/**
 * The EndpointSlice controller's wiring (upstream's endpointslice.NewController): Service
 * changes queue the Service; pod changes queue the Services the pod was or is in; slice changes
 * queue their Service only when someone else made them (the tracker recognises this controller's
 * own writes), after a second so bursts of slice events fold into one sync.
 */
import type { KubeObject, SharedInformer, WorkQueue } from "@kubemu/common";
import type { ControllerContext } from "../../controller/context.js";
import { enqueueSelf, type QueueController } from "../../controller/run.js";
import { enqueueServicesOfPods, enqueueServicesOfSlices } from "../endpoint-util/handlers.js";
import type { PodObject, ServiceObject } from "../endpoint-util/pods.js";
import { EndpointSliceTracker, serviceKeyOfSlice } from "../endpoint-util/slice-tracker.js";
import type { EndpointSliceObject } from "./endpoints.js";
import { SliceReconciler } from "./reconciler.js";
import { EndpointSliceSync } from "./sync.js";

/** kube-controller-manager's --concurrent-service-endpoint-syncs default. */
export const ENDPOINTSLICE_WORKERS = 5;
/** endpointSliceChangeMinSyncDelay. */
export const SLICE_CHANGE_DELAY_MS = 1000;

export interface EndpointSliceInformers {
  services: SharedInformer<ServiceObject>;
  pods: SharedInformer<PodObject>;
  slices: SharedInformer<EndpointSliceObject>;
  nodes: SharedInformer<KubeObject>;
}

export function endpointSliceController(ctx: ControllerContext, inf: EndpointSliceInformers): QueueController {
  const tracker = new EndpointSliceTracker(serviceKeyOfSlice);
  const logger = ctx.logger.child({ controller: "endpointslice" });
  const recorder = ctx.recorder("endpoint-slice-controller");
  const reconciler = new SliceReconciler({ client: ctx.client, nodes: inf.nodes.lister, tracker, logger });
  const sync = new EndpointSliceSync({ services: inf.services.lister, pods: inf.pods.lister, slices: inf.slices.lister, reconciler, tracker, recorder, logger });
  return {
    name: "endpoint_slice",
    workers: ENDPOINTSLICE_WORKERS,
    register: (queue: WorkQueue<string>) => [
      enqueueSelf(inf.services, queue),
      enqueueServicesOfPods(inf.pods, inf.services.lister, queue),
      enqueueServicesOfSlices(inf.slices, { tracker, managedBy: reconciler.controllerName, delayMs: SLICE_CHANGE_DELAY_MS }, queue),
    ],
    reconcile: (key) => sync.sync(key),
  };
}
