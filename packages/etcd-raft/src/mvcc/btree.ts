/**
 * The sorted-btree class, unwrapped. sorted-btree is CommonJS with `exports.default = BTree`:
 * Node's ESM loader hands the whole exports object to a default import (class one level down),
 * while bundler-style interop (vitest) hands over the class itself. Accept both here so the
 * rest of the module sees a plain class.
 */
import sortedBtree from "sorted-btree";

type BTreeClass = typeof sortedBtree.default;
const imported = sortedBtree as unknown as BTreeClass | { default: BTreeClass };

/** SortedMap is sorted-btree's BTree class (a B+ tree map with range scans). */
export const SortedMap: BTreeClass = "default" in imported ? imported.default : imported;
/** SortedMap<K, V> is an instance of sorted-btree's BTree. */
export type SortedMap<K, V> = InstanceType<typeof sortedBtree.default<K, V>>;
