/**
 * What happens to a released PV (pv_controller.go's reclaimVolume and deleteVolumeOperation):
 *
 * - Retain: nothing; the PV stays Released with its claimRef until an administrator acts.
 * - Delete: a PV made by an external provisioner (`pv.kubernetes.io/provisioned-by` not
 *   `kubernetes.io/…`) or a CSI volume is left to that provisioner, which deletes the storage and
 *   then the PV object. Otherwise an in-tree deleter would do it; kubemu's controller-manager has
 *   the hostPath one only (as upstream, for `/tmp/…` paths; the files stay on the node — the
 *   controller-manager has no access to a node's directories), and any other volume is marked
 *   Failed with upstream's VolumeFailedDelete event and message.
 * - Recycle (deprecated upstream): a hostPath or nfs PV is scrubbed by a recycler pod in the
 *   background (recycle.ts) and made Available again (VolumeRecycled); a failed recycle marks it
 *   Failed (VolumeFailedRecycle "Recycle failed: …", retried at every sync); other volume types
 *   have no recycler: Failed, "No recycler plugin found for the volume!".
 * - anything else: Failed, VolumeUnknownReclaimPolicy.
 */
import { Resources, isNotFound, type Clock, type Lister, type Logger } from "@kubemu/common";
import type { ControllerClient } from "../../controller/client.js";
import type { Recorder } from "../../controller/context.js";
import { messageOf, type PodObject } from "../../controller/pod-control.js";
import { POD_PVC_INDEX } from "../../controller/pod-pvc-index.js";
import { isPodTerminated } from "../../controller/pod-util.js";
import { OperationRunner } from "./operations.js";
import { recyclerPodFor, runRecyclerPod } from "./recycle.js";
import { ANN_DYNAMICALLY_PROVISIONED, ANN_MIGRATED_TO, Reasons, type ClaimObject, type VolumeObject } from "./types.js";
import type { VersionedCache } from "./versioned-cache.js";
import type { PvWrites } from "./writes.js";

export interface ReclaimDeps {
  client: ControllerClient;
  recorder: Recorder;
  claims: VersionedCache<ClaimObject>;
  writes: PvWrites;
  /** Pods, with the POD_PVC_INDEX index (a volume in use is not recycled; the recycler pod is watched here). */
  pods: Lister<PodObject>;
  clock: Clock;
  /** Stops background operations (the controller is stopping). */
  signal?: AbortSignal;
  logger: Logger;
  /** How often a recycler pod is looked at. */
  recyclerPollMs?: number;
}

/** What the PV's deleter does: `external` waits for a provisioner, `deleted` removes the PV object, or an error. */
type DeleteOutcome = { kind: "external" } | { kind: "deleted" } | { kind: "error"; message: string };

/** The in-tree volume sources upstream's controller-manager has a plugin for that cannot delete (nfs recycles, local is static). */
const NOT_DELETABLE_SOURCES = ["nfs", "local"];

/** Upstream's findDeletablePlugin + doDeleteVolume for the plugins kubemu knows. */
function deleteVolumeStorage(volume: VolumeObject): DeleteOutcome {
  const provisionedBy = volume.metadata.annotations?.[ANN_DYNAMICALLY_PROVISIONED];
  if (provisionedBy && !provisionedBy.startsWith("kubernetes.io/")) return { kind: "external" };
  // HonorPVReclaimPolicy (on by default since 1.31): CSI volumes are deleted by their driver.
  if (volume.spec.csi) return { kind: "external" };
  const name = JSON.stringify(volume.metadata.name);
  if (volume.spec.hostPath) {
    const path = volume.spec.hostPath.path;
    if (!/\/tmp\/.+/.test(path)) return { kind: "error", message: `host_path deleter only supports /tmp/.+ but received provided ${path}` };
    return { kind: "deleted" };
  }
  if (NOT_DELETABLE_SOURCES.some((s) => (volume.spec as Record<string, unknown>)[s] !== undefined)) {
    return { kind: "error", message: `error getting deleter volume plugin for volume ${name}: no deletable volume plugin matched` };
  }
  return { kind: "error", message: `error getting deleter volume plugin for volume ${name}: no volume plugin matched` };
}

export class Reclaimer {
  /** Background operations (recycles), one per volume at a time. */
  readonly operations: OperationRunner;

  constructor(private readonly d: ReclaimDeps) {
    this.operations = new OperationRunner(d.clock, d.logger);
  }

  async reclaimVolume(volume: VolumeObject): Promise<void> {
    // Migrated to CSI: the external provisioner handles it.
    if (volume.metadata.annotations?.[ANN_MIGRATED_TO]) return;
    switch (volume.spec.persistentVolumeReclaimPolicy) {
      case "Retain":
        this.d.logger.debug({ volume: volume.metadata.name }, "reclaimVolume: policy is Retain, nothing to do");
        return;
      case "Recycle":
        this.operations.run(`recycle-${volume.metadata.name}[${volume.metadata.uid ?? ""}]`, () => this.recycleVolumeOperation(volume));
        return;
      case "Delete":
        await this.deleteVolumeOperation(volume);
        return;
      default:
        await this.d.writes.updateVolumePhaseWithEvent(volume, "Failed", "Warning", "VolumeUnknownReclaimPolicy", "Volume has unrecognized PersistentVolumeReclaimPolicy");
    }
  }

  /**
   * A volume is released (may be reclaimed) when it is bound to a claim that no longer exists,
   * or exists under a new uid, or is bound to another PV (isVolumeReleased).
   */
  isVolumeReleased(volume: VolumeObject): boolean {
    const ref = volume.spec.claimRef;
    if (!ref) return false;
    // Pre-bound by a user, the binding not finished yet.
    if (!ref.uid) return false;
    const claim = this.d.claims.get(`${ref.namespace}/${ref.name}`);
    if (claim && claim.metadata.uid === ref.uid) return !!claim.spec.volumeName && claim.spec.volumeName !== volume.metadata.name;
    return true;
  }

  /** Pods not terminated that use the PV's claim (isVolumeUsed), as `namespace/name`. */
  private podsUsing(volume: VolumeObject): string[] {
    const ref = volume.spec.claimRef;
    if (!ref) return [];
    return this.d.pods
      .byIndex(POD_PVC_INDEX, `${ref.namespace}/${ref.name}`)
      .filter((p) => !isPodTerminated(p))
      .map((p) => `${p.metadata.namespace}/${p.metadata.name}`)
      .sort();
  }

  /**
   * The stored PV, if it still needs its reclaim operation: the cached copy may be behind a
   * previous operation's write, so background operations decide on the stored one.
   */
  private async freshReleased(volume: VolumeObject, log: Logger, operation: string): Promise<VolumeObject | undefined> {
    let fresh: VolumeObject;
    try {
      fresh = await this.d.client.get<VolumeObject>(Resources.persistentVolumes, undefined, volume.metadata.name!);
    } catch (e) {
      log.debug({ err: messageOf(e) }, "Error reading persistent volume");
      return undefined;
    }
    if (!this.isVolumeReleased(fresh)) {
      log.debug(`Volume no longer needs ${operation}, skipping`);
      return undefined;
    }
    return fresh;
  }

  /** recycleVolumeOperation: runs in the background; its outcome is written to the PV, never thrown. */
  private async recycleVolumeOperation(volume: VolumeObject): Promise<void> {
    const log = this.d.logger.child({ volume: volume.metadata.name });
    const fresh = await this.freshReleased(volume, log, "recycling");
    if (!fresh) return;
    const used = this.podsUsing(fresh);
    const ref = fresh.spec.claimRef!;
    // A cached claim of that name is a new claim using another PV: this one is safe to scrub.
    const claimCached = this.d.claims.get(`${ref.namespace}/${ref.name}`) !== undefined;
    if (used.length > 0 && !claimCached) {
      this.d.recorder.event(fresh, "Normal", Reasons.VolumeFailedRecycle, `Volume is used by pods: ${used.join(",")}`);
      return;
    }
    const pod = recyclerPodFor(fresh);
    if (!pod) {
      await this.d.writes.updateVolumePhaseWithEvent(fresh, "Failed", "Warning", Reasons.VolumeFailedRecycle, "No recycler plugin found for the volume!");
      return;
    }
    try {
      await runRecyclerPod({ client: this.d.client, pods: this.d.pods, clock: this.d.clock, ...(this.d.signal ? { signal: this.d.signal } : {}), ...(this.d.recyclerPollMs ? { pollMs: this.d.recyclerPollMs } : {}) }, pod);
    } catch (e) {
      if (this.d.signal?.aborted) return;
      // Failed stays while the controller tries again at every sync.
      await this.d.writes.updateVolumePhaseWithEvent(fresh, "Failed", "Warning", Reasons.VolumeFailedRecycle, `Recycle failed: ${messageOf(e)}`);
      return;
    }
    log.info("Volume recycled");
    this.d.recorder.event(fresh, "Normal", Reasons.VolumeRecycled, "Volume recycled");
    try {
      await this.d.writes.unbindVolume(fresh);
    } catch (e) {
      log.info({ err: messageOf(e) }, "RecycleVolumeOperation: failed to make recycled volume 'Available', we will recycle the volume again");
    }
  }

  private async deleteVolumeOperation(volume: VolumeObject): Promise<void> {
    const log = this.d.logger.child({ volume: volume.metadata.name });
    const fresh = await this.freshReleased(volume, log, "deletion");
    if (!fresh) return;
    const outcome = deleteVolumeStorage(fresh);
    if (outcome.kind === "external") {
      log.debug("External deleter for volume requested, ignoring");
      return;
    }
    if (outcome.kind === "error") {
      log.info({ err: outcome.message }, "Deletion of volume failed");
      // Failed stays until the volume goes; every later sync tries again (without a new event).
      await this.d.writes.updateVolumePhaseWithEvent(fresh, "Failed", "Warning", Reasons.VolumeFailedDelete, outcome.message);
      return;
    }
    // Asked before: the PV waits for its finalizers (pv-protection), nothing more to do here.
    if (fresh.metadata.deletionTimestamp) return;
    try {
      await this.d.client.delete(Resources.persistentVolumes, undefined, fresh.metadata.name!);
      log.info("Volume deleted");
    } catch (e) {
      if (!isNotFound(e)) log.info({ err: messageOf(e) }, "Failed to delete volume from database");
    }
  }
}
