/**
 * The cache's Snapshot (upstream's backend/cache/snapshot.go): NodeInfo clones taken at the start
 * of a scheduling cycle. `SchedulerCache.updateSnapshot` refreshes it in place — only NodeInfos
 * changed since the last refresh are cloned again, and a changed node keeps its NodeInfo object
 * (the fields are replaced), so the lists that hold it stay valid without being rebuilt.
 */
import type { NodeInfo } from "../framework/node-info.js";
import type { Snapshot } from "../framework/snapshot.js";

/** A Snapshot kept up to date by {@link SchedulerCache.updateSnapshot}. Start from `new CacheSnapshot()`. */
export class CacheSnapshot implements Snapshot {
  /** Node name → NodeInfo clone (only nodes with a Node object). */
  readonly nodeInfoMap = new Map<string, NodeInfo>();
  nodeInfoList: NodeInfo[] = [];
  havePodsWithAffinityNodeInfoList: NodeInfo[] = [];
  havePodsWithRequiredAntiAffinityNodeInfoList: NodeInfo[] = [];
  /** The newest NodeInfo generation this snapshot reflects; NodeInfos at or below it are not cloned again. */
  generation = 0;
  /** The cache's node-tree version the lists were built from; -1 before the first update. */
  nodeTreeVersion = -1;

  get(nodeName: string): NodeInfo | undefined {
    return this.nodeInfoMap.get(nodeName);
  }

  /** The number of nodes in the snapshot. */
  numNodes(): number {
    return this.nodeInfoList.length;
  }
}
