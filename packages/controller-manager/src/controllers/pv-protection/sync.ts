/**
 * The PV protection controller's reconcile (upstream's pv_protection_controller.go processPV): a
 * PV being deleted keeps its `kubernetes.io/pv-protection` finalizer while it is Bound to a claim
 * (the PV controller's status says so) and loses it once it is not, so the API server removes it;
 * a live PV without the finalizer gets it.
 */
import { Resources, silentLogger, type Lister, type Logger } from "@kubemu/common";
import type { ControllerClient } from "../../controller/client.js";
import { PV_PROTECTION_FINALIZER, isDeletionCandidate, needToAddFinalizer, withFinalizer, withoutFinalizer } from "../../controller/protection.js";
import type { VolumeObject } from "../persistentvolume/types.js";

export interface PvProtectionDeps {
  client: ControllerClient;
  volumes: Lister<VolumeObject>;
  logger?: Logger;
}

export class PvProtectionSync {
  private readonly log: Logger;

  constructor(private readonly d: PvProtectionDeps) {
    this.log = d.logger ?? silentLogger;
  }

  async sync(name: string): Promise<void> {
    const pv = this.d.volumes.get(undefined, name);
    if (!pv) return;
    if (isDeletionCandidate(pv, PV_PROTECTION_FINALIZER)) {
      if (pv.status?.phase !== "Bound") {
        await this.d.client.update(Resources.persistentVolumes, withoutFinalizer(pv, PV_PROTECTION_FINALIZER));
        this.log.info({ pv: name }, "Removed protection finalizer from PV");
        return;
      }
      this.log.info({ pv: name }, "Keeping PV because it is being used");
    }
    if (needToAddFinalizer(pv, PV_PROTECTION_FINALIZER)) {
      await this.d.client.update(Resources.persistentVolumes, withFinalizer(pv, PV_PROTECTION_FINALIZER));
      this.log.info({ pv: name }, "Added protection finalizer to PV");
    }
  }
}
