/**
 * One StatefulSet's control loop (upstream's defaultStatefulSetControl): find the current and
 * update revisions, make the pods match — scale up in ordinal order waiting for each pod to be
 * Running and Ready (OrderedReady) or all at once (Parallel), replace failed pods, scale down from
 * the highest ordinal, roll the pods above the partition to the update revision from the highest
 * ordinal down — then write the status and trim the revision history.
 */
import type { Clock, LabelSelector, Logger } from "@kubemu/common";
import { Resources, isNotFound } from "@kubemu/common";
import { controllerOf } from "../../controller/controller-ref.js";
import { equalRevision, findEqualRevisions, sortControllerRevisions, type History, type RevisionObject } from "../../controller/history.js";
import { aggregate } from "./errors.js";
import {
  allowsBurst,
  identityMatches,
  isCreated,
  isFailed,
  isHealthy,
  isPending,
  isRunningAndAvailable,
  isRunningAndReady,
  isSucceeded,
  isTerminating,
  newVersionedStatefulSetPod,
  ordinalOf,
  podInOrdinalRange,
  podRevision,
  replicasOf,
  startOrdinal,
  storageMatches,
} from "./identity.js";
import { scaledValueFromIntOrPercent } from "../../controller/int-or-percent.js";
import { applyRevision, newRevision, nextRevision } from "./revisions.js";
import type { StatefulPodControl } from "./stateful-pod-control.js";
import { completeRollingUpdate, countPods, inconsistentStatus } from "./status.js";
import type { PodObject, SetStatus, StatefulSetObject } from "./types.js";

/** Most pods a Parallel set creates or deletes at once (upstream's MaxBatchSize). */
const MAX_BATCH_SIZE = 500;

export interface StatefulSetControlDeps {
  podControl: StatefulPodControl;
  statusUpdater: { update(set: StatefulSetObject, status: SetStatus): Promise<void> };
  history: History;
  clock: Clock;
  logger: Logger;
}

interface Revisions {
  current?: RevisionObject;
  update?: RevisionObject;
  collisionCount: number;
}

/** The outcome of a pass: a status to record even when err says the pass stopped early. */
interface Pass {
  status: SetStatus;
  err?: unknown;
}

export class StatefulSetControl {
  constructor(private readonly d: StatefulSetControlDeps) {}

  /** The revisions the set controls or nobody does, matching its selector. */
  listRevisions(set: StatefulSetObject, selector: LabelSelector): RevisionObject[] {
    return this.d.history.list(set, selector);
  }

  async adoptOrphanRevisions(set: StatefulSetObject, revisions: readonly RevisionObject[]): Promise<void> {
    for (const r of revisions) await this.d.history.adopt(set, Resources.statefulSets, r);
  }

  /** Reconciles the set's pods and status; resolves to the status written (undefined if none could be computed). */
  async updateStatefulSet(original: StatefulSetObject, selector: LabelSelector, pods: readonly PodObject[]): Promise<SetStatus | undefined> {
    const set = structuredClone(original);
    const revisions = sortControllerRevisions(this.listRevisions(set, selector));
    const { current, update, status, err } = await this.performUpdate(set, pods, revisions);
    const truncateErr = await this.truncateHistory(set, pods, revisions, current, update).then(
      () => undefined,
      (e: unknown) => e,
    );
    const failure = aggregate([err, truncateErr].filter((e) => e !== undefined));
    if (failure) throw failure;
    return status;
  }

  private async performUpdate(set: StatefulSetObject, pods: readonly PodObject[], revisions: RevisionObject[]): Promise<{ current?: RevisionObject; update?: RevisionObject; status?: SetStatus; err?: unknown }> {
    let revs: Revisions;
    try {
      revs = await this.statefulSetRevisions(set, revisions);
    } catch (err) {
      return { err };
    }
    const { current, update } = revs as Required<Revisions>;
    let pass: Pass;
    try {
      pass = await this.updatePods(set, current, update, revs.collisionCount, pods);
    } catch (err) {
      return { current, update, err };
    }
    let statusErr: unknown;
    try {
      await this.updateStatus(set, pass.status);
    } catch (e) {
      statusErr = e;
      if (pass.err !== undefined) this.d.logger.error({ statefulSet: key(set), err: String(e) }, "Could not update status");
    }
    return { current, update, status: pass.status, err: pass.err ?? statusErr };
  }

  /**
   * The current revision (status.currentRevision, or the update revision for a new set) and the
   * update revision: the newest revision if the template did not change, an older equal one
   * renumbered as the newest (a rollback), or a new one.
   */
  private async statefulSetRevisions(set: StatefulSetObject, revisions: RevisionObject[]): Promise<Revisions> {
    let collisionCount = set.status?.collisionCount ?? 0;
    let update: RevisionObject = newRevision(set, nextRevision(revisions), collisionCount);
    const equal = findEqualRevisions(revisions, update);
    const newest = revisions[revisions.length - 1];
    if (equal.length > 0 && equalRevision(newest, equal[equal.length - 1])) {
      update = newest!;
    } else if (equal.length > 0) {
      update = await this.d.history.update(equal[equal.length - 1]!, update.revision);
    } else {
      const created = await this.d.history.create(set, update, collisionCount);
      update = created.revision;
      collisionCount = created.collisionCount;
    }
    const current = revisions.find((r) => r.metadata.name === set.status?.currentRevision) ?? update;
    return { current, update, collisionCount };
  }

  private async updatePods(set: StatefulSetObject, currentRevision: RevisionObject, updateRevision: RevisionObject, collisionCount: number, pods: readonly PodObject[]): Promise<Pass> {
    const currentSet = applyRevision(set, currentRevision);
    const updateSet = applyRevision(set, updateRevision);
    const minReadySeconds = set.spec.minReadySeconds ?? 0;
    const now = this.d.clock.now();
    const status: SetStatus = {
      observedGeneration: set.metadata.generation ?? 0,
      currentRevision: currentRevision.metadata.name!,
      updateRevision: updateRevision.metadata.name!,
      collisionCount,
      replicas: 0,
      readyReplicas: 0,
      availableReplicas: 0,
      currentReplicas: 0,
      updatedReplicas: 0,
    };
    countPods(status, minReadySeconds, now, [...pods]);

    // Pods in the ordinal range by their place in it; valid ordinals outside it are condemned.
    const start = startOrdinal(set);
    const replicas: PodObject[] = new Array<PodObject>(replicasOf(set));
    const condemned: PodObject[] = [];
    for (const pod of pods) {
      if (podInOrdinalRange(pod, set)) replicas[ordinalOf(pod) - start] = pod;
      else if (ordinalOf(pod) >= 0) condemned.push(pod);
    }
    for (let i = 0; i < replicas.length; i++) replicas[i] ??= newVersionedStatefulSetPod(currentSet, updateSet, currentRevision.metadata.name!, updateRevision.metadata.name!, start + i);
    condemned.sort((a, b) => ordinalOf(b) - ordinalOf(a));

    // The first unhealthy pod: the lowest replica, else the lowest condemned one.
    let firstUnhealthy = replicas.find((p) => !isHealthy(p));
    for (let i = condemned.length - 1; i >= 0 && !firstUnhealthy; i--) if (!isHealthy(condemned[i]!)) firstUnhealthy = condemned[i];

    const finish = (err?: unknown): Pass => {
      countPods(status, minReadySeconds, now, replicas, condemned);
      return err === undefined ? { status } : { status, err };
    };
    // A set being deleted only gets its status recorded.
    if (set.metadata.deletionTimestamp) return { status };

    const monotonic = !allowsBurst(set);
    const pc = this.d.podControl;
    try {
      if (await runForAll(replicas.length, (i) => this.processReplica(set, updateSet, monotonic, replicas, i, now), monotonic)) return finish();
      const fixClaims = async (i: number) => {
        if (!pc.claimsMatchRetentionPolicy(updateSet, condemned[i]!)) await pc.updatePodClaimForRetentionPolicy(updateSet, condemned[i]!);
        return false;
      };
      if (await runForAll(condemned.length, fixClaims, monotonic)) return finish();
      if (await runForAll(condemned.length, (i) => this.processCondemned(set, firstUnhealthy, monotonic, condemned, i, now), monotonic)) return finish();
    } catch (err) {
      return finish(err);
    }
    finish();

    // OnDelete: pods take the update revision when someone deletes them.
    if (set.spec.updateStrategy?.type === "OnDelete") return { status };
    const rolling = set.spec.updateStrategy?.rollingUpdate;
    if (rolling?.maxUnavailable !== undefined && rolling.maxUnavailable !== null) return this.rollWithMaxUnavailable(set, replicas, updateRevision, status);

    // Delete the highest-ordinal pod not at the update revision, once every pod above it is healthy.
    const updateMin = rolling?.partition ?? 0;
    for (let target = replicas.length - 1; target >= updateMin; target--) {
      const pod = replicas[target]!;
      if (podRevision(pod) !== updateRevision.metadata.name && !isTerminating(pod)) {
        this.d.logger.info({ statefulSet: key(set), pod: pod.metadata.name }, "Pod of StatefulSet is terminating for update");
        try {
          await pc.deleteStatefulPod(set, pod);
        } catch (err) {
          if (!isNotFound(err)) return { status, err };
        }
        status.currentReplicas--;
        return { status };
      }
      if (!isHealthy(pod)) return { status };
    }
    return { status };
  }

  /**
   * maxUnavailable rolling (upstream's updateStatefulSetAfterInvariantEstablished, the
   * MaxUnavailableStatefulSet behaviour): delete up to maxUnavailable − unhealthy outdated pods
   * above the partition at once, highest ordinal first.
   */
  private async rollWithMaxUnavailable(set: StatefulSetObject, replicas: PodObject[], updateRevision: RevisionObject, status: SetStatus): Promise<Pass> {
    const rolling = set.spec.updateStrategy!.rollingUpdate!;
    const updateMin = rolling.partition ?? 0;
    let maxUnavailable: number;
    try {
      maxUnavailable = Math.max(1, scaledValueFromIntOrPercent(rolling.maxUnavailable ?? 1, replicasOf(set), false));
    } catch (err) {
      return { status, err };
    }
    const unavailable = replicas.filter((p) => !isHealthy(p)).length;
    if (unavailable >= maxUnavailable) return { status };
    let deleted = 0;
    for (let target = replicas.length - 1; target >= updateMin && deleted < maxUnavailable - unavailable; target--) {
      const pod = replicas[target]!;
      if (podRevision(pod) === updateRevision.metadata.name || isTerminating(pod)) continue;
      this.d.logger.info({ statefulSet: key(set), pod: pod.metadata.name }, "StatefulSet terminating Pod for update");
      try {
        await this.d.podControl.deleteStatefulPod(set, pod);
      } catch (err) {
        if (!isNotFound(err)) return { status, err };
      }
      deleted++;
      status.currentReplicas--;
    }
    return { status };
  }

  /** One replica: replace it if it finished, create it if missing, wait on it in OrderedReady, fix its identity. Resolves true to stop the pass. */
  private async processReplica(set: StatefulSetObject, updateSet: StatefulSetObject, monotonic: boolean, replicas: PodObject[], i: number, now: number): Promise<boolean> {
    const pc = this.d.podControl;
    const pod = replicas[i]!;
    // Pods of a StatefulSet never complete (restartPolicy Always): a Failed or Succeeded one is
    // deleted, and made again by the sync after it is gone.
    if (isFailed(pod) || isSucceeded(pod)) {
      if (!pod.metadata.deletionTimestamp) await pc.deleteStatefulPod(set, pod);
      return true;
    }
    if (!isCreated(pod)) {
      if (pc.podClaimIsStale(set, pod)) return true;
      await pc.createStatefulPod(set, pod);
      if (monotonic) return true;
    }
    if (isPending(pod)) await pc.createMissingPersistentVolumeClaims(set, pod);
    if (isTerminating(pod) && monotonic) return true;
    if (!isRunningAndReady(pod) && monotonic) return true;
    if (!isRunningAndAvailable(pod, set.spec.minReadySeconds ?? 0, now) && monotonic) return true;
    let retentionMatch = true;
    try {
      retentionMatch = pc.claimsMatchRetentionPolicy(updateSet, pod);
    } catch {
      // Expected while the pod is not fully updated; treated as matching.
    }
    if (identityMatches(set, pod) && storageMatches(set, pod) && retentionMatch) return false;
    await pc.updateStatefulPod(updateSet, pod);
    return false;
  }

  /** One pod beyond the ordinal range: wait for it or its predecessors in OrderedReady, else delete it. */
  private async processCondemned(set: StatefulSetObject, firstUnhealthy: PodObject | undefined, monotonic: boolean, condemned: PodObject[], i: number, now: number): Promise<boolean> {
    const pod = condemned[i]!;
    if (isTerminating(pod)) return monotonic;
    if (!isRunningAndReady(pod) && monotonic && pod !== firstUnhealthy) return true;
    if (!isRunningAndAvailable(pod, set.spec.minReadySeconds ?? 0, now) && monotonic && pod !== firstUnhealthy) return true;
    this.d.logger.info({ statefulSet: key(set), pod: pod.metadata.name }, "Pod of StatefulSet is terminating for scale down");
    await this.d.podControl.deleteStatefulPod(set, pod);
    return true;
  }

  /** Completes a finished rolling update, then writes the status if it changed. */
  private async updateStatus(set: StatefulSetObject, status: SetStatus): Promise<void> {
    completeRollingUpdate(set, status);
    if (!inconsistentStatus(set, status)) return;
    await this.d.statusUpdater.update(set, status);
  }

  /**
   * Deletes the oldest revisions beyond revisionHistoryLimit, never the current or update
   * revision nor one a pod still runs.
   */
  private async truncateHistory(set: StatefulSetObject, pods: readonly PodObject[], revisions: readonly RevisionObject[], current: RevisionObject | undefined, update: RevisionObject | undefined): Promise<void> {
    const live = new Set<string>(pods.map(podRevision));
    if (current) live.add(current.metadata.name!);
    if (update) live.add(update.metadata.name!);
    const history = revisions.filter((r) => !live.has(r.metadata.name!));
    const limit = set.spec.revisionHistoryLimit ?? 10;
    if (limit < 0 || history.length <= limit) return;
    for (const r of history.slice(0, history.length - limit)) await this.d.history.delete(r);
  }
}

/**
 * fn over 0..n-1: one after another until one asks to stop (OrderedReady), or in batches doubling
 * from 1 up to 500 (Parallel), where every failure of a batch is reported together.
 */
async function runForAll(n: number, fn: (i: number) => Promise<boolean>, monotonic: boolean): Promise<boolean> {
  if (monotonic) {
    for (let i = 0; i < n; i++) if (await fn(i)) return true;
    return false;
  }
  let next = 0;
  for (let batch = Math.min(n, 1); batch > 0; batch = Math.min(2 * batch, n - next, MAX_BATCH_SIZE)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, (_, k) => fn(next + k)));
    next += batch;
    const errors = results.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => r.reason as unknown);
    if (errors.length) throw aggregate(errors);
  }
  return false;
}

function key(set: StatefulSetObject): string {
  return `${set.metadata.namespace}/${set.metadata.name}`;
}

/** The set's orphaned revisions (no controller reference). */
export function orphanRevisions(revisions: readonly RevisionObject[]): RevisionObject[] {
  return revisions.filter((r) => !controllerOf(r));
}
