/**
 * One Endpoints object's mirrored slices (upstream's endpointslicemirroring syncEndpoints):
 * mirrored only while a Service of the same name exists without a selector and the Endpoints
 * carry neither the skip-mirror label (the API server's own `kubernetes` Endpoints) nor a leader
 * election annotation; otherwise every mirrored slice is removed.
 */
import type { Lister } from "@kubemu/common";
import { splitKey } from "@kubemu/common";
import { LEADER_ANNOTATION, serviceSelector, type ServiceObject } from "../endpoint-util/pods.js";
import { MANAGED_BY_LABEL, SERVICE_NAME_LABEL, type EndpointSliceTracker } from "../endpoint-util/slice-tracker.js";
import type { EndpointSliceObject } from "../endpointslice/endpoints.js";
import { StaleInformerCacheError } from "../endpointslice/sync.js";
import { MIRRORING_CONTROLLER_NAME, type EndpointsObject, type MirroringReconciler } from "./reconciler.js";

export const SKIP_MIRROR_LABEL = "endpointslice.kubernetes.io/skip-mirror";

/** shouldMirror: not skip-mirror, not a leader-election record. */
export function shouldMirror(ep: EndpointsObject | undefined): boolean {
  if (!ep) return false;
  return ep.metadata.labels?.[SKIP_MIRROR_LABEL] !== "true" && ep.metadata.annotations?.[LEADER_ANNOTATION] === undefined;
}

export interface MirroringSyncDeps {
  endpoints: Lister<EndpointsObject>;
  services: Lister<ServiceObject>;
  slices: Lister<EndpointSliceObject>;
  reconciler: MirroringReconciler;
  tracker: EndpointSliceTracker;
}

export class MirroringSync {
  constructor(private readonly d: MirroringSyncDeps) {}

  mirroredSlices(namespace: string, name: string): EndpointSliceObject[] {
    return this.d.slices.list({ namespace }).filter((s) => s.metadata.labels?.[SERVICE_NAME_LABEL] === name && s.metadata.labels?.[MANAGED_BY_LABEL] === MIRRORING_CONTROLLER_NAME);
  }

  private async cleanUp(namespace: string, name: string): Promise<void> {
    this.d.tracker.deleteService(namespace, name);
    await this.d.reconciler.deleteAll(namespace, name, this.mirroredSlices(namespace, name));
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    if (!namespace) return;
    const ep = this.d.endpoints.get(namespace, name);
    if (!ep || !shouldMirror(ep)) return this.cleanUp(namespace, name);
    const svc = this.d.services.get(namespace, name);
    // A Service with a selector has its slices from the EndpointSlice controller.
    if (!svc || serviceSelector(svc)) return this.cleanUp(namespace, name);
    const slices = this.mirroredSlices(namespace, name);
    if (this.d.tracker.staleSlices(key, slices)) throw new StaleInformerCacheError("EndpointSlice informer cache is out of date");
    await this.d.reconciler.reconcile(ep, slices);
  }
}
