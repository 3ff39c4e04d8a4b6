/**
 * Pods by the claims they use (upstream's common.PodPVCIndexFunc): `namespace/claim` for every
 * persistentVolumeClaim volume and, for a generic ephemeral volume, the claim the ephemeral
 * volume controller makes for it (`<pod>-<volume>`). The volume controllers share this one index
 * function (an informer refuses two functions under one index name).
 */
import type { IndexFunc, KubeObject } from "@kubemu/common";
import type { Pod, Volume } from "kubernetes-types/core/v1.js";

export const POD_PVC_INDEX = "pod-pvc-index";

/** The claim of a generic ephemeral volume (upstream's ephemeral.VolumeClaimName). */
export function ephemeralClaimName(pod: Pod, volume: Volume): string {
  return `${pod.metadata?.name ?? ""}-${volume.name}`;
}

export const podPvcIndex: IndexFunc<KubeObject> = (o) => {
  const pod = o as Pod;
  const ns = pod.metadata?.namespace ?? "";
  const keys: string[] = [];
  for (const v of pod.spec?.volumes ?? []) {
    if (v.persistentVolumeClaim?.claimName) keys.push(`${ns}/${v.persistentVolumeClaim.claimName}`);
    else if (v.ephemeral) keys.push(`${ns}/${ephemeralClaimName(pod, v)}`);
  }
  return keys;
};

/** The claim was made for this pod's ephemeral volume: the pod is its controller (ephemeral.VolumeIsForPod). */
export function claimIsForPod(pod: Pod, claim: KubeObject): boolean {
  return (claim.metadata.ownerReferences ?? []).some((r) => r.controller === true && r.uid === pod.metadata?.uid);
}
