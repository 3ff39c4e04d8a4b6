/**
 * persistentVolumeClaimRetentionPolicy as owner references on the claims (upstream's
 * stateful_set_utils.go): the garbage collector deletes a claim once every owner is gone, so
 *
 *   Retain on scale-down and set deletion: no owner reference of ours
 *   Retain on scale-down, Delete with the set: the set owns the claim
 *   Delete on scale-down, Retain with the set: the pod owns it once it is scaled down
 *   Delete on both: the set owns it while the pod is in range, the pod once it is scaled down.
 *
 * Claims some other controller owns, or that name an older set or pod of the same name (a stale
 * uid), are left alone.
 */
import type { KubeObject, OwnerReference } from "@kubemu/common";
import { Resources, apiVersionOf } from "@kubemu/common";
import { newControllerRef } from "../../controller/controller-ref.js";
import { podInOrdinalRange } from "./identity.js";
import type { ClaimObject, PodObject, StatefulSetObject } from "./types.js";

type Policy = "Retain" | "Delete";

export function retentionPolicy(set: StatefulSetObject): { whenDeleted: Policy; whenScaled: Policy } {
  const p = set.spec.persistentVolumeClaimRetentionPolicy;
  const norm = (v: string | undefined): Policy => (v === "Delete" ? "Delete" : "Retain");
  return { whenDeleted: norm(p?.whenDeleted), whenScaled: norm(p?.whenScaled) };
}

const SET_KIND = { apiVersion: apiVersionOf(Resources.statefulSets), kind: "StatefulSet" };
const POD_KIND = { apiVersion: "v1", kind: "Pod" };

/** The reference names obj by kind and name (its uid may differ). */
function matchesRef(ref: OwnerReference, obj: KubeObject, kind: { apiVersion: string; kind: string }): boolean {
  return ref.apiVersion === kind.apiVersion && ref.kind === kind.kind && ref.name === obj.metadata.name;
}

export function hasOwnerRef(target: KubeObject, owner: KubeObject): boolean {
  return (target.metadata.ownerReferences ?? []).some((r) => r.uid === owner.metadata.uid);
}

/** The claim names an object of this kind and name but another uid: an earlier incarnation's claim. */
export function hasStaleOwnerRef(target: KubeObject, obj: KubeObject, kind: { apiVersion: string; kind: string }): boolean {
  const ref = (target.metadata.ownerReferences ?? []).find((r) => matchesRef(r, obj, kind));
  return ref !== undefined && ref.uid !== obj.metadata.uid;
}

export const hasStaleSetRef = (claim: ClaimObject, set: StatefulSetObject) => hasStaleOwnerRef(claim, set, SET_KIND);
export const hasStalePodRef = (claim: ClaimObject, pod: PodObject) => hasStaleOwnerRef(claim, pod, POD_KIND);

/** With a Delete policy, a controller other than the set or pod manages the claim (or one of ours with a stale uid). */
export function hasUnexpectedController(claim: ClaimObject, set: StatefulSetObject, pod: PodObject): boolean {
  const policy = retentionPolicy(set);
  if (policy.whenScaled === "Retain" && policy.whenDeleted === "Retain") return false;
  for (const ref of claim.metadata.ownerReferences ?? []) {
    if (matchesRef(ref, set, SET_KIND)) {
      if (ref.uid !== set.metadata.uid) return true;
      continue;
    }
    if (matchesRef(ref, pod, POD_KIND)) {
      if (ref.uid !== pod.metadata.uid) return true;
      continue;
    }
    if (ref.controller) return true;
  }
  return false;
}

/** The set or pod owns the claim without being its controller (needs fixing). */
function hasNonControllerOwner(claim: ClaimObject, set: StatefulSetObject, pod: PodObject): boolean {
  return (claim.metadata.ownerReferences ?? []).some((r) => (r.uid === set.metadata.uid || r.uid === pod.metadata.uid) && !r.controller);
}

/** Whether the claim's owner references already say what the policy wants (upstream's isClaimOwnerUpToDate). */
export function isClaimOwnerUpToDate(claim: ClaimObject, set: StatefulSetObject, pod: PodObject): boolean {
  if (hasStaleSetRef(claim, set) || hasStalePodRef(claim, pod)) return true;
  if (hasUnexpectedController(claim, set, pod)) return !(hasOwnerRef(claim, set) || hasOwnerRef(claim, pod));
  if (hasNonControllerOwner(claim, set, pod)) return false;
  const { whenScaled, whenDeleted } = retentionPolicy(set);
  const scaledDown = !podInOrdinalRange(pod, set);
  if (whenScaled === "Retain" && whenDeleted === "Retain") return !hasOwnerRef(claim, set) && !hasOwnerRef(claim, pod);
  if (whenScaled === "Retain" && whenDeleted === "Delete") return hasOwnerRef(claim, set) && !hasOwnerRef(claim, pod);
  if (whenScaled === "Delete" && whenDeleted === "Retain") return !hasOwnerRef(claim, set) && scaledDown === hasOwnerRef(claim, pod);
  return scaledDown !== hasOwnerRef(claim, set) && scaledDown === hasOwnerRef(claim, pod);
}

function addControllerRef(refs: OwnerReference[], owner: KubeObject, ref: OwnerReference): OwnerReference[] {
  return refs.some((r) => r.uid === owner.metadata.uid) ? refs : [...refs, ref];
}

/**
 * The claim's owner references as the policy wants them: ours scrubbed, then the set's and/or
 * the pod's controller reference added (none when another controller manages the claim).
 */
export function claimOwnerRefsFor(claim: ClaimObject, set: StatefulSetObject, pod: PodObject): OwnerReference[] {
  const unexpected = hasUnexpectedController(claim, set, pod);
  let refs = (claim.metadata.ownerReferences ?? []).filter((r) => !matchesRef(r, set, SET_KIND) && !matchesRef(r, pod, POD_KIND));
  if (unexpected) return refs;
  const { whenScaled, whenDeleted } = retentionPolicy(set);
  const scaledDown = !podInOrdinalRange(pod, set);
  const setRef = newControllerRef(set, Resources.statefulSets);
  const podRef = newControllerRef(pod, Resources.pods);
  if (whenScaled === "Retain" && whenDeleted === "Delete") refs = addControllerRef(refs, set, setRef);
  if (whenScaled === "Delete" && scaledDown) refs = addControllerRef(refs, pod, podRef);
  if (whenScaled === "Delete" && whenDeleted === "Delete" && !scaledDown) refs = addControllerRef(refs, set, setRef);
  return refs;
}
