/**
 * The PV controller's own cache of the newest PVs and claims it knows (upstream's ctrl.volumes and
 * ctrl.claims with storeObjectUpdate): fed by informer events and by the controller's own writes,
 * never moving back to an older resourceVersion. Binding writes four objects in a row (PV spec,
 * PV status, claim spec, claim status); without this cache a sync triggered by the first event
 * would see the informer's older copies of the others and try to bind them again.
 */
import { objectKey, type KubeObject } from "@kubemu/common";

function version(o: KubeObject): bigint | undefined {
  const rv = o.metadata.resourceVersion;
  return rv !== undefined && /^\d+$/.test(rv) ? BigInt(rv) : undefined;
}

export class VersionedCache<T extends KubeObject> {
  private readonly items = new Map<string, T>();

  /**
   * Stores `obj` unless the cache holds a newer version; returns false for an older one (to be
   * ignored). The same version passes, so periodic resyncs are processed.
   */
  store(obj: T): boolean {
    const key = objectKey(obj);
    const old = this.items.get(key);
    if (old) {
      const a = version(old);
      const b = version(obj);
      if (a !== undefined && b !== undefined && a > b) return false;
    }
    this.items.set(key, obj);
    return true;
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  delete(key: string): void {
    this.items.delete(key);
  }

  list(): T[] {
    return [...this.items.values()];
  }
}
