/**
 * The sorted-btree class, unwrapped. sorted-btree is CommonJS with `exports.default = BTree`;
 * Node's ESM loader hands that whole exports object to a default import, so the class is one
 * level down. Keeping the interop here gives the rest of the module a plain class.
 */
import sortedBtree from "sorted-btree";

/** SortedMap is sorted-btree's BTree class (a B+ tree map with range scans). */
export const SortedMap = sortedBtree.default;
/** SortedMap<K, V> is an instance of sorted-btree's BTree. */
export type SortedMap<K, V> = InstanceType<typeof sortedBtree.default<K, V>>;
