/**
 * The process's side of the algorithm: ClusterListers over the informers' caches, the
 * nominator over the scheduling queue, and one SchedulingAlgorithm run per attempt on a fresh
 * incremental snapshot of the cache.
 */
import type { KubeObject, Lister, Rng } from "@kubemu/common";
import type { Namespace, PersistentVolume, PersistentVolumeClaim, ReplicationController, Service } from "kubernetes-types/core/v1.js";
import type { ReplicaSet, StatefulSet } from "kubernetes-types/apps/v1.js";
import type { StorageClass } from "kubernetes-types/storage/v1.js";
import type { PodDisruptionBudget } from "kubernetes-types/policy/v1.js";
import { SchedulingAlgorithm, type ScheduleOutcome } from "../algorithm/schedule-one.js";
import type { ClusterEvent } from "../framework/events.js";
import type { ClusterListers, PodNominator } from "../framework/interface.js";
import { CacheSnapshot } from "../cache/snapshot.js";
import type { SchedulerCache } from "../cache/cache.js";
import type { QueuedPodInfo } from "../queue/scheduling-queue.js";

type L = Lister<KubeObject>;

/** The informers' caches the algorithm reads. */
export interface InformerListers {
  namespaces: L;
  persistentVolumeClaims: L;
  persistentVolumes: L;
  storageClasses: L;
  services: L;
  replicaSets: L;
  statefulSets: L;
  replicationControllers: L;
  podDisruptionBudgets: L;
}

export function clusterListers(l: InformerListers): ClusterListers {
  const get = <T>(lister: L, ns: string | undefined, name: string) => lister.get(ns, name) as T | undefined;
  return {
    persistentVolumeClaim: (ns, name) => get<PersistentVolumeClaim>(l.persistentVolumeClaims, ns, name),
    persistentVolume: (name) => get<PersistentVolume>(l.persistentVolumes, undefined, name),
    persistentVolumes: () => l.persistentVolumes.list() as PersistentVolume[],
    storageClass: (name) => get<StorageClass>(l.storageClasses, undefined, name),
    services: (ns) => l.services.list({ namespace: ns }) as Service[],
    replicaSet: (ns, name) => get<ReplicaSet>(l.replicaSets, ns, name),
    statefulSet: (ns, name) => get<StatefulSet>(l.statefulSets, ns, name),
    replicationController: (ns, name) => get<ReplicationController>(l.replicationControllers, ns, name),
    namespace: (name) => get<Namespace>(l.namespaces, undefined, name),
    namespaces: () => l.namespaces.list() as Namespace[],
    podDisruptionBudgets: () => l.podDisruptionBudgets.list() as PodDisruptionBudget[],
  };
}

/** The algorithm as the scheduling loop uses it: one attempt on a fresh snapshot of the cache. */
export interface ProcessAlgorithm {
  attempt(info: QueuedPodInfo): ScheduleOutcome;
  /** The events each plugin registered, for the scheduling queue. */
  eventsToRegister(): Map<string, ClusterEvent[]>;
}

export function newAlgorithm(o: { cache: SchedulerCache; nominator: PodNominator; listers: InformerListers; rng: Rng; now: () => number }): ProcessAlgorithm {
  const algorithm = new SchedulingAlgorithm({ listers: clusterListers(o.listers), rng: o.rng, now: o.now, nominator: o.nominator });
  const snapshot = new CacheSnapshot();
  return {
    attempt: (info) => {
      o.cache.updateSnapshot(snapshot);
      return algorithm.schedule(info.podInfo ?? info.pod, snapshot);
    },
    eventsToRegister: () => algorithm.eventsToRegister(),
  };
}
