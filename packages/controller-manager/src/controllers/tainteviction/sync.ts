/**
 * Taint-based eviction (upstream's pkg/controller/tainteviction): a pod on a node with NoExecute
 * taints it does not all tolerate is deleted at once; one that tolerates them for
 * tolerationSeconds is deleted when the shortest of those runs out, unless the taints go first
 * (the deletion is then cancelled). Before deleting, the pod gets the DisruptionTarget
 * condition (DeletionByTaintManager), so its owner and the user can tell why it went.
 *
 * Constructible from plain parts so unit tests drive it on a FakeClock without informers.
 */
import type { Clock, Lister, Logger } from "@kubemu/common";
import { Indexes, Resources, isNotFound, silentLogger, splitKey } from "@kubemu/common";
import type { Taint } from "kubernetes-types/core/v1.js";
import type { ControllerClient } from "../../controller/client.js";
import type { Recorder } from "../../controller/context.js";
import { updatePodCondition, type PodObject } from "../node-util/conditions.js";
import { rfc3339, type NodeObject } from "../node-util/taints.js";
import { TimedWorkerQueue } from "./timed-workers.js";
import { matchingTolerations, minTolerationTimeMs } from "./tolerations.js";

/** Attempts of one deletion (upstream's retries) and the pause between them. */
const DELETE_RETRIES = 5;
const DELETE_RETRY_MS = 10;

export interface TaintEvictionListers {
  nodes: Lister<NodeObject>;
  /** Indexed by spec.nodeName. */
  pods: Lister<PodObject>;
}

export interface TaintEvictionDeps {
  client: ControllerClient;
  listers: TaintEvictionListers;
  recorder: Recorder;
  clock: Clock;
  logger?: Logger;
}

function noExecuteTaints(taints: readonly Taint[] | undefined): Taint[] {
  return (taints ?? []).filter((t) => t.effect === "NoExecute");
}

export class TaintEviction {
  private readonly log: Logger;
  /** Node name → its NoExecute taints, for nodes that have any. */
  private readonly taintedNodes = new Map<string, Taint[]>();
  readonly evictions: TimedWorkerQueue;
  /** Pod key → the uid of the pod its scheduled deletion is for (a pod made again under the name is another). */
  private readonly scheduledUids = new Map<string, string | undefined>();

  constructor(private readonly d: TaintEvictionDeps) {
    this.log = d.logger ?? silentLogger;
    this.evictions = new TimedWorkerQueue(d.clock, (key) => this.deletePod(key), (key, e) => this.log.error({ pod: key, err: String(e) }, "taint eviction: deleting the pod failed"));
  }

  /** Whether the NoExecute taints changed between two versions of a node (upstream's NodeUpdated filter). */
  static nodeNeedsSync(old: NodeObject | undefined, cur: NodeObject | undefined): boolean {
    if (!old || !cur) return true;
    return JSON.stringify(noExecuteTaints(old.spec?.taints)) !== JSON.stringify(noExecuteTaints(cur.spec?.taints));
  }

  /** Whether tolerations or node changed between two versions of a pod (upstream's PodUpdated filter). */
  static podNeedsSync(old: PodObject | undefined, cur: PodObject | undefined): boolean {
    if (!old || !cur) return true;
    return old.spec?.nodeName !== cur.spec?.nodeName || JSON.stringify(old.spec?.tolerations ?? []) !== JSON.stringify(cur.spec?.tolerations ?? []);
  }

  /** A node's NoExecute taints changed (or it came or went): every pod on it is judged again. */
  handleNodeUpdate(name: string): void {
    const node = this.d.listers.nodes.get(undefined, name);
    if (!node) {
      this.taintedNodes.delete(name);
      return;
    }
    const taints = noExecuteTaints(node.spec?.taints);
    if (taints.length === 0) this.taintedNodes.delete(name);
    else this.taintedNodes.set(name, taints);
    const pods = this.d.listers.pods.byIndex(Indexes.nodeName, name);
    if (taints.length === 0) {
      // All taints gone: every scheduled deletion on this node is off.
      for (const p of pods) this.cancelWithEvent(p);
      return;
    }
    const now = this.d.clock.now();
    for (const p of pods) this.processPodOnNode(p, taints, now);
  }

  /** A pod was bound, changed its tolerations, or went. */
  handlePodUpdate(key: string): void {
    const { namespace, name } = splitKey(key);
    const pod = this.d.listers.pods.get(namespace, name);
    if (!pod) {
      this.cancelKeyWithEvent(key, undefined);
      return;
    }
    // The pod was replaced by another of the same name: the old one's deletion is moot.
    const scheduledFor = this.scheduledUids.get(key);
    if (scheduledFor !== undefined && scheduledFor !== pod.metadata.uid) this.cancelKeyWithEvent(key, scheduledFor);
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) return;
    const taints = this.taintedNodes.get(nodeName);
    // An untainted node: any deletion was cancelled when its taints went.
    if (!taints) return;
    this.processPodOnNode(pod, taints, this.d.clock.now());
  }

  private processPodOnNode(pod: PodObject, taints: readonly Taint[], now: number): void {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const { allTolerated, used } = matchingTolerations(taints, pod.spec?.tolerations ?? []);
    if (!allTolerated) {
      this.log.info({ pod: key, node: pod.spec?.nodeName }, "not all taints are tolerated after update for pod on node");
      // Deleted right away: any later deletion scheduled for it is replaced.
      this.cancelWithEvent(pod);
      this.schedule(pod, now, now);
      return;
    }
    const min = minTolerationTimeMs(used);
    if (min < 0) {
      this.cancelWithEvent(pod);
      return;
    }
    let start = now;
    const trigger = now + min;
    const scheduled = this.evictions.getWorker(key);
    if (scheduled) {
      start = scheduled.createdAt;
      // Scheduled earlier: that deadline stands.
      if (start + min < trigger) return;
      this.cancelWithEvent(pod);
    }
    this.schedule(pod, start, trigger);
  }

  private schedule(pod: PodObject, createdAt: number, fireAt: number): void {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    if (this.evictions.has(key)) return;
    // Before addWork: work that is due runs at once and reads it.
    this.scheduledUids.set(key, pod.metadata.uid);
    this.evictions.addWork(key, createdAt, fireAt);
  }

  private cancelWithEvent(pod: PodObject): void {
    this.cancelKeyWithEvent(`${pod.metadata.namespace}/${pod.metadata.name}`, pod.metadata.uid);
  }

  private cancelKeyWithEvent(key: string, uid: string | undefined): void {
    const had = this.evictions.has(key);
    const cancelled = this.evictions.cancelWork(key);
    if (had) this.scheduledUids.delete(key);
    if (!cancelled) return;
    this.d.recorder.event(podRef(key, uid), "Normal", "TaintManagerEviction", `Cancelling deletion of Pod ${key}`);
  }

  /**
   * The scheduled deletion (upstream's deletePodHandler): an event, then the DisruptionTarget
   * condition and the delete, retried a few times.
   */
  private async deletePod(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const uid = this.scheduledUids.get(key);
    this.log.info({ pod: key }, "deleting pod");
    this.d.recorder.event(podRef(key, uid), "Normal", "TaintManagerEviction", `Marking for deletion Pod ${key}`);
    try {
      let last: unknown;
      for (let attempt = 0; attempt < DELETE_RETRIES; attempt++) {
        try {
          await this.addConditionAndDeletePod(namespace!, name, uid);
          return;
        } catch (e) {
          if (isNotFound(e)) return;
          last = e;
        }
        await this.d.clock.sleep(DELETE_RETRY_MS);
      }
      throw last;
    } finally {
      this.scheduledUids.delete(key);
    }
  }

  private async addConditionAndDeletePod(namespace: string, name: string, uid: string | undefined): Promise<void> {
    const pod = await this.d.client.get<PodObject>(Resources.pods, namespace, name);
    if (uid && pod.metadata.uid !== uid) return;
    const status = structuredClone(pod.status ?? {});
    const changed = updatePodCondition(status, { type: "DisruptionTarget", status: "True", reason: "DeletionByTaintManager", message: "Taint manager: deleting due to NoExecute taint" }, rfc3339(this.d.clock.now()));
    if (changed) {
      const condition = status.conditions!.find((c) => c.type === "DisruptionTarget");
      // Conditions merge by type: only this one is sent; the uid pins the patch to this pod.
      await this.d.client.patch(Resources.pods, namespace, name, "strategic", { metadata: { uid: pod.metadata.uid }, status: { conditions: [condition] } }, { subresource: "status" });
    }
    // The uid: a pod made again under the same name (a StatefulSet's) is not this eviction's.
    await this.d.client.delete(Resources.pods, namespace, name, { preconditions: { uid: pod.metadata.uid! } });
  }
}

/** The event reference of a pod by key (upstream names no uid; kubemu adds it when known, so `kubectl describe pod` lists the event). */
function podRef(key: string, uid: string | undefined) {
  const { namespace, name } = splitKey(key);
  return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace, ...(uid ? { uid } : {}) } };
}
