/**
 * The PV controller's writes (pv_controller.go's updateClaimStatus, updateVolumePhase, bind,
 * unbindVolume…): each compares with what is there, writes only what changed, and puts what the
 * API answered in the controller's cache. A write carries the resourceVersion it was computed
 * from, so one made from a stale copy fails with a Conflict and the key is synced again.
 */
import { Resources, compareQuantities, parseQuantity, type EventType, type Logger } from "@kubemu/common";
import type { ObjectReference } from "kubernetes-types/core/v1.js";
import type { ControllerClient } from "../../controller/client.js";
import type { Recorder } from "../../controller/context.js";
import { isVolumeBoundToClaim } from "./matching.js";
import { ANN_BIND_COMPLETED, ANN_BOUND_BY_CONTROLLER, type ClaimObject, type VolumeObject } from "./types.js";
import type { VersionedCache } from "./versioned-cache.js";

export type ClaimPhase = "Pending" | "Bound" | "Lost";
export type VolumePhase = "Pending" | "Available" | "Bound" | "Released" | "Failed";

export interface WritesDeps {
  client: ControllerClient;
  recorder: Recorder;
  volumes: VersionedCache<VolumeObject>;
  claims: VersionedCache<ClaimObject>;
  logger: Logger;
}

/** The reference a PV's spec.claimRef holds (client-go's reference.GetReference, in its field order). */
export function claimReference(claim: ClaimObject): ObjectReference {
  return {
    kind: "PersistentVolumeClaim",
    namespace: claim.metadata.namespace!,
    name: claim.metadata.name!,
    ...(claim.metadata.uid ? { uid: claim.metadata.uid } : {}),
    apiVersion: "v1",
    ...(claim.metadata.resourceVersion ? { resourceVersion: claim.metadata.resourceVersion } : {}),
  };
}

function sameModes(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

export class PvWrites {
  constructor(private readonly d: WritesDeps) {}

  /**
   * Sets the claim's phase; bound (a volume given) it also gets the PV's access modes and — when
   * it is becoming Bound — the PV's capacity; otherwise both are cleared.
   */
  async updateClaimStatus(claim: ClaimObject, phase: ClaimPhase, volume: VolumeObject | undefined): Promise<ClaimObject> {
    const status: NonNullable<ClaimObject["status"]> & { accessModes?: string[]; capacity?: Record<string, string> } = structuredClone(claim.status ?? {});
    const next: ClaimObject = { ...structuredClone(claim), status };
    let dirty = false;
    if (claim.status?.phase !== phase) {
      status.phase = phase;
      dirty = true;
    }
    if (!volume) {
      if (status.accessModes !== undefined) {
        delete status.accessModes;
        dirty = true;
      }
      if (status.capacity !== undefined) {
        delete status.capacity;
        dirty = true;
      }
    } else {
      if (!sameModes(status.accessModes, volume.spec.accessModes)) {
        status.accessModes = [...(volume.spec.accessModes ?? [])];
        dirty = true;
      }
      // Only when becoming Bound: a capacity that differs later may be on purpose (a resized filesystem).
      if (claim.status?.phase !== phase) {
        const volumeCap = volume.spec.capacity?.["storage"];
        if (volumeCap === undefined) throw new Error(`PersistentVolume ${JSON.stringify(volume.metadata.name)} is without a storage capacity`);
        const claimCap = status.capacity?.["storage"];
        if (claimCap === undefined || compareQuantities(parseQuantity(String(volumeCap)), parseQuantity(String(claimCap))) !== 0) {
          status.capacity = { ...volume.spec.capacity };
          dirty = true;
        }
      }
    }
    if (!dirty) return claim;
    const saved = await this.d.client.updateStatus<ClaimObject>(Resources.persistentVolumeClaims, next);
    this.d.claims.store(saved);
    this.d.logger.debug({ pvc: `${claim.metadata.namespace}/${claim.metadata.name}`, phase }, "Claim entered phase");
    return saved;
  }

  /** updateClaimStatus, with an event — only when the phase really changes. */
  async updateClaimStatusWithEvent(claim: ClaimObject, phase: ClaimPhase, volume: VolumeObject | undefined, type: EventType, reason: string, message: string): Promise<ClaimObject> {
    if (claim.status?.phase === phase) return claim;
    const saved = await this.updateClaimStatus(claim, phase, volume);
    this.d.recorder.event(saved, type, reason, message);
    return saved;
  }

  async updateVolumePhase(volume: VolumeObject, phase: VolumePhase, message: string): Promise<VolumeObject> {
    if (volume.status?.phase === phase) return volume;
    const status: NonNullable<VolumeObject["status"]> & { message?: string } = { ...structuredClone(volume.status ?? {}), phase };
    if (message) status.message = message;
    else delete status.message;
    const next: VolumeObject = { ...structuredClone(volume), status };
    const saved = await this.d.client.updateStatus<VolumeObject>(Resources.persistentVolumes, next);
    this.d.volumes.store(saved);
    this.d.logger.debug({ volume: volume.metadata.name, phase }, "Volume entered phase");
    return saved;
  }

  /** updateVolumePhase, with an event — only when the phase really changes. */
  async updateVolumePhaseWithEvent(volume: VolumeObject, phase: VolumePhase, type: EventType, reason: string, message: string): Promise<VolumeObject> {
    if (volume.status?.phase === phase) return volume;
    const saved = await this.updateVolumePhase(volume, phase, message);
    this.d.recorder.event(saved, type, reason, message);
    return saved;
  }

  /** Writes an updated claim (spec or metadata) and caches the answer. */
  async updateClaim(claim: ClaimObject): Promise<ClaimObject> {
    const saved = await this.d.client.update<ClaimObject>(Resources.persistentVolumeClaims, claim);
    this.d.claims.store(saved);
    return saved;
  }

  async updateVolume(volume: VolumeObject): Promise<VolumeObject> {
    const saved = await this.d.client.update<VolumeObject>(Resources.persistentVolumes, volume);
    this.d.volumes.store(saved);
    return saved;
  }

  /**
   * Points the PV at the claim (GetBindVolumeToClaim): claimRef with the claim's uid, and
   * `bound-by-controller` unless the user had pre-bound the PV to this claim.
   */
  async bindVolumeToClaim(volume: VolumeObject, claim: ClaimObject): Promise<VolumeObject> {
    const next = structuredClone(volume);
    let dirty = false;
    const ref = volume.spec.claimRef;
    if (!ref || ref.name !== claim.metadata.name || ref.namespace !== claim.metadata.namespace || (ref.uid ?? "") !== (claim.metadata.uid ?? "")) {
      next.spec.claimRef = claimReference(claim);
      dirty = true;
    }
    if (!isVolumeBoundToClaim(volume, claim) && next.metadata.annotations?.[ANN_BOUND_BY_CONTROLLER] === undefined) {
      next.metadata.annotations = { ...(next.metadata.annotations ?? {}), [ANN_BOUND_BY_CONTROLLER]: "yes" };
      dirty = true;
    }
    if (!dirty) return volume;
    this.d.logger.info({ pvc: `${claim.metadata.namespace}/${claim.metadata.name}`, volume: volume.metadata.name }, "Claim bound to volume");
    return this.updateVolume(next);
  }

  /** Points the claim at the PV: spec.volumeName, `bound-by-controller` when the controller chose it, `bind-completed`. */
  async bindClaimToVolume(claim: ClaimObject, volume: VolumeObject): Promise<ClaimObject> {
    const next = structuredClone(claim);
    let dirty = false;
    const annotations = { ...(next.metadata.annotations ?? {}) };
    if (claim.spec.volumeName !== volume.metadata.name) {
      next.spec.volumeName = volume.metadata.name!;
      annotations[ANN_BOUND_BY_CONTROLLER] ??= "yes";
      dirty = true;
    }
    if (annotations[ANN_BIND_COMPLETED] === undefined) {
      annotations[ANN_BIND_COMPLETED] = "yes";
      dirty = true;
    }
    if (!dirty) return claim;
    next.metadata.annotations = annotations;
    this.d.logger.info({ pvc: `${claim.metadata.namespace}/${claim.metadata.name}`, volume: volume.metadata.name }, "Volume bound to claim");
    return this.updateClaim(next);
  }

  /** Both halves and both phases, PV first; stops at the first failed write (the next sync finishes the job). */
  async bind(volume: VolumeObject, claim: ClaimObject): Promise<void> {
    let v = await this.bindVolumeToClaim(volume, claim);
    v = await this.updateVolumePhase(v, "Bound", "");
    const c = await this.bindClaimToVolume(claim, v);
    await this.updateClaimStatus(c, "Bound", v);
  }

  /**
   * Undoes a binding (unbindVolume): a PV the controller bound is freed entirely; one the user
   * pre-bound keeps its claimRef without the uid. Then it is Available again.
   */
  async unbindVolume(volume: VolumeObject): Promise<void> {
    const next = structuredClone(volume);
    if (volume.metadata.annotations?.[ANN_BOUND_BY_CONTROLLER] !== undefined) {
      delete next.spec.claimRef;
      const annotations = { ...(next.metadata.annotations ?? {}) };
      delete annotations[ANN_BOUND_BY_CONTROLLER];
      if (Object.keys(annotations).length === 0) delete next.metadata.annotations;
      else next.metadata.annotations = annotations;
    } else if (next.spec.claimRef) {
      delete next.spec.claimRef.uid;
    }
    const saved = await this.updateVolume(next);
    await this.updateVolumePhase(saved, "Available", "");
  }
}
