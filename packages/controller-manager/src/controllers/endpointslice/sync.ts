/**
 * One Service's EndpointSlices (upstream's endpointslice_controller.go syncService): the pods its
 * selector picks, reconciled against the slices this controller manages for it. Services without
 * a selector and ExternalName Services get none from here; the slices of a deleted Service go
 * with it through their ownerReference (the garbage collector's part).
 */
import type { Lister, Logger } from "@kubemu/common";
import { splitKey } from "@kubemu/common";
import type { Recorder } from "../../controller/context.js";
import { messageOf } from "../../controller/pod-control.js";
import { selectorMatches, serviceSelector, type PodObject, type ServiceObject } from "../endpoint-util/pods.js";
import { MANAGED_BY_LABEL, SERVICE_NAME_LABEL, type EndpointSliceTracker } from "../endpoint-util/slice-tracker.js";
import { TriggerTimeTracker } from "../endpoint-util/trigger-time.js";
import type { EndpointSliceObject } from "./endpoints.js";
import type { SliceReconciler } from "./reconciler.js";

export interface EndpointSliceSyncDeps {
  services: Lister<ServiceObject>;
  pods: Lister<PodObject>;
  slices: Lister<EndpointSliceObject>;
  reconciler: SliceReconciler;
  tracker: EndpointSliceTracker;
  recorder: Recorder;
  logger: Logger;
  triggerTimes?: TriggerTimeTracker;
}

/** The informer has not seen this controller's last writes yet; the key is retried. */
export class StaleInformerCacheError extends Error {
  override readonly name = "StaleInformerCacheError";
}

export class EndpointSliceSync {
  readonly triggerTimes: TriggerTimeTracker;

  constructor(private readonly d: EndpointSliceSyncDeps) {
    this.triggerTimes = d.triggerTimes ?? new TriggerTimeTracker();
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    if (!namespace) return;
    const svc = this.d.services.get(namespace, name);
    if (!svc) {
      this.triggerTimes.deleteService(namespace, name);
      this.d.tracker.deleteService(namespace, name);
      return;
    }
    if (svc.spec?.type === "ExternalName") return;
    const selector = serviceSelector(svc);
    if (!selector) return;

    const pods = this.d.pods.list({ namespace }).filter((p) => selectorMatches(selector, p.metadata.labels));
    const managedBy = this.d.reconciler.controllerName;
    const slices = this.d.slices
      .list({ namespace })
      .filter((s) => s.metadata.labels?.[SERVICE_NAME_LABEL] === name && s.metadata.labels?.[MANAGED_BY_LABEL] === managedBy)
      // A slice being deleted could otherwise keep the controller from ever catching up.
      .filter((s) => !s.metadata.deletionTimestamp);
    if (this.d.tracker.staleSlices(key, slices)) throw new StaleInformerCacheError("EndpointSlice informer cache is out of date");
    const triggerTime = this.triggerTimes.compute(svc, pods);
    try {
      await this.d.reconciler.reconcile(svc, pods, slices, triggerTime);
    } catch (e) {
      this.d.recorder.event(svc, "Warning", "FailedToUpdateEndpointSlices", `Error updating Endpoint Slices for Service ${namespace}/${name}: ${messageOf(e)}`);
      throw e;
    }
  }
}

