/**
 * The PVC protection controller (persistentvolumeclaim-protection-controller): one worker, as
 * upstream runs it. Claims are queued when they need the finalizer added or may lose it; pods are
 * looked at when they can free a claim — deleted, finished, or never scheduled — and then queue
 * every claim they name (an update that hides a delete and re-create under the same name queues
 * the old pod's claims too).
 */
import { Resources, deletedObject, objectKey, type WorkQueue } from "@kubemu/common";
import type { ControllerContext, ControllerDescriptor } from "../../controller/context.js";
import { POD_PVC_INDEX, ephemeralClaimName, podPvcIndex } from "../../controller/pod-pvc-index.js";
import { PVC_PROTECTION_FINALIZER, isDeletionCandidate, needToAddFinalizer } from "../../controller/protection.js";
import { isPodTerminated } from "../../controller/pod-util.js";
import { runQueueController } from "../../controller/run.js";
import type { ClaimObject } from "../persistentvolume/types.js";
import { PvcProtectionSync, type PodObject } from "./sync.js";

function informersFor(ctx: ControllerContext) {
  return {
    claims: ctx.informers.informerFor<ClaimObject>(Resources.persistentVolumeClaims),
    pods: ctx.informers.informerFor<PodObject>(Resources.pods, {}, { [POD_PVC_INDEX]: podPvcIndex }),
  };
}

/** Queues the claims a pod names, if the pod could be what kept one of them (upstream's enqueuePVCs). */
export function enqueueClaimsOf(pod: PodObject, deleted: boolean, queue: Pick<WorkQueue<string>, "add">): void {
  // A running, scheduled pod frees nothing.
  if (!deleted && !isPodTerminated(pod) && pod.spec?.nodeName) return;
  const ns = pod.metadata.namespace;
  for (const v of pod.spec?.volumes ?? []) {
    if (v.persistentVolumeClaim) queue.add(`${ns}/${v.persistentVolumeClaim.claimName}`);
    else if (v.ephemeral) queue.add(`${ns}/${ephemeralClaimName(pod, v)}`);
  }
}

async function run(ctx: ControllerContext, signal: AbortSignal): Promise<void> {
  const { claims, pods } = informersFor(ctx);
  const sync = new PvcProtectionSync({ client: ctx.client, claims: claims.lister, pods: pods.lister, logger: ctx.logger.child({ controller: "pvc-protection" }) });
  const onClaim = (queue: WorkQueue<string>) => (c: ClaimObject) => {
    if (needToAddFinalizer(c, PVC_PROTECTION_FINALIZER) || isDeletionCandidate(c, PVC_PROTECTION_FINALIZER)) queue.add(objectKey(c));
  };
  await runQueueController(
    ctx,
    {
      name: "pvcprotection",
      workers: 1,
      register: (queue) => [
        claims.addEventHandler({ onAdd: onClaim(queue), onUpdate: (_o, n) => onClaim(queue)(n) }),
        pods.addEventHandler({
          onAdd: (p) => enqueueClaimsOf(p, false, queue),
          onUpdate: (old, cur) => {
            enqueueClaimsOf(cur, false, queue);
            if (old.metadata.uid !== cur.metadata.uid) enqueueClaimsOf(old, true, queue);
          },
          onDelete: (p) => enqueueClaimsOf(deletedObject(p), true, queue),
        }),
      ],
      reconcile: (key) => sync.sync(key),
    },
    signal,
  );
}

export const pvcProtectionController: ControllerDescriptor = {
  name: "persistentvolumeclaim-protection-controller",
  aliases: ["pvc-protection"],
  informers: (ctx) => void informersFor(ctx),
  run,
};
