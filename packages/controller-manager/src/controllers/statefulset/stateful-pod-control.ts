/**
 * Creating, updating and deleting a StatefulSet's pods and claims (upstream's StatefulPodControl),
 * with the events a real controller records on the set:
 *   SuccessfulCreate "create Claim www-web-0 Pod web-0 in StatefulSet web success"
 *   SuccessfulCreate "create Pod web-0 in StatefulSet web successful"
 *   SuccessfulDelete "delete Pod web-2 in StatefulSet web successful"
 *   FailedCreate     "create Pod web-0 in StatefulSet web failed error: …"
 * Claims are created before their pod; a claim that exists is reused, one being deleted blocks the pod.
 */
import type { Clock, Lister } from "@kubemu/common";
import { Resources, isAlreadyExists } from "@kubemu/common";
import type { ControllerClient } from "../../controller/client.js";
import type { Recorder } from "../../controller/context.js";
import { messageOf } from "../../controller/pod-control.js";
import { DEFAULT_BACKOFF, retryOnConflict } from "../../controller/retry.js";
import { claimOwnerRefsFor, hasStalePodRef, hasUnexpectedController, isClaimOwnerUpToDate, retentionPolicy } from "./claims.js";
import { aggregate } from "./errors.js";
import { claimName, claimsFor, identityMatches, ordinalOf, storageMatches, updateIdentity, updateStorage } from "./identity.js";
import type { ClaimObject, PodObject, StatefulSetObject } from "./types.js";

type Verb = "create" | "update" | "delete";
const title = (v: Verb) => v[0]!.toUpperCase() + v.slice(1);

export interface StatefulPodControlDeps {
  client: ControllerClient;
  pods: Lister<PodObject>;
  claims: Lister<ClaimObject>;
  recorder: Recorder;
  clock: Clock;
}

export class StatefulPodControl {
  constructor(private readonly d: StatefulPodControlDeps) {}

  /** Creates the pod's claims, then the pod; an AlreadyExists pod is returned as an error without an event. */
  async createStatefulPod(set: StatefulSetObject, pod: PodObject): Promise<void> {
    try {
      await this.createClaims(set, pod);
    } catch (e) {
      this.recordPodEvent("create", set, pod, e);
      throw e;
    }
    let err: unknown;
    try {
      await this.d.client.create(Resources.pods, pod, { namespace: set.metadata.namespace! });
    } catch (e) {
      if (isAlreadyExists(e)) throw e;
      err = e;
    }
    // Owner references for the retention policy, as far as they can be set before the pod exists.
    try {
      await this.updatePodClaimForRetentionPolicy(set, pod);
    } catch (e) {
      this.recordPodEvent("update", set, pod, e);
      throw e;
    }
    this.recordPodEvent("create", set, pod, err);
    if (err) throw err;
  }

  /** Restores the pod's identity, storage and claim ownership if any drifted; retries conflicts on a fresh copy. */
  async updateStatefulPod(set: StatefulSetObject, original: PodObject): Promise<void> {
    let pod = structuredClone(original);
    let attempted = false;
    let err: unknown;
    try {
      await retryOnConflict(this.d.clock, DEFAULT_BACKOFF, async () => {
        let consistent = true;
        if (!identityMatches(set, pod)) {
          updateIdentity(set, pod);
          consistent = false;
        }
        if (!storageMatches(set, pod)) {
          updateStorage(set, pod);
          consistent = false;
          try {
            await this.createClaims(set, pod);
          } catch (e) {
            this.recordPodEvent("update", set, pod, e);
            throw e;
          }
        }
        let match: boolean;
        try {
          match = this.claimsMatchRetentionPolicy(set, pod);
          if (!match) await this.updatePodClaimForRetentionPolicy(set, pod);
        } catch (e) {
          this.recordPodEvent("update", set, pod, e);
          throw e;
        }
        if (!match) consistent = false;
        if (consistent) return;
        attempted = true;
        try {
          await this.d.client.update(Resources.pods, pod);
        } catch (e) {
          const cached = this.d.pods.get(set.metadata.namespace, pod.metadata.name!);
          if (cached) pod = structuredClone(cached);
          throw e;
        }
      });
    } catch (e) {
      err = e;
    }
    if (attempted) this.recordPodEvent("update", set, pod, err);
    if (err) throw err;
  }

  /** Deletes the pod and records it (FailedDelete too when it was already gone, as upstream). */
  async deleteStatefulPod(set: StatefulSetObject, pod: PodObject): Promise<void> {
    let err: unknown;
    try {
      await this.d.client.delete(Resources.pods, pod.metadata.namespace, pod.metadata.name!);
    } catch (e) {
      err = e;
    }
    this.recordPodEvent("delete", set, pod, err);
    if (err) throw err;
  }

  /** Whether every existing claim of the pod has the owner references the retention policy wants. */
  claimsMatchRetentionPolicy(set: StatefulSetObject, pod: PodObject): boolean {
    const ordinal = ordinalOf(pod);
    for (const t of set.spec.volumeClaimTemplates ?? []) {
      const claim = this.d.claims.get(set.metadata.namespace, claimName(set, t.metadata?.name ?? "", ordinal));
      // A missing claim is picked up on a later sync.
      if (claim && !isClaimOwnerUpToDate(claim, set, pod)) return false;
    }
    return true;
  }

  /** Rewrites the owner references of the pod's claims to match the retention policy. */
  async updatePodClaimForRetentionPolicy(set: StatefulSetObject, pod: PodObject): Promise<void> {
    const ordinal = ordinalOf(pod);
    for (const t of set.spec.volumeClaimTemplates ?? []) {
      const name = claimName(set, t.metadata?.name ?? "", ordinal);
      const claim = this.d.claims.get(set.metadata.namespace, name);
      if (!claim) continue;
      if (hasUnexpectedController(claim, set, pod)) {
        this.d.recorder.event(set, "Warning", "ConflictingController", `PersistentVolumeClaim ${name} has a conflicting OwnerReference that acts as a manging controller, the retention policy is ignored for this claim`);
      }
      if (isClaimOwnerUpToDate(claim, set, pod)) continue;
      const updated = structuredClone(claim);
      updated.metadata.ownerReferences = claimOwnerRefsFor(claim, set, pod);
      try {
        await this.d.client.update(Resources.persistentVolumeClaims, updated);
      } catch (e) {
        throw new Error(`could not update claim ${name} for delete policy ownerRefs: ${messageOf(e)}`, { cause: e });
      }
    }
  }

  /**
   * With whenScaled Delete, a claim still owned by an earlier pod of the same name is about to be
   * garbage-collected: the pod must wait rather than mount it.
   */
  podClaimIsStale(set: StatefulSetObject, pod: PodObject): boolean {
    if (retentionPolicy(set).whenScaled === "Retain") return false;
    for (const claim of claimsFor(set, pod).values()) {
      const existing = this.d.claims.get(claim.metadata.namespace, claim.metadata.name!);
      if (existing && hasStalePodRef(existing, pod)) return true;
    }
    return false;
  }

  /** For a Pending pod: creates any claim it still lacks and fixes claim ownership. */
  async createMissingPersistentVolumeClaims(set: StatefulSetObject, pod: PodObject): Promise<void> {
    await this.createClaims(set, pod);
    try {
      await this.updatePodClaimForRetentionPolicy(set, pod);
    } catch (e) {
      this.recordPodEvent("update", set, pod, e);
      throw e;
    }
  }

  /** Creates every claim the pod needs that does not exist; fails if one could not be made or is being deleted. */
  private async createClaims(set: StatefulSetObject, pod: PodObject): Promise<void> {
    const errors: unknown[] = [];
    for (const claim of claimsFor(set, pod).values()) {
      const existing = this.d.claims.get(claim.metadata.namespace, claim.metadata.name!);
      if (!existing) {
        try {
          await this.d.client.create(Resources.persistentVolumeClaims, claim, { namespace: claim.metadata.namespace! });
          this.recordClaimEvent(set, pod, claim, undefined);
        } catch (e) {
          errors.push(new Error(`failed to create PVC ${claim.metadata.name}: ${messageOf(e)}`, { cause: e }));
          if (!isAlreadyExists(e)) this.recordClaimEvent(set, pod, claim, e);
        }
      } else if (existing.metadata.deletionTimestamp) {
        errors.push(new Error(`pvc ${claim.metadata.name} is being deleted`));
      }
    }
    const err = aggregate(errors);
    if (err) throw err;
  }

  private recordPodEvent(verb: Verb, set: StatefulSetObject, pod: PodObject, err: unknown): void {
    if (err === undefined) this.d.recorder.event(set, "Normal", `Successful${title(verb)}`, `${verb} Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`);
    else this.d.recorder.event(set, "Warning", `Failed${title(verb)}`, `${verb} Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${messageOf(err)}`);
  }

  private recordClaimEvent(set: StatefulSetObject, pod: PodObject, claim: ClaimObject, err: unknown): void {
    if (err === undefined) this.d.recorder.event(set, "Normal", "SuccessfulCreate", `create Claim ${claim.metadata.name} Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} success`);
    else this.d.recorder.event(set, "Warning", "FailedCreate", `create Claim ${claim.metadata.name} for Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${messageOf(err)}`);
  }
}
