/**
 * One ReplicaSet's (or ReplicationController's) reconcile, upstream's syncReplicaSet: claim the
 * active pods (adopt matching orphans, release owned pods that stopped matching), create or
 * delete pods toward spec.replicas once earlier writes are observed (expectations), then write
 * status. Built from plain parts so unit tests drive it without informers.
 */
import type { Clock, KubeObject, LabelSelector, Lister, Logger } from "@kubemu/common";
import { Indexes, Resources, objectKey, silentLogger, splitKey } from "@kubemu/common";
import type { Pod } from "kubernetes-types/core/v1.js";
import { rankedPodsForDeletion } from "../../controller/active-pods.js";
import type { ControllerClient } from "../../controller/client.js";
import type { Recorder } from "../../controller/context.js";
import { claimObjects, controllerOf } from "../../controller/controller-ref.js";
import type { UidTrackingExpectations } from "../../controller/expectations.js";
import { PodControl, isNamespaceTerminating, messageOf, podFromTemplate, type PodObject } from "../../controller/pod-control.js";
import { isPodActive, slowStartBatch } from "../../controller/pod-util.js";
import type { ReplicaKind, ReplicaOwner, ReplicaStatus } from "./kind.js";
import { calculateStatus, statusUnchanged } from "./status.js";

/** Creates or deletes at most this many pods per sync (upstream's BurstReplicas). */
export const BURST_REPLICAS = 500;
/** The first slow-start batch (controller.SlowStartInitialBatchSize). */
const SLOW_START_INITIAL_BATCH = 1;
/** Status writes retried once after a fresh read (statusUpdateRetries). */
const STATUS_UPDATE_RETRIES = 1;

export interface ReplicaSetSyncDeps {
  kind: ReplicaKind;
  client: ControllerClient;
  owners: Lister<ReplicaOwner>;
  pods: Lister<PodObject>;
  recorder: Recorder;
  clock: Clock;
  expectations: UidTrackingExpectations;
  /** Requeues a key after `ms` (the check that pods became available after minReadySeconds). */
  enqueueAfter(key: string, ms: number): void;
  burstReplicas?: number;
  logger?: Logger;
}

export class ReplicaSetSync {
  private readonly podControl: PodControl;
  private readonly burst: number;
  private readonly log: Logger;

  constructor(private readonly d: ReplicaSetSyncDeps) {
    this.podControl = new PodControl(d.client, d.recorder);
    this.burst = d.burstReplicas ?? BURST_REPLICAS;
    this.log = d.logger ?? silentLogger;
  }

  /** Reconciles `namespace/name`; throws to be retried with backoff. */
  async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const owner = this.d.owners.get(namespace, name);
    if (!owner) {
      this.d.expectations.delete(key);
      return;
    }
    const needsSync = this.d.expectations.satisfied(key);
    let selector: LabelSelector | undefined;
    try {
      selector = this.d.kind.selector(owner);
    } catch (e) {
      // An invalid selector will not fix itself by retrying (upstream logs it and returns nil).
      this.log.error({ key, err: messageOf(e) }, `error converting pod selector to selector for ${this.d.kind.kind} ${key}`);
      return;
    }

    // Every pod in the namespace, so owned pods whose labels no longer match are released.
    const active = this.d.pods.list({ namespace }).filter(isPodActive);
    const pods = await claimObjects(active, {
      client: this.d.client,
      owner,
      ownerResource: this.d.kind.resource,
      resource: Resources.pods,
      matches: (p) => selector !== undefined && selector.matches(p.metadata.labels),
    });

    let manageError: unknown;
    if (needsSync && !owner.metadata.deletionTimestamp) {
      try {
        await this.manageReplicas(key, owner, pods);
      } catch (e) {
        manageError = e;
      }
    }

    const status = calculateStatus(owner, pods, manageError, this.d.clock.now());
    const updated = await this.updateStatus(owner, status);
    const replicas = updated.spec?.replicas ?? 1;
    const minReadySeconds = updated.spec?.minReadySeconds ?? 0;
    // Requeue once the ready pods should have become available (guards against clock skew too).
    if (manageError === undefined && minReadySeconds > 0 && (updated.status?.readyReplicas ?? 0) === replicas && (updated.status?.availableReplicas ?? 0) !== replicas) {
      this.d.enqueueAfter(key, minReadySeconds * 1000);
    }
    if (manageError !== undefined) throw manageError;
  }

  /** Creates or deletes pods toward spec.replicas (upstream's manageReplicas). */
  private async manageReplicas(key: string, owner: ReplicaOwner, pods: PodObject[]): Promise<void> {
    const diff = pods.length - (owner.spec?.replicas ?? 1);
    if (diff < 0) await this.createPods(key, owner, Math.min(-diff, this.burst));
    else if (diff > 0) await this.deletePods(key, owner, pods, Math.min(diff, this.burst));
  }

  private async createPods(key: string, owner: ReplicaOwner, count: number): Promise<void> {
    this.d.expectations.expectCreations(key, count);
    this.log.debug({ key, need: owner.spec?.replicas, creating: count }, "too few replicas");
    // Slow start: 1, 2, 4, ... so a create every pod would fail (quota, bad template) costs a few requests.
    const { successes, error } = await slowStartBatch(count, SLOW_START_INITIAL_BATCH, async () => {
      try {
        await this.createPod(owner);
      } catch (e) {
        // A terminating namespace refuses every create; there is nothing to do about it.
        if (!isNamespaceTerminating(e)) throw e;
      }
    });
    // Creates never attempted (or failed) will not be observed: stop waiting for them.
    for (let i = successes; i < count; i++) this.d.expectations.creationObserved(key);
    if (error !== undefined) {
      this.log.info({ key, skipped: count - successes, err: messageOf(error) }, "slow-start failure: skipping the remaining creates");
      throw error;
    }
  }

  private async createPod(owner: ReplicaOwner): Promise<void> {
    const template = owner.spec?.template;
    if (!template) throw new Error(`${this.d.kind.kind} ${objectKey(owner)} has no pod template`);
    const pod = podFromTemplate(template, owner, this.d.kind.resource);
    if (Object.keys(pod.metadata.labels ?? {}).length === 0) throw new Error("unable to create pods, no labels");
    await this.podControl.create(pod, owner);
  }

  private async deletePods(key: string, owner: ReplicaOwner, pods: PodObject[], count: number): Promise<void> {
    this.log.debug({ key, need: owner.spec?.replicas, deleting: count }, "too many replicas");
    const victims = count < pods.length ? (rankedPodsForDeletion(pods, this.relatedPods(owner), this.d.clock.now()) as PodObject[]).slice(0, count) : pods.slice(0, count);
    // Expect exactly these pods by key, so a graceful delete (deletionTimestamp set, then gone) counts once.
    this.d.expectations.expectDeletionsOf(key, victims.map(objectKey));
    const results = await Promise.allSettled(
      victims.map(async (p) => {
        try {
          const deleted = await this.podControl.delete(p.metadata.namespace!, p.metadata.name!, owner);
          // Already gone: the informer may never show this deletion.
          if (!deleted) this.d.expectations.deletionObservedOf(key, objectKey(p));
        } catch (e) {
          this.d.expectations.deletionObservedOf(key, objectKey(p));
          throw new Error(`unable to delete pods: ${messageOf(e)}`, { cause: e });
        }
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  }

  /**
   * Pods of every ReplicaSet controlled by the same owner as this one (upstream's
   * getIndirectlyRelatedPods: a Deployment's old and new ReplicaSets), for co-location ranks.
   * Without a controller there are none, so every rank is 0.
   */
  private relatedPods(owner: ReplicaOwner): Pod[] {
    const ref = controllerOf(owner);
    if (!ref) return [];
    const siblings = this.d.owners.byIndex(Indexes.ownerUid, ref.uid).filter((o) => controllerOf(o)?.uid === ref.uid);
    const seen = new Set<string>();
    const related: Pod[] = [];
    for (const s of siblings) {
      let sel: LabelSelector | undefined;
      try {
        sel = this.d.kind.selector(s);
      } catch {
        continue;
      }
      if (!sel) continue;
      for (const p of this.d.pods.list({ namespace: s.metadata.namespace, selector: sel })) {
        const uid = p.metadata.uid ?? objectKey(p);
        if (seen.has(uid)) continue;
        seen.add(uid);
        related.push(p);
      }
    }
    return related;
  }

  /**
   * Writes the status unless nothing changed (upstream's updateReplicaSetStatus): observedGeneration
   * becomes the generation acted on; a failed write is retried once on a fresh read.
   */
  private async updateStatus(owner: ReplicaOwner, status: ReplicaStatus): Promise<ReplicaOwner> {
    if (statusUnchanged(owner, status)) return owner;
    const next: ReplicaStatus = { ...status };
    delete next.observedGeneration;
    if (owner.metadata.generation) next.observedGeneration = owner.metadata.generation;
    let current: ReplicaOwner = owner;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.d.client.updateStatus<ReplicaOwner>(this.d.kind.resource, { ...current, status: next } as ReplicaOwner & KubeObject);
      } catch (e) {
        if (attempt >= STATUS_UPDATE_RETRIES) throw e;
        this.log.debug({ key: objectKey(owner), err: messageOf(e) }, "status update failed; retrying on a fresh read");
        // If the read fails we cannot trust the status either; its error is the more telling one.
        current = await this.d.client.get<ReplicaOwner>(this.d.kind.resource, owner.metadata.namespace, owner.metadata.name!);
      }
    }
  }
}
