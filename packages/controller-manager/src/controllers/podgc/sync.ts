/**
 * The pod garbage collector (upstream's pkg/controller/podgc), one pass every gc period:
 * - terminated pods (Succeeded/Failed) beyond --terminated-pod-gc-threshold, evicted ones first,
 *   then oldest first;
 * - terminating pods on a node that is not Ready and carries node.kubernetes.io/out-of-service
 *   (the operator says the node is gone for good; no kubelet will confirm those deletions);
 * - pods bound to a node that no longer exists: quarantined for a while (the node informer may
 *   lag), then a live read confirms the node is gone; DisruptionTarget DeletionByPodGC;
 * - terminating pods never scheduled (no kubelet will ever confirm them).
 * Each is first patched to phase Failed (unless already terminal), then force-deleted (grace 0).
 *
 * Constructible from plain parts so unit tests drive it on a FakeClock without informers.
 */
import type { Clock, Lister, Logger } from "@kubemu/common";
import { Resources, isNotFound, silentLogger } from "@kubemu/common";
import type { PodCondition } from "kubernetes-types/core/v1.js";
import type { ControllerClient } from "../../controller/client.js";
import type { PodGCOptions } from "../../controller/context.js";
import { isNodeReady, updatePodCondition, type PodObject } from "../node-util/conditions.js";
import { TAINT_OUT_OF_SERVICE, rfc3339, taintKeyExists, type NodeObject } from "../node-util/taints.js";

/** Upstream's defaults (gc period and quarantine: the fast profile's). */
export const DEFAULT_POD_GC_OPTIONS: PodGCOptions = { terminatedPodGCThreshold: 12500, gcPeriodMs: 2000, quarantineMs: 4000 };

/** Deletions in flight at once. */
const DELETE_CONCURRENCY = 16;

export interface PodGCDeps {
  client: ControllerClient;
  listers: { pods: Lister<PodObject>; nodes: Lister<NodeObject> };
  clock: Clock;
  options?: Partial<PodGCOptions>;
  logger?: Logger;
}

function isTerminated(pod: PodObject): boolean {
  const phase = pod.status?.phase;
  return phase !== "Pending" && phase !== "Running" && phase !== "Unknown";
}

/** Failed with reason Evicted (the kubelet's eviction manager; upstream's PodIsEvicted). */
function isEvicted(pod: PodObject): boolean {
  return pod.status?.phase === "Failed" && pod.status?.reason === "Evicted";
}

/** Evicted first, then by creationTimestamp, then by name (upstream's byEvictionAndCreationTimestamp). */
export function byEvictionAndCreation(a: PodObject, b: PodObject): number {
  const ea = isEvicted(a);
  const eb = isEvicted(b);
  if (ea !== eb) return ea ? -1 : 1;
  const ta = Date.parse(a.metadata.creationTimestamp ?? "") || 0;
  const tb = Date.parse(b.metadata.creationTimestamp ?? "") || 0;
  if (ta !== tb) return ta - tb;
  return (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");
}

async function parallel<T>(n: number, items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

export class PodGC {
  readonly options: PodGCOptions;
  private readonly log: Logger;
  /** Nodes seen missing → when they may be checked (upstream's orphaned_pods_nodes delaying queue). */
  private readonly quarantined = new Map<string, number>();

  constructor(private readonly d: PodGCDeps) {
    this.options = { ...DEFAULT_POD_GC_OPTIONS, ...(d.options ?? {}) };
    this.log = d.logger ?? silentLogger;
  }

  async gc(): Promise<void> {
    const pods = this.d.listers.pods.list();
    const nodes = this.d.listers.nodes.list();
    if (this.options.terminatedPodGCThreshold > 0) await this.gcTerminated(pods);
    await this.gcTerminating(pods);
    await this.gcOrphaned(pods, nodes);
    await this.gcUnscheduledTerminating(pods);
  }

  private async gcTerminated(pods: readonly PodObject[]): Promise<void> {
    const terminated = pods.filter(isTerminated);
    const count = terminated.length - this.options.terminatedPodGCThreshold;
    if (count <= 0) return;
    this.log.info({ numPods: count }, "garbage collecting pods");
    terminated.sort(byEvictionAndCreation);
    await parallel(DELETE_CONCURRENCY, terminated.slice(0, count), (p) => this.markFailedAndDelete(p));
  }

  private async gcTerminating(pods: readonly PodObject[]): Promise<void> {
    const doomed: PodObject[] = [];
    for (const p of pods) {
      if (!p.metadata.deletionTimestamp || !p.spec?.nodeName) continue;
      const node = this.d.listers.nodes.get(undefined, p.spec.nodeName);
      if (!node) continue;
      if (!isNodeReady(node) && taintKeyExists(node.spec?.taints, TAINT_OUT_OF_SERVICE)) doomed.push(p);
    }
    if (doomed.length === 0) return;
    this.log.info({ numPods: doomed.length }, "garbage collecting pods that are terminating on node tainted with node.kubernetes.io/out-of-service");
    doomed.sort(byEvictionAndCreation);
    await parallel(DELETE_CONCURRENCY, doomed, (p) => this.markFailedAndDelete(p));
  }

  private async gcOrphaned(pods: readonly PodObject[], nodes: readonly NodeObject[]): Promise<void> {
    const existing = new Set(nodes.map((n) => n.metadata.name!));
    const now = this.d.clock.now();
    for (const p of pods) {
      const n = p.spec?.nodeName;
      if (n && !existing.has(n) && !this.quarantined.has(n)) this.quarantined.set(n, now + this.options.quarantineMs);
    }
    const deleted = new Set<string>();
    for (const [name, readyAt] of [...this.quarantined]) {
      if (readyAt > now) continue;
      this.quarantined.delete(name);
      if (existing.has(name)) continue;
      try {
        await this.d.client.get(Resources.nodes, undefined, name);
      } catch (e) {
        if (isNotFound(e)) deleted.add(name);
        // Any other error: the node is quarantined again on the next pass if pods still name it.
        else this.log.warn({ node: name, err: String(e) }, "error while getting node");
      }
    }
    const orphans = pods.filter((p) => p.spec?.nodeName && deleted.has(p.spec.nodeName));
    const condition: PodCondition = { type: "DisruptionTarget", status: "True", reason: "DeletionByPodGC", message: "PodGC: node no longer exists" };
    for (const p of orphans) {
      this.log.info({ pod: `${p.metadata.namespace}/${p.metadata.name}`, node: p.spec?.nodeName }, "found orphaned Pod assigned to the Node, deleting");
      await this.markFailedAndDelete(p, condition);
    }
  }

  private async gcUnscheduledTerminating(pods: readonly PodObject[]): Promise<void> {
    for (const p of pods) {
      if (!p.metadata.deletionTimestamp || p.spec?.nodeName) continue;
      this.log.info({ pod: `${p.metadata.namespace}/${p.metadata.name}` }, "found unscheduled terminating Pod not assigned to any Node, deleting");
      await this.markFailedAndDelete(p);
    }
  }

  /**
   * Phase Failed first (a pod whose kubelet is gone would stay Running forever), then a forced
   * delete; a pod already gone is not an error. Failures are logged; the next pass retries.
   */
  private async markFailedAndDelete(pod: PodObject, condition?: PodCondition): Promise<void> {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    this.log.info({ pod: key }, "PodGC is force deleting Pod");
    try {
      const phase = pod.status?.phase;
      if (phase !== "Succeeded" && phase !== "Failed") {
        const status = structuredClone(pod.status ?? {});
        const patch: { phase: string; conditions?: PodCondition[] } = { phase: "Failed" };
        if (condition && updatePodCondition(status, condition, rfc3339(this.d.clock.now()))) patch.conditions = [status.conditions!.find((c) => c.type === condition.type)!];
        await this.d.client.patch(Resources.pods, pod.metadata.namespace, pod.metadata.name!, "strategic", { metadata: { uid: pod.metadata.uid }, status: patch }, { subresource: "status" });
      }
      await this.d.client.delete(Resources.pods, pod.metadata.namespace, pod.metadata.name!, { gracePeriodSeconds: 0, ...(pod.metadata.uid ? { preconditions: { uid: pod.metadata.uid } } : {}) });
    } catch (e) {
      if (!isNotFound(e)) this.log.warn({ pod: key, err: String(e) }, "failed to garbage collect pod");
    }
  }
}
