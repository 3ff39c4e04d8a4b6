/** The PV protection controller (persistentvolume-protection-controller): one worker over the PV informer. */
import { Resources } from "@kubemu/common";
import type { ControllerContext, ControllerDescriptor } from "../../controller/context.js";
import { PV_PROTECTION_FINALIZER, isDeletionCandidate, needToAddFinalizer } from "../../controller/protection.js";
import { runQueueController } from "../../controller/run.js";
import type { VolumeObject } from "../persistentvolume/types.js";
import { PvProtectionSync } from "./sync.js";

const volumesOf = (ctx: ControllerContext) => ctx.informers.informerFor<VolumeObject>(Resources.persistentVolumes);

async function run(ctx: ControllerContext, signal: AbortSignal): Promise<void> {
  const volumes = volumesOf(ctx);
  const sync = new PvProtectionSync({ client: ctx.client, volumes: volumes.lister, logger: ctx.logger.child({ controller: "pv-protection" }) });
  await runQueueController(
    ctx,
    {
      name: "pvprotection",
      workers: 1,
      register: (queue) => {
        const onVolume = (pv: VolumeObject) => {
          if (needToAddFinalizer(pv, PV_PROTECTION_FINALIZER) || isDeletionCandidate(pv, PV_PROTECTION_FINALIZER)) queue.add(pv.metadata.name!);
        };
        return [volumes.addEventHandler({ onAdd: onVolume, onUpdate: (_o, n) => onVolume(n) })];
      },
      reconcile: (name) => sync.sync(name),
    },
    signal,
  );
}

export const pvProtectionController: ControllerDescriptor = {
  name: "persistentvolume-protection-controller",
  aliases: ["pv-protection"],
  informers: (ctx) => void volumesOf(ctx),
  run,
};
