/**
 * The scheduler cache (upstream's backend/cache/cache.go): a NodeInfo per node, built from the
 * Node objects and the bound pods the informers report, plus the pods this scheduler has
 * *assumed* — placed on a node in memory at the end of a scheduling cycle, before the Binding is
 * written — so the next cycle already counts their resources.
 *
 * A pod's life in the cache:
 *   assumePod ─▶ (bind) ─▶ finishBinding ─▶ addPod from the informer: confirmed (now "added")
 *        └──── bind failed ─▶ forgetPod (removed, as if never assumed)
 * An assumed pod whose binding finished but that the informer never reports expires after the
 * TTL if one is set (`cleanupExpiredAssumedPods`, called by the lead on a timer); upstream's
 * scheduler sets none (0 = never expire, since kubernetes#106361), and so does the default here.
 *
 * NodeInfos sit in a doubly-linked list, most recently changed first; each change bumps the
 * NodeInfo's generation (a process-wide counter), so `updateSnapshot` walks from the head and
 * stops at the first NodeInfo the snapshot already has.
 */
import type { Clock } from "@kubemu/common";
import type { Node, Pod } from "kubernetes-types/core/v1.js";
import { NodeInfo } from "../framework/node-info.js";
import { NodeTree, zoneKeyOf } from "./node-tree.js";
import type { CacheSnapshot } from "./snapshot.js";

/** Options of {@link SchedulerCache}. */
export interface SchedulerCacheOptions {
  clock: Clock;
  /** How long an assumed pod whose binding finished may stay unconfirmed (ms); 0 (the default) never expires it. */
  assumedPodTtlMs?: number;
}

interface PodState {
  pod: Pod;
  /** When an assumed pod expires (set by finishBinding). */
  deadline?: number;
  /** Binding has finished: only then may an assumed pod expire. */
  bindingFinished: boolean;
}

interface NodeInfoListItem {
  info: NodeInfo;
  next: NodeInfoListItem | undefined;
  prev: NodeInfoListItem | undefined;
}

/** What `dump()` returns: clones of every NodeInfo (ghost nodes included) and the assumed pods' keys. */
export interface CacheDump {
  nodes: Map<string, NodeInfo>;
  assumedPods: Set<string>;
}

/** Sizes for `scheduler_cache_size{type="assumed_pods"|"pods"|"nodes"}`. */
export interface CacheSize {
  assumedPods: number;
  pods: number;
  nodes: number;
}

function keyOf(pod: Pod): string {
  const uid = pod.metadata?.uid;
  if (uid === undefined || uid === "") throw new Error(`pod ${podName(pod)} has no metadata.uid; the scheduler cache keys pods by uid`);
  return uid;
}

function podName(pod: Pod): string {
  return `${pod.metadata?.namespace ?? ""}/${pod.metadata?.name ?? ""}`;
}

function nodeNameOf(pod: Pod): string {
  return pod.spec?.nodeName ?? "";
}

/** The scheduler's view of nodes and the pods on them. Single-threaded: every method runs to completion. */
export class SchedulerCache {
  private readonly clock: Clock;
  private readonly ttl: number;
  private readonly nodes = new Map<string, NodeInfoListItem>();
  private head: NodeInfoListItem | undefined;
  private readonly nodeTree = new NodeTree();
  private readonly podStates = new Map<string, PodState>();
  private readonly assumedPods = new Set<string>();
  /**
   * Bumped whenever the node tree's order changes. A zone change reorders it without adding or
   * removing a node; upstream keeps a snapshot's stale order until a node comes or goes, we
   * rebuild at once, so a snapshot always equals one built from scratch.
   */
  private treeVersion = 0;

  constructor(opts: SchedulerCacheOptions) {
    this.clock = opts.clock;
    this.ttl = opts.assumedPodTtlMs ?? 0;
    if (!(this.ttl >= 0)) throw new RangeError(`assumedPodTtlMs must be 0 (never expire) or positive (got ${opts.assumedPodTtlMs})`);
  }

  // ---- assumed pods (the scheduling loop) ----

  /**
   * Counts the pod (with spec.nodeName set to the chosen node) on its node now, before binding.
   * Throws if the cache already has the pod.
   */
  assumePod(pod: Pod): void {
    const key = keyOf(pod);
    if (this.podStates.has(key)) throw new Error(`pod ${podName(pod)} is in the cache, so it can't be assumed`);
    if (nodeNameOf(pod) === "") throw new Error(`pod ${podName(pod)} has no spec.nodeName, so it can't be assumed`);
    this.addPodInternal(pod, true);
  }

  /** The Binding for an assumed pod was written: from now on the pod may expire (if a TTL is set). */
  finishBinding(pod: Pod): void {
    const key = keyOf(pod);
    const state = this.podStates.get(key);
    if (state !== undefined && this.assumedPods.has(key)) {
      state.bindingFinished = true;
      state.deadline = this.clock.now() + this.ttl;
    }
  }

  /**
   * Undoes assumePod (binding failed): the pod's resources leave the node. A pod the cache no
   * longer has is ignored; throws if the pod is not assumed or was assumed on another node.
   */
  forgetPod(pod: Pod): void {
    const key = keyOf(pod);
    const state = this.podStates.get(key);
    if (state === undefined) return;
    if (nodeNameOf(state.pod) !== nodeNameOf(pod)) {
      throw new Error(`pod ${podName(pod)} was assumed on ${nodeNameOf(state.pod)} but assigned to ${nodeNameOf(pod)}`);
    }
    if (!this.assumedPods.has(key)) throw new Error(`pod ${podName(pod)} is not assumed, so it cannot be forgotten`);
    this.removePodInternal(state.pod);
  }

  /** True if the pod is assumed and not yet confirmed by the informer. */
  isAssumedPod(pod: Pod): boolean {
    return this.assumedPods.has(keyOf(pod));
  }

  /** The cache's copy of the pod (assumed or added), if any. */
  getPod(pod: Pod): Pod | undefined {
    return this.podStates.get(keyOf(pod))?.pod;
  }

  /**
   * Removes assumed pods whose binding finished more than the TTL ago and that the informer never
   * confirmed. Returns them (for logging). With the TTL 0 nothing ever expires.
   */
  cleanupExpiredAssumedPods(): Pod[] {
    if (this.ttl === 0) return [];
    const now = this.clock.now();
    const expired: Pod[] = [];
    for (const key of [...this.assumedPods]) {
      const state = this.podStates.get(key)!;
      if (!state.bindingFinished || state.deadline === undefined || now <= state.deadline) continue;
      expired.push(state.pod);
      this.removePodInternal(state.pod);
    }
    return expired;
  }

  // ---- pods with spec.nodeName, from the informer ----

  /**
   * A bound pod appeared. If it was assumed, this confirms it (with the informer's object; if the
   * informer reports it on another node, that node wins). Throws if it was already added.
   */
  addPod(pod: Pod): void {
    const key = keyOf(pod);
    const state = this.podStates.get(key);
    if (state !== undefined && this.assumedPods.has(key)) {
      this.updatePodInternal(state.pod, pod);
      return;
    }
    if (state !== undefined) throw new Error(`pod ${podName(pod)} was already in added state`);
    this.addPodInternal(pod, false);
  }

  /**
   * A bound pod changed (its requests can change with in-place resize). Throws if the cache does
   * not have it as added, or if it moved node (the cache would be corrupt: the lead should exit).
   */
  updatePod(oldPod: Pod, newPod: Pod): void {
    const key = keyOf(oldPod);
    const state = this.podStates.get(key);
    if (state === undefined) throw new Error(`pod ${podName(oldPod)} is not added to scheduler cache, so cannot be updated`);
    if (this.assumedPods.has(key)) throw new Error(`assumed pod ${podName(oldPod)} should not be updated`);
    if (nodeNameOf(state.pod) !== nodeNameOf(newPod)) {
      throw new Error(`pod ${podName(oldPod)} updated on a different node (${nodeNameOf(newPod)}) than previously added to (${nodeNameOf(state.pod)}); scheduler cache is corrupted`);
    }
    this.updatePodInternal(state.pod, newPod);
  }

  /**
   * A bound (or assumed) pod was deleted. The cache's own copy is removed, so a tombstone without
   * spec.nodeName works. Throws if the cache does not have it, or has it on another node.
   */
  removePod(pod: Pod): void {
    const key = keyOf(pod);
    const state = this.podStates.get(key);
    if (state === undefined) throw new Error(`pod ${podName(pod)} is not found in scheduler cache, so cannot be removed from it`);
    if (nodeNameOf(pod) !== "" && nodeNameOf(state.pod) !== nodeNameOf(pod)) {
      throw new Error(`pod ${podName(pod)} was added to ${nodeNameOf(state.pod)} but removed from ${nodeNameOf(pod)}; scheduler cache is corrupted`);
    }
    this.removePodInternal(state.pod);
  }

  // ---- nodes, from the informer ----

  /** A node appeared (or was re-listed). Pods already seen for it stay on it. */
  addNode(node: Node): void {
    const name = node.metadata?.name ?? "";
    const item = this.itemFor(name);
    if (item.info.node === undefined) {
      this.nodeTree.addNode(node);
      this.treeVersion++;
    } else if (zoneKeyOf(item.info.node) !== zoneKeyOf(node)) {
      this.nodeTree.updateNode(item.info.node, node);
      this.treeVersion++;
    }
    item.info.setNode(node);
    this.moveToHead(item);
  }

  /** A node changed (labels, taints, allocatable…); its zone may change too. */
  updateNode(_oldNode: Node, newNode: Node): void {
    this.addNode(newNode);
  }

  /**
   * A node was deleted. Its pods' delete events come on another watch and may arrive later, so a
   * NodeInfo with no Node object (a ghost, left out of snapshots) stays until its pods are gone.
   */
  removeNode(node: Node): void {
    const name = node.metadata?.name ?? "";
    const item = this.nodes.get(name);
    if (item === undefined || item.info.node === undefined) throw new Error(`node ${name} is not found`);
    this.nodeTree.removeNode(item.info.node);
    this.treeVersion++;
    item.info.removeNode();
    if (item.info.pods.length === 0) this.removeFromList(item, name);
    else this.moveToHead(item);
  }

  // ---- snapshots ----

  /**
   * Brings the snapshot up to date, cloning only the NodeInfos that changed since its last update,
   * and rebuilding its lists when nodes came or went (in node-tree order: zones interleaved) or a
   * node started or stopped having pods with affinity. Ghost nodes are left out. Throws after
   * repairing the lists if they disagreed with the node tree (as upstream returns an error).
   */
  updateSnapshot(snapshot: CacheSnapshot): void {
    const since = snapshot.generation;
    let updateAll = false;
    let updateAffinity = false;
    let updateAntiAffinity = false;
    for (let item = this.head; item !== undefined; item = item.next) {
      if (item.info.generation <= since) break;
      const node = item.info.node;
      if (node === undefined) continue;
      const name = node.metadata?.name ?? "";
      const clone = item.info.clone();
      const existing = snapshot.nodeInfoMap.get(name);
      if (existing === undefined) {
        updateAll = true;
        snapshot.nodeInfoMap.set(name, clone);
        continue;
      }
      if (existing.podsWithAffinity.length > 0 !== clone.podsWithAffinity.length > 0) updateAffinity = true;
      if (existing.podsWithRequiredAntiAffinity.length > 0 !== clone.podsWithRequiredAntiAffinity.length > 0) updateAntiAffinity = true;
      // Keep the object: the snapshot's lists point at it.
      Object.assign(existing, clone);
    }
    if (this.head !== undefined) snapshot.generation = this.head.info.generation;

    if (snapshot.nodeInfoMap.size > this.nodeTree.numNodes) {
      for (const name of [...snapshot.nodeInfoMap.keys()]) {
        if (this.nodes.get(name)?.info.node === undefined) snapshot.nodeInfoMap.delete(name);
      }
      updateAll = true;
    }
    if (snapshot.nodeTreeVersion !== this.treeVersion) updateAll = true;
    snapshot.nodeTreeVersion = this.treeVersion;
    if (updateAll || updateAffinity || updateAntiAffinity) this.updateSnapshotLists(snapshot, updateAll);
    if (snapshot.nodeInfoList.length !== this.nodeTree.numNodes) {
      const msg = `snapshot state is not consistent, length of nodeInfoList=${snapshot.nodeInfoList.length} not equal to length of nodes in tree=${this.nodeTree.numNodes}, length of nodeInfoMap=${snapshot.nodeInfoMap.size}, length of nodes in cache=${this.nodes.size}, trying to recover`;
      this.updateSnapshotLists(snapshot, true);
      throw new Error(msg);
    }
  }

  private updateSnapshotLists(snapshot: CacheSnapshot, updateAll: boolean): void {
    if (updateAll) {
      const list: NodeInfo[] = [];
      for (const name of this.nodeTree.list()) {
        const info = snapshot.nodeInfoMap.get(name);
        if (info !== undefined) list.push(info);
      }
      snapshot.nodeInfoList = list;
    }
    snapshot.havePodsWithAffinityNodeInfoList = snapshot.nodeInfoList.filter((n) => n.podsWithAffinity.length > 0);
    snapshot.havePodsWithRequiredAntiAffinityNodeInfoList = snapshot.nodeInfoList.filter((n) => n.podsWithRequiredAntiAffinity.length > 0);
  }

  // ---- debugging and metrics ----

  /** Clones of every NodeInfo (ghosts included) and the assumed pods' uids. Expensive: for debugging. */
  dump(): CacheDump {
    const nodes = new Map<string, NodeInfo>();
    for (const [name, item] of this.nodes) nodes.set(name, item.info.clone());
    return { nodes, assumedPods: new Set(this.assumedPods) };
  }

  /** The number of NodeInfos, ghost nodes included. */
  nodeCount(): number {
    return this.nodes.size;
  }

  /** The number of pods on all NodeInfos, assumed ones included. */
  podCount(): number {
    let n = 0;
    for (const item of this.nodes.values()) n += item.info.pods.length;
    return n;
  }

  /** For scheduler_cache_size. */
  size(): CacheSize {
    return { assumedPods: this.assumedPods.size, pods: this.podStates.size, nodes: this.nodes.size };
  }

  /** A clone of one node's NodeInfo (for tests and debugging). */
  nodeInfo(name: string): NodeInfo | undefined {
    return this.nodes.get(name)?.info.clone();
  }

  // ---- internals ----

  private itemFor(nodeName: string): NodeInfoListItem {
    let item = this.nodes.get(nodeName);
    if (item === undefined) {
      item = { info: new NodeInfo(), next: undefined, prev: undefined };
      this.nodes.set(nodeName, item);
    }
    return item;
  }

  private addPodInternal(pod: Pod, assume: boolean): void {
    const key = keyOf(pod);
    const item = this.itemFor(nodeNameOf(pod));
    item.info.addPod(pod);
    this.moveToHead(item);
    this.podStates.set(key, { pod, bindingFinished: false });
    if (assume) this.assumedPods.add(key);
  }

  private updatePodInternal(oldPod: Pod, newPod: Pod): void {
    this.removePodInternal(oldPod);
    this.addPodInternal(newPod, false);
  }

  /** Removes the pod from its NodeInfo (dropping a ghost NodeInfo left empty) and forgets its state. */
  private removePodInternal(pod: Pod): void {
    const key = keyOf(pod);
    const name = nodeNameOf(pod);
    const item = this.nodes.get(name);
    if (item !== undefined) {
      if (!item.info.removePod(pod)) throw new Error(`pod ${podName(pod)} is not on node ${name} in the scheduler cache`);
      if (item.info.pods.length === 0 && item.info.node === undefined) this.removeFromList(item, name);
      else this.moveToHead(item);
    }
    this.podStates.delete(key);
    this.assumedPods.delete(key);
  }

  private moveToHead(item: NodeInfoListItem): void {
    if (item === this.head) return;
    if (item.prev !== undefined) item.prev.next = item.next;
    if (item.next !== undefined) item.next.prev = item.prev;
    if (this.head !== undefined) this.head.prev = item;
    item.next = this.head;
    item.prev = undefined;
    this.head = item;
  }

  private removeFromList(item: NodeInfoListItem, name: string): void {
    if (item.prev !== undefined) item.prev.next = item.next;
    if (item.next !== undefined) item.next.prev = item.prev;
    if (item === this.head) this.head = item.next;
    item.next = item.prev = undefined;
    this.nodes.delete(name);
  }
}
