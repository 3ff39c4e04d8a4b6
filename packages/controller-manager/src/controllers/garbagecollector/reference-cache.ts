/**
 * Owners known to be absent (upstream's ReferenceCache, an LRU of 500): a dependent whose owner a
 * live read already proved missing need not read it again. Keyed by the owner's coordinates and
 * the namespace it was looked up in ("" for cluster-scoped owners).
 */
import type { ObjectReference } from "./graph.js";

const key = (r: ObjectReference) => `${r.uid}|${r.apiVersion}|${r.kind}|${r.name}|${r.namespace}`;

export class ReferenceCache {
  // A Set iterates in insertion order: the first key is the least recently used.
  private readonly entries = new Set<string>();

  constructor(private readonly capacity = 500) {}

  add(r: ObjectReference): void {
    const k = key(r);
    this.entries.delete(k);
    this.entries.add(k);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.values().next().value!);
  }

  has(r: ObjectReference): boolean {
    const k = key(r);
    if (!this.entries.has(k)) return false;
    this.entries.delete(k);
    this.entries.add(k);
    return true;
  }

  get size(): number {
    return this.entries.size;
  }
}
