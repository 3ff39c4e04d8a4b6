/**
 * The RollingUpdate decision (upstream's rollingUpdate in update.go), pure: which old pods to
 * delete and on which nodes to create new ones now, within maxUnavailable (delete first, the
 * manage loop then creates the replacement) or maxSurge (create first, delete the old pod once
 * the new one is available). Deleted pods do not count as unavailable, so an update makes
 * progress while nodes are down.
 */
import type { Node } from "kubernetes-types/core/v1.js";
import { isPodAvailable } from "../../controller/pod-util.js";
import type { PodObject } from "../../controller/pod-control.js";
import { isPodUpdated, type DaemonSetObject } from "./daemon-pod.js";

export interface RollingUpdateInput {
  ds: DaemonSetObject;
  /** Node name → its daemon pods; every node that should run one is present (maybe with no pods). */
  nodeToPods: Map<string, PodObject[]>;
  hash: string;
  generation: number | undefined;
  maxSurge: number;
  maxUnavailable: number;
  desiredNumberScheduled: number;
  nowMs: number;
  /** The node by name (undefined if gone). */
  node(name: string): Node | undefined;
  /** Whether the DaemonSet should run a new pod there (NodeShouldRunDaemonPod's shouldRun). */
  shouldRun(node: Node): boolean;
  /** The pod still exists in the cache. */
  podExists(name: string): boolean;
}

export interface RollingUpdatePlan {
  podsToDelete: string[];
  nodesToCreate: string[];
}

/** At most one new and one old live pod on the node; undefined when there are more (the manage loop prunes them first). */
export function updatedPodsOnNode(pods: readonly PodObject[], hash: string, generation: number | undefined): { newPod?: PodObject; oldPod?: PodObject } | undefined {
  let newPod: PodObject | undefined;
  let oldPod: PodObject | undefined;
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp) continue;
    if (isPodUpdated(pod, hash, generation)) {
      if (newPod) return undefined;
      newPod = pod;
    } else {
      if (oldPod) return undefined;
      oldPod = pod;
    }
  }
  return { ...(newPod ? { newPod } : {}), ...(oldPod ? { oldPod } : {}) };
}

export function planRollingUpdate(input: RollingUpdateInput): RollingUpdatePlan {
  return input.maxSurge === 0 ? planByUnavailability(input) : planBySurge(input);
}

/** Node names in a stable order (upstream walks a Go map; we go by name so runs repeat). */
function sortedNodes(m: Map<string, PodObject[]>): [string, PodObject[]][] {
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** maxSurge 0: delete just enough old pods to stay within maxUnavailable; the manage loop creates their replacements. */
function planByUnavailability(i: RollingUpdateInput): RollingUpdatePlan {
  const available = (p: PodObject) => isPodAvailable(p, i.ds.spec?.minReadySeconds ?? 0, i.nowMs);
  let numUnavailable = 0;
  const replacements: string[] = [];
  const candidates: string[] = [];
  for (const [, pods] of sortedNodes(i.nodeToPods)) {
    const found = updatedPodsOnNode(pods, i.hash, i.generation);
    if (!found) {
      // Excess pods: the manage loop cleans the node up; count it unavailable meanwhile.
      numUnavailable++;
      continue;
    }
    const { newPod, oldPod } = found;
    if ((!oldPod && !newPod) || (oldPod && newPod)) {
      // The manage loop creates or deletes here; unavailable until it has.
      numUnavailable++;
    } else if (newPod) {
      if (!available(newPod)) numUnavailable++;
    } else if (!available(oldPod!)) {
      // An old pod that is down anyway is replaced at once.
      replacements.push(oldPod!.metadata.name!);
      numUnavailable++;
    } else if (numUnavailable < i.maxUnavailable) {
      candidates.push(oldPod!.metadata.name!);
    }
  }
  const room = Math.min(Math.max(i.maxUnavailable - numUnavailable, 0), candidates.length);
  return { podsToDelete: [...replacements, ...candidates.slice(0, room)], nodesToCreate: [] };
}

/** maxSurge > 0: create new pods beside old ones (at most maxSurge at a time), delete each old pod once its successor is available. */
function planBySurge(i: RollingUpdateInput): RollingUpdatePlan {
  const available = (p: PodObject) => isPodAvailable(p, i.ds.spec?.minReadySeconds ?? 0, i.nowMs);
  const podsToDelete: string[] = [];
  const shouldNotRunPodsToDelete: string[] = [];
  const candidateNewNodes: string[] = [];
  const allowedNewNodes: string[] = [];
  let numSurge = 0;
  let numAvailable = 0;
  const nodeShouldRun = (name: string): boolean => {
    const node = i.node(name);
    if (!node) throw new Error(`couldn't get node for nodeName "${name}": node "${name}" not found`);
    return i.shouldRun(node);
  };
  for (const [nodeName, pods] of sortedNodes(i.nodeToPods)) {
    const found = updatedPodsOnNode(pods, i.hash, i.generation);
    if (!found) {
      // Excess pods: the manage loop cleans the node up; count it as surging meanwhile.
      numSurge++;
      continue;
    }
    const { newPod, oldPod } = found;
    // Availability counts every node, even those being sunset by scheduling constraints.
    if (oldPod ? available(oldPod) : newPod ? available(newPod) : false) numAvailable++;
    if (!oldPod) continue; // nothing to do: the manage loop handles empty nodes
    if (!newPod) {
      if (!available(oldPod)) {
        if (!nodeShouldRun(nodeName)) podsToDelete.push(oldPod.metadata.name!);
        else allowedNewNodes.push(nodeName); // down anyway: replace at once
      } else if (!nodeShouldRun(nodeName)) {
        shouldNotRunPodsToDelete.push(oldPod.metadata.name!);
      } else if (numSurge < i.maxSurge) {
        candidateNewNodes.push(nodeName);
      }
      continue;
    }
    // Already surged here: wait for the new pod, then retire the old one.
    if (!available(newPod)) numSurge++;
    else podsToDelete.push(oldPod.metadata.name!);
  }
  // With surge the owner expects full availability: pods on nodes that no longer fit go only
  // as pods elsewhere become available beyond the desired count.
  const deletable = Math.min(numAvailable - i.desiredNumberScheduled, shouldNotRunPodsToDelete.length);
  for (const name of shouldNotRunPodsToDelete.slice(0, Math.max(deletable, 0))) if (i.podExists(name)) podsToDelete.push(name);
  const room = Math.min(Math.max(i.maxSurge - numSurge, 0), candidateNewNodes.length);
  return { podsToDelete, nodesToCreate: [...allowedNewNodes, ...candidateNewNodes.slice(0, room)] };
}
