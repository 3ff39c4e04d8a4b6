/**
 * Which PV a claim gets (upstream's index.go and component-helpers' FindMatchingVolume, the
 * controller's path — no node): the PV pre-bound to the claim if there is one, else the smallest
 * Available PV of the claim's class whose capacity, volume mode and labels (the claim's selector)
 * fit, searched first among PVs whose access modes are the fewest that include the claim's.
 * Pure functions over plain objects.
 */
import { compareQuantities, parseQuantity, selectorFromObject, type LabelSelector, type Quantity } from "@kubemu/common";
import { ANN_BETA_DEFAULT_CLASS, ANN_BETA_STORAGE_CLASS, ANN_DEFAULT_CLASS, type ClaimObject, type ClassObject, type VolumeObject } from "./types.js";

/** The claim's class: the beta annotation wins, no class is "" (GetPersistentVolumeClaimClass). */
export function claimClass(claim: ClaimObject): string {
  const ann = claim.metadata.annotations?.[ANN_BETA_STORAGE_CLASS];
  if (ann !== undefined) return ann;
  return claim.spec.storageClassName ?? "";
}

/** True if the claim names a class, "" included (PersistentVolumeClaimHasClass). */
export function claimHasClass(claim: ClaimObject): boolean {
  return claim.metadata.annotations?.[ANN_BETA_STORAGE_CLASS] !== undefined || (claim.spec.storageClassName !== undefined && claim.spec.storageClassName !== null);
}

/** The PV's class (GetPersistentVolumeClass). */
export function volumeClass(pv: VolumeObject): string {
  const ann = pv.metadata.annotations?.[ANN_BETA_STORAGE_CLASS];
  if (ann !== undefined) return ann;
  return pv.spec.storageClassName ?? "";
}

/** True if the PV is pre-bound or bound to this claim: same name and namespace, and uid when the PV names one. */
export function isVolumeBoundToClaim(pv: VolumeObject, claim: ClaimObject): boolean {
  const ref = pv.spec.claimRef;
  if (!ref) return false;
  if (ref.name !== claim.metadata.name || ref.namespace !== claim.metadata.namespace) return false;
  return !ref.uid || ref.uid === claim.metadata.uid;
}

/** Volume modes differ (an unset mode is Filesystem on both sides). */
export function volumeModeMismatch(claim: ClaimObject, pv: VolumeObject): boolean {
  return (claim.spec.volumeMode ?? "Filesystem") !== (pv.spec.volumeMode ?? "Filesystem");
}

/** The PV offers every access mode the claim asks for (CheckAccessModes). */
export function accessModesSatisfied(claim: ClaimObject, pv: VolumeObject): boolean {
  const offered = new Set(pv.spec.accessModes ?? []);
  return (claim.spec.accessModes ?? []).every((m) => offered.has(m));
}

const ZERO: Quantity = parseQuantity("0");

function quantity(v: string | number | undefined): Quantity {
  if (v === undefined) return ZERO;
  try {
    return parseQuantity(String(v));
  } catch {
    return ZERO;
  }
}

export function requestedStorage(claim: ClaimObject): Quantity {
  return quantity(claim.spec.resources?.requests?.["storage"]);
}

export function volumeCapacity(pv: VolumeObject): Quantity {
  return quantity(pv.spec.capacity?.["storage"]);
}

/** Thrown for a claim whose selector does not parse (upstream's "error creating internal label selector for claim"). */
export class ClaimSelectorError extends Error {}

function claimSelector(claim: ClaimObject): LabelSelector | undefined {
  if (!claim.spec.selector) return undefined;
  try {
    return selectorFromObject(claim.spec.selector);
  } catch (e) {
    throw new ClaimSelectorError(`error creating internal label selector for claim: ${claim.metadata.namespace}/${claim.metadata.name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * The best PV among `volumes` (FindMatchingVolume without a node): one pre-bound to the claim
 * wins outright; with delayBinding (WaitForFirstConsumer) nothing else is chosen — the scheduler
 * binds those; otherwise the smallest Available PV whose class, capacity, mode and labels fit.
 */
export function findMatchingVolume(claim: ClaimObject, volumes: readonly VolumeObject[], delayBinding: boolean): VolumeObject | undefined {
  const requested = requestedStorage(claim);
  const requestedClass = claimClass(claim);
  const selector = claimSelector(claim);
  let smallest: VolumeObject | undefined;
  let smallestQty: Quantity | undefined;
  for (const pv of volumes) {
    if (pv.spec.claimRef && !isVolumeBoundToClaim(pv, claim)) continue;
    const qty = volumeCapacity(pv);
    if (compareQuantities(qty, requested) < 0) continue;
    if (volumeModeMismatch(claim, pv)) continue;
    if (pv.metadata.deletionTimestamp) continue;
    if (isVolumeBoundToClaim(pv, claim)) return pv;
    if (delayBinding) continue;
    if (pv.status?.phase !== "Available") continue;
    if (selector && !selector.matches(pv.metadata.labels)) continue;
    if (volumeClass(pv) !== requestedClass) continue;
    if (smallestQty === undefined || compareQuantities(smallestQty, qty) > 0) {
      smallest = pv;
      smallestQty = qty;
    }
  }
  return smallest;
}

/** Access modes in upstream's fixed order (GetAccessModesAsString). */
const MODE_ORDER = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"];

function modesKey(pv: VolumeObject): string {
  const modes = new Set(pv.spec.accessModes ?? []);
  return MODE_ORDER.filter((m) => modes.has(m)).join(",");
}

/**
 * The controller's search (persistentVolumeOrderedIndex.findByClaim): PVs grouped by their access
 * modes; groups offering every mode the claim asks for are tried from the fewest modes up, and the
 * first group with a match gives the claim its PV — so a ReadWriteOnce claim takes a RWO volume
 * before a larger-than-needed RWO+ROX one is even considered.
 */
export function findBestMatchForClaim(claim: ClaimObject, volumes: readonly VolumeObject[], delayBinding: boolean): VolumeObject | undefined {
  const groups = new Map<string, VolumeObject[]>();
  for (const pv of volumes) {
    const key = modesKey(pv);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(pv);
  }
  const wanted = claim.spec.accessModes ?? [];
  const candidates = [...groups.keys()]
    .filter((key) => {
      const offered = new Set(key === "" ? [] : key.split(","));
      return wanted.every((m) => offered.has(m));
    })
    // Fewest modes first; the same count in a fixed order so the choice does not depend on map order.
    .sort((a, b) => (a === "" ? 0 : a.split(",").length) - (b === "" ? 0 : b.split(",").length) || (a < b ? -1 : a > b ? 1 : 0));
  for (const key of candidates) {
    const pv = findMatchingVolume(claim, groups.get(key)!, delayBinding);
    if (pv) return pv;
  }
  return undefined;
}

/**
 * Why a PV the claim names in spec.volumeName cannot be bound to it, or undefined if it can
 * (checkVolumeSatisfyClaim, in upstream's words and order).
 */
export function volumeUnsatisfiedReason(pv: VolumeObject, claim: ClaimObject): string | undefined {
  if (pv.metadata.deletionTimestamp) return `the volume is marked for deletion ${JSON.stringify(pv.metadata.name)}`;
  if (compareQuantities(volumeCapacity(pv), requestedStorage(claim)) < 0) return "requested PV is too small";
  if (volumeClass(pv) !== claimClass(claim)) return "storageClassName does not match";
  if (volumeModeMismatch(claim, pv)) return "incompatible volumeMode";
  if (!accessModesSatisfied(claim, pv)) return "incompatible accessMode";
  return undefined;
}

function isDefaultClass(sc: ClassObject): boolean {
  const a = sc.metadata.annotations ?? {};
  return a[ANN_DEFAULT_CLASS] === "true" || a[ANN_BETA_DEFAULT_CLASS] === "true";
}

/** The default StorageClass: of several, the newest, then the first by name (GetDefaultClass). */
export function defaultClass(classes: readonly ClassObject[]): ClassObject | undefined {
  const created = (o: ClassObject) => Date.parse(o.metadata.creationTimestamp ?? "") || 0;
  return classes
    .filter(isDefaultClass)
    .sort((a, b) => created(b) - created(a) || (a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0))[0];
}
