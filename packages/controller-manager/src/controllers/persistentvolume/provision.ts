/**
 * Dynamic provisioning from the PV controller's side (pv_controller.go's provisionClaim and
 * provisionClaimOperationExternal): the controller provisions nothing itself. For a class whose
 * provisioner is external (anything not `kubernetes.io/…`, e.g. `rancher.io/local-path`) it
 * annotates the claim with `volume.kubernetes.io/storage-provisioner` (and the beta spelling) so
 * that provisioner picks it up, and says so with an ExternalProvisioning event; the provisioner
 * creates a PV pre-bound to the claim, which the controller then binds. In-tree
 * (`kubernetes.io/…`) provisioners have no plugin in kubemu: ProvisioningFailed, as upstream
 * reports a provisioner it has no plugin for.
 */
import { messageOf } from "../../controller/pod-control.js";
import type { Lister, Logger } from "@kubemu/common";
import type { Recorder } from "../../controller/context.js";
import { claimClass } from "./matching.js";
import { ANN_BETA_STORAGE_PROVISIONER, ANN_STORAGE_PROVISIONER, Reasons, type ClaimObject, type ClassObject } from "./types.js";
import type { PvWrites } from "./writes.js";

export interface ProvisionDeps {
  classes: Lister<ClassObject>;
  recorder: Recorder;
  writes: PvWrites;
  logger: Logger;
  /** --enable-dynamic-provisioning (default true). */
  enableDynamicProvisioning: boolean;
}

/** The ExternalProvisioning event's message, in upstream's words. */
export function externalProvisioningMessage(provisioner: string): string {
  return (
    `Waiting for a volume to be created either by the external provisioner '${provisioner}' ` +
    "or manually by the system administrator. If volume creation is delayed, please verify that " +
    "the provisioner is running and correctly registered."
  );
}

export class ClaimProvisioner {
  constructor(private readonly d: ProvisionDeps) {}

  /** Hands the claim to its class's provisioner; a failure is an event, retried on the next sync. */
  async provisionClaim(claim: ClaimObject): Promise<void> {
    if (!this.d.enableDynamicProvisioning) return;
    const className = claimClass(claim);
    const sc = this.d.classes.get(undefined, className);
    if (!sc) {
      this.d.recorder.event(claim, "Warning", Reasons.ProvisioningFailed, `storageclass.storage.k8s.io ${JSON.stringify(className)} not found`);
      return;
    }
    const provisioner = sc.provisioner;
    if (provisioner.startsWith("kubernetes.io/")) {
      // FindProvisionablePluginByName: no in-tree provisioning plugin is emulated.
      this.d.recorder.event(claim, "Warning", Reasons.ProvisioningFailed, `no volume plugin matched name: ${provisioner}`);
      return;
    }
    await this.provisionExternal(claim, provisioner);
  }

  private async provisionExternal(claim: ClaimObject, provisioner: string): Promise<void> {
    let current = claim;
    try {
      current = await this.setClaimProvisioner(claim, provisioner);
    } catch (e) {
      this.d.recorder.event(claim, "Warning", Reasons.ProvisioningFailed, `Error saving claim: ${messageOf(e)}`);
      throw e;
    }
    this.d.recorder.event(current, "Normal", Reasons.ExternalProvisioning, externalProvisioningMessage(provisioner));
  }

  /** volume.kubernetes.io/storage-provisioner (and the beta annotation) = the class's provisioner. */
  private async setClaimProvisioner(claim: ClaimObject, provisioner: string): Promise<ClaimObject> {
    if (claim.metadata.annotations?.[ANN_STORAGE_PROVISIONER] === provisioner) return claim;
    const next = structuredClone(claim);
    next.metadata.annotations = { ...(next.metadata.annotations ?? {}), [ANN_BETA_STORAGE_PROVISIONER]: provisioner, [ANN_STORAGE_PROVISIONER]: provisioner };
    this.d.logger.debug({ pvc: `${claim.metadata.namespace}/${claim.metadata.name}`, provisioner }, "setting the claim's provisioner");
    return this.d.writes.updateClaim(next);
  }
}
