/**
 * The collector's workers (upstream's garbagecollector.go and operations.go): attemptToDelete
 * decides, from a live read of the object and of each owner it names, whether an object is
 * garbage — every owner absent (NotFound, or another uid under that name) — and deletes it with
 * the propagation its own finalizers ask for; it removes references to absent owners when others
 * remain, drives foreground deletion (dependents first, then the owner's foregroundDeletion
 * finalizer), and attemptToOrphan strips an orphaning owner from its dependents before removing
 * its `orphan` finalizer. The graph only says what to look at: nothing is deleted on its word alone.
 */
import type { Clock, KubeObject, Logger, OwnerReference, ResourceRef } from "@kubemu/common";
import { StatusError, isConflict, isNotFound } from "@kubemu/common";
import type { ControllerClient } from "../../controller/client.js";
import type { ServedResources } from "../../controller/served-resources.js";
import { describeRef, refOfOwner, type GraphNode, type ObjectReference } from "./graph.js";
import { FOREGROUND_FINALIZER, ORPHAN_FINALIZER, type GraphBuilder } from "./graph-builder.js";
import { deleteOwnerRefMergePatch, deleteOwnerRefStrategicPatch, finalizersMergePatch, unblockOwnerReferencesMergePatch, unblockOwnerReferencesStrategicPatch } from "./patch.js";
import type { ReferenceCache } from "./reference-cache.js";

/** An ownerReference (or object) whose apiVersion/kind no served resource has: retried, as upstream (a CRD may yet appear). */
export class RestMappingError extends Error {
  constructor(kind: string, apiVersion: string) {
    super(`unable to get REST mapping for ${kind}/${apiVersion}.`);
    this.name = "RestMappingError";
  }
}

/** A cluster-scoped object naming a namespaced owner: it can never resolve, so it is not retried. */
class NamespacedOwnerOfClusterScopedObject extends Error {
  constructor() {
    super("cluster-scoped objects cannot refer to namespaced owners");
  }
}

/** The node was found missing and a virtual delete event went to the graph: nothing to retry. */
class EnqueuedVirtualDeleteEvent extends Error {
  constructor() {
    super("enqueued virtual delete event");
  }
}

export type WorkResult = "forget" | "requeue";

export interface CollectorDeps {
  client: ControllerClient;
  builder: GraphBuilder;
  /** The served resources now (the RESTMapper). */
  resources(): ServedResources;
  /** An object as a monitor's cache holds it, if one does (merge patches read their resourceVersion there first). */
  cached(resource: ResourceRef, namespace: string | undefined, name: string): KubeObject | undefined;
  absentOwners: ReferenceCache;
  attemptToDelete(uid: string): void;
  clock: Clock;
  logger: Logger;
}

type Policy = "Orphan" | "Foreground" | "Background";

const isUnsupportedMediaType = (e: unknown) => e instanceof StatusError && e.status.code === 415;
const hasFinalizer = (o: KubeObject, f: string) => (o.metadata.finalizers ?? []).includes(f);

function sameOwnerRefs(a: readonly OwnerReference[] | undefined, b: readonly OwnerReference[] | undefined): boolean {
  return JSON.stringify(a ?? []) === JSON.stringify(b ?? []);
}

export class GarbageCollector {
  constructor(private readonly d: CollectorDeps) {}

  private get graph() {
    return this.d.builder.graph;
  }

  /** One attemptToDelete item (processAttemptToDeleteWorker): forget it, or put it back rate-limited. */
  async attemptToDeleteWorker(uid: string): Promise<WorkResult> {
    const n = this.graph.get(uid);
    // Gone from the graph meanwhile (its delete was observed): nothing left to do.
    if (!n) return "forget";
    try {
      await this.attemptToDeleteItem(n);
    } catch (e) {
      if (e instanceof EnqueuedVirtualDeleteEvent || e instanceof NamespacedOwnerOfClusterScopedObject) return "forget";
      this.d.logger.warn({ item: describeRef(n.identity), err: e instanceof Error ? e.message : String(e) }, "error syncing item");
      return "requeue";
    }
    // Not observed yet: keep checking, or a virtual node for an object added and removed while a watch was down could stay forever.
    return n.virtual ? "requeue" : "forget";
  }

  /** One attemptToOrphan item: remove the owner from every dependent, then its `orphan` finalizer. */
  async attemptToOrphanWorker(uid: string): Promise<WorkResult> {
    const owner = this.graph.get(uid);
    if (!owner) return "forget";
    try {
      await this.orphanDependents(owner.identity, [...owner.dependents]);
      await this.removeFinalizer(owner, ORPHAN_FINALIZER);
      return "forget";
    } catch (e) {
      this.d.logger.warn({ owner: describeRef(owner.identity), err: e instanceof Error ? e.message : String(e) }, "orphaning dependents failed");
      return "requeue";
    }
  }

  /** The resource serving an apiVersion/kind, and whether it is namespaced. */
  private mapping(apiVersion: string, kind: string): ResourceRef {
    const r = this.d.resources().forKind(apiVersion, kind);
    if (!r) throw new RestMappingError(kind, apiVersion);
    return r;
  }

  /** Where to address a node: its resource and (for namespaced ones) namespace. */
  private target(ref: ObjectReference): { resource: ResourceRef; namespace: string | undefined } {
    const resource = this.mapping(ref.apiVersion, ref.kind);
    if (!resource.namespaced) return { resource, namespace: undefined };
    // A cluster-scoped child naming a namespaced owner: there is no namespace to look in.
    if (ref.namespace === "") throw new NamespacedOwnerOfClusterScopedObject();
    return { resource, namespace: ref.namespace };
  }

  private async getObject(ref: ObjectReference): Promise<KubeObject> {
    const { resource, namespace } = this.target(ref);
    return this.d.client.get(resource, namespace, ref.name);
  }

  /**
   * Deletes the object with uid (and resourceVersion) preconditions. A conflict caused only by a
   * newer resourceVersion whose owners are the same is retried without it (upstream's deleteObject).
   */
  private async deleteObject(ref: ObjectReference, resourceVersion: string | undefined, ownersAtVersion: readonly OwnerReference[] | undefined, policy: Policy): Promise<void> {
    const { resource, namespace } = this.target(ref);
    try {
      await this.d.client.delete(resource, namespace, ref.name, { preconditions: { uid: ref.uid, ...(resourceVersion ? { resourceVersion } : {}) }, propagationPolicy: policy });
    } catch (e) {
      if (!isConflict(e) || !resourceVersion) throw e;
      let live: KubeObject;
      try {
        live = await this.d.client.get(resource, namespace, ref.name);
      } catch (ge) {
        if (isNotFound(ge)) return;
        throw e;
      }
      if (live.metadata.uid === ref.uid && live.metadata.resourceVersion !== resourceVersion && sameOwnerRefs(live.metadata.ownerReferences, ownersAtVersion)) {
        return this.deleteObject(ref, undefined, undefined, policy);
      }
      throw e;
    }
  }

  /** A strategic merge patch, or for resources that refuse it (415), the merge patch `mergePatch` builds. */
  private async patch(n: GraphNode, strategic: unknown, mergePatch: (current: KubeObject) => unknown): Promise<void> {
    const { resource, namespace } = this.target(n.identity);
    try {
      await this.d.client.patch(resource, namespace, n.identity.name, "strategic", strategic);
    } catch (e) {
      if (!isUnsupportedMediaType(e)) throw e;
      const current = this.d.cached(resource, namespace, n.identity.name) ?? (await this.d.client.get(resource, namespace, n.identity.name));
      await this.d.client.patch(resource, namespace, n.identity.name, "merge", mergePatch(current));
    }
  }

  /** Removes `finalizer` from the owner, re-reading on conflicts (client-go's RetryOnConflict, 4 steps from 10 ms ×5). */
  private async removeFinalizer(owner: GraphNode, finalizer: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let obj: KubeObject;
      try {
        obj = await this.getObject(owner.identity);
      } catch (e) {
        if (isNotFound(e)) return;
        throw new Error(`cannot finalize owner ${describeRef(owner.identity)}, because cannot get it: ${e instanceof Error ? e.message : String(e)}. The garbage collector will retry later`);
      }
      const finalizers = obj.metadata.finalizers ?? [];
      if (!finalizers.includes(finalizer)) return;
      const { resource, namespace } = this.target(owner.identity);
      try {
        await this.d.client.patch(resource, namespace, owner.identity.name, "merge", finalizersMergePatch(obj, finalizers.filter((f) => f !== finalizer)));
        return;
      } catch (e) {
        if (!isConflict(e)) throw e;
        if (attempt >= 3) throw new Error(`updateMaxRetries(4) has reached. The garbage collector will retry later for owner ${describeRef(owner.identity)}`);
        await this.d.clock.sleep(10 * 5 ** attempt);
      }
    }
  }

  /**
   * Whether the owner a reference names is absent: in the absent-owner cache, or not found by a
   * live read (in the dependent's namespace for namespaced owners), or found with another uid.
   * Answers the owner when it exists.
   */
  private async isDangling(ref: OwnerReference, item: GraphNode): Promise<{ dangling: boolean; owner?: KubeObject }> {
    const clusterKey = refOfOwner(ref, "");
    if (this.d.absentOwners.has(clusterKey)) return { dangling: true };
    const namespacedKey = refOfOwner(ref, item.identity.namespace);
    if (this.d.absentOwners.has(namespacedKey)) return { dangling: true };
    const resource = this.mapping(ref.apiVersion, ref.kind);
    const key = resource.namespaced ? namespacedKey : clusterKey;
    if (item.identity.namespace === "" && resource.namespaced) {
      this.d.logger.info({ item: describeRef(item.identity), owner: ref.name }, "item is cluster-scoped, but refers to a namespaced owner");
      throw new NamespacedOwnerOfClusterScopedObject();
    }
    let owner: KubeObject;
    try {
      owner = await this.d.client.get(resource, resource.namespaced ? item.identity.namespace : undefined, ref.name);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      this.d.absentOwners.add(key);
      return { dangling: true };
    }
    if (owner.metadata.uid !== ref.uid) {
      this.d.absentOwners.add(key);
      return { dangling: true };
    }
    return { dangling: false, owner };
  }

  /** solid: owners that exist and are not deleting dependents; dangling: absent; waiting: deleting in foreground. */
  private async classifyReferences(item: GraphNode, refs: readonly OwnerReference[]): Promise<{ solid: OwnerReference[]; dangling: OwnerReference[]; waiting: OwnerReference[] }> {
    const solid: OwnerReference[] = [];
    const dangling: OwnerReference[] = [];
    const waiting: OwnerReference[] = [];
    for (const ref of refs) {
      const { dangling: isDangling, owner } = await this.isDangling(ref, item);
      if (isDangling) dangling.push(ref);
      else if (owner!.metadata.deletionTimestamp && hasFinalizer(owner!, FOREGROUND_FINALIZER)) waiting.push(ref);
      else solid.push(ref);
    }
    return { solid, dangling, waiting };
  }

  /** upstream's attemptToDeleteItem. */
  async attemptToDeleteItem(item: GraphNode): Promise<void> {
    // Being deleted is a one-way trip: wait for the final delete, then its dependents are handled.
    if (item.beingDeleted && !item.deletingDependents) return;
    let latest: KubeObject;
    try {
      latest = await this.getObject(item.identity);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      // A virtual owner that does not exist (or an object deleted meanwhile): drop it from the graph.
      this.d.builder.enqueueVirtualDeleteEvent(item.identity);
      throw new EnqueuedVirtualDeleteEvent();
    }
    if (latest.metadata.uid !== item.identity.uid) {
      this.d.builder.enqueueVirtualDeleteEvent(item.identity);
      throw new EnqueuedVirtualDeleteEvent();
    }
    if (item.deletingDependents) return this.processDeletingDependentsItem(item);

    const ownerReferences = latest.metadata.ownerReferences ?? [];
    if (ownerReferences.length === 0) return;
    const { solid, dangling, waiting } = await this.classifyReferences(item, ownerReferences);

    if (solid.length > 0) {
      // An owner exists: never collected. References to absent owners and to owners deleting in
      // the foreground are removed (or those owners would wait on this object forever).
      if (dangling.length === 0 && waiting.length === 0) return;
      const uids = [...dangling, ...waiting].map((r) => r.uid);
      this.d.logger.info({ item: describeRef(item.identity), dangling: dangling.map((r) => r.uid), waiting: waiting.map((r) => r.uid) }, "remove dangling references and waiting references for item");
      return this.patch(item, deleteOwnerRefStrategicPatch(item.identity.uid, uids), (cur) => deleteOwnerRefMergePatch(cur, uids));
    }

    if (waiting.length > 0 && item.dependents.size > 0) {
      // An owner deletes in the foreground and this item has dependents of its own: delete it in
      // the foreground too. A dependent that also deletes in the foreground could be a cycle:
      // unblock this item's references first (upstream's detection, false positives and all).
      for (const dep of item.dependents) {
        if (!dep.deletingDependents) continue;
        this.d.logger.info({ item: describeRef(item.identity), dependent: describeRef(dep.identity) }, "some owners and a dependent of item delete in the foreground: unblocking its ownerReferences to prevent a cycle");
        await this.patch(item, unblockOwnerReferencesStrategicPatch(item), (cur) => unblockOwnerReferencesMergePatch(item, cur));
        break;
      }
      return this.deleteOrVirtual(item, latest, "Foreground");
    }

    // No owner left: collect it, honouring the propagation its own finalizers ask for.
    const policy: Policy = hasFinalizer(latest, ORPHAN_FINALIZER) ? "Orphan" : hasFinalizer(latest, FOREGROUND_FINALIZER) ? "Foreground" : "Background";
    this.d.logger.info({ item: describeRef(item.identity), propagationPolicy: policy }, "Deleting item");
    return this.deleteOrVirtual(item, latest, policy);
  }

  private async deleteOrVirtual(item: GraphNode, latest: KubeObject, policy: Policy): Promise<void> {
    try {
      await this.deleteObject(item.identity, latest.metadata.resourceVersion, latest.metadata.ownerReferences, policy);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      this.d.builder.enqueueVirtualDeleteEvent(item.identity);
      throw new EnqueuedVirtualDeleteEvent();
    }
  }

  /** An owner deleting in the foreground: done (finalizer off) once no dependent blocks it; else its blocking dependents are deleted. */
  private async processDeletingDependentsItem(item: GraphNode): Promise<void> {
    const blocking = item.blockingDependents();
    if (blocking.length === 0) {
      this.d.logger.info({ item: describeRef(item.identity) }, "remove DeleteDependents finalizer for item");
      return this.removeFinalizer(item, FOREGROUND_FINALIZER);
    }
    for (const dep of blocking) if (!dep.deletingDependents) this.d.attemptToDelete(dep.identity.uid);
  }

  /** Removes the owner's reference from every dependent (concurrently); a dependent already gone is fine. */
  private async orphanDependents(owner: ObjectReference, dependents: readonly GraphNode[]): Promise<void> {
    const failures: string[] = [];
    await Promise.all(
      dependents.map(async (dep) => {
        try {
          await this.patch(dep, deleteOwnerRefStrategicPatch(dep.identity.uid, [owner.uid]), (cur) => deleteOwnerRefMergePatch(cur, [owner.uid]));
        } catch (e) {
          if (!isNotFound(e)) failures.push(`orphaning ${describeRef(dep.identity)} failed, ${e instanceof Error ? e.message : String(e)}`);
        }
      }),
    );
    if (failures.length > 0) throw new Error(`failed to orphan dependents of owner ${describeRef(owner)}, got errors: ${failures.join(", ")}`);
  }
}
