/**
 * The node lifecycle controller's work (upstream's pkg/controller/nodelifecycle): every monitor
 * period it judges each node's heartbeats (health.ts) and, for a node silent past the grace
 * period, writes its conditions Unknown, marks its pods not Ready and queues it for the NoExecute
 * taint (unreachable, or not-ready when the kubelet says Ready=False); a node healthy again
 * loses those taints. Tainting is rate limited per zone (zones.ts, rate-limited-queue.ts), and
 * stops altogether when every node of every zone is down — the controller then assumes its own
 * view is what broke. Node changes also mirror conditions and spec.unschedulable as NoSchedule
 * taints (no-schedule.ts) and keep the beta os/arch labels. The taint-eviction controller
 * deletes the pods the NoExecute taints no longer let stay.
 *
 * Constructible from plain parts so unit tests drive it on a FakeClock without informers.
 */
import type { Clock, Lister, Logger } from "@kubemu/common";
import { Indexes, Resources, isNotFound, silentLogger, splitKey } from "@kubemu/common";
import type { NodeCondition, Taint } from "kubernetes-types/core/v1.js";
import type { ControllerClient } from "../../controller/client.js";
import type { NodeLifecycleOptions, Recorder } from "../../controller/context.js";
import { nodeCondition, type PodObject } from "../node-util/conditions.js";
import { recordNodeEvent, recordNodeStatusChange } from "../node-util/events.js";
import { markPodsNotReady } from "../node-util/mark-pods.js";
import { TAINT_NOT_READY, TAINT_UNREACHABLE, removeTaintOffNode, swapNodeControllerTaint, taintExists, type NodeObject } from "../node-util/taints.js";
import { assessNodeHealth, type LeaseObject, type NodeHealth } from "./health.js";
import { labelsToReconcile } from "./labels.js";
import { noScheduleTaintChanges } from "./no-schedule.js";
import { RateLimitedTimedQueue } from "./rate-limited-queue.js";
import { computeZoneState, isExcludedFromDisruptionChecks, zoneEvictionRate, zoneKey, type ZoneState } from "./zones.js";

export const NODE_LEASE_NAMESPACE = "kube-node-lease";

export const UNREACHABLE_TAINT: Taint = { key: TAINT_UNREACHABLE, effect: "NoExecute" };
export const NOT_READY_TAINT: Taint = { key: TAINT_NOT_READY, effect: "NoExecute" };

/** Attempts of a node status write within one pass (upstream's NodeHealthUpdateRetry) and the pause between them. */
const NODE_HEALTH_UPDATE_RETRY = 5;
const RETRY_SLEEP_MS = 20;
/** Nodes judged at once (upstream's nodeUpdateWorkerSize). */
const NODE_UPDATE_WORKERS = 8;
/** A queued node whose Ready condition cannot be read is tried again after this long. */
const TAINT_RETRY_MS = 50;

/** Upstream's defaults for what the flags leave unset (durations: the fast profile's). */
export const DEFAULT_NODE_LIFECYCLE_OPTIONS: NodeLifecycleOptions = {
  nodeMonitorPeriodMs: 1000,
  nodeMonitorGracePeriodMs: 5000,
  nodeStartupGracePeriodMs: 6000,
  nodeEvictionRate: 0.1,
  secondaryNodeEvictionRate: 0.01,
  largeClusterSizeThreshold: 50,
  unhealthyZoneThreshold: 0.55,
};

export interface NodeLifecycleListers {
  nodes: Lister<NodeObject>;
  /** Indexed by spec.nodeName. */
  pods: Lister<PodObject>;
  /** Leases in kube-node-lease, one per node. */
  leases: Lister<LeaseObject>;
}

export interface NodeLifecycleDeps {
  client: ControllerClient;
  listers: NodeLifecycleListers;
  recorder: Recorder;
  clock: Clock;
  options?: Partial<NodeLifecycleOptions>;
  logger?: Logger;
}

async function parallelize<T>(workers: number, items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const one = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(workers, items.length) }, one));
}

export class NodeLifecycle {
  readonly options: NodeLifecycleOptions;
  private readonly log: Logger;
  private readonly known = new Map<string, NodeObject>();
  private readonly health = new Map<string, NodeHealth>();
  private readonly zoneStates = new Map<string, ZoneState>();
  private readonly zoneTainter = new Map<string, RateLimitedTimedQueue>();
  /** Nodes whose pods could not all be marked not Ready; the next pass tries again. */
  private readonly nodesToRetry = new Set<string>();

  constructor(private readonly d: NodeLifecycleDeps) {
    this.options = { ...DEFAULT_NODE_LIFECYCLE_OPTIONS, ...(d.options ?? {}) };
    this.log = d.logger ?? silentLogger;
  }

  /** What this controller last made of a node's heartbeats (tests, and the pod handler). */
  healthOf(name: string): NodeHealth | undefined {
    return this.health.get(name);
  }

  zoneState(zone: string): ZoneState | undefined {
    return this.zoneStates.get(zone);
  }

  /** The zone's queue of nodes waiting for the NoExecute taint. */
  tainterOf(zone: string): RateLimitedTimedQueue | undefined {
    return this.zoneTainter.get(zone);
  }

  /**
   * One monitor pass (upstream's monitorNodeHealth): new and removed nodes, each node's health
   * (status written Unknown past the grace period, pods marked not Ready, taint queued or
   * removed), then the zones' states and eviction rates.
   */
  async monitorNodeHealth(): Promise<void> {
    const nodes = this.d.listers.nodes.list();
    const { added, deleted, newZoneRepresentatives } = this.classifyNodes(nodes);
    for (const n of newZoneRepresentatives) this.addTainterForNewZone(n);
    for (const n of added) {
      recordNodeEvent(this.d.recorder, n.metadata.name!, n.metadata.uid, "Normal", "RegisteredNode", `Registered Node ${n.metadata.name} in Controller`);
      this.known.set(n.metadata.name!, n);
      this.addTainterForNewZone(n);
      await this.markNodeAsReachable(n).catch((e: unknown) => this.log.warn({ node: n.metadata.name, err: String(e) }, "failed to remove taints from node"));
    }
    for (const n of deleted) {
      recordNodeEvent(this.d.recorder, n.metadata.name!, n.metadata.uid, "Normal", "RemovingNode", `Removing Node ${n.metadata.name} from Controller`);
      this.known.delete(n.metadata.name!);
      this.health.delete(n.metadata.name!);
      this.zoneTainter.get(zoneKey(n))?.remove(n.metadata.name!);
    }
    const zoneConditions = new Map<string, (NodeCondition | undefined)[]>();
    await parallelize(NODE_UPDATE_WORKERS, nodes, (n) => this.updateNodeHealth(n, zoneConditions));
    await this.handleDisruption(zoneConditions, nodes);
  }

  private classifyNodes(all: readonly NodeObject[]): { added: NodeObject[]; deleted: NodeObject[]; newZoneRepresentatives: NodeObject[] } {
    const added: NodeObject[] = [];
    const newZoneRepresentatives: NodeObject[] = [];
    const present = new Set<string>();
    for (const n of all) {
      present.add(n.metadata.name!);
      if (!this.known.has(n.metadata.name!)) added.push(n);
      else if (!this.zoneStates.has(zoneKey(n))) newZoneRepresentatives.push(n);
    }
    const deleted = [...this.known.values()].filter((n) => !present.has(n.metadata.name!));
    return { added, deleted, newZoneRepresentatives };
  }

  private addTainterForNewZone(node: NodeObject): void {
    const zone = zoneKey(node);
    if (this.zoneStates.has(zone)) return;
    this.zoneStates.set(zone, "Initial");
    this.zoneTainter.set(zone, new RateLimitedTimedQueue(this.options.nodeEvictionRate, this.d.clock));
  }

  /** One node of a monitor pass. */
  private async updateNodeHealth(listed: NodeObject, zoneConditions: Map<string, (NodeCondition | undefined)[]>): Promise<void> {
    const name = listed.metadata.name!;
    let node = structuredClone(listed);
    let judged: { observed: NodeCondition; current: NodeCondition | undefined } | undefined;
    for (let attempt = 1; attempt <= NODE_HEALTH_UPDATE_RETRY && !judged; attempt++) {
      const now = this.d.clock.now();
      const lease = this.d.listers.leases.get(NODE_LEASE_NAMESPACE, name);
      const a = assessNodeHealth(node, this.health.get(name), lease, now, { monitorGraceMs: this.options.nodeMonitorGracePeriodMs, startupGraceMs: this.options.nodeStartupGracePeriodMs });
      this.health.set(name, a.health);
      if (!a.write) {
        judged = { observed: a.observedReady, current: a.currentReady };
        break;
      }
      try {
        this.log.info({ node: name }, "node stopped posting status; marking its conditions Unknown");
        await this.d.client.updateStatus(Resources.nodes, node);
        this.health.set(name, { status: node.status, probeTimestamp: a.health.probeTimestamp, readyTransitionTimestamp: now, lease });
        judged = { observed: a.observedReady, current: a.currentReady };
      } catch (e) {
        this.log.info({ node: name, err: String(e) }, "error updating node status; reading it again");
        try {
          node = await this.d.client.get<NodeObject>(Resources.nodes, undefined, name);
        } catch {
          this.log.warn({ node: name }, "failed while getting a Node to retry updating node health. Probably Node was deleted");
          return;
        }
        await this.d.clock.sleep(RETRY_SLEEP_MS);
      }
    }
    if (!judged) {
      this.log.warn({ node: name }, "update health of Node from Controller error, Skipping - no pods will be evicted");
      return;
    }
    if (!isExcludedFromDisruptionChecks(node)) {
      const zone = zoneKey(node);
      const list = zoneConditions.get(zone) ?? [];
      list.push(judged.current);
      zoneConditions.set(zone, list);
    }
    if (judged.current) {
      const pods = this.d.listers.pods.byIndex(Indexes.nodeName, name);
      await this.processTaintBaseEviction(node, judged.observed);
      const wentDown = judged.current.status !== "True" && judged.observed.status === "True";
      if (wentDown) recordNodeStatusChange(this.d.recorder, node, "NodeNotReady");
      if (wentDown || (this.nodesToRetry.has(name) && judged.observed.status !== "True")) {
        try {
          await markPodsNotReady(this.d.client, this.d.recorder, this.d.clock, pods, name, this.log);
        } catch (e) {
          this.log.warn({ node: name, err: String(e) }, "unable to mark all pods NotReady on node; queuing for retry");
          this.nodesToRetry.add(name);
          return;
        }
      }
    }
    this.nodesToRetry.delete(name);
  }

  private async processTaintBaseEviction(node: NodeObject, observed: NodeCondition): Promise<void> {
    const name = node.metadata.name!;
    const onError = (e: unknown) => this.log.warn({ node: name, err: String(e) }, "failed to swap NoExecute taints");
    switch (observed.status) {
      case "False":
        // Unreachable and not-ready mirror Ready=Unknown and Ready=False: one replaces the other at once.
        if (taintExists(node.spec?.taints, UNREACHABLE_TAINT)) await swapNodeControllerTaint(this.d.client, this.d.clock, node, [NOT_READY_TAINT], [UNREACHABLE_TAINT], onError);
        else if (this.markNodeForTainting(node, "False")) this.log.info({ node: name }, "node is NotReady; adding it to the taint queue");
        return;
      case "Unknown":
        if (taintExists(node.spec?.taints, NOT_READY_TAINT)) await swapNodeControllerTaint(this.d.client, this.d.clock, node, [UNREACHABLE_TAINT], [NOT_READY_TAINT], onError);
        else if (this.markNodeForTainting(node, "Unknown")) this.log.info({ node: name }, "node is unresponsive; adding it to the taint queue");
        return;
      case "True":
        try {
          if (await this.markNodeAsReachable(node)) this.log.info({ node: name }, "node is healthy again, removed all taints");
        } catch (e) {
          this.log.warn({ node: name, err: String(e) }, "failed to remove taints from node; will retry in next iteration");
        }
        return;
    }
  }

  private markNodeForTainting(node: NodeObject, status: "False" | "Unknown"): boolean {
    const tainter = this.zoneTainter.get(zoneKey(node));
    if (!tainter) return false;
    const name = node.metadata.name!;
    if (status === "False" && !taintExists(node.spec?.taints, NOT_READY_TAINT)) tainter.remove(name);
    if (status === "Unknown" && !taintExists(node.spec?.taints, UNREACHABLE_TAINT)) tainter.remove(name);
    return tainter.add(name, node.metadata.uid);
  }

  /** Removes both NoExecute taints and forgets the node in its zone's queue; answers whether it was queued. */
  private async markNodeAsReachable(node: NodeObject): Promise<boolean> {
    const name = node.metadata.name!;
    await removeTaintOffNode(this.d.client, this.d.clock, name, node, [UNREACHABLE_TAINT]);
    await removeTaintOffNode(this.d.client, this.d.clock, name, node, [NOT_READY_TAINT]);
    return this.zoneTainter.get(zoneKey(node))?.remove(name) ?? false;
  }

  /**
   * Zone states and their limiters (upstream's handleDisruption). When every zone is fully
   * disrupted the controller stops tainting and untaints every node: nodes rarely all fail at
   * once, so more likely this controller lost touch with them. Leaving that state resets every
   * node's heartbeat clock, so none is evicted for the silence just ended.
   */
  private async handleDisruption(zoneConditions: Map<string, (NodeCondition | undefined)[]>, nodes: readonly NodeObject[]): Promise<void> {
    const newStates = new Map<string, ZoneState>();
    let allAreFullyDisrupted = true;
    for (const [zone, conditions] of zoneConditions) {
      const { state } = computeZoneState(conditions, this.options.unhealthyZoneThreshold);
      if (state !== "FullDisruption") allAreFullyDisrupted = false;
      newStates.set(zone, state);
      if (!this.zoneStates.has(zone)) this.zoneStates.set(zone, "Initial");
    }
    let allWasFullyDisrupted = true;
    for (const [zone, state] of [...this.zoneStates]) {
      if (!zoneConditions.has(zone)) {
        this.zoneStates.delete(zone);
        continue;
      }
      if (state !== "FullDisruption") {
        allWasFullyDisrupted = false;
        break;
      }
    }
    if (allAreFullyDisrupted && allWasFullyDisrupted) return;
    if (allAreFullyDisrupted) {
      this.log.info("controller detected that all Nodes are not-Ready. Entering master disruption mode");
      for (const n of nodes) await this.markNodeAsReachable(n).catch((e: unknown) => this.log.warn({ node: n.metadata.name, err: String(e) }, "failed to remove taints from Node"));
      for (const zone of this.zoneStates.keys()) {
        this.zoneTainter.get(zone)?.swapLimiter(0);
        this.zoneStates.set(zone, "FullDisruption");
      }
      return;
    }
    if (allWasFullyDisrupted) {
      this.log.info("controller detected that some Nodes are Ready. Exiting master disruption mode");
      const now = this.d.clock.now();
      for (const n of nodes) {
        const h = this.health.get(n.metadata.name!);
        if (h) this.health.set(n.metadata.name!, { ...h, probeTimestamp: now, readyTransitionTimestamp: now });
      }
      for (const zone of this.zoneStates.keys()) {
        const state = newStates.get(zone) ?? "Normal";
        this.setLimiterInZone(zone, zoneConditions.get(zone)?.length ?? 0, state);
        this.zoneStates.set(zone, state);
      }
      return;
    }
    for (const [zone, state] of [...this.zoneStates]) {
      const next = newStates.get(zone);
      if (!next || next === state) continue;
      this.log.info({ zone, newState: next }, "controller detected that zone is now in new state");
      this.setLimiterInZone(zone, zoneConditions.get(zone)?.length ?? 0, next);
      this.zoneStates.set(zone, next);
    }
  }

  private setLimiterInZone(zone: string, size: number, state: ZoneState): void {
    if (state === "Initial") return;
    this.zoneTainter.get(zone)?.swapLimiter(zoneEvictionRate(state, size, this.options));
  }

  /**
   * Taints the queued nodes NoExecute as their zones' rates allow (upstream's
   * doNoExecuteTaintingPass, every 100 ms): unreachable for Ready=Unknown, not-ready for
   * Ready=False, removing the other; a node Ready again leaves the queue untainted.
   */
  async doNoExecuteTaintingPass(): Promise<void> {
    for (const tainter of [...this.zoneTainter.values()]) {
      await tainter.try(async (v) => {
        const node = this.d.listers.nodes.get(undefined, v.value);
        if (!node) return { done: true };
        const ready = nodeCondition(node.status, "Ready");
        if (!ready) return { done: false, retryAfterMs: TAINT_RETRY_MS };
        const onError = (e: unknown) => this.log.warn({ node: v.value, err: String(e) }, "failed to taint unresponsive node");
        if (ready.status === "False") return { done: await swapNodeControllerTaint(this.d.client, this.d.clock, node, [NOT_READY_TAINT], [UNREACHABLE_TAINT], onError) };
        if (ready.status === "Unknown") return { done: await swapNodeControllerTaint(this.d.client, this.d.clock, node, [UNREACHABLE_TAINT], [NOT_READY_TAINT], onError) };
        // Ready again while it waited: nothing to taint.
        return { done: true };
      });
    }
  }

  /** A node changed: its NoSchedule taints follow its conditions and spec.unschedulable; its beta labels follow the stable ones. */
  async syncNode(name: string): Promise<void> {
    const node = this.d.listers.nodes.get(undefined, name);
    if (!node) return;
    const { add, remove } = noScheduleTaintChanges(node);
    if (add.length > 0 || remove.length > 0) {
      let failure: unknown;
      if (!(await swapNodeControllerTaint(this.d.client, this.d.clock, node, add, remove, (e) => (failure = e)))) this.log.warn({ node: name, err: String(failure) }, "failed to taint NoSchedule on node");
    }
    const labels = labelsToReconcile(node);
    if (Object.keys(labels).length > 0) {
      try {
        await this.d.client.patch(Resources.nodes, undefined, name, "strategic", { metadata: { labels } });
      } catch (e) {
        if (!isNotFound(e)) this.log.warn({ node: name, err: String(e) }, "failed to reconcile labels for node");
      }
    }
  }

  /**
   * A pod was bound to a node (upstream's processPod): on a node this controller last saw not
   * Ready it is marked not Ready at once, not at the next state change. Throws to be retried.
   */
  async syncPod(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const pod = this.d.listers.pods.get(namespace, name);
    if (!pod?.spec?.nodeName) return;
    const nodeName = pod.spec.nodeName;
    const health = this.health.get(nodeName);
    if (!health) return;
    if (!this.d.listers.nodes.get(undefined, nodeName)) throw new Error(`node "${nodeName}" not found in the cache`);
    const ready = nodeCondition(health.status, "Ready");
    if (!ready || ready.status === "True") return;
    await markPodsNotReady(this.d.client, this.d.recorder, this.d.clock, [pod], nodeName, this.log);
  }

  /** A node was deleted: no retry is owed to it. */
  forgetNode(name: string): void {
    this.nodesToRetry.delete(name);
  }
}
