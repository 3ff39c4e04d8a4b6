/**
 * The ephemeral volume controller's reconcile (upstream's pkg/controller/volume/ephemeral
 * syncHandler): every generic ephemeral volume of a pod gets its claim `<pod>-<volume>`, made from
 * the volume's claim template and owned by the pod (so the garbage collector deletes it with the
 * pod). A claim of that name the pod does not own is an error: FailedBinding on the pod, and no
 * claim is made over it. Pods being deleted are left alone.
 */
import { Resources, splitKey, silentLogger, type Lister, type Logger } from "@kubemu/common";
import type { Volume } from "kubernetes-types/core/v1.js";
import type { ControllerClient } from "../../controller/client.js";
import type { Recorder } from "../../controller/context.js";
import type { PodObject } from "../../controller/pod-control.js";
import { messageOf } from "../../controller/pod-control.js";
import { claimIsForPod, ephemeralClaimName } from "../../controller/pod-pvc-index.js";
import type { ClaimObject } from "../persistentvolume/types.js";

export interface EphemeralDeps {
  client: ControllerClient;
  pods: Lister<PodObject>;
  claims: Lister<ClaimObject>;
  recorder: Recorder;
  logger?: Logger;
}

export class EphemeralVolumeSync {
  private readonly log: Logger;

  constructor(private readonly d: EphemeralDeps) {
    this.log = d.logger ?? silentLogger;
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const pod = this.d.pods.get(namespace, name);
    if (!pod || pod.metadata.deletionTimestamp) return;
    for (const vol of pod.spec?.volumes ?? []) {
      try {
        await this.handleVolume(pod, vol);
      } catch (e) {
        this.d.recorder.event(pod, "Warning", "FailedBinding", `ephemeral volume ${vol.name}: ${messageOf(e)}`);
        throw new Error(`pod ${key}, ephemeral volume ${vol.name}: ${messageOf(e)}`, { cause: e });
      }
    }
  }

  private async handleVolume(pod: PodObject, vol: Volume): Promise<void> {
    if (!vol.ephemeral) return;
    const claimName = ephemeralClaimName(pod, vol);
    const ns = pod.metadata.namespace!;
    const existing = this.d.claims.get(ns, claimName);
    if (existing) {
      if (!claimIsForPod(pod, existing)) throw new Error(`PVC ${ns}/${claimName} was not created for pod ${ns}/${pod.metadata.name} (pod is not owner)`);
      return;
    }
    const template = vol.ephemeral.volumeClaimTemplate;
    const claim = {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: {
        name: claimName,
        namespace: ns,
        ownerReferences: [{ apiVersion: "v1", kind: "Pod", name: pod.metadata.name!, uid: pod.metadata.uid!, controller: true, blockOwnerDeletion: true }],
        ...(template?.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
        ...(template?.metadata?.labels ? { labels: { ...template.metadata.labels } } : {}),
      },
      spec: structuredClone(template?.spec ?? {}),
    } as ClaimObject;
    try {
      await this.d.client.create(Resources.persistentVolumeClaims, claim);
    } catch (e) {
      throw new Error(`create PVC ${claimName}: ${messageOf(e)}`, { cause: e });
    }
    this.log.info({ pod: `${ns}/${pod.metadata.name}`, pvc: claimName }, "created the claim of an ephemeral volume");
  }
}
