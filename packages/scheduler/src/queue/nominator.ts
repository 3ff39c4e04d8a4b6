/**
 * The nominator (upstream's backend/queue/nominator.go): which pending pods preemption has
 * nominated to which node. Filters count the nominated pods of equal or higher priority as if they
 * already ran there, so a lower-priority pod does not take the room preemption freed for them.
 * It is kept apart from the pods' `status.nominatedNodeName` because the scheduler records a
 * nomination before the API write that publishes it.
 */
import type { Pod } from "kubernetes-types/core/v1.js";
import { newPodInfo, type PodInfo } from "../framework/node-info.js";

/**
 * How a nomination is recorded (upstream's NominatingInfo): `override` sets the node given here
 * ("" clears the nomination); `noop` (the default) keeps the pod's own `status.nominatedNodeName`.
 */
export interface NominatingInfo {
  mode: "override" | "noop";
  nominatedNodeName?: string;
}

/** Looks a pod up in the informer's store (used to refuse nominating deleted or bound pods). */
export type PodLookup = (namespace: string, name: string) => Pod | undefined;

/** The key the queue and the nominator know a pod by: its uid, or namespace/name if it has none. */
export function podKey(pod: Pod): string {
  const uid = pod.metadata?.uid;
  if (uid !== undefined && uid !== "") return uid;
  return `${pod.metadata?.namespace ?? ""}/${pod.metadata?.name ?? ""}`;
}

/** Nominated pods per node. Not exported from the package: the queue fronts it. */
export class Nominator {
  private readonly byNode = new Map<string, PodInfo[]>();
  private readonly nodeOf = new Map<string, string>();

  constructor(private readonly podLookup?: PodLookup) {}

  /**
   * Records pi's nomination (replacing any earlier one). With no node to nominate (no override
   * and no status.nominatedNodeName) it only clears. A pod the lookup no longer has, or that is
   * already bound, is not nominated.
   */
  add(pi: PodInfo, info?: NominatingInfo): void {
    const pod = pi.pod;
    this.delete(pod);
    const nodeName = info?.mode === "override" ? (info.nominatedNodeName ?? "") : (pod.status?.nominatedNodeName ?? "");
    if (nodeName === "") return;
    if (this.podLookup !== undefined) {
      const current = this.podLookup(pod.metadata?.namespace ?? "", pod.metadata?.name ?? "");
      if (current === undefined || (current.spec?.nodeName ?? "") !== "") return;
    }
    const key = podKey(pod);
    this.nodeOf.set(key, nodeName);
    let list = this.byNode.get(nodeName);
    if (list === undefined) this.byNode.set(nodeName, (list = []));
    list.push(pi);
  }

  /**
   * Replaces oldPod with newPod. An update that carries no nomination on either side (the informer
   * has not seen our status write yet) keeps the node the scheduler nominated in memory.
   */
  update(oldPod: Pod, newPod: PodInfo | Pod): void {
    const pi = "uid" in newPod && "requests" in newPod ? newPod : newPodInfo(newPod as Pod);
    let info: NominatingInfo | undefined;
    if ((oldPod.status?.nominatedNodeName ?? "") === "" && (pi.pod.status?.nominatedNodeName ?? "") === "") {
      const kept = this.nodeOf.get(podKey(oldPod));
      if (kept !== undefined) info = { mode: "override", nominatedNodeName: kept };
    }
    this.delete(oldPod);
    this.add(pi, info);
  }

  /** Forgets the pod's nomination, if any. */
  delete(pod: Pod): void {
    const key = podKey(pod);
    const node = this.nodeOf.get(key);
    if (node === undefined) return;
    this.nodeOf.delete(key);
    const list = this.byNode.get(node);
    if (list === undefined) return;
    const i = list.findIndex((p) => podKey(p.pod) === key);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byNode.delete(node);
  }

  /** The node the pod is nominated to, if any. */
  nodeFor(pod: Pod): string | undefined {
    return this.nodeOf.get(podKey(pod));
  }

  /** The pods nominated to nodeName (a copy of the list). */
  forNode(nodeName: string): PodInfo[] {
    return (this.byNode.get(nodeName) ?? []).slice();
  }
}
