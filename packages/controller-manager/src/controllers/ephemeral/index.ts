/**
 * The ephemeral volume controller (ephemeral-volume-controller; events from ephemeral_volume): 5
 * workers (--concurrent-ephemeralvolume-syncs). A new pod with a generic ephemeral volume is
 * queued (its spec cannot change, so updates are not); a deleted claim queues the pods that
 * name it, so a claim deleted by mistake is made again. Deleting the claims with their pod is the
 * garbage collector's job (the pod owns them).
 */
import { Resources, deletedObject, objectKey, type WorkQueue } from "@kubemu/common";
import type { ControllerContext, ControllerDescriptor } from "../../controller/context.js";
import type { PodObject } from "../../controller/pod-control.js";
import { POD_PVC_INDEX, podPvcIndex } from "../../controller/pod-pvc-index.js";
import { runQueueController } from "../../controller/run.js";
import type { ClaimObject } from "../persistentvolume/types.js";
import { EphemeralVolumeSync } from "./sync.js";

const WORKERS = 5;

function informersFor(ctx: ControllerContext) {
  return {
    pods: ctx.informers.informerFor<PodObject>(Resources.pods, {}, { [POD_PVC_INDEX]: podPvcIndex }),
    claims: ctx.informers.informerFor<ClaimObject>(Resources.persistentVolumeClaims),
  };
}

/** Queues a pod that is not being deleted and has at least one ephemeral volume. */
export function enqueuePod(pod: PodObject, queue: Pick<WorkQueue<string>, "add">): void {
  if (pod.metadata.deletionTimestamp) return;
  if ((pod.spec?.volumes ?? []).some((v) => v.ephemeral)) queue.add(objectKey(pod));
}

async function run(ctx: ControllerContext, signal: AbortSignal): Promise<void> {
  const { pods, claims } = informersFor(ctx);
  const sync = new EphemeralVolumeSync({ client: ctx.client, pods: pods.lister, claims: claims.lister, recorder: ctx.recorder("ephemeral_volume"), logger: ctx.logger.child({ controller: "ephemeral-volume" }) });
  await runQueueController(
    ctx,
    {
      name: "ephemeral_volume",
      workers: WORKERS,
      register: (queue) => [
        pods.addEventHandler({ onAdd: (p) => enqueuePod(p, queue) }),
        claims.addEventHandler({
          onDelete: (c) => {
            const claim = deletedObject(c);
            for (const p of pods.lister.byIndex(POD_PVC_INDEX, objectKey(claim))) enqueuePod(p, queue);
          },
        }),
      ],
      reconcile: (key) => sync.sync(key),
    },
    signal,
  );
}

export const ephemeralVolumeController: ControllerDescriptor = {
  name: "ephemeral-volume-controller",
  aliases: ["ephemeral-volume"],
  informers: (ctx) => void informersFor(ctx),
  run,
};
