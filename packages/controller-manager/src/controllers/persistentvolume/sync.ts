/**
 * The PV controller's reconcile (upstream's pv_controller.go syncClaim / syncVolume and
 * pv_controller_base.go's workers): claims and PVs are bound to each other in both directions —
 * pv.spec.claimRef first, then claim.spec.volumeName — and every sync looks at one side and
 * repairs what the other says, so a half-done binding (a crash or a conflict between the writes)
 * is finished by the next sync. Built from plain parts so unit tests drive it without informers.
 */
import { Resources, isNotFound, objectKey, silentLogger, splitKey, type Clock, type Lister, type Logger } from "@kubemu/common";
import type { ControllerClient } from "../../controller/client.js";
import type { Recorder } from "../../controller/context.js";
import type { PodObject } from "../../controller/pod-control.js";
import { POD_PVC_INDEX } from "../../controller/pod-pvc-index.js";
import { isPodTerminated } from "../../controller/pod-util.js";
import { ClaimSelectorError, claimClass, claimHasClass, defaultClass, findBestMatchForClaim, isVolumeBoundToClaim, volumeModeMismatch, volumeUnsatisfiedReason } from "./matching.js";
import { ClaimProvisioner } from "./provision.js";
import { Reclaimer } from "./reclaim.js";
import { ANN_BIND_COMPLETED, ANN_BOUND_BY_CONTROLLER, ANN_DYNAMICALLY_PROVISIONED, ANN_SELECTED_NODE, Reasons, type ClaimObject, type ClassObject, type VolumeObject } from "./types.js";
import { VersionedCache } from "./versioned-cache.js";
import { PvWrites } from "./writes.js";

export interface PvSyncDeps {
  client: ControllerClient;
  listers: {
    volumes: Lister<VolumeObject>;
    claims: Lister<ClaimObject>;
    classes: Lister<ClassObject>;
    /** Pods, with the POD_PVC_INDEX index. */
    pods: Lister<PodObject>;
  };
  recorder: Recorder;
  /** Syncs a claim (`namespace/name`) soon, in the claim worker. */
  enqueueClaim(key: string): void;
  /** Syncs a PV soon, in the volume worker. */
  enqueueVolume(name: string): void;
  logger?: Logger;
  enableDynamicProvisioning?: boolean;
  /** Time for background operations (recycler pods). */
  clock: Clock;
  /** Stops background operations when the controller stops. */
  signal?: AbortSignal;
  /** How often a recycler pod is looked at (tests shorten it). */
  recyclerPollMs?: number;
}

const claimKey = (c: ClaimObject) => `${c.metadata.namespace}/${c.metadata.name}`;

export class PersistentVolumeSync {
  /** The newest PVs and claims the controller knows (its own writes included). */
  readonly volumes = new VersionedCache<VolumeObject>();
  readonly claims = new VersionedCache<ClaimObject>();
  private readonly writes: PvWrites;
  private readonly reclaimer: Reclaimer;
  private readonly provisioner: ClaimProvisioner;
  private readonly log: Logger;

  constructor(private readonly d: PvSyncDeps) {
    this.log = d.logger ?? silentLogger;
    this.writes = new PvWrites({ client: d.client, recorder: d.recorder, volumes: this.volumes, claims: this.claims, logger: this.log });
    this.reclaimer = new Reclaimer({
      client: d.client,
      recorder: d.recorder,
      claims: this.claims,
      writes: this.writes,
      pods: d.listers.pods,
      clock: d.clock,
      logger: this.log,
      ...(d.signal ? { signal: d.signal } : {}),
      ...(d.recyclerPollMs ? { recyclerPollMs: d.recyclerPollMs } : {}),
    });
    this.provisioner = new ClaimProvisioner({ classes: d.listers.classes, recorder: d.recorder, writes: this.writes, logger: this.log, enableDynamicProvisioning: d.enableDynamicProvisioning ?? true });
  }

  /** Resolves once the background operations started so far (recycles) have ended. */
  operationsIdle(): Promise<void> {
    return this.reclaimer.operations.idle();
  }

  /** Fills the caches from the informers before the first sync (initializeCaches). */
  initializeCaches(): void {
    for (const v of this.d.listers.volumes.list()) this.volumes.store(v);
    for (const c of this.d.listers.claims.list()) this.claims.store(c);
  }

  /** The claim worker's step: a claim in the informer is synced; one gone from it was deleted. */
  async claimWork(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const claim = this.d.listers.claims.get(namespace, name);
    if (claim) {
      // An older version than one the controller wrote itself: ignore it.
      if (!this.claims.store(claim)) return;
      await this.syncClaim(this.claims.get(key)!);
      return;
    }
    const cached = this.claims.get(key);
    if (cached) this.deleteClaim(cached);
  }

  /** The volume worker's step. */
  async volumeWork(name: string): Promise<void> {
    const volume = this.d.listers.volumes.get(undefined, name);
    if (volume) {
      if (!this.volumes.store(volume)) return;
      await this.syncVolume(this.volumes.get(name)!);
      return;
    }
    const cached = this.volumes.get(name);
    if (cached) this.deleteVolume(cached);
  }

  /** Every claim and PV, for the periodic resync (--pvclaimbinder-sync-period). */
  resync(): void {
    for (const c of this.d.listers.claims.list()) this.d.enqueueClaim(objectKey(c));
    for (const v of this.d.listers.volumes.list()) this.d.enqueueVolume(v.metadata.name!);
  }

  /** A deleted claim releases its PV: sync the PV now rather than at the next resync. */
  private deleteClaim(claim: ClaimObject): void {
    this.claims.delete(claimKey(claim));
    this.log.debug({ pvc: claimKey(claim) }, "Claim deleted");
    if (claim.spec.volumeName) this.d.enqueueVolume(claim.spec.volumeName);
  }

  /** A deleted PV loses its claim: sync the claim now, so it turns Lost without waiting. */
  private deleteVolume(volume: VolumeObject): void {
    this.volumes.delete(volume.metadata.name!);
    this.log.debug({ volume: volume.metadata.name }, "volume deleted");
    const ref = volume.spec.claimRef;
    if (ref?.namespace && ref.name) this.d.enqueueClaim(`${ref.namespace}/${ref.name}`);
  }

  async syncClaim(claim: ClaimObject): Promise<void> {
    this.log.debug({ pvc: claimKey(claim), phase: claim.status?.phase, volume: claim.spec.volumeName }, "Synchronizing PersistentVolumeClaim");
    if (claim.metadata.annotations?.[ANN_BIND_COMPLETED] === undefined) await this.syncUnboundClaim(claim);
    else await this.syncBoundClaim(claim);
  }

  /** WaitForFirstConsumer: the claim is bound (or provisioned) once the scheduler picks a node (IsDelayBindingMode). */
  private isDelayBinding(claim: ClaimObject): boolean {
    const name = claimClass(claim);
    if (name === "") return false;
    const sc = this.d.listers.classes.get(undefined, name);
    if (!sc) return false;
    if (!sc.volumeBindingMode) throw new Error(`VolumeBindingMode not set for StorageClass ${JSON.stringify(name)}`);
    return sc.volumeBindingMode === "WaitForFirstConsumer";
  }

  private async syncUnboundClaim(claim: ClaimObject): Promise<void> {
    if (!claim.spec.volumeName) {
      // The user did not ask for a particular PV.
      const delayBinding = this.isDelayBinding(claim);
      let volume: VolumeObject | undefined;
      try {
        volume = findBestMatchForClaim(claim, this.volumes.list(), delayBinding);
      } catch (e) {
        if (e instanceof ClaimSelectorError) throw new Error(`error finding PV for claim ${JSON.stringify(claimKey(claim))}: ${e.message}`, { cause: e });
        throw e;
      }
      if (volume) {
        await this.writes.bind(volume, claim);
        return;
      }
      // No PV: give a class-less claim the default class (it is synced again for the update), or provision.
      if (await this.assignDefaultStorageClass(claim)) return;
      if (delayBinding && claim.metadata.annotations?.[ANN_SELECTED_NODE] === undefined) {
        // The scheduler has not placed a pod using this claim yet.
        this.emitEventForUnboundDelayBindingClaim(claim);
      } else if (claimClass(claim) !== "") {
        // The provisioner's PV arrives as a PV event, which syncs the claim again.
        await this.provisioner.provisionClaim(claim);
        return;
      } else {
        this.d.recorder.event(claim, "Normal", Reasons.FailedBinding, "no persistent volumes available for this claim and no storage class is set");
      }
      await this.writes.updateClaimStatus(claim, "Pending", undefined);
      return;
    }
    // The user asked for a specific PV.
    const volume = this.volumes.get(claim.spec.volumeName);
    if (!volume) {
      // Not there (yet): retried at the next sync.
      await this.writes.updateClaimStatus(claim, "Pending", undefined);
      return;
    }
    if (!volume.spec.claimRef) {
      const reason = volumeUnsatisfiedReason(volume, claim);
      if (reason) {
        this.d.recorder.event(claim, "Warning", Reasons.VolumeMismatch, `Cannot bind to requested volume ${JSON.stringify(volume.metadata.name)}: ${reason}`);
        await this.writes.updateClaimStatus(claim, "Pending", undefined);
        return;
      }
      await this.writes.bind(volume, claim);
      return;
    }
    if (isVolumeBoundToClaim(volume, claim)) {
      // Bound to this claim already (or pre-bound to it): finish the binding with the claim's uid.
      await this.writes.bind(volume, claim);
      return;
    }
    this.d.recorder.event(claim, "Warning", Reasons.FailedBinding, `volume ${JSON.stringify(volume.metadata.name)} already bound to a different claim.`);
    if (claim.metadata.annotations?.[ANN_BOUND_BY_CONTROLLER] === undefined) {
      // The user's choice: wait for that PV to be freed.
      await this.writes.updateClaimStatus(claim, "Pending", undefined);
      return;
    }
    const ref = volume.spec.claimRef;
    throw new Error(`invalid binding of claim ${JSON.stringify(claimKey(claim))} to volume ${JSON.stringify(claim.spec.volumeName)}: volume already claimed by ${JSON.stringify(`${ref.namespace}/${ref.name}`)}`);
  }

  private async syncBoundClaim(claim: ClaimObject): Promise<void> {
    if (!claim.spec.volumeName) {
      await this.writes.updateClaimStatusWithEvent(claim, "Lost", undefined, "Warning", "ClaimLost", "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!");
      return;
    }
    const volume = this.volumes.get(claim.spec.volumeName);
    if (!volume) {
      await this.writes.updateClaimStatusWithEvent(claim, "Lost", undefined, "Warning", "ClaimLost", "Bound claim has lost its PersistentVolume. Data on the volume is lost!");
      return;
    }
    if (!volume.spec.claimRef || volume.spec.claimRef.uid === claim.metadata.uid) {
      // Unbound PV (or one whose update we have not seen yet), or all is well: bind() sets what is missing.
      await this.writes.bind(volume, claim);
      return;
    }
    await this.writes.updateClaimStatusWithEvent(claim, "Lost", undefined, "Warning", "ClaimMisbound", "Two claims are bound to the same volume, this one is bound incorrectly");
  }

  /** Gives a claim without any class the default StorageClass, once one exists (RetroactiveDefaultStorageClass). */
  private async assignDefaultStorageClass(claim: ClaimObject): Promise<boolean> {
    if (claimHasClass(claim)) return false;
    const def = defaultClass(this.d.listers.classes.list());
    if (!def) return false;
    const next = structuredClone(claim);
    next.spec.storageClassName = def.metadata.name!;
    try {
      await this.writes.updateClaim(next);
    } catch (e) {
      throw new Error(`can't update PersistentVolumeClaim[${JSON.stringify(claimKey(claim))}]: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    this.log.debug({ pvc: claimKey(claim), storageClassName: def.metadata.name }, "Successfully assigned StorageClass to PersistentVolumeClaim");
    return true;
  }

  /** WaitForFirstConsumer, or WaitForPodScheduled naming the unscheduled pods that use the claim. */
  private emitEventForUnboundDelayBindingClaim(claim: ClaimObject): void {
    const waiting = this.d.listers.pods
      .byIndex(POD_PVC_INDEX, claimKey(claim))
      .filter((p) => !isPodTerminated(p) && !p.spec?.nodeName)
      .map((p) => p.metadata.name!);
    if (waiting.length === 0) {
      this.d.recorder.event(claim, "Normal", Reasons.WaitForFirstConsumer, "waiting for first consumer to be created before binding");
      return;
    }
    // Every pod is named: which one the scheduler is placing cannot be known.
    const message = waiting.length > 1 ? `waiting for pods ${waiting.join(",")} to be scheduled` : `waiting for pod ${waiting[0]} to be scheduled`;
    this.d.recorder.event(claim, "Normal", Reasons.WaitForPodScheduled, message);
  }

  async syncVolume(volume: VolumeObject): Promise<void> {
    this.log.debug({ volume: volume.metadata.name, phase: volume.status?.phase }, "Synchronizing PersistentVolume");
    const ref = volume.spec.claimRef;
    if (!ref) {
      await this.writes.updateVolumePhase(volume, "Available", "");
      return;
    }
    if (!ref.uid) {
      // Pre-bound to a claim that has not been bound to it yet: the claim's sync does that.
      await this.writes.updateVolumePhase(volume, "Available", "");
      return;
    }
    const key = `${ref.namespace}/${ref.name}`;
    let claim = this.claims.get(key);
    if (!claim && volume.status?.phase !== "Released" && volume.status?.phase !== "Failed") {
      // A PV made by a provisioner or bound by the scheduler can arrive before its claim reaches
      // the cache: look in the informer, then ask the API, before releasing anything.
      claim = this.d.listers.claims.get(ref.namespace, ref.name!) ?? (await this.getClaim(ref.namespace!, ref.name!));
    }
    if (claim && claim.metadata.uid !== ref.uid) {
      // Maybe a stale cache: the API says whether the claim was really replaced.
      const fresh = await this.getClaim(ref.namespace!, ref.name!);
      claim = fresh && fresh.metadata.uid === ref.uid ? fresh : undefined;
    }
    if (!claim) {
      // The claim is gone: release the PV (a Failed one stays Failed) and reclaim it.
      let v = volume;
      if (v.status?.phase !== "Released" && v.status?.phase !== "Failed") {
        this.log.info({ volume: v.metadata.name, reclaimPolicy: v.spec.persistentVolumeReclaimPolicy }, "Volume is released and reclaim policy will be executed");
        v = await this.writes.updateVolumePhase(v, "Released", "");
      }
      await this.reclaimer.reclaimVolume(v);
      return;
    }
    if (!claim.spec.volumeName) {
      if (volumeModeMismatch(claim, volume)) {
        this.d.recorder.event(volume, "Warning", Reasons.VolumeMismatch, `Cannot bind PersistentVolume to requested PersistentVolumeClaim ${JSON.stringify(claim.metadata.name)} due to incompatible volumeMode.`);
        this.d.recorder.event(claim, "Warning", Reasons.VolumeMismatch, `Cannot bind PersistentVolume ${JSON.stringify(volume.metadata.name)} to requested PersistentVolumeClaim due to incompatible volumeMode.`);
        return;
      }
      // Bound on the PV's side only (by this controller, the scheduler or a provisioner): the
      // claim's sync finishes it, soon.
      this.d.enqueueClaim(key);
      return;
    }
    if (claim.spec.volumeName === volume.metadata.name) {
      await this.writes.updateVolumePhase(volume, "Bound", "");
      return;
    }
    // The PV points at a claim that is bound to another PV.
    if (volume.metadata.annotations?.[ANN_DYNAMICALLY_PROVISIONED] !== undefined && volume.spec.persistentVolumeReclaimPolicy === "Delete") {
      // Provisioned for this claim, which got another volume: not needed any more.
      let v = volume;
      if (v.status?.phase !== "Released" && v.status?.phase !== "Failed") v = await this.writes.updateVolumePhase(v, "Released", "");
      await this.reclaimer.reclaimVolume(v);
      return;
    }
    // Bound by the controller: undo it; pre-bound by the user: keep the claimRef, drop its uid.
    await this.writes.unbindVolume(volume);
  }

  private async getClaim(namespace: string, name: string): Promise<ClaimObject | undefined> {
    try {
      return await this.d.client.get<ClaimObject>(Resources.persistentVolumeClaims, namespace, name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }
}
