/**
 * The mirroring controller's wiring (upstream's endpointslicemirroring.NewController): Endpoints
 * changes queue themselves when mirrorable; a Service without a selector appearing, going or
 * gaining/losing its selector queues its Endpoints; mirrored slices changed by anyone else queue
 * their Endpoints after a second.
 */
import type { SharedInformer, WorkQueue } from "@kubemu/common";
import { deletedObject, objectKey } from "@kubemu/common";
import type { ControllerContext } from "../../controller/context.js";
import type { QueueController } from "../../controller/run.js";
import { enqueueServicesOfSlices } from "../endpoint-util/handlers.js";
import { serviceSelector, type ServiceObject } from "../endpoint-util/pods.js";
import { EndpointSliceTracker, serviceKeyOfSlice } from "../endpoint-util/slice-tracker.js";
import type { EndpointSliceObject } from "../endpointslice/endpoints.js";
import { MIRRORING_CONTROLLER_NAME, MirroringReconciler, type EndpointsObject } from "./reconciler.js";
import { MirroringSync, shouldMirror } from "./sync.js";

/** kube-controller-manager's --mirroring-concurrent-service-endpoint-syncs default. */
export const MIRRORING_WORKERS = 5;
const SLICE_CHANGE_DELAY_MS = 1000;

export interface MirroringInformers {
  endpoints: SharedInformer<EndpointsObject>;
  services: SharedInformer<ServiceObject>;
  slices: SharedInformer<EndpointSliceObject>;
}

export function mirroringController(ctx: ControllerContext, inf: MirroringInformers): QueueController {
  const tracker = new EndpointSliceTracker(serviceKeyOfSlice);
  const reconciler = new MirroringReconciler({ client: ctx.client, tracker, recorder: ctx.recorder("endpoint-slice-mirroring-controller"), logger: ctx.logger.child({ controller: "endpointslicemirroring" }) });
  const sync = new MirroringSync({ endpoints: inf.endpoints.lister, services: inf.services.lister, slices: inf.slices.lister, reconciler, tracker });
  return {
    name: "endpoint_slice_mirroring",
    workers: MIRRORING_WORKERS,
    register(queue: WorkQueue<string>) {
      return [
        inf.services.addEventHandler({
          onAdd: (s) => {
            if (!serviceSelector(s)) queue.add(objectKey(s));
          },
          onUpdate: (o, s) => {
            if (!serviceSelector(o) !== !serviceSelector(s)) queue.add(objectKey(s));
          },
          onDelete: (d) => {
            const s = deletedObject(d);
            if (!serviceSelector(s)) queue.add(objectKey(s));
          },
        }),
        inf.endpoints.addEventHandler({
          onAdd: (e) => {
            if (shouldMirror(e)) queue.add(objectKey(e));
          },
          onUpdate: (o, e) => {
            if (shouldMirror(o) || shouldMirror(e)) queue.add(objectKey(e));
          },
          onDelete: (d) => {
            const e = deletedObject(d);
            if (shouldMirror(e)) queue.add(objectKey(e));
          },
        }),
        enqueueServicesOfSlices(inf.slices, { tracker, managedBy: MIRRORING_CONTROLLER_NAME, delayMs: SLICE_CHANGE_DELAY_MS }, queue),
      ];
    },
    reconcile: (key) => sync.sync(key),
  };
}
