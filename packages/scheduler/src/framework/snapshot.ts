/**
 * Snapshot: the read-only view of the cluster one scheduling cycle works on (upstream's
 * framework.SharedLister / internal cache Snapshot). The scheduler cache builds it; the algorithm
 * only reads it, except that the cycle's own assumptions go through the cache, never here.
 */
import type { NodeInfo } from "./node-info.js";

export interface Snapshot {
  /** Every node with a Node object, in the cache's order (zones interleaved, as upstream's node tree). */
  readonly nodeInfoList: readonly NodeInfo[];
  /** The subset whose pods have pod affinity or anti-affinity. */
  readonly havePodsWithAffinityNodeInfoList: readonly NodeInfo[];
  /** The subset whose pods have required pod anti-affinity. */
  readonly havePodsWithRequiredAntiAffinityNodeInfoList: readonly NodeInfo[];
  /** The NodeInfo of a node by name. */
  get(nodeName: string): NodeInfo | undefined;
}
