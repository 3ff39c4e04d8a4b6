/**
 * The graph builder (upstream's graph_builder.go processGraphChanges): turns informer events on
 * every monitored resource into the ownership graph, and hands the collector the nodes that may
 * need work — dependents of a deleted owner, virtual owners to verify, owners starting an orphan
 * or foreground deletion, owners whose blocking dependents went away. Events are processed one at
 * a time as they arrive (JavaScript's single thread is upstream's single graph-builder goroutine),
 * so the graph is at least as new as any notification the collector acts on.
 */
import type { KubeObject, Logger, OwnerReference } from "@kubemu/common";
import type { Recorder } from "../../controller/context.js";
import { Graph, GraphNode, describeRef, matchesCoordinates, refOfOwner, sameRef, type ObjectReference } from "./graph.js";
import type { ReferenceCache } from "./reference-cache.js";

export const ORPHAN_FINALIZER = "orphan";
export const FOREGROUND_FINALIZER = "foregroundDeletion";

export interface GraphEvent {
  type: "add" | "update" | "delete";
  /** Made by the collector after a live read found the object gone, not observed by an informer. */
  virtual?: boolean;
  obj: KubeObject;
  oldObj?: KubeObject;
  /** The apiVersion and kind of the resource the event came from. */
  apiVersion: string;
  kind: string;
}

/** Where the builder sends work: the collector's two queues (keyed by uid), the absent-owner cache and events. */
export interface GraphSinks {
  attemptToDelete(uid: string, opts?: { rateLimited?: boolean }): void;
  attemptToOrphan(uid: string): void;
  absentOwners: ReferenceCache;
  recorder: Recorder;
  logger: Logger;
}

const beingDeleted = (o: KubeObject) => !!o.metadata.deletionTimestamp;
const hasFinalizer = (o: KubeObject, f: string) => (o.metadata.finalizers ?? []).includes(f);

/** Starts being deleted with finalizer f in this event (it was not being deleted with it before). */
function deletionStartsWithFinalizer(oldObj: KubeObject | undefined, obj: KubeObject, f: string): boolean {
  if (!beingDeleted(obj) || !hasFinalizer(obj, f)) return false;
  if (!oldObj) return true;
  return !beingDeleted(oldObj) || !hasFinalizer(oldObj, f);
}

function identityFromEvent(ev: GraphEvent): ObjectReference {
  const m = ev.obj.metadata;
  return { apiVersion: ev.apiVersion, kind: ev.kind, uid: m.uid ?? "", name: m.name ?? "", namespace: m.namespace ?? "" };
}

const refsEqual = (a: OwnerReference, b: OwnerReference) =>
  a.uid === b.uid && a.apiVersion === b.apiVersion && a.kind === b.kind && a.name === b.name && (a.controller ?? undefined) === (b.controller ?? undefined) && (a.blockOwnerDeletion ?? undefined) === (b.blockOwnerDeletion ?? undefined);

/** Owner references added, removed and changed between two states of an object (by uid). */
export function referencesDiffs(old: readonly OwnerReference[], next: readonly OwnerReference[]): { added: OwnerReference[]; removed: OwnerReference[]; changed: { oldRef: OwnerReference; newRef: OwnerReference }[] } {
  const oldByUid = new Map(old.map((r) => [r.uid, r]));
  const added: OwnerReference[] = [];
  const changed: { oldRef: OwnerReference; newRef: OwnerReference }[] = [];
  for (const r of next) {
    const prev = oldByUid.get(r.uid);
    if (prev) {
      if (!refsEqual(prev, r)) changed.push({ oldRef: prev, newRef: r });
      oldByUid.delete(r.uid);
    } else added.push(r);
  }
  return { added, removed: [...oldByUid.values()], changed };
}

/**
 * Splits dependents into those whose reference to the owner's uid matches `owner` (coordinates,
 * and namespace for a namespaced owner) and those whose reference does not; one with two
 * references to the uid may land in both.
 */
export function partitionDependents(dependents: Iterable<GraphNode>, owner: ObjectReference): { matching: GraphNode[]; nonmatching: GraphNode[] } {
  const matching: GraphNode[] = [];
  const nonmatching: GraphNode[] = [];
  const ownerNamespaced = owner.namespace !== "";
  for (const dep of dependents) {
    let match = false;
    let mismatch = false;
    if (ownerNamespaced && owner.namespace !== dep.identity.namespace) mismatch = true;
    else
      for (const ref of dep.owners) {
        if (ref.uid !== owner.uid) continue;
        if (matchesCoordinates(ref, owner)) match = true;
        else mismatch = true;
      }
    if (match) matching.push(dep);
    if (mismatch) nonmatching.push(dep);
  }
  return { matching, nonmatching };
}

const refLess = (a: ObjectReference, b: ObjectReference): boolean => {
  if (a.kind !== b.kind) return a.kind < b.kind;
  if (a.apiVersion !== b.apiVersion) return a.apiVersion < b.apiVersion;
  if (a.namespace !== b.namespace) return a.namespace < b.namespace;
  if (a.name !== b.name) return a.name < b.name;
  return a.uid < b.uid;
};

/**
 * Another identity the dependents give the absent owner's uid (other coordinates or namespace):
 * the first after `absent` in reference order, else the first of all; undefined when there is none.
 */
export function alternateOwnerIdentity(deps: Iterable<GraphNode>, absent: ObjectReference): ObjectReference | undefined {
  const absentClusterScoped = absent.namespace === "";
  const seen = new Set<string>([describeRef(absent)]);
  let first: ObjectReference | undefined;
  let firstFollowing: ObjectReference | undefined;
  for (const dep of deps) {
    for (const ref of dep.owners) {
      if (ref.uid !== absent.uid) continue;
      if (matchesCoordinates(ref, absent) && (absentClusterScoped || absent.namespace === dep.identity.namespace)) continue;
      const alt = refOfOwner(ref, dep.identity.namespace);
      // This apiVersion/kind is known to be cluster-scoped: the alternate has no namespace either.
      if (absentClusterScoped && alt.apiVersion === absent.apiVersion && alt.kind === absent.kind) alt.namespace = "";
      const k = describeRef(alt);
      if (seen.has(k)) continue;
      seen.add(k);
      if (!first || refLess(alt, first)) first = alt;
      if (refLess(absent, alt) && (!firstFollowing || refLess(alt, firstFollowing))) firstFollowing = alt;
    }
  }
  return firstFollowing ?? first;
}

export class GraphBuilder {
  readonly graph = new Graph();

  constructor(private readonly sinks: GraphSinks) {}

  /** The event the collector makes for a node a live read found missing (or with another uid). */
  enqueueVirtualDeleteEvent(ref: ObjectReference): void {
    this.process({
      type: "delete",
      virtual: true,
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      obj: { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, uid: ref.uid, ...(ref.namespace ? { namespace: ref.namespace } : {}) } },
    });
  }

  /** Applies one event to the graph and queues the work it implies. */
  process(ev: GraphEvent): void {
    const uid = ev.obj.metadata.uid;
    if (!uid) return;
    let existing = this.graph.get(uid);
    if (existing && !ev.virtual && existing.virtual) {
      // Observed by an informer at last: take the observed identity, and re-check the dependents
      // that named the owner differently (the bad child → good parent order; the other order is in addDependentToOwners).
      const observed = identityFromEvent(ev);
      if (!sameRef(observed, existing.identity)) {
        for (const dep of partitionDependents(existing.dependents, observed).nonmatching) {
          if (observed.namespace !== "" && dep.identity.namespace !== observed.namespace) {
            this.sinks.logger.info({ item: describeRef(dep.identity), owner: describeRef(observed) }, "item references an owner but does not match namespaces");
            this.reportInvalidNamespaceOwnerRef(dep, observed.uid);
          }
          this.sinks.attemptToDelete(dep.identity.uid);
        }
        this.sinks.logger.info({ virtual: describeRef(existing.identity), observed: describeRef(observed) }, "replacing virtual item with observed item");
        existing = existing.clone();
        existing.identity = observed;
        this.graph.set(existing);
      }
      existing.virtual = false;
    }

    if (ev.type === "add" || ev.type === "update") {
      if (!existing) {
        const n = new GraphNode(identityFromEvent(ev), {
          owners: ev.obj.metadata.ownerReferences ?? [],
          beingDeleted: beingDeleted(ev.obj),
          deletingDependents: beingDeleted(ev.obj) && hasFinalizer(ev.obj, FOREGROUND_FINALIZER),
        });
        this.insertNode(n);
        this.processTransitions(ev.oldObj, ev.obj, n);
        return;
      }
      if (!ev.virtual && (existing.identity.apiVersion !== ev.apiVersion || existing.identity.kind !== ev.kind)) {
        // The same object seen through another version of its resource.
        const old = existing;
        existing = existing.clone();
        existing.identity = { ...existing.identity, apiVersion: ev.apiVersion, kind: ev.kind };
        this.graph.set(existing);
        for (const o of existing.owners) this.graph.get(o.uid)?.replaceDependentIfItExists(old, existing);
      }
      const nextOwners = ev.obj.metadata.ownerReferences ?? [];
      const { added, removed, changed } = referencesDiffs(existing.owners, nextOwners);
      if (added.length || removed.length || changed.length) {
        this.addUnblockedOwnersToDeleteQueue(removed, changed);
        existing.owners = nextOwners;
        this.addDependentToOwners(existing, added);
        this.removeDependentFromOwners(existing, removed);
      }
      if (beingDeleted(ev.obj)) existing.beingDeleted = true;
      this.processTransitions(ev.oldObj, ev.obj, existing);
      return;
    }

    // delete
    if (!existing) return;
    let removeExisting = true;
    if (ev.virtual) {
      const deleted = identityFromEvent(ev);
      if (existing.virtual) {
        // Not sure of our own coordinates: dependents that name us otherwise keep the node alive.
        const { matching, nonmatching } = partitionDependents(existing.dependents, deleted);
        if (nonmatching.length > 0) {
          removeExisting = false;
          if (matching.length > 0) {
            this.sinks.absentOwners.add(deleted);
            for (const dep of matching) this.sinks.attemptToDelete(dep.identity.uid);
          }
          if (sameRef(existing.identity, deleted)) {
            const replacement = alternateOwnerIdentity(nonmatching, deleted);
            if (replacement) {
              const n = existing.clone();
              n.identity = replacement;
              this.graph.set(n);
              this.sinks.attemptToDelete(n.identity.uid, { rateLimited: true });
            }
          }
        }
      } else if (!sameRef(existing.identity, deleted)) {
        // An observed node is never removed by a virtual delete of other coordinates.
        removeExisting = false;
        const { matching } = partitionDependents(existing.dependents, deleted);
        if (matching.length > 0) {
          this.sinks.absentOwners.add(deleted);
          for (const dep of matching) this.sinks.attemptToDelete(dep.identity.uid);
        }
      }
    }
    if (!removeExisting) return;
    this.removeNode(existing);
    if (existing.dependents.size > 0) this.sinks.absentOwners.add(identityFromEvent(ev));
    for (const dep of existing.dependents) this.sinks.attemptToDelete(dep.identity.uid);
    for (const o of existing.owners) {
      const owner = this.graph.get(o.uid);
      // Its owner may be waiting for this dependent to go (foreground deletion).
      if (owner?.deletingDependents) this.sinks.attemptToDelete(owner.identity.uid);
    }
  }

  private insertNode(n: GraphNode): void {
    this.graph.set(n);
    this.addDependentToOwners(n, n.owners);
  }

  private removeNode(n: GraphNode): void {
    this.graph.delete(n.identity.uid);
    this.removeDependentFromOwners(n, n.owners);
  }

  private removeDependentFromOwners(n: GraphNode, owners: readonly OwnerReference[]): void {
    for (const o of owners) this.graph.get(o.uid)?.dependents.delete(n);
  }

  /**
   * Adds n to its owners' dependents, creating virtual nodes for owners not seen yet (queued so a
   * live read verifies them). A reference that disagrees with an observed owner (another
   * namespace, other coordinates) queues n itself for verification.
   */
  private addDependentToOwners(n: GraphNode, owners: readonly OwnerReference[]): void {
    let potentiallyInvalid = false;
    for (const ref of owners) {
      let owner = this.graph.get(ref.uid);
      if (!owner) {
        owner = new GraphNode(refOfOwner(ref, n.identity.namespace), { virtual: true });
        this.graph.set(owner);
        owner.dependents.add(n);
        this.sinks.attemptToDelete(owner.identity.uid);
        continue;
      }
      owner.dependents.add(n);
      if (potentiallyInvalid) continue;
      const ownerNamespaced = owner.identity.namespace !== "";
      if (ownerNamespaced && owner.identity.namespace !== n.identity.namespace) {
        if (!owner.virtual) {
          // Cluster-scoped owners may be named from anywhere; a namespaced one only from its own namespace.
          this.sinks.logger.info({ item: describeRef(n.identity), owner: describeRef(owner.identity) }, "item references an owner but does not match namespaces");
          this.reportInvalidNamespaceOwnerRef(n, ref.uid);
        }
        potentiallyInvalid = true;
      } else if (!matchesCoordinates(ref, owner.identity)) {
        potentiallyInvalid = true;
      } else if (!ownerNamespaced && owner.identity.namespace !== n.identity.namespace && owner.virtual) {
        // A virtual cluster-scoped owner named from a namespace: maybe a missing namespaced owner named by a cluster-scoped child.
        potentiallyInvalid = true;
      }
    }
    if (potentiallyInvalid) this.sinks.attemptToDelete(n.identity.uid);
  }

  /** Warning OwnerRefInvalidNamespace on the dependent, as upstream. */
  private reportInvalidNamespaceOwnerRef(n: GraphNode, ownerUid: string): void {
    const ref = n.owners.find((o) => o.uid === ownerUid);
    if (!ref) return;
    const invalid = refOfOwner(ref, n.identity.namespace);
    const obj: KubeObject = { apiVersion: n.identity.apiVersion, kind: n.identity.kind, metadata: { name: n.identity.name, uid: n.identity.uid, ...(n.identity.namespace ? { namespace: n.identity.namespace } : {}) } };
    this.sinks.recorder.event(obj, "Warning", "OwnerRefInvalidNamespace", `ownerRef ${describeRef(invalid)} does not exist in namespace "${n.identity.namespace}"`);
  }

  /** A blocking reference removed or made non-blocking: its owner may be waiting for exactly that. */
  private addUnblockedOwnersToDeleteQueue(removed: OwnerReference[], changed: { oldRef: OwnerReference; newRef: OwnerReference }[]): void {
    for (const r of removed) if (r.blockOwnerDeletion === true && this.graph.get(r.uid)) this.sinks.attemptToDelete(r.uid);
    for (const c of changed) {
      const wasBlocked = c.oldRef.blockOwnerDeletion === true;
      const isUnblocked = c.newRef.blockOwnerDeletion !== true;
      if (wasBlocked && isUnblocked && this.graph.get(c.newRef.uid)) this.sinks.attemptToDelete(c.newRef.uid);
    }
  }

  private processTransitions(oldObj: KubeObject | undefined, obj: KubeObject, n: GraphNode): void {
    if (deletionStartsWithFinalizer(oldObj, obj, ORPHAN_FINALIZER)) {
      this.sinks.attemptToOrphan(n.identity.uid);
      return;
    }
    if (deletionStartsWithFinalizer(oldObj, obj, FOREGROUND_FINALIZER)) {
      // A virtual node's deletingDependents was never set: set it here.
      n.deletingDependents = true;
      for (const dep of n.dependents) this.sinks.attemptToDelete(dep.identity.uid);
      this.sinks.attemptToDelete(n.identity.uid);
    }
  }
}
