/**
 * The EndpointSlice controller's wiring (upstream's endpointslice.NewController): Service
 * changes queue the Service; pod changes queue the Services the pod was or is in; slice changes
 * queue their Service only when someone else made them (the tracker recognises this controller's
 * own writes), after a second so bursts of slice events fold into one sync.
 */
import type { KubeObject, SharedInformer, WorkQueue } from "@kubemu/common";
import { deletedObject, objectKey } from "@kubemu/common";
import type { ControllerContext } from "../../controller/context.js";
import type { QueueController } from "../../controller/run.js";
import { podServiceMemberships, servicesToUpdateOnPodChange, type PodObject, type ServiceObject } from "../endpoint-util/pods.js";
import { EndpointSliceTracker, MANAGED_BY_LABEL, SERVICE_NAME_LABEL, serviceKeyOfSlice } from "../endpoint-util/slice-tracker.js";
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
  const ours = (s: KubeObject) => s.metadata.labels?.[MANAGED_BY_LABEL] === reconciler.controllerName;
  return {
    name: "endpoint_slice",
    workers: ENDPOINTSLICE_WORKERS,
    register(queue: WorkQueue<string>) {
      const addAll = (keys: Iterable<string>) => {
        for (const k of keys) queue.add(k);
      };
      const queueFor = (s: KubeObject) => {
        const key = serviceKeyOfSlice(s);
        if (key) queue.addAfter(key, SLICE_CHANGE_DELAY_MS);
      };
      return [
        inf.services.addEventHandler({
          onAdd: (s) => queue.add(objectKey(s)),
          onUpdate: (_o, s) => queue.add(objectKey(s)),
          onDelete: (s) => queue.add(objectKey(deletedObject(s))),
        }),
        inf.pods.addEventHandler({
          onAdd: (p) => addAll(podServiceMemberships(inf.services.lister, p)),
          onUpdate: (o, p) => addAll(servicesToUpdateOnPodChange(inf.services.lister, o, p)),
          onDelete: (p) => addAll(podServiceMemberships(inf.services.lister, deletedObject(p))),
        }),
        inf.slices.addEventHandler(
          {
            onAdd: (s) => {
              if (ours(s) && tracker.shouldSync(s)) queueFor(s);
            },
            onUpdate: (o, s) => {
              // Users may relabel a slice; both the old and the new Service need a look.
              if (o.metadata.labels?.[SERVICE_NAME_LABEL] !== s.metadata.labels?.[SERVICE_NAME_LABEL]) {
                queueFor(s);
                queueFor(o);
                return;
              }
              if (ours(o) !== ours(s) || (ours(s) && tracker.shouldSync(s))) queueFor(s);
            },
            onDelete: (d) => {
              const s = deletedObject(d);
              if (ours(s) && tracker.has(s) && !tracker.handleDeletion(s)) queueFor(s);
            },
          },
          { resync: false },
        ),
      ];
    },
    reconcile: (key) => sync.sync(key),
  };
}
