/**
 * The PVC protection controller's reconcile (upstream's pvc_protection_controller.go processPVC):
 * a claim being deleted keeps its `kubernetes.io/pvc-protection` finalizer while a pod uses it —
 * looked up first in the pod informer (by the claims-of-pods index), then, to be sure a pod the
 * informer has not seen yet does not use it, in a live list of the namespace's pods — and loses
 * it once none does, so the API server removes it. A live claim without the finalizer gets it.
 *
 * "Uses" is upstream's: a pod bound to a node (the kubelet never starts a pod whose claim is being
 * deleted, so an unscheduled one does not count) with a persistentVolumeClaim volume naming the
 * claim — finished pods included, until they are deleted — or with a generic ephemeral volume whose
 * claim this is, while the pod is not shut down (deleted with a zero grace period).
 */
import { Resources, splitKey, silentLogger, type Lister, type Logger } from "@kubemu/common";
import type { ControllerClient } from "../../controller/client.js";
import { POD_PVC_INDEX, claimIsForPod, ephemeralClaimName } from "../../controller/pod-pvc-index.js";
import { PVC_PROTECTION_FINALIZER, isDeletionCandidate, needToAddFinalizer, withFinalizer, withoutFinalizer } from "../../controller/protection.js";
import type { ClaimObject } from "../persistentvolume/types.js";

import type { PodObject } from "../../controller/pod-control.js";

export type { PodObject };

export interface PvcProtectionDeps {
  client: ControllerClient;
  claims: Lister<ClaimObject>;
  /** Pods, with the POD_PVC_INDEX index. */
  pods: Lister<PodObject>;
  logger?: Logger;
}

/** Deleted with a zero grace period: the kubelet is done with it, or it was force-deleted (podIsShutDown). */
function podIsShutDown(pod: PodObject): boolean {
  return !!pod.metadata.deletionTimestamp && pod.metadata.deletionGracePeriodSeconds === 0;
}

export function podUsesClaim(pod: PodObject, claim: ClaimObject): boolean {
  if (!pod.spec?.nodeName || pod.metadata.namespace !== claim.metadata.namespace) return false;
  return (pod.spec.volumes ?? []).some(
    (v) =>
      v.persistentVolumeClaim?.claimName === claim.metadata.name ||
      (!podIsShutDown(pod) && v.ephemeral !== undefined && ephemeralClaimName(pod, v) === claim.metadata.name && claimIsForPod(pod, claim)),
  );
}

export class PvcProtectionSync {
  private readonly log: Logger;

  constructor(private readonly d: PvcProtectionDeps) {
    this.log = d.logger ?? silentLogger;
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const claim = this.d.claims.get(namespace, name);
    if (!claim) return;
    if (isDeletionCandidate(claim, PVC_PROTECTION_FINALIZER)) {
      if (!(await this.isBeingUsed(claim))) {
        await this.d.client.update(Resources.persistentVolumeClaims, withoutFinalizer(claim, PVC_PROTECTION_FINALIZER));
        this.log.info({ pvc: key }, "Removed protection finalizer from PVC");
        return;
      }
      this.log.info({ pvc: key }, "Keeping PVC because it is being used");
    }
    if (needToAddFinalizer(claim, PVC_PROTECTION_FINALIZER)) {
      // Made before the admission plugin added the finalizer.
      await this.d.client.update(Resources.persistentVolumeClaims, withFinalizer(claim, PVC_PROTECTION_FINALIZER));
      this.log.info({ pvc: key }, "Added protection finalizer to PVC");
    }
  }

  private async isBeingUsed(claim: ClaimObject): Promise<boolean> {
    const key = `${claim.metadata.namespace}/${claim.metadata.name}`;
    if (this.d.pods.byIndex(POD_PVC_INDEX, key).some((p) => podUsesClaim(p, claim))) return true;
    // Not in the informer does not mean no such pod: it may not have arrived yet.
    const live = await this.d.client.list<PodObject>(Resources.pods, { namespace: claim.metadata.namespace! });
    if (live.items.some((p) => podUsesClaim(p, claim))) return true;
    this.log.info({ pvc: key }, "PVC is unused");
    return false;
  }
}
