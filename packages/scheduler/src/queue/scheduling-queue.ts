/**
 * The scheduling queue: kube-scheduler's PriorityQueue (pkg/scheduler/backend/queue), as it
 * behaves with the SchedulerQueueingHints feature off — requeueing decided by the events each
 * plugin registered, and the moveRequestCycle rule for events that arrive while a pod is being
 * scheduled.
 *
 * Every pending pod the scheduler is responsible for is in exactly one place:
 * - activeQ: a heap the scheduling loop pops from, by priority then by time queued;
 * - backoffQ: pods that failed and wait out their backoff (1 s doubling per attempt up to
 *   10 s), ordered by when that ends; flushed into activeQ every second;
 * - unschedulablePods: pods found unschedulable, with the plugins that rejected them; an event
 *   one of those plugins registered moves them back (to backoffQ while still backing off, else
 *   activeQ), and so does staying there longer than podMaxInUnschedulablePodsDuration (5 min);
 * - in flight: popped and not yet returned (`addUnschedulableIfNotPresent`) or finished (`done`).
 *
 * The queue is single-threaded JavaScript, so upstream's locks are gone; upstream's condition
 * variable becomes a list of waiting `pop()` promises served at the end of every operation, so a
 * waiter gets the highest-priority pod of a batch, not the first one added.
 */
import { isDeepStrictEqual } from "node:util";
import type { Clock, Timer } from "@kubemu/common";
import type { Pod } from "kubernetes-types/core/v1.js";
import { WILDCARD_EVENT, clusterEventLabel, matchAnyClusterEvent, matchClusterEvent, type ClusterEvent } from "../framework/events.js";
import { affinityTermMatches, newPodInfo, type PodInfo } from "../framework/node-info.js";
import { KeyedHeap } from "./heap.js";
import { Nominator, podKey, type NominatingInfo, type PodLookup } from "./nominator.js";

/** A pod in the scheduling queue, with the bookkeeping the queue keeps for it (upstream's framework.QueuedPodInfo). */
export interface QueuedPodInfo {
  pod: Pod;
  /** newPodInfo(pod); the queue refreshes it whenever the pod object changes. */
  podInfo?: PodInfo;
  /** When the pod was last added to the queue (ms, from the queue's clock); backoff counts from here. */
  timestamp: number;
  /** Scheduling attempts so far (incremented by pop). */
  attempts: number;
  /** When the pod first entered activeQ (ms); undefined while it has only ever been gated. */
  initialAttemptTimestamp: number | undefined;
  /** Plugins that found the pod unschedulable in its last attempt (PreFilter, Filter, Permit, PreEnqueue). */
  unschedulablePlugins: Set<string>;
  /** Plugins that returned Pending: an event they registered moves the pod to activeQ at once, skipping backoff. */
  pendingPlugins?: Set<string>;
  /** The PreEnqueue plugin keeping the pod out of activeQ, if any (a gated pod lives in unschedulablePods). */
  gatingPlugin?: string;
}

/** A PreEnqueue plugin (upstream's PreEnqueuePlugin): false keeps the pod out of activeQ ("gated"). */
export interface PreEnqueuePlugin {
  readonly name: string;
  preEnqueue(pod: Pod): boolean;
}

/** Where a pod is in the queue. */
export type QueueLocation = "active" | "backoff" | "unschedulable" | "gated" | "inFlight";

/** Pod counts per sub-queue, for `scheduler_pending_pods{queue=…}` (gated pods are not in `unschedulable`). */
export interface PendingPodCounts {
  active: number;
  backoff: number;
  unschedulable: number;
  gated: number;
}

/** A pre-check run on each unschedulable pod before a move (upstream's PreEnqueueCheck); false leaves the pod. */
export type PreEnqueueCheck = (pod: Pod) => boolean;

/** Options of {@link SchedulingQueue}. */
export interface SchedulingQueueOptions {
  clock: Clock;
  /** podInitialBackoffSeconds (default 1). */
  podInitialBackoffSeconds?: number;
  /** podMaxBackoffSeconds (default 10). */
  podMaxBackoffSeconds?: number;
  /** --pod-max-in-unschedulable-pods-duration in ms (default 5 min). */
  podMaxInUnschedulablePodsDurationMs?: number;
  /** Plugin name → the events it registered (its `eventsToRegister()`); decides which events move which pods. */
  pluginEvents?: ReadonlyMap<string, readonly ClusterEvent[]>;
  /** The QueueSort plugin's less function (default: upstream's PrioritySort). */
  less?: (a: QueuedPodInfo, b: QueuedPodInfo) => boolean;
  /** PreEnqueue plugins, run before a pod enters activeQ (e.g. SchedulingGates). */
  preEnqueuePlugins?: readonly PreEnqueuePlugin[];
  /** The pod informer's lookup; the nominator refuses pods it no longer has or that are bound. */
  podLookup?: PodLookup;
  /** Namespace labels by name, for affinity terms with a namespaceSelector (assignedPodAdded). */
  namespaceLabels?: (namespace: string) => Readonly<Record<string, string>> | undefined;
  /** Called for every pod entering a sub-queue (`scheduler_queue_incoming_pods_total{queue,event}`). */
  onIncomingPod?: (queue: "active" | "backoff" | "unschedulable" | "gated", event: string) => void;
}

/** Upstream's DefaultPodInitialBackoffDuration / DefaultPodMaxBackoffDuration, in seconds. */
export const DEFAULT_POD_INITIAL_BACKOFF_SECONDS = 1;
export const DEFAULT_POD_MAX_BACKOFF_SECONDS = 10;
/** Upstream's DefaultPodMaxInUnschedulablePodsDuration (5 min), in ms. */
export const DEFAULT_POD_MAX_IN_UNSCHEDULABLE_PODS_DURATION_MS = 5 * 60_000;
/** How often backoffQ is flushed into activeQ (upstream: every second). */
export const BACKOFF_FLUSH_INTERVAL_MS = 1_000;
/** How often unschedulablePods is checked for pods left too long (upstream: every 30 s). */
export const UNSCHEDULABLE_FLUSH_INTERVAL_MS = 30_000;

/** The default scheduler's name; pods with another spec.schedulerName belong to another scheduler. */
export const DEFAULT_SCHEDULER_NAME = "default-scheduler";

/**
 * True if this scheduler schedules the pod: its spec.schedulerName is one of ours (an empty one
 * counts as the default, which the API server fills in anyway). The informer handlers filter on it.
 */
export function responsibleForPod(pod: Pod, schedulerNames: readonly string[] = [DEFAULT_SCHEDULER_NAME]): boolean {
  const name = pod.spec?.schedulerName ?? "";
  return schedulerNames.includes(name === "" ? DEFAULT_SCHEDULER_NAME : name);
}

/** Upstream's PrioritySort: higher spec.priority first, then earlier timestamp. */
export function prioritySortLess(a: QueuedPodInfo, b: QueuedPodInfo): boolean {
  const pa = a.pod.spec?.priority ?? 0;
  const pb = b.pod.spec?.priority ?? 0;
  return pa > pb || (pa === pb && a.timestamp < b.timestamp);
}

/** The events the queue raises itself (upstream's framework.Event*). */
export const EVENT_ASSIGNED_POD_ADD: ClusterEvent = { resource: "AssignedPod", actionType: "Add" };
export const EVENT_ASSIGNED_POD_UPDATE: ClusterEvent = { resource: "AssignedPod", actionType: "Update" };
export const EVENT_ASSIGNED_POD_DELETE: ClusterEvent = { resource: "AssignedPod", actionType: "Delete" };
export const EVENT_UNSCHEDULED_POD_ADD: ClusterEvent = { resource: "UnscheduledPod", actionType: "Add" };
export const EVENT_UNSCHEDULED_POD_UPDATE: ClusterEvent = { resource: "UnscheduledPod", actionType: "Update" };
export const EVENT_UNSCHEDULED_POD_DELETE: ClusterEvent = { resource: "UnscheduledPod", actionType: "Delete" };
const EVENT_POD_SCALE_DOWN: ClusterEvent = { resource: "Pod", actionType: "UpdatePodScaleDown" };

/** Event labels of the queue's own moves (upstream's special event labels), as they appear in metrics. */
export const QueueEventLabel = {
  ScheduleAttemptFailure: "ScheduleAttemptFailure",
  BackoffComplete: "BackoffComplete",
  ForceActivate: "ForceActivate",
  UnschedulableTimeout: "UnschedulableTimeout",
  PodAdd: clusterEventLabel(EVENT_UNSCHEDULED_POD_ADD),
  PodUpdate: clusterEventLabel(EVENT_UNSCHEDULED_POD_UPDATE),
} as const;

const POD_TOPOLOGY_SPREAD = "PodTopologySpread";

type Strategy = "skip" | "afterBackoff" | "immediately";

interface InFlight {
  info: QueuedPodInfo;
  /** The pod was deleted while being scheduled: it must not come back. */
  deleted: boolean;
  /** The newest object seen while in flight, if the pod was updated. */
  latest?: Pod;
  /** It was updated in a way that may make it schedulable (upstream's isPodUpdated). */
  updated: boolean;
}

interface Waiter {
  resolve(info: QueuedPodInfo | undefined): void;
  reject(err: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * True if the pod changed in a way that may make it schedulable: anything but resourceVersion,
 * generation, managedFields, finalizers and status (upstream's isPodUpdated).
 */
export function isPodUpdated(oldPod: Pod, newPod: Pod): boolean {
  const strip = (p: Pod) => {
    const meta = { ...(p.metadata ?? {}) };
    delete meta.resourceVersion;
    delete meta.generation;
    delete meta.managedFields;
    delete meta.finalizers;
    return { ...p, metadata: meta, status: undefined };
  };
  return !isDeepStrictEqual(strip(oldPod), strip(newPod));
}

/** The priority queue of pending pods. Construct, then `run()` to start the periodic flushes. */
export class SchedulingQueue {
  private readonly clock: Clock;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxInUnschedulableMs: number;
  private readonly pluginEvents: ReadonlyMap<string, readonly ClusterEvent[]>;
  private readonly preEnqueuePlugins: readonly PreEnqueuePlugin[];
  private readonly namespaceLabels: ((namespace: string) => Readonly<Record<string, string>> | undefined) | undefined;
  private readonly onIncoming: SchedulingQueueOptions["onIncomingPod"];
  private readonly nominator: Nominator;

  private readonly activeQ: KeyedHeap<QueuedPodInfo>;
  private readonly backoffQ: KeyedHeap<QueuedPodInfo>;
  private readonly unschedulablePods = new Map<string, QueuedPodInfo>();
  private readonly inFlight = new Map<string, InFlight>();
  private readonly waiters: Waiter[] = [];

  private schedCycle = 0;
  /**
   * The scheduling cycle at the last move request. A pod whose failed cycle is ≤ this may have
   * missed an event that would have moved it, so it goes to backoffQ, not unschedulablePods.
   */
  private moveRequestCycle = -1;
  private closed = false;
  private timers: Timer[] = [];

  constructor(opts: SchedulingQueueOptions) {
    this.clock = opts.clock;
    this.initialBackoffMs = (opts.podInitialBackoffSeconds ?? DEFAULT_POD_INITIAL_BACKOFF_SECONDS) * 1000;
    this.maxBackoffMs = (opts.podMaxBackoffSeconds ?? DEFAULT_POD_MAX_BACKOFF_SECONDS) * 1000;
    this.maxInUnschedulableMs = opts.podMaxInUnschedulablePodsDurationMs ?? DEFAULT_POD_MAX_IN_UNSCHEDULABLE_PODS_DURATION_MS;
    if (!(this.initialBackoffMs > 0) || !(this.maxBackoffMs >= this.initialBackoffMs)) {
      throw new RangeError(`podInitialBackoffSeconds must be positive and at most podMaxBackoffSeconds (got ${this.initialBackoffMs / 1000} and ${this.maxBackoffMs / 1000})`);
    }
    if (!(this.maxInUnschedulableMs > 0)) throw new RangeError(`podMaxInUnschedulablePodsDuration must be positive (got ${this.maxInUnschedulableMs} ms)`);
    this.pluginEvents = opts.pluginEvents ?? new Map();
    this.preEnqueuePlugins = opts.preEnqueuePlugins ?? [];
    this.namespaceLabels = opts.namespaceLabels;
    this.onIncoming = opts.onIncomingPod;
    this.nominator = new Nominator(opts.podLookup);
    const less = opts.less ?? prioritySortLess;
    const key = (i: QueuedPodInfo) => podKey(i.pod);
    this.activeQ = new KeyedHeap(key, less);
    this.backoffQ = new KeyedHeap(key, (a, b) => this.backoffExpiry(a) < this.backoffExpiry(b));
  }

  /** Starts the periodic flushes: backoffQ every second, unschedulablePods every 30 s. */
  run(): void {
    if (this.closed || this.timers.length > 0) return;
    this.timers.push(this.clock.setInterval(() => this.flushBackoffQCompleted(), BACKOFF_FLUSH_INTERVAL_MS));
    this.timers.push(this.clock.setInterval(() => this.flushUnschedulablePodsLeftover(), UNSCHEDULABLE_FLUSH_INTERVAL_MS));
  }

  /** Stops the flushes and resolves every waiting pop with undefined. Later pops resolve undefined at once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) t.cancel();
    this.timers = [];
    for (const w of this.waiters.splice(0)) {
      w.signal?.removeEventListener("abort", w.onAbort!);
      w.resolve(undefined);
    }
  }

  /** The number of pods popped so far (upstream's SchedulingCycle); read it right after pop for addUnschedulableIfNotPresent. */
  schedulingCycle(): number {
    return this.schedCycle;
  }

  // ---- informer events for unscheduled pods ----

  /** A new unscheduled pod (informer add). A pod the queue already holds is treated as an update. */
  add(pod: Pod): void {
    const known = this.find(podKey(pod));
    if (known !== undefined) {
      this.update(known.pod, pod);
      return;
    }
    this.moveToActiveQ(this.newQueuedPodInfo(pod), QueueEventLabel.PodAdd);
    this.wake();
  }

  /**
   * An unscheduled pod changed (informer update). In activeQ or backoffQ it is updated in place;
   * in unschedulablePods it moves (to backoffQ while backing off, else activeQ) if the change may
   * make it schedulable; in flight the newest object is remembered and used when it comes back;
   * unknown, it is added to activeQ.
   */
  update(oldPod: Pod, newPod: Pod): void {
    const key = podKey(newPod);
    const flight = this.inFlight.get(key);
    if (flight !== undefined) {
      if (!flight.deleted) {
        if (isPodUpdated(flight.latest ?? flight.info.pod, newPod)) flight.updated = true;
        flight.latest = newPod;
        this.nominator.update(oldPod, newPodInfo(newPod));
      }
      return;
    }
    for (const q of [this.activeQ, this.backoffQ]) {
      const info = q.get(key);
      if (info !== undefined) {
        this.setPod(info, newPod);
        q.addOrUpdate(info);
        this.nominator.update(oldPod, info.podInfo!);
        return;
      }
    }
    const info = this.unschedulablePods.get(key);
    if (info !== undefined) {
      this.setPod(info, newPod);
      this.nominator.update(oldPod, info.podInfo!);
      if (isPodUpdated(oldPod, newPod)) {
        if (this.isPodBackingOff(info)) this.moveToBackoffQ(info, QueueEventLabel.PodUpdate);
        else this.moveToActiveQ(info, QueueEventLabel.PodUpdate);
        this.wake();
      }
      return;
    }
    this.moveToActiveQ(this.newQueuedPodInfo(newPod), QueueEventLabel.PodUpdate);
    this.wake();
  }

  /** The pod is gone, or is no longer pending (bound: the informer stops matching it). */
  delete(pod: Pod): void {
    const key = podKey(pod);
    this.nominator.delete(pod);
    if (this.activeQ.delete(key) !== undefined) return;
    if (this.backoffQ.delete(key) !== undefined) return;
    if (this.unschedulablePods.delete(key)) return;
    const flight = this.inFlight.get(key);
    if (flight !== undefined) flight.deleted = true;
  }

  // ---- the scheduling loop ----

  /**
   * The next pod to schedule: the head of activeQ, waiting until there is one. The pod's attempts
   * and the scheduling cycle go up and the pod is in flight until `done` or
   * `addUnschedulableIfNotPresent`. Resolves undefined once the queue is closed; rejects with the
   * signal's reason if it is aborted first.
   */
  pop(signal?: AbortSignal): Promise<QueuedPodInfo | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.waiters.length === 0 && this.activeQ.length > 0) return Promise.resolve(this.popNow());
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal, onAbort: undefined };
      if (signal !== undefined) {
        waiter.onAbort = () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
    });
  }

  /** The pod popped earlier is finished with (bound, or given up on); it is no longer in flight. */
  done(uid: string): void {
    this.inFlight.delete(uid);
  }

  /**
   * Puts a pod whose scheduling attempt failed back (upstream's AddUnschedulableIfNotPresent;
   * `podSchedulingCycle` is schedulingCycle() read right after its pop). It goes to
   * unschedulablePods, unless a move request came during or after its cycle, or no plugin
   * rejected it (an error), or it was updated while in flight: then to backoffQ, so the event is
   * not lost. A pod deleted while in flight is dropped. Throws if the pod is already queued.
   */
  addUnschedulableIfNotPresent(info: QueuedPodInfo, podSchedulingCycle: number): void {
    const key = podKey(info.pod);
    const flight = this.inFlight.get(key);
    this.inFlight.delete(key);
    if (flight?.deleted === true) return;
    const name = `${info.pod.metadata?.namespace ?? ""}/${info.pod.metadata?.name ?? ""}`;
    if (this.unschedulablePods.has(key)) throw new Error(`pod ${name} is already present in the unschedulable queue`);
    if (this.activeQ.has(key)) throw new Error(`pod ${name} is already present in the active queue`);
    if (this.backoffQ.has(key)) throw new Error(`pod ${name} is already present in the backoff queue`);
    if (flight?.latest !== undefined) this.setPod(info, flight.latest);
    info.timestamp = this.clock.now();
    const rejectors = rejectorsOf(info);
    if (this.moveRequestCycle >= podSchedulingCycle || rejectors.size === 0 || flight?.updated === true) {
      this.moveToBackoffQ(info, QueueEventLabel.ScheduleAttemptFailure);
    } else {
      this.unschedulablePods.set(key, info);
      this.onIncoming?.("unschedulable", QueueEventLabel.ScheduleAttemptFailure);
    }
  }

  /**
   * Moves the given pods to activeQ at once if they are in unschedulablePods or backoffQ (a
   * plugin's PodsToActivate). For a pod in flight, a move request is recorded so its failure
   * sends it to backoffQ.
   */
  activate(pods: Iterable<Pod>): void {
    for (const pod of pods) {
      const key = podKey(pod);
      const info = this.unschedulablePods.get(key) ?? this.backoffQ.get(key);
      if (info !== undefined) {
        this.backoffQ.delete(key);
        this.moveToActiveQ(info, QueueEventLabel.ForceActivate);
      } else if (this.inFlight.has(key)) {
        this.moveRequestCycle = this.schedCycle;
      }
    }
    this.wake();
  }

  // ---- cluster events ----

  /**
   * A cluster event happened (a node added, an assigned pod deleted, a PV created…): every
   * unschedulable pod rejected by a plugin that registered the event, or with no recorded
   * plugin, moves to backoffQ (still backing off) or activeQ; `preCheck` can leave pods out.
   * Events no plugin registered are ignored. `oldObj`/`newObj` are the objects involved.
   */
  moveAllToActiveOrBackoffQueue(event: ClusterEvent, oldObj?: unknown, newObj?: unknown, preCheck?: PreEnqueueCheck): void {
    if (!this.isEventOfInterest(event)) return;
    const candidates: QueuedPodInfo[] = [];
    for (const info of this.unschedulablePods.values()) if (preCheck === undefined || preCheck(info.pod)) candidates.push(info);
    this.movePodsToActiveOrBackoffQueue(candidates, event, clusterEventLabel(event), oldObj, newObj);
  }

  /**
   * A bound pod appeared. It can only help pods whose required pod affinity it matches, or pods
   * PodTopologySpread rejected in its namespace (upstream pre-filters to those).
   */
  assignedPodAdded(pod: Pod): void {
    this.movePodsToActiveOrBackoffQueue(this.unschedulablePodsWithCrossTopologyTerm(pod), EVENT_ASSIGNED_POD_ADD, clusterEventLabel(EVENT_ASSIGNED_POD_ADD), undefined, pod);
  }

  /**
   * A bound pod changed. A scale-down of its requests (`event` Pod/UpdatePodScaleDown) may help
   * any pod, so all are considered; otherwise only those assignedPodAdded would consider.
   */
  assignedPodUpdated(oldPod: Pod, newPod: Pod, event: ClusterEvent = EVENT_ASSIGNED_POD_UPDATE): void {
    if (matchClusterEvent(EVENT_POD_SCALE_DOWN, event)) {
      this.moveAllToActiveOrBackoffQueue(event, oldPod, newPod);
      return;
    }
    this.movePodsToActiveOrBackoffQueue(this.unschedulablePodsWithCrossTopologyTerm(newPod), event, clusterEventLabel(event), oldPod, newPod);
  }

  // ---- nominated pods ----

  /** Records a nomination (preemption picked a node for the pod). */
  addNominatedPod(pod: Pod | PodInfo, info?: NominatingInfo): void {
    this.nominator.add("requests" in pod ? pod : newPodInfo(pod), info);
  }

  /** Updates the stored pod of a nomination (keeps the in-memory node if the update carries none). */
  updateNominatedPod(oldPod: Pod, newPod: Pod): void {
    this.nominator.update(oldPod, newPodInfo(newPod));
  }

  /** Forgets a nomination. */
  deleteNominatedPodIfExists(pod: Pod): void {
    this.nominator.delete(pod);
  }

  /** The pods nominated to run on nodeName, waiting for preemption victims to go. */
  nominatedPodsForNode(nodeName: string): PodInfo[] {
    return this.nominator.forNode(nodeName);
  }

  // ---- introspection ----

  /** Pod counts per sub-queue (for scheduler_pending_pods). */
  pendingPods(): PendingPodCounts {
    let gated = 0;
    for (const info of this.unschedulablePods.values()) if (info.gatingPlugin !== undefined) gated++;
    return { active: this.activeQ.length, backoff: this.backoffQ.length, unschedulable: this.unschedulablePods.size - gated, gated };
  }

  /** Every pending pod (not the in-flight ones), for debugging. */
  pendingPodList(): Pod[] {
    return [...this.activeQ.list(), ...this.backoffQ.list(), ...this.unschedulablePods.values()].map((i) => i.pod);
  }

  /** The pods in activeQ, in no particular order. */
  podsInActiveQ(): Pod[] {
    return this.activeQ.list().map((i) => i.pod);
  }

  /** The pods in backoffQ, in no particular order. */
  podsInBackoffQ(): Pod[] {
    return this.backoffQ.list().map((i) => i.pod);
  }

  /** The pods in unschedulablePods (gated ones included). */
  unschedulablePodList(): Pod[] {
    return [...this.unschedulablePods.values()].map((i) => i.pod);
  }

  /** The number of pods popped and not yet returned or done. */
  inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Where the pod with this key (uid) is, if anywhere. */
  locate(uid: string): QueueLocation | undefined {
    if (this.activeQ.has(uid)) return "active";
    if (this.backoffQ.has(uid)) return "backoff";
    const u = this.unschedulablePods.get(uid);
    if (u !== undefined) return u.gatingPlugin !== undefined ? "gated" : "unschedulable";
    const f = this.inFlight.get(uid);
    if (f !== undefined && !f.deleted) return "inFlight";
    return undefined;
  }

  /** The queue's record of a pending pod (activeQ, backoffQ or unschedulablePods). */
  get(uid: string): QueuedPodInfo | undefined {
    return this.activeQ.get(uid) ?? this.backoffQ.get(uid) ?? this.unschedulablePods.get(uid);
  }

  /** How long a pod backs off after `attempts` attempts: initial × 2^(attempts−1), capped; 0 before any attempt. */
  backoffDuration(info: Pick<QueuedPodInfo, "attempts">): number {
    if (info.attempts === 0) return 0;
    let d = this.initialBackoffMs;
    for (let i = 1; i < info.attempts; i++) {
      if (d > this.maxBackoffMs - d) return this.maxBackoffMs;
      d += d;
    }
    return d;
  }

  /** True while the pod's backoff (from its timestamp) has not ended. */
  isPodBackingOff(info: QueuedPodInfo): boolean {
    return this.backoffExpiry(info) > this.clock.now();
  }

  // ---- periodic flushes (public so tests and the lead can drive them directly) ----

  /** Moves every pod whose backoff has ended from backoffQ to activeQ. */
  flushBackoffQCompleted(): void {
    for (;;) {
      const head = this.backoffQ.peek();
      if (head === undefined || this.isPodBackingOff(head)) break;
      this.backoffQ.pop();
      this.moveToActiveQ(head, QueueEventLabel.BackoffComplete);
    }
    this.wake();
  }

  /** Moves pods left in unschedulablePods longer than podMaxInUnschedulablePodsDuration. */
  flushUnschedulablePodsLeftover(): void {
    const now = this.clock.now();
    const stale: QueuedPodInfo[] = [];
    for (const info of this.unschedulablePods.values()) if (now - info.timestamp > this.maxInUnschedulableMs) stale.push(info);
    if (stale.length > 0) this.movePodsToActiveOrBackoffQueue(stale, WILDCARD_EVENT, QueueEventLabel.UnschedulableTimeout, undefined, undefined);
  }

  // ---- internals ----

  private newQueuedPodInfo(pod: Pod): QueuedPodInfo {
    return { pod, podInfo: newPodInfo(pod), timestamp: this.clock.now(), attempts: 0, initialAttemptTimestamp: undefined, unschedulablePlugins: new Set() };
  }

  private setPod(info: QueuedPodInfo, pod: Pod): void {
    info.pod = pod;
    info.podInfo = newPodInfo(pod);
  }

  private find(key: string): QueuedPodInfo | undefined {
    const flight = this.inFlight.get(key);
    return this.get(key) ?? (flight !== undefined && !flight.deleted ? flight.info : undefined);
  }

  private backoffExpiry(info: QueuedPodInfo): number {
    return info.timestamp + this.backoffDuration(info);
  }

  private popNow(): QueuedPodInfo {
    const info = this.activeQ.pop()!;
    info.attempts++;
    this.schedCycle++;
    // The plugins that rejected the previous attempt are cleared; the failure of this one records its own.
    info.unschedulablePlugins.clear();
    info.pendingPlugins?.clear();
    this.inFlight.set(podKey(info.pod), { info, deleted: false, updated: false });
    return info;
  }

  /** Serves waiting pops from activeQ (upstream's cond.Broadcast, run at the end of each operation). */
  private wake(): void {
    while (this.waiters.length > 0 && this.activeQ.length > 0) {
      const w = this.waiters.shift()!;
      if (w.onAbort !== undefined) w.signal?.removeEventListener("abort", w.onAbort);
      w.resolve(this.popNow());
    }
  }

  /** Runs the PreEnqueue plugins; records the first that gates the pod. */
  private runPreEnqueuePlugins(info: QueuedPodInfo): void {
    for (const pl of this.preEnqueuePlugins) {
      if (!pl.preEnqueue(info.pod)) {
        info.gatingPlugin = pl.name;
        info.unschedulablePlugins.add(pl.name);
        return;
      }
    }
    info.gatingPlugin = undefined;
  }

  /** Adds the pod to activeQ unless a PreEnqueue plugin gates it (then it stays in unschedulablePods). */
  private moveToActiveQ(info: QueuedPodInfo, event: string): boolean {
    const key = podKey(info.pod);
    this.runPreEnqueuePlugins(info);
    if (info.gatingPlugin !== undefined) {
      if (this.activeQ.has(key) || this.backoffQ.has(key) || this.unschedulablePods.has(key)) return false;
      this.unschedulablePods.set(key, info);
      this.onIncoming?.("gated", event);
      return false;
    }
    info.initialAttemptTimestamp ??= this.clock.now();
    this.unschedulablePods.delete(key);
    this.backoffQ.delete(key);
    this.activeQ.addOrUpdate(info);
    this.onIncoming?.("active", event);
    // A pod arriving with status.nominatedNodeName (say, after a scheduler restart) keeps its
    // nomination. Unlike upstream, a nomination already held in memory is not cleared here.
    if ((event === QueueEventLabel.PodAdd || event === QueueEventLabel.PodUpdate) && this.nominator.nodeFor(info.pod) === undefined) {
      this.nominator.add(info.podInfo ?? newPodInfo(info.pod));
    }
    return true;
  }

  private moveToBackoffQ(info: QueuedPodInfo, event: string): void {
    this.unschedulablePods.delete(podKey(info.pod));
    this.backoffQ.addOrUpdate(info);
    this.onIncoming?.("backoff", event);
  }

  /** True if some plugin registered an event this one matches (a wildcard interests everyone). */
  private isEventOfInterest(event: ClusterEvent): boolean {
    if (isWildCard(event)) return true;
    for (const events of this.pluginEvents.values()) if (matchAnyClusterEvent(events, event)) return true;
    return false;
  }

  /**
   * How the event requeues this pod (upstream's isPodWorthRequeuing without queueing hints): no
   * rejecting plugins → after backoff; a wildcard → after backoff (unless it names another pod);
   * a rejecting plugin registered it → at once if that plugin said Pending, else after backoff.
   */
  private isPodWorthRequeuing(info: QueuedPodInfo, event: ClusterEvent, newObj: unknown): Strategy {
    const rejectors = rejectorsOf(info);
    if (rejectors.size === 0) return "afterBackoff";
    if (isWildCard(event)) {
      if (newObj !== undefined && podKeyOf(newObj) !== podKey(info.pod)) return "skip";
      return "afterBackoff";
    }
    let strategy: Strategy = "skip";
    for (const plugin of rejectors) {
      if (!matchAnyClusterEvent(this.pluginEvents.get(plugin) ?? [], event)) continue;
      if (info.pendingPlugins?.has(plugin) === true) return "immediately";
      strategy = "afterBackoff";
    }
    return strategy;
  }

  private movePodsToActiveOrBackoffQueue(infos: readonly QueuedPodInfo[], event: ClusterEvent, label: string, _oldObj: unknown, newObj: unknown): void {
    if (!this.isEventOfInterest(event)) return;
    for (const info of infos) {
      if (info.gatingPlugin !== undefined && !matchAnyClusterEvent(this.pluginEvents.get(info.gatingPlugin) ?? [], event)) continue;
      const strategy = this.isPodWorthRequeuing(info, event, newObj);
      if (strategy === "skip") continue;
      this.unschedulablePods.delete(podKey(info.pod));
      if (strategy === "afterBackoff" && this.isPodBackingOff(info)) this.moveToBackoffQ(info, label);
      else this.moveToActiveQ(info, label);
    }
    // Any pod in flight now may have missed this event: its failure must not park it.
    this.moveRequestCycle = this.schedCycle;
    this.wake();
  }

  private unschedulablePodsWithCrossTopologyTerm(pod: Pod): QueuedPodInfo[] {
    const ns = pod.metadata?.namespace ?? "";
    const nsLabels = this.namespaceLabels?.(ns);
    const out: QueuedPodInfo[] = [];
    for (const info of this.unschedulablePods.values()) {
      if (info.unschedulablePlugins.has(POD_TOPOLOGY_SPREAD) && (info.pod.metadata?.namespace ?? "") === ns) {
        out.push(info);
        continue;
      }
      const terms = (info.podInfo ?? newPodInfo(info.pod)).requiredAffinityTerms;
      if (terms.some((t) => affinityTermMatches(t, pod, nsLabels))) out.push(info);
    }
    return out;
  }
}

function isWildCard(e: ClusterEvent): boolean {
  return e.resource === "*" && e.actionType === "All";
}

function rejectorsOf(info: QueuedPodInfo): Set<string> {
  if (info.pendingPlugins === undefined || info.pendingPlugins.size === 0) return info.unschedulablePlugins;
  return new Set([...info.unschedulablePlugins, ...info.pendingPlugins]);
}

function podKeyOf(obj: unknown): string | undefined {
  if (typeof obj !== "object" || obj === null || !("metadata" in obj)) return undefined;
  return podKey(obj as Pod);
}
