/**
 * The DaemonSet reconcile (upstream's syncDaemonSet and its manage/syncNodes/status halves):
 * one daemon pod on every node that should run it, none elsewhere; failed daemon pods killed and
 * recreated with backoff; the update strategy applied; status counted per node.
 *
 * Pods are created unbound with a required node affinity term `metadata.name In [<node>]`; the
 * scheduler binds them. Constructible from plain parts so unit tests drive it without informers.
 */
import type { Node } from "kubernetes-types/core/v1.js";
import type { Clock, KubeObject, Lister, Logger } from "@kubemu/common";
import { Resources, isNotFound, selectorFromObject, silentLogger, splitKey } from "@kubemu/common";
import type { ControllerClient } from "../../controller/client.js";
import type { Recorder } from "../../controller/context.js";
import { claimObjects } from "../../controller/controller-ref.js";
import type { ControllerExpectations } from "../../controller/expectations.js";
import { PodControl, isNamespaceTerminating, messageOf, podFromTemplate, type PodObject } from "../../controller/pod-control.js";
import { isPodAvailable, isPodReady, isPodTerminal, slowStartBatch } from "../../controller/pod-util.js";
import type { Backoff } from "./backoff.js";
import {
  allowsSurge,
  byCreationTimestampAndPhase,
  daemonPodTemplate,
  isPodUpdated,
  pinToNode,
  REVISION_HASH_LABEL,
  surgeCount,
  targetNodeName,
  templateGeneration,
  unavailableCount,
  type DaemonSetObject,
} from "./daemon-pod.js";
import { cleanupHistory, constructHistory, type HistoryDeps, type RevisionObject } from "./history.js";
import { daemonPodSpec, nodeShouldRunDaemonPod, type NodeFit } from "./node-fit.js";
import { planRollingUpdate } from "./rolling-update.js";

export type NodeObject = Node & KubeObject;
export type { RevisionObject };

/** Creates or deletes at most this many pods per sync (upstream's BurstReplicas). */
export const BURST_REPLICAS = 250;
/** The first create batch (upstream's SlowStartInitialBatchSize). */
const SLOW_START_INITIAL_BATCH = 1;
/** Retries of a status write after re-reading the DaemonSet (upstream's StatusUpdateRetries). */
const STATUS_UPDATE_RETRIES = 1;

export interface DaemonSetListers {
  daemonSets: Lister<DaemonSetObject>;
  pods: Lister<PodObject>;
  nodes: Lister<NodeObject>;
  revisions: Lister<RevisionObject>;
}

export interface DaemonSetSyncDeps {
  client: ControllerClient;
  listers: DaemonSetListers;
  recorder: Recorder;
  clock: Clock;
  expectations: ControllerExpectations;
  /** Delays killing a failed daemon pod again on the same node. */
  failedPodsBackoff: Backoff;
  /** Syncs the key again after ms (the queue's addAfter). */
  enqueueAfter(key: string, ms: number): void;
  logger?: Logger;
  burstReplicas?: number;
}

interface Counts {
  desiredNumberScheduled: number;
  currentNumberScheduled: number;
  numberMisscheduled: number;
  numberReady: number;
  updatedNumberScheduled: number;
  numberAvailable: number;
  numberUnavailable: number;
}

/** Everything of one sync that stays fixed while it runs. */
interface Round {
  ds: DaemonSetObject;
  key: string;
  nodes: NodeObject[];
  hash: string;
  fit(node: Node): NodeFit;
}

function dsKey(ds: DaemonSetObject): string {
  return `${ds.metadata.namespace}/${ds.metadata.name}`;
}

/** The selector is empty: it would select every pod (upstream compares with &metav1.LabelSelector{}). */
function selectsEverything(ds: DaemonSetObject): boolean {
  const s = ds.spec?.selector;
  return !!s && Object.keys(s.matchLabels ?? {}).length === 0 && (s.matchExpressions ?? []).length === 0;
}

export class DaemonSetSync {
  private readonly podControl: PodControl;
  private readonly log: Logger;
  private readonly burst: number;

  constructor(private readonly d: DaemonSetSyncDeps) {
    this.podControl = new PodControl(d.client, d.recorder);
    this.log = d.logger ?? silentLogger;
    this.burst = d.burstReplicas ?? BURST_REPLICAS;
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const ds = this.d.listers.daemonSets.get(namespace, name);
    if (!ds) {
      this.d.expectations.delete(key);
      return;
    }
    const nodes = this.d.listers.nodes.list();
    if (selectsEverything(ds)) {
      this.d.recorder.event(ds, "Warning", "SelectingAll", "This daemon set is selecting all pods. A non-empty selector is required.");
      return;
    }
    // Being deleted: its revisions may already be gone, so status cannot be trusted; leave it.
    if (ds.metadata.deletionTimestamp) return;
    let cur: RevisionObject;
    let old: RevisionObject[];
    try {
      ({ cur, old } = await constructHistory(ds, this.historyDeps()));
    } catch (e) {
      throw new Error(`failed to construct revisions of DaemonSet: ${messageOf(e)}`, { cause: e });
    }
    const spec = daemonPodSpec(ds);
    const round: Round = { ds, key, nodes, hash: cur.metadata?.labels?.[REVISION_HASH_LABEL] ?? "", fit: (node) => nodeShouldRunDaemonPod(node, ds, spec) };
    if (!this.d.expectations.satisfied(key)) {
      // Our last creates/deletes are not all seen yet: status only, without claiming this generation.
      await this.updateStatus(round, false);
      return;
    }
    let err: unknown;
    try {
      await this.update(round, old);
    } catch (e) {
      err = e;
    }
    try {
      await this.updateStatus(round, true);
    } catch (statusErr) {
      if (err === undefined) throw statusErr;
      this.log.error({ daemonset: key, err: messageOf(statusErr) }, "Failed to update status");
    }
    if (err !== undefined) throw err;
  }

  private historyDeps(): HistoryDeps {
    return {
      client: this.d.client,
      revisionsInNamespace: (ns) => this.d.listers.revisions.list({ namespace: ns }),
      daemonPods: (ds) => this.daemonPods(ds),
    };
  }

  /** manage, then the update strategy once our writes are seen, then history cleanup (upstream's updateDaemonSet). */
  private async update(r: Round, old: RevisionObject[]): Promise<void> {
    await this.manage(r);
    if (this.d.expectations.satisfied(r.key) && r.ds.spec?.updateStrategy?.type === "RollingUpdate") await this.rollingUpdate(r);
    try {
      await cleanupHistory(r.ds, old, this.historyDeps());
    } catch (e) {
      throw new Error(`failed to clean up revisions of DaemonSet: ${messageOf(e)}`, { cause: e });
    }
  }

  /** The DaemonSet's pods, after adopting matching orphans and releasing owned pods that stopped matching. */
  private daemonPods(ds: DaemonSetObject): Promise<PodObject[]> {
    const selector = selectorFromObject(ds.spec?.selector);
    return claimObjects(this.d.listers.pods.list({ namespace: ds.metadata.namespace! }), {
      client: this.d.client,
      owner: ds,
      ownerResource: Resources.daemonSets,
      resource: Resources.pods,
      matches: (p) => selector.matches(p.metadata.labels),
    });
  }

  /**
   * Claimed pods by the node they are for (upstream's getNodesToDaemonPods). Terminal pods
   * already being deleted are left out unless asked for: nothing is left to do with them.
   */
  private async nodeToDaemonPods(ds: DaemonSetObject, includeDeletedTerminal = false): Promise<Map<string, PodObject[]>> {
    let pods: PodObject[];
    try {
      pods = await this.daemonPods(ds);
    } catch (e) {
      throw new Error(`couldn't get node to daemon pod mapping for daemon set "${ds.metadata.name}": ${messageOf(e)}`, { cause: e });
    }
    const m = new Map<string, PodObject[]>();
    for (const pod of pods) {
      if (!includeDeletedTerminal && isPodTerminal(pod) && pod.metadata.deletionTimestamp) continue;
      const node = targetNodeName(pod);
      if (node === undefined) {
        this.log.debug({ pod: `${pod.metadata.namespace}/${pod.metadata.name}`, daemonset: dsKey(ds) }, "Failed to get target node name of Pod in DaemonSet");
        continue;
      }
      const list = m.get(node);
      if (list) list.push(pod);
      else m.set(node, [pod]);
    }
    return m;
  }

  /** Creates the missing daemon pods and deletes the ones that should go (upstream's manage). */
  private async manage(r: Round): Promise<void> {
    const nodeToPods = await this.nodeToDaemonPods(r.ds);
    const nodesNeedingPods: string[] = [];
    const podsToDelete: string[] = [];
    for (const node of r.nodes) {
      const plan = this.podsShouldBeOnNode(r, node, nodeToPods);
      nodesNeedingPods.push(...plan.create);
      podsToDelete.push(...plan.delete);
    }
    // Unbound pods meant for nodes that no longer exist would never be scheduled, and the pod GC
    // only collects bound ones: ours to delete.
    const existing = new Set(r.nodes.map((n) => n.metadata.name));
    for (const [nodeName, pods] of nodeToPods) {
      if (existing.has(nodeName)) continue;
      for (const pod of pods) if (!pod.spec?.nodeName) podsToDelete.push(pod.metadata.name!);
    }
    await this.syncNodes(r, podsToDelete, nodesNeedingPods);
  }

  /** What one node needs: a pod created, pods deleted (upstream's podsShouldBeOnNode). */
  private podsShouldBeOnNode(r: Round, node: NodeObject, nodeToPods: Map<string, PodObject[]>): { create: string[]; delete: string[] } {
    const { shouldRun, shouldContinueRunning } = r.fit(node);
    const nodeName = node.metadata.name!;
    const pods = nodeToPods.get(nodeName);
    const create: string[] = [];
    const del: string[] = [];
    if (shouldRun && !pods) return { create: [nodeName], delete: [] };
    if (!shouldContinueRunning) {
      // Should not run here: every daemon pod on the node goes.
      for (const pod of pods ?? []) if (!pod.metadata.deletionTimestamp) del.push(pod.metadata.name!);
      return { create, delete: del };
    }
    const running: PodObject[] = [];
    for (const pod of pods ?? []) {
      if (pod.metadata.deletionTimestamp) continue;
      const phase = pod.status?.phase;
      if (phase === "Failed") {
        if (this.failedPodInBackoff(r, nodeName, pod)) continue;
        del.push(pod.metadata.name!);
      } else if (phase === "Succeeded") {
        const msg = `Found succeeded daemon pod ${pod.metadata.namespace}/${pod.metadata.name} on node ${nodeName}, will try to delete it`;
        this.d.recorder.event(r.ds, "Normal", "SucceededDaemonPod", msg);
        del.push(pod.metadata.name!);
      } else {
        running.push(pod);
      }
    }
    running.sort(byCreationTimestampAndPhase);
    if (!allowsSurge(r.ds)) {
      // One pod per node: keep the oldest.
      for (const pod of running.slice(1)) del.push(pod.metadata.name!);
      return { create, delete: del };
    }
    if (running.length <= 1) {
      // Surging still needs at least one live pod on the node.
      if (running.length === 0 && shouldRun) create.push(nodeName);
      return { create, delete: del };
    }
    // Surge: keep the oldest new pod and the oldest old pod; the old one goes once it is not
    // ready or the new one is available. Any other pod goes now.
    let oldestNew: PodObject | undefined;
    let oldestOld: PodObject | undefined;
    for (const pod of running) {
      const isNew = pod.metadata.labels?.[REVISION_HASH_LABEL] === r.hash;
      if (isNew && !oldestNew) oldestNew = pod;
      else if (!isNew && !oldestOld) oldestOld = pod;
      else del.push(pod.metadata.name!);
    }
    if (oldestNew && oldestOld) {
      const now = this.d.clock.now();
      if (!isPodReady(oldestOld) || isPodAvailable(oldestNew, r.ds.spec?.minReadySeconds ?? 0, now)) del.push(oldestOld.metadata.name!);
    }
    return { create, delete: del };
  }

  /**
   * A failed daemon pod is killed (and recreated by the next sync) unless the node's backoff
   * says wait; this is where a DaemonSet fights a kubelet that keeps rejecting its pod.
   */
  private failedPodInBackoff(r: Round, nodeName: string, pod: PodObject): boolean {
    const backoffKey = `${r.ds.metadata.uid}/${r.ds.status?.observedGeneration ?? 0}/${nodeName}`;
    const now = this.d.failedPodsBackoff.clock.now();
    if (this.d.failedPodsBackoff.isInBackOffSinceUpdate(backoffKey, now)) {
      const delay = this.d.failedPodsBackoff.get(backoffKey);
      this.log.debug({ pod: `${pod.metadata.namespace}/${pod.metadata.name}`, node: nodeName, currentDelay: delay }, "Deleting failed pod on node has been limited by backoff");
      this.d.enqueueAfter(r.key, delay);
      return true;
    }
    this.d.failedPodsBackoff.next(backoffKey, now);
    const msg = `Found failed daemon pod ${pod.metadata.namespace}/${pod.metadata.name} on node ${nodeName}, will try to kill it`;
    this.log.info({ pod: `${pod.metadata.namespace}/${pod.metadata.name}`, node: nodeName }, "Found failed daemon pod on node, will try to kill it");
    this.d.recorder.event(r.ds, "Warning", "FailedDaemonPod", msg);
    return false;
  }

  /** Old pods to delete or new pods to create now, within the strategy's limits (upstream's rollingUpdate). */
  private async rollingUpdate(r: Round): Promise<void> {
    const nodeToPods = await this.nodeToDaemonPods(r.ds);
    let desired = 0;
    for (const node of r.nodes) {
      if (!r.fit(node).shouldRun) continue;
      desired++;
      if (!nodeToPods.has(node.metadata.name!)) nodeToPods.set(node.metadata.name!, []);
    }
    let maxUnavailable: number;
    let maxSurge: number;
    try {
      maxUnavailable = unavailableCount(r.ds, desired);
    } catch (e) {
      throw new Error(`couldn't get unavailable numbers: invalid value for MaxUnavailable: ${messageOf(e)}`, { cause: e });
    }
    try {
      maxSurge = surgeCount(r.ds, desired);
    } catch (e) {
      throw new Error(`couldn't get unavailable numbers: invalid value for MaxSurge: ${messageOf(e)}`, { cause: e });
    }
    if (desired > 0 && maxUnavailable === 0 && maxSurge === 0) {
      this.log.info({ daemonset: r.key }, "DaemonSet is not configured for surge or unavailability, defaulting to accepting unavailability");
      maxUnavailable = 1;
    }
    const plan = planRollingUpdate({
      ds: r.ds,
      nodeToPods,
      hash: r.hash,
      generation: templateGeneration(r.ds),
      maxSurge,
      maxUnavailable,
      desiredNumberScheduled: desired,
      nowMs: this.d.clock.now(),
      node: (name) => this.d.listers.nodes.get(undefined, name),
      shouldRun: (node) => r.fit(node).shouldRun,
      podExists: (name) => this.d.listers.pods.get(r.ds.metadata.namespace, name) !== undefined,
    });
    await this.syncNodes(r, plan.podsToDelete, plan.nodesToCreate);
  }

  /**
   * Deletes the pods and creates one pod per node, expectations raised first so a sync that runs
   * before the informer shows them does not act twice (upstream's syncNodes). Creates go in
   * slow-start batches: one that fails stops the rest, and those never tried are not expected.
   */
  private async syncNodes(r: Round, podsToDelete: string[], nodesNeedingPods: string[]): Promise<void> {
    const createDiff = Math.min(nodesNeedingPods.length, this.burst);
    const deleteDiff = Math.min(podsToDelete.length, this.burst);
    this.d.expectations.set(r.key, createDiff, deleteDiff);
    if (createDiff === 0 && deleteDiff === 0) return;
    const errors: unknown[] = [];
    const template = daemonPodTemplate(r.ds.spec!.template, templateGeneration(r.ds), r.hash);
    let next = 0;
    const createOne = async () => {
      const nodeName = nodesNeedingPods[next++]!;
      const fromTemplate = podFromTemplate(template, r.ds, Resources.daemonSets);
      // The scheduler binds the pod to its node through this term (no nodeName set here).
      const pod = { ...fromTemplate, spec: { ...fromTemplate.spec!, affinity: pinToNode(fromTemplate.spec?.affinity, nodeName) } } as PodObject;
      try {
        await this.podControl.create(pod, r.ds);
      } catch (e) {
        // A terminating namespace refuses every create; upstream drops these silently.
        if (isNamespaceTerminating(e)) return;
        this.log.info({ daemonset: r.key, node: nodeName, err: messageOf(e) }, "Failed creation, decrementing expectations for daemon set");
        this.d.expectations.creationObserved(r.key);
        errors.push(e);
        throw e;
      }
    };
    if (createDiff > 0) {
      const result = await slowStartBatch(createDiff, SLOW_START_INITIAL_BATCH, createOne);
      const skipped = createDiff - next;
      if (result.error !== undefined && skipped > 0) {
        this.log.info({ daemonset: r.key, skippedPods: skipped }, "Slow-start failure. Skipping creation pods, decrementing expectations for daemon set");
        this.d.expectations.lower(r.key, skipped, 0);
      }
    }
    await Promise.all(
      podsToDelete.slice(0, deleteDiff).map(async (name) => {
        try {
          const deleted = await this.podControl.delete(r.ds.metadata.namespace!, name, r.ds);
          if (!deleted) this.d.expectations.deletionObserved(r.key);
        } catch (e) {
          this.d.expectations.deletionObserved(r.key);
          if (!isNotFound(e)) errors.push(e);
        }
      }),
    );
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `[${errors.map(messageOf).join(", ")}]`);
  }

  /** Counts the nodes and writes status when it changed (upstream's updateDaemonSetStatus). */
  private async updateStatus(r: Round, updateObservedGen: boolean): Promise<void> {
    const nodeToPods = await this.nodeToDaemonPods(r.ds);
    const now = this.d.clock.now();
    const minReady = r.ds.spec?.minReadySeconds ?? 0;
    const generation = templateGeneration(r.ds);
    const c: Counts = { desiredNumberScheduled: 0, currentNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0, updatedNumberScheduled: 0, numberAvailable: 0, numberUnavailable: 0 };
    for (const node of r.nodes) {
      const pods = nodeToPods.get(node.metadata.name!) ?? [];
      const scheduled = pods.length > 0;
      if (!r.fit(node).shouldRun) {
        if (scheduled) c.numberMisscheduled++;
        continue;
      }
      c.desiredNumberScheduled++;
      if (!scheduled) continue;
      c.currentNumberScheduled++;
      // The oldest pod speaks for the node.
      const pod = [...pods].sort(byCreationTimestampAndPhase)[0]!;
      if (isPodReady(pod)) {
        c.numberReady++;
        if (isPodAvailable(pod, minReady, now)) c.numberAvailable++;
      }
      if (isPodUpdated(pod, r.hash, generation)) c.updatedNumberScheduled++;
    }
    c.numberUnavailable = c.desiredNumberScheduled - c.numberAvailable;
    try {
      await this.storeStatus(r.ds, c, updateObservedGen);
    } catch (e) {
      throw new Error(`error storing status for daemon set ${r.key}: ${messageOf(e)}`, { cause: e });
    }
    // Last line of defence against clock skew: look again once minReadySeconds have passed.
    if (minReady > 0 && c.numberReady !== c.numberAvailable) this.d.enqueueAfter(r.key, minReady * 1000);
  }

  private async storeStatus(ds: DaemonSetObject, c: Counts, updateObservedGen: boolean): Promise<void> {
    const s = (ds.status ?? {}) as Record<string, unknown>;
    const same = (Object.keys(c) as (keyof Counts)[]).every((k) => (s[k] ?? 0) === c[k]);
    if (same && ((ds.status?.observedGeneration ?? 0) >= (ds.metadata.generation ?? 0))) return;
    let base: DaemonSetObject = ds;
    for (let i = 0; ; i++) {
      const status = { ...(base.status ?? {}), ...c, ...(updateObservedGen ? { observedGeneration: ds.metadata.generation } : {}) };
      try {
        await this.d.client.updateStatus(Resources.daemonSets, { ...base, status } as DaemonSetObject);
        return;
      } catch (e) {
        // Retried once on a fresh read; after that the key is requeued with backoff.
        if (i >= STATUS_UPDATE_RETRIES) throw e;
        base = await this.d.client.get<DaemonSetObject>(Resources.daemonSets, ds.metadata.namespace, ds.metadata.name!);
      }
    }
  }
}
