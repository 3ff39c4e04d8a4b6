/**
 * The informer's local cache: objects by `namespace/name` key, with named indexes (client-go's
 * cache.Indexer). Objects in it are the informer's: read them, never change them (copy with
 * structuredClone first).
 */
import type { KubeObject } from "../api/object.js";
import type { LabelSelector } from "../selectors/labels.js";

/** Index values of an object (an object may have several, or none). */
export type IndexFunc<T extends KubeObject = KubeObject> = (obj: T) => readonly string[];

/** `namespace/name`, or `name` for cluster-scoped objects (client-go's MetaNamespaceKeyFunc). */
export function objectKey(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? "";
  return ns ? `${ns}/${name}` : name;
}

/** Splits a key made by {@link objectKey}. */
export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const i = key.indexOf("/");
  return i === -1 ? { namespace: undefined, name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** The indexes every informer can have by name. */
export const Indexes = {
  namespace: "namespace",
  nodeName: "spec.nodeName",
  ownerUid: "ownerUid",
} as const;

export const namespaceIndex: IndexFunc = (o) => (o.metadata?.namespace ? [o.metadata.namespace] : []);
export const nodeNameIndex: IndexFunc = (o) => {
  const n = (o.spec as { nodeName?: unknown } | undefined)?.nodeName;
  return typeof n === "string" && n !== "" ? [n] : [];
};
export const ownerUidIndex: IndexFunc = (o) => (o.metadata?.ownerReferences ?? []).map((r) => r.uid).filter((u) => typeof u === "string" && u !== "");

/** Index functions for the names in {@link Indexes}. */
export const standardIndexers: Record<string, IndexFunc> = {
  [Indexes.namespace]: namespaceIndex,
  [Indexes.nodeName]: nodeNameIndex,
  [Indexes.ownerUid]: ownerUidIndex,
};

/** Read access to an informer's cache. */
export interface Lister<T extends KubeObject = KubeObject> {
  get(namespace: string | undefined, name: string): T | undefined;
  getByKey(key: string): T | undefined;
  /** Every object, or those in a namespace, optionally matching a label selector. */
  list(opts?: { namespace?: string; selector?: LabelSelector }): T[];
  /** Objects whose index `indexName` has `value`. */
  byIndex(indexName: string, value: string): T[];
  keys(): string[];
  size(): number;
}

export class Indexer<T extends KubeObject = KubeObject> implements Lister<T> {
  private readonly items = new Map<string, T>();
  private readonly indexers = new Map<string, IndexFunc<T>>();
  /** index name → value → keys */
  private readonly indices = new Map<string, Map<string, Set<string>>>();

  constructor(indexers: Record<string, IndexFunc<T>> = {}) {
    for (const [name, fn] of Object.entries(indexers)) this.addIndexer(name, fn);
  }

  /** Adds an index; existing objects are indexed at once. A name already taken must be the same function. */
  addIndexer(name: string, fn: IndexFunc<T>): void {
    const prev = this.indexers.get(name);
    if (prev) {
      if (prev !== fn) throw new Error(`indexer "${name}" already exists with another function`);
      return;
    }
    this.indexers.set(name, fn);
    const index = new Map<string, Set<string>>();
    this.indices.set(name, index);
    for (const [key, obj] of this.items) for (const v of fn(obj)) addTo(index, v, key);
  }

  /** Inserts or replaces; returns the previous object. */
  set(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.items.get(key);
    this.items.set(key, obj);
    for (const [name, fn] of this.indexers) {
      const index = this.indices.get(name)!;
      if (old) for (const v of fn(old)) removeFrom(index, v, key);
      for (const v of fn(obj)) addTo(index, v, key);
    }
    return old;
  }

  /** Removes by key; returns the removed object. */
  delete(key: string): T | undefined {
    const old = this.items.get(key);
    if (!old) return undefined;
    this.items.delete(key);
    for (const [name, fn] of this.indexers) {
      const index = this.indices.get(name)!;
      for (const v of fn(old)) removeFrom(index, v, key);
    }
    return old;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.items.get(namespace ? `${namespace}/${name}` : name);
  }

  getByKey(key: string): T | undefined {
    return this.items.get(key);
  }

  list(opts: { namespace?: string; selector?: LabelSelector } = {}): T[] {
    const source = opts.namespace !== undefined && this.indexers.has(Indexes.namespace) ? this.byIndex(Indexes.namespace, opts.namespace) : [...this.items.values()];
    return source.filter((o) => (opts.namespace === undefined || o.metadata?.namespace === opts.namespace) && (!opts.selector || opts.selector.matches(o.metadata?.labels)));
  }

  byIndex(indexName: string, value: string): T[] {
    const index = this.indices.get(indexName);
    if (!index) throw new Error(`no index "${indexName}" (have: ${[...this.indices.keys()].join(", ") || "none"})`);
    const keys = index.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const k of keys) out.push(this.items.get(k)!);
    return out;
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  values(): IterableIterator<T> {
    return this.items.values();
  }

  size(): number {
    return this.items.size;
  }
}

function addTo(index: Map<string, Set<string>>, value: string, key: string): void {
  let set = index.get(value);
  if (!set) index.set(value, (set = new Set()));
  set.add(key);
}

function removeFrom(index: Map<string, Set<string>>, value: string, key: string): void {
  const set = index.get(value);
  if (!set) return;
  set.delete(key);
  if (set.size === 0) index.delete(value);
}
