/**
 * Controller references and claiming (upstream's controller_ref_manager.go): a controller owns
 * the objects whose controller ownerReference names its uid; it adopts matching orphans, releases
 * owned objects whose labels stopped matching, and never touches objects another controller owns.
 * Adoption is refused once the owner is being deleted, judged from a fresh read, not the cache.
 */
import type { KubeObject, OwnerReference, ResourceRef } from "@kubemu/common";
import { apiVersionOf, isInvalid, isNotFound } from "@kubemu/common";
import type { ControllerClient } from "./client.js";

/** The controller ownerReference of obj, if any. */
export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

/** The ownerReference a controller puts on what it creates: controller and blockOwnerDeletion true. */
export function newControllerRef(owner: KubeObject, ownerResource: ResourceRef): OwnerReference {
  return { apiVersion: apiVersionOf(ownerResource), kind: ownerResource.kind, name: owner.metadata.name!, uid: owner.metadata.uid!, controller: true, blockOwnerDeletion: true };
}

/** True when obj's controller is `owner` (by uid). */
export function isControlledBy(obj: KubeObject, owner: KubeObject): boolean {
  const ref = controllerOf(obj);
  return ref !== undefined && ref.uid === owner.metadata.uid;
}

export interface ClaimOptions<T extends KubeObject> {
  client: ControllerClient;
  owner: KubeObject;
  ownerResource: ResourceRef;
  /** The claimed objects' resource (pods, replicasets, controllerrevisions). */
  resource: ResourceRef;
  /** Whether obj's labels match the owner's selector. */
  matches(obj: T): boolean;
  /** Finalizers an adopted object gets in the same patch (the Job controller's tracking finalizer). */
  finalizers?: readonly string[];
}

/**
 * The objects `owner` controls after claiming: owned and matching ones, plus adopted orphans.
 * Objects it owns but no longer match are released. Errors other than NotFound fail the claim
 * (after every object was tried), so the sync is retried.
 */
export async function claimObjects<T extends KubeObject>(objects: readonly T[], o: ClaimOptions<T>): Promise<T[]> {
  const ownerUid = o.owner.metadata.uid;
  const ownerDeleting = !!o.owner.metadata.deletionTimestamp;
  let recheck: Promise<void> | undefined;
  const canAdopt = () => (recheck ??= recheckOwner(o));
  const claimed: T[] = [];
  const errors: unknown[] = [];
  for (const obj of objects) {
    const ref = controllerOf(obj);
    try {
      if (ref) {
        if (ref.uid !== ownerUid) continue;
        if (o.matches(obj)) claimed.push(obj);
        else if (!ownerDeleting && !obj.metadata.deletionTimestamp) await release(obj, o);
        continue;
      }
      if (ownerDeleting || !o.matches(obj) || obj.metadata.deletionTimestamp) continue;
      await canAdopt();
      claimed.push(await adopt(obj, o));
    } catch (e) {
      if (!isNotFound(e)) errors.push(e);
    }
  }
  if (errors.length) throw errors[0];
  return claimed;
}

async function recheckOwner<T extends KubeObject>(o: ClaimOptions<T>): Promise<void> {
  const fresh = await o.client.get(o.ownerResource, o.owner.metadata.namespace, o.owner.metadata.name!);
  const { namespace, name, uid } = o.owner.metadata;
  if (fresh.metadata.uid !== uid) throw new Error(`original ${namespace}/${name} is gone: got uid ${fresh.metadata.uid}, wanted ${uid}`);
  if (fresh.metadata.deletionTimestamp) throw new Error(`${namespace}/${name} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
}

function adopt<T extends KubeObject>(obj: T, o: ClaimOptions<T>): Promise<T> {
  const patch = { metadata: { ownerReferences: [newControllerRef(o.owner, o.ownerResource)], uid: obj.metadata.uid, ...(o.finalizers?.length ? { finalizers: [...o.finalizers] } : {}) } };
  return o.client.patch<T>(o.resource, obj.metadata.namespace, obj.metadata.name!, "strategic", patch);
}

async function release<T extends KubeObject>(obj: T, o: ClaimOptions<T>): Promise<void> {
  const patch = { metadata: { ownerReferences: [{ $patch: "delete", uid: o.owner.metadata.uid }], uid: obj.metadata.uid } };
  try {
    await o.client.patch(o.resource, obj.metadata.namespace, obj.metadata.name!, "strategic", patch);
  } catch (e) {
    // Gone, or already released elsewhere: nothing to release (upstream ignores NotFound and Invalid here).
    if (isNotFound(e) || isInvalid(e)) return;
    throw e;
  }
}
