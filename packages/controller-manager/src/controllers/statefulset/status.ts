/**
 * StatefulSet status (upstream's updateStatus, completeRollingUpdate, inconsistentStatus and the
 * status updater): counts over the pods, written through the status subresource only when a
 * field changed.
 */
import type { Clock } from "@kubemu/common";
import { Resources, isConflict, type Lister } from "@kubemu/common";
import type { StatefulSetStatus } from "kubernetes-types/apps/v1.js";
import type { ControllerClient } from "../../controller/client.js";
import { DEFAULT_RETRY, retryOnConflict } from "../../controller/retry.js";
import { isCreated, isRunningAndAvailable, isRunningAndReady, isTerminating, podRevision, replicasOf } from "./identity.js";
import type { PodObject, SetStatus, StatefulSetObject } from "./types.js";

/** Recounts replicas, ready, available, current and updated over the pod lists (upstream's updateStatus). */
export function countPods(status: SetStatus, minReadySeconds: number, nowMs: number, ...podLists: readonly PodObject[][]): void {
  status.replicas = status.readyReplicas = status.availableReplicas = status.currentReplicas = status.updatedReplicas = 0;
  for (const pods of podLists)
    for (const pod of pods) {
      if (isCreated(pod)) status.replicas++;
      if (isRunningAndReady(pod)) {
        status.readyReplicas++;
        if (isRunningAndAvailable(pod, minReadySeconds, nowMs)) status.availableReplicas++;
      }
      if (isCreated(pod) && !isTerminating(pod)) {
        const rev = podRevision(pod);
        if (rev === status.currentRevision) status.currentReplicas++;
        if (rev === status.updateRevision) status.updatedReplicas++;
      }
    }
}

/** A RollingUpdate whose every replica is updated and ready makes the update revision current. */
export function completeRollingUpdate(set: StatefulSetObject, status: SetStatus): void {
  const replicas = replicasOf(set);
  const rolling = (set.spec.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate";
  if (rolling && status.updatedReplicas === replicas && status.readyReplicas === replicas && status.replicas === replicas) {
    status.currentReplicas = status.updatedReplicas;
    status.currentRevision = status.updateRevision;
  }
}

/** Whether the computed status differs from the set's (collisionCount alone does not count, as upstream). */
export function inconsistentStatus(set: StatefulSetObject, status: SetStatus): boolean {
  const cur = set.status ?? ({} as Partial<StatefulSetStatus>);
  return (
    status.observedGeneration > (cur.observedGeneration ?? 0) ||
    status.replicas !== (cur.replicas ?? 0) ||
    status.currentReplicas !== (cur.currentReplicas ?? 0) ||
    status.readyReplicas !== (cur.readyReplicas ?? 0) ||
    status.updatedReplicas !== (cur.updatedReplicas ?? 0) ||
    status.currentRevision !== (cur.currentRevision ?? "") ||
    status.availableReplicas !== (cur.availableReplicas ?? 0) ||
    status.updateRevision !== (cur.updateRevision ?? "")
  );
}

/** The status as the API serialises apps/v1 StatefulSetStatus: zero omitempty fields left out. */
export function toApiStatus(s: SetStatus): StatefulSetStatus {
  return {
    ...(s.observedGeneration ? { observedGeneration: s.observedGeneration } : {}),
    replicas: s.replicas,
    ...(s.readyReplicas ? { readyReplicas: s.readyReplicas } : {}),
    ...(s.currentReplicas ? { currentReplicas: s.currentReplicas } : {}),
    ...(s.updatedReplicas ? { updatedReplicas: s.updatedReplicas } : {}),
    ...(s.currentRevision ? { currentRevision: s.currentRevision } : {}),
    ...(s.updateRevision ? { updateRevision: s.updateRevision } : {}),
    collisionCount: s.collisionCount,
    availableReplicas: s.availableReplicas,
  };
}

/** Writes a set's status, retrying conflicts against the newest copy (upstream's realStatefulSetStatusUpdater). */
export class StatusUpdater {
  constructor(
    private readonly client: ControllerClient,
    private readonly sets: Lister<StatefulSetObject>,
    private readonly clock: Clock,
  ) {}

  async update(set: StatefulSetObject, status: SetStatus): Promise<void> {
    let target = set;
    await retryOnConflict(this.clock, DEFAULT_RETRY, async () => {
      try {
        await this.client.updateStatus(Resources.statefulSets, { ...target, status: toApiStatus(status) });
      } catch (e) {
        if (!isConflict(e)) throw e;
        // Upstream re-reads the lister; a fresh read spares retries against a cache that lags the conflict.
        target = (await this.client.get<StatefulSetObject>(Resources.statefulSets, set.metadata.namespace, set.metadata.name!).catch(() => undefined)) ?? this.sets.get(set.metadata.namespace, set.metadata.name!) ?? target;
        throw e;
      }
    });
  }
}
