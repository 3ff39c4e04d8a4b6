/**
 * The ownership graph (upstream's graph.go): one node per object uid, with the ownerReferences it
 * carries and the nodes that name it as an owner. Owners named by a dependent but not yet seen by
 * any informer are "virtual" nodes until an informer shows them or a live read proves them absent.
 * Only the graph builder changes nodes; the collector's workers read them.
 */
import type { OwnerReference } from "@kubemu/common";

/** Which object a node is: an owner reference's coordinates plus a namespace ("" = cluster-scoped, or not known yet). */
export interface ObjectReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  namespace: string;
}

/** Upstream's objectReference String(): `[apps/v1/ReplicaSet, namespace: default, name: web, uid: 1234]`. */
export function describeRef(r: ObjectReference): string {
  return `[${r.apiVersion}/${r.kind}, namespace: ${r.namespace}, name: ${r.name}, uid: ${r.uid}]`;
}

export function sameRef(a: ObjectReference, b: ObjectReference): boolean {
  return a.uid === b.uid && a.name === b.name && a.kind === b.kind && a.apiVersion === b.apiVersion && a.namespace === b.namespace;
}

/** The reference a dependent's ownerReference names, in the dependent's namespace. */
export function refOfOwner(owner: OwnerReference, namespace: string): ObjectReference {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, uid: owner.uid, namespace };
}

/** Whether an ownerReference names exactly these coordinates (uid, name, kind, apiVersion). */
export function matchesCoordinates(owner: OwnerReference, r: ObjectReference): boolean {
  return owner.uid === r.uid && owner.name === r.name && owner.kind === r.kind && owner.apiVersion === r.apiVersion;
}

export class GraphNode {
  /** Dependents: nodes whose ownerReferences name this node's uid. */
  readonly dependents = new Set<GraphNode>();
  /** Being deleted with the foregroundDeletion finalizer: waiting for its blocking dependents. */
  deletingDependents = false;
  /** deletionTimestamp is set (a one-way trip). */
  beingDeleted = false;
  /** Constructed from a dependent's reference, never observed through an informer. */
  virtual: boolean;
  /** The ownerReferences the object carries (as last observed). */
  owners: readonly OwnerReference[];

  constructor(
    public identity: ObjectReference,
    opts: { virtual?: boolean; owners?: readonly OwnerReference[]; beingDeleted?: boolean; deletingDependents?: boolean } = {},
  ) {
    this.virtual = opts.virtual ?? false;
    this.owners = opts.owners ?? [];
    this.beingDeleted = opts.beingDeleted ?? false;
    this.deletingDependents = opts.deletingDependents ?? false;
  }

  /** A copy under another identity (the graph then holds the copy; dependents are shared nodes). */
  clone(): GraphNode {
    const c = new GraphNode({ ...this.identity }, { virtual: this.virtual, owners: this.owners, beingDeleted: this.beingDeleted, deletingDependents: this.deletingDependents });
    for (const d of this.dependents) c.dependents.add(d);
    return c;
  }

  /** Dependents whose ownerReference to this node has blockOwnerDeletion: true. */
  blockingDependents(): GraphNode[] {
    return [...this.dependents].filter((d) => d.owners.some((o) => o.uid === this.identity.uid && o.blockOwnerDeletion === true));
  }

  replaceDependentIfItExists(old: GraphNode, next: GraphNode): void {
    if (this.dependents.delete(old)) this.dependents.add(next);
  }
}

/** Nodes by uid. */
export class Graph {
  private readonly nodes = new Map<string, GraphNode>();

  get(uid: string): GraphNode | undefined {
    return this.nodes.get(uid);
  }

  set(n: GraphNode): void {
    this.nodes.set(n.identity.uid, n);
  }

  delete(uid: string): void {
    this.nodes.delete(uid);
  }

  get size(): number {
    return this.nodes.size;
  }

  values(): IterableIterator<GraphNode> {
    return this.nodes.values();
  }
}
