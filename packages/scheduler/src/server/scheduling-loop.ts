/**
 * The leader's work (kube-scheduler's scheduleOne): pop the next pod, run the algorithm on a
 * fresh snapshot of the cache, and then either
 * - assume the pod on the chosen node (the cache counts it there at once, so the next decision
 *   cannot overcommit the node) and bind it in the background — a failed bind forgets the
 *   assumption and sends the pod back to the queue, unless it is gone or bound already; or
 * - record why it does not fit (FailedScheduling event, PodScheduled=False condition), preempt
 *   lower-priority pods if that would help (victims deleted, pod nominated), and park it in the
 *   queue until a cluster event could make it fit.
 */
import type { ApiClient, Clock, EventRecorder, KubeObject, Lister, Logger } from "@kubemu/common";
import { isConflict, isNotFound, Resources } from "@kubemu/common";
import type { Pod, PodCondition } from "kubernetes-types/core/v1.js";
import type { QueuedPodInfo, SchedulingQueue } from "../queue/scheduling-queue.js";
import type { SchedulerCache } from "../cache/cache.js";
import type { ScheduleOutcome, Unschedulable } from "../algorithm/schedule-one.js";
import type { VolumeDecisions } from "../plugins/volume-binding.js";
import type { SchedulerMetrics } from "./metrics.js";

/** Runs one scheduling attempt on the cache's current state. */
export type Algorithm = (info: QueuedPodInfo) => ScheduleOutcome;

export interface SchedulingLoopOptions {
  client: Pick<ApiClient, "bind" | "patch" | "delete">;
  recorder: Pick<EventRecorder, "event">;
  queue: SchedulingQueue;
  cache: SchedulerCache;
  algorithm: Algorithm;
  /** The pod informer's cache: the latest state of a popped pod. */
  pods: Lister<Pod & KubeObject>;
  /** The claim informer's cache (claim uids for PV claimRefs). */
  pvcs?: Lister<KubeObject>;
  metrics: SchedulerMetrics;
  clock: Clock;
  logger: Logger;
  /** Profile name for metrics (upstream's default profile is the scheduler name). */
  profile?: string;
  /** Binds in flight at most; the loop waits when reached (default 256: upstream binds in unbounded goroutines). */
  maxInFlightBinds?: number;
}

/**
 * Work between two yields to the event loop: far under the lease renewals (every 0.5 s, deadline
 * 2 s in the fast profile) and the wire pings, while long enough to keep binds batched into few
 * store commits (yielding every 5 ms cost a fifth of the throughput: more fsyncs per bind).
 */
const YIELD_AFTER_MS = 50;

const podKey = (p: Pod) => `${p.metadata?.namespace ?? ""}/${p.metadata?.name ?? ""}`;

export class SchedulingLoop {
  private readonly o: SchedulingLoopOptions;
  private readonly profile: string;
  private readonly maxBinds: number;
  private inFlight = 0;
  private bindSlotWaiters: (() => void)[] = [];
  private readonly binds = new Set<Promise<void>>();
  /** The PodScheduled patch in flight per pod uid; the pod's next bind waits for it. */
  private readonly statusPatches = new Map<string, Promise<void>>();

  constructor(o: SchedulingLoopOptions) {
    this.o = o;
    this.profile = o.profile ?? "default-scheduler";
    this.maxBinds = o.maxInFlightBinds ?? 256;
  }

  /**
   * Schedules until the signal aborts, then waits for binds in flight. A pop from a non-empty
   * queue and a freed bind slot both resume the loop as microtasks, so a backlog of pods (or one
   * socket read that completes hundreds of binds) would otherwise keep the event loop busy for
   * seconds: no timers (lease renewals, informer and wire pings), no socket reads. The loop
   * therefore yields to the macrotask queue after every {@link YIELD_AFTER_MS} of work.
   */
  async run(signal: AbortSignal): Promise<void> {
    let lastYield = this.o.clock.monotonic();
    while (!signal.aborted) {
      if (this.o.clock.monotonic() - lastYield >= YIELD_AFTER_MS) {
        await new Promise<void>((r) => setImmediate(r));
        lastYield = this.o.clock.monotonic();
        if (signal.aborted) break;
      }
      const info = await this.o.queue.pop(signal).catch(() => undefined);
      if (!info || signal.aborted) break;
      try {
        await this.scheduleOne(info, signal);
      } catch (e) {
        this.o.logger.error({ pod: podKey(info.pod), err: e instanceof Error ? (e.stack ?? e.message) : String(e) }, "scheduling attempt failed");
        this.requeue(info, this.o.queue.schedulingCycle());
      }
    }
    await Promise.all(this.binds);
  }

  private async scheduleOne(info: QueuedPodInfo, signal: AbortSignal): Promise<void> {
    const uid = info.pod.metadata!.uid!;
    const current = this.o.pods.get(info.pod.metadata?.namespace, info.pod.metadata?.name ?? "") as Pod | undefined;
    // Deleted, being deleted, or bound meanwhile: nothing to do (upstream's skipPodSchedule).
    // An assumed pod is bound or being bound by us already, whatever stale update re-queued it.
    if (!current || current.metadata?.uid !== uid || current.metadata?.deletionTimestamp || current.spec?.nodeName || this.o.cache.isAssumedPod(current)) {
      this.o.queue.done(uid);
      return;
    }
    const pod = info.pod;
    const cycle = this.o.queue.schedulingCycle();
    const start = this.o.clock.monotonic();
    let outcome: ScheduleOutcome;
    try {
      outcome = this.o.algorithm(info);
    } catch (e) {
      outcome = { kind: "Error", message: e instanceof Error ? e.message : String(e), error: e instanceof Error ? e : new Error(String(e)) };
    }
    this.o.metrics.algorithmDuration.observe((this.o.clock.monotonic() - start) / 1000);
    if (outcome.kind !== "Scheduled") {
      await this.failed(info, pod, outcome, cycle, start, signal);
      return;
    }
    const assumed: Pod = { ...pod, spec: { ...pod.spec!, nodeName: outcome.nodeName } };
    this.o.cache.assumePod(assumed);
    this.o.queue.deleteNominatedPodIfExists(pod);
    if (this.inFlight >= this.maxBinds) await new Promise<void>((r) => this.bindSlotWaiters.push(r));
    if (signal.aborted) {
      // Lost the lease between deciding and binding: undo, the next leader decides again.
      this.forget(assumed);
      this.o.queue.done(uid);
      return;
    }
    this.inFlight++;
    const bind = this.bindingCycle(info, assumed, outcome.nodeName, outcome.volumes, start, signal)
      .catch((e: unknown) => {
        this.o.logger.error({ pod: podKey(pod), err: e instanceof Error ? (e.stack ?? e.message) : String(e) }, "binding cycle failed");
        this.forget(assumed);
        this.requeue(info, this.o.queue.schedulingCycle());
      })
      .finally(() => {
      this.inFlight--;
      this.binds.delete(bind);
      this.bindSlotWaiters.shift()?.();
    });
    this.binds.add(bind);
  }

  /** Back to the queue after a failed attempt; never throws (the loop must go on whatever happened). */
  private requeue(info: QueuedPodInfo, cycle: number): void {
    try {
      this.o.queue.addUnschedulableIfNotPresent(info, cycle);
    } catch (e) {
      // Already back in the queue (an informer event re-added it meanwhile): nothing is lost.
      this.o.logger.debug({ pod: podKey(info.pod), err: e instanceof Error ? e.message : String(e) }, "pod already queued");
    }
    this.o.queue.done(info.pod.metadata!.uid!);
  }

  /**
   * Undoes an assumption. A bind whose answer was lost (its API server died) may have landed: the
   * informer then confirmed the pod on its node before we got here, and there is nothing to undo.
   */
  private forget(assumed: Pod): void {
    if (!this.o.cache.isAssumedPod(assumed)) return;
    try {
      this.o.cache.forgetPod(assumed);
    } catch (e) {
      this.o.logger.error({ pod: podKey(assumed), err: e instanceof Error ? e.message : String(e) }, "scheduler cache ForgetPod failed");
    }
  }

  private async bindingCycle(info: QueuedPodInfo, assumed: Pod, nodeName: string, volumes: VolumeDecisions | undefined, start: number, signal: AbortSignal): Promise<void> {
    const pod = info.pod;
    const ns = pod.metadata!.namespace!;
    const name = pod.metadata!.name!;
    const uid = pod.metadata!.uid!;
    try {
      // A status patch of an earlier failed attempt must not land after this bind.
      await this.statusPatches.get(uid);
      // Lost the lease meanwhile: this term's decisions are not ours to write any more.
      if (signal.aborted) throw new Error("leadership lost before binding");
      if (volumes) await this.bindVolumes(volumes);
      await this.o.client.bind(ns, name, nodeName, { uid });
    } catch (e) {
      this.forget(assumed);
      // The room it took is free again: pods waiting for room may fit now (upstream does the same).
      this.o.queue.moveAllToActiveOrBackoffQueue({ resource: "AssignedPod", actionType: "Delete" }, assumed, undefined);
      this.o.metrics.scheduleAttempts.inc({ result: "error", profile: this.profile });
      this.o.metrics.attemptDuration.observe({ result: "error", profile: this.profile }, (this.o.clock.monotonic() - start) / 1000);
      if (isNotFound(e) || isConflict(e) || signal.aborted) {
        // Deleted, bound by someone else, or no longer ours: the informer tells the queue and cache.
        this.o.logger.info({ pod: `${ns}/${name}`, err: e instanceof Error ? e.message : String(e) }, "bind not needed any more");
        this.o.queue.done(uid);
        return;
      }
      const message = `Binding rejected: ${e instanceof Error ? e.message : String(e)}`;
      this.o.logger.warn({ pod: `${ns}/${name}`, node: nodeName, err: message }, "bind failed; retrying with backoff");
      this.o.recorder.event(pod as KubeObject, "Warning", "FailedScheduling", message);
      // An error, not "unschedulable": the pod waits out its backoff and is tried again.
      info.unschedulablePlugins = new Set();
      this.requeue(info, this.o.queue.schedulingCycle());
      return;
    }
    // Bound. Nothing below may turn it into a failed bind.
    this.o.queue.done(uid);
    try {
      this.o.cache.finishBinding(assumed);
    } catch (e) {
      this.o.logger.warn({ pod: `${ns}/${name}`, err: e instanceof Error ? e.message : String(e) }, "scheduler cache FinishBinding failed");
    }
    const seconds = (this.o.clock.monotonic() - start) / 1000;
    this.o.metrics.scheduleAttempts.inc({ result: "scheduled", profile: this.profile });
    this.o.metrics.attemptDuration.observe({ result: "scheduled", profile: this.profile }, seconds);
    this.o.metrics.podSchedulingAttempts.observe(info.attempts);
    if (info.initialAttemptTimestamp !== undefined) this.o.metrics.podSchedulingSli.observe({ attempts: String(info.attempts) }, (this.o.clock.now() - info.initialAttemptTimestamp) / 1000);
    this.o.recorder.event(pod as KubeObject, "Normal", "Scheduled", `Successfully assigned ${ns}/${name} to ${nodeName}`);
  }

  /**
   * VolumeBinding's PreBind: PVs chosen for WaitForFirstConsumer claims get their claimRef (the
   * PV controller completes the binding), and claims to provision learn their node through the
   * `volume.kubernetes.io/selected-node` annotation the provisioner waits for.
   */
  private async bindVolumes(v: VolumeDecisions): Promise<void> {
    for (const b of v.bindings) {
      const claim = this.o.pvcs?.get(b.claimNamespace, b.claimName);
      const claimRef = { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace: b.claimNamespace, name: b.claimName, ...(claim?.metadata.uid ? { uid: claim.metadata.uid } : {}) };
      await this.o.client.patch(Resources.persistentVolumes, undefined, b.persistentVolumeName, "merge", { metadata: { annotations: { "pv.kubernetes.io/bound-by-controller": "yes" } }, spec: { claimRef } });
    }
    for (const p of v.provisions) {
      await this.o.client.patch(Resources.persistentVolumeClaims, p.claimNamespace, p.claimName, "merge", { metadata: { annotations: { "volume.kubernetes.io/selected-node": p.selectedNode } } });
    }
  }

  private async failed(info: QueuedPodInfo, pod: Pod, outcome: Exclude<ScheduleOutcome, { kind: "Scheduled" }>, cycle: number, start: number, signal: AbortSignal): Promise<void> {
    const result = outcome.kind === "Unschedulable" ? "unschedulable" : "error";
    this.o.metrics.scheduleAttempts.inc({ result, profile: this.profile });
    this.o.metrics.attemptDuration.observe({ result, profile: this.profile }, (this.o.clock.monotonic() - start) / 1000);
    if (outcome.kind === "Error") this.o.logger.warn({ pod: podKey(pod), err: outcome.message }, "error scheduling pod; retrying");
    info.unschedulablePlugins = outcome.kind === "Unschedulable" ? outcome.unschedulablePlugins : new Set();
    const nominated = outcome.kind === "Unschedulable" ? outcome.nominatedNodeName : undefined;
    if (outcome.kind === "Unschedulable") await this.applyPreemption(pod, outcome, signal);
    this.requeue(info, cycle);
    this.o.recorder.event(pod as KubeObject, "Warning", "FailedScheduling", outcome.message);
    // In the background, like the binds: a burst of unschedulable pods must not wait on round trips.
    const uid = pod.metadata!.uid!;
    const patch = this.setUnschedulable(pod, outcome.kind === "Unschedulable" ? "Unschedulable" : "SchedulerError", outcome.message, nominated).finally(() => {
      if (this.statusPatches.get(uid) === patch) this.statusPatches.delete(uid);
    });
    this.statusPatches.set(uid, patch);
    this.background(patch);
  }

  /** Preemption's verdict: victims deleted, the pod nominated, lower nominations cleared. */
  private async applyPreemption(pod: Pod, u: Unschedulable, signal: AbortSignal): Promise<void> {
    if (u.nominatedNodeName) {
      this.o.metrics.preemptionAttempts.inc();
      this.o.metrics.preemptionVictims.observe(u.victims.length);
      this.o.queue.addNominatedPod({ ...pod, status: { ...pod.status, nominatedNodeName: u.nominatedNodeName } });
      for (const other of u.clearNominationOf) {
        this.o.queue.deleteNominatedPodIfExists(other);
        this.background(this.patchStatus(other, { nominatedNodeName: null }));
      }
      await this.preempt(pod, u.nominatedNodeName, u.victims, signal);
    } else if (u.nominatedNodeName === "" && pod.status?.nominatedNodeName) {
      this.o.queue.deleteNominatedPodIfExists(pod);
      this.background(this.patchStatus(pod, { nominatedNodeName: null }));
    }
  }

  private async patchStatus(pod: Pod, status: Record<string, unknown>): Promise<void> {
    try {
      await this.o.client.patch(Resources.pods, pod.metadata!.namespace!, pod.metadata!.name!, "strategic", { status }, { subresource: "status" });
    } catch (e) {
      if (!isNotFound(e)) this.o.logger.warn({ pod: podKey(pod), err: e instanceof Error ? e.message : String(e) }, "could not update a pod's status");
    }
  }

  private background(p: Promise<void>): void {
    const tracked = p
      .catch((e: unknown) => this.o.logger.warn({ err: e instanceof Error ? e.message : String(e) }, "background write failed"))
      .finally(() => this.binds.delete(tracked));
    this.binds.add(tracked);
  }

  /** Deletes the victims (each told why first) so the preemptor fits on its nominated node. */
  private async preempt(preemptor: Pod, nodeName: string, victims: Pod[], signal: AbortSignal): Promise<void> {
    const schedulerName = preemptor.spec?.schedulerName || "default-scheduler";
    await Promise.all(
      victims.map(async (v) => {
        const ns = v.metadata!.namespace!;
        const name = v.metadata!.name!;
        // A leader that lost its lease deletes nothing more.
        if (signal.aborted) return;
        try {
          const condition: PodCondition = { type: "DisruptionTarget", status: "True", reason: "PreemptionByScheduler", message: `${schedulerName}: preempting to accommodate a higher priority pod`, lastTransitionTime: new Date(this.o.clock.now()).toISOString().replace(/\.\d{3}Z$/, "Z") };
          await this.o.client.patch(Resources.pods, ns, name, "strategic", { status: { conditions: [condition] } }, { subresource: "status" }).catch(() => undefined);
          if (signal.aborted) return;
          await this.o.client.delete(Resources.pods, ns, name, { preconditions: { uid: v.metadata!.uid! } });
          this.o.recorder.event(v as KubeObject, "Normal", "Preempted", `Preempted by pod ${preemptor.metadata?.uid ?? ""} on node ${nodeName}`);
        } catch (e) {
          if (!isNotFound(e)) this.o.logger.warn({ victim: `${ns}/${name}`, err: e instanceof Error ? e.message : String(e) }, "could not preempt a victim");
        }
      }),
    );
  }

  /** Sets PodScheduled=False (and nominatedNodeName) unless the pod already says exactly that. */
  private async setUnschedulable(pod: Pod, reason: string, message: string, nominatedNodeName: string | undefined): Promise<void> {
    const current = this.o.pods.get(pod.metadata?.namespace, pod.metadata?.name ?? "") as Pod | undefined;
    // Gone, bound, or a same-name successor: this verdict is not about it.
    if (!current || current.spec?.nodeName || current.metadata?.uid !== pod.metadata?.uid) return;
    const existing = current.status?.conditions?.find((c) => c.type === "PodScheduled");
    const sameCondition = existing && existing.status === "False" && existing.reason === reason && existing.message === message;
    const sameNomination = nominatedNodeName === undefined || (current.status?.nominatedNodeName ?? "") === nominatedNodeName;
    if (sameCondition && sameNomination) return;
    const now = new Date(this.o.clock.now()).toISOString().replace(/\.\d{3}Z$/, "Z");
    const condition = { type: "PodScheduled", status: "False", reason, message, lastProbeTime: null, lastTransitionTime: existing && existing.status === "False" ? existing.lastTransitionTime : now };
    const status: Record<string, unknown> = { conditions: [condition] };
    if (nominatedNodeName !== undefined) status.nominatedNodeName = nominatedNodeName === "" ? null : nominatedNodeName;
    try {
      await this.o.client.patch(Resources.pods, current.metadata!.namespace!, current.metadata!.name!, "strategic", { status }, { subresource: "status" });
    } catch (e) {
      if (!isNotFound(e)) this.o.logger.warn({ pod: podKey(current), err: e instanceof Error ? e.message : String(e) }, "could not update the pod's PodScheduled condition");
    }
  }
}
