/**
 * The kubemu-scheduler process: informers on everything scheduling reads (kept warm on the
 * standby too), leader election on Lease kube-system/kube-scheduler, and — only while leading —
 * a scheduling queue, a cache and the scheduling loop, made afresh for each term from the
 * informers' caches.
 */
import type { KubeObject, Logger, SharedInformer } from "@kubemu/common";
import { ApiClient, EventRecorder, FaultInjector, InformerFactory, Resources, holderIdentity, randomRng, realClock, startElectedProcess, type ComponentConfig } from "@kubemu/common";
import { setMaxListeners } from "node:events";
import type { Node, Pod } from "kubernetes-types/core/v1.js";
import { SchedulingQueue } from "../queue/scheduling-queue.js";
import { SchedulerCache } from "../cache/cache.js";
import { registerEventHandlers } from "./event-handlers.js";
import { newSchedulerMetrics } from "./metrics.js";
import { SchedulingLoop } from "./scheduling-loop.js";
import { newAlgorithm } from "./algorithm.js";

export const LEASE_NAME = "kube-scheduler";
/** The name in events' source and reportingController, as upstream's default profile. */
export const SCHEDULER_NAME = "default-scheduler";

export interface RunningScheduler {
  stop(): Promise<void>;
  readonly identity: string;
  readonly url: string;
}

export async function startScheduler(cfg: ComponentConfig, log: Logger): Promise<RunningScheduler> {
  const clock = realClock;
  const { rng, seed } = randomRng();
  const identity = holderIdentity(cfg.name, rng);
  log.info({ identity, seed, apiservers: cfg.apiserverEndpoints }, "starting kube-scheduler");
  const faults = new FaultInjector({ rng: rng.fork() });
  const client = new ApiClient({ name: cfg.name, endpoints: cfg.apiserverEndpoints, ...(cfg.tls ? { tls: cfg.tls } : {}), fieldManager: "kube-scheduler", clock, rng: rng.fork(), logger: log, faults });
  const factory = new InformerFactory(client, { clock, rng: rng.fork(), logger: log });
  const pods = factory.informerFor<Pod & KubeObject>(Resources.pods);
  const nodes = factory.informerFor<Node & KubeObject>(Resources.nodes);
  const listers = {
    pods: pods.lister,
    nodes: nodes.lister,
    namespaces: factory.informerFor(Resources.namespaces).lister,
    persistentVolumeClaims: factory.informerFor(Resources.persistentVolumeClaims).lister,
    persistentVolumes: factory.informerFor(Resources.persistentVolumes).lister,
    storageClasses: factory.informerFor(Resources.storageClasses).lister,
    services: factory.informerFor(Resources.services).lister,
    replicaSets: factory.informerFor(Resources.replicaSets).lister,
    statefulSets: factory.informerFor(Resources.statefulSets).lister,
    replicationControllers: factory.informerFor(Resources.replicationControllers).lister,
    podDisruptionBudgets: factory.informerFor(Resources.podDisruptionBudgets).lister,
  };
  const volumeInformers: { informer: SharedInformer<KubeObject>; resource: "PersistentVolume" | "PersistentVolumeClaim" | "StorageClass" }[] = [
    { informer: factory.informerFor(Resources.persistentVolumes), resource: "PersistentVolume" },
    { informer: factory.informerFor(Resources.persistentVolumeClaims), resource: "PersistentVolumeClaim" },
    { informer: factory.informerFor(Resources.storageClasses), resource: "StorageClass" },
  ];
  const recorder = new EventRecorder({ client, component: SCHEDULER_NAME, reportingInstance: identity, clock, logger: log });
  const metrics = newSchedulerMetrics();
  const stopping = new AbortController();
  // Every informer, the elector and the loop listen on it: more than Node's default 10.
  setMaxListeners(100, stopping.signal);

  const lead = async (signal: AbortSignal) => {
    if (!(await factory.waitForCacheSync(signal))) return;
    log.info("leading: starting to schedule");
    const cache = new SchedulerCache({ clock });
    // The algorithm reads nominations from the queue (only once attempts run), and the queue needs the plugins' events.
    const algorithm = newAlgorithm({ cache, nominator: { nominatedPodsForNode: (node) => queue.nominatedPodsForNode(node) }, listers, rng: rng.fork(), now: () => clock.now() });
    const queue = new SchedulingQueue({
      clock,
      pluginEvents: algorithm.eventsToRegister(),
      podLookup: (ns: string, name: string) => pods.lister.get(ns, name) as Pod | undefined,
      namespaceLabels: (ns: string) => listers.namespaces.get(undefined, ns)?.metadata.labels,
      onIncomingPod: (q, event) => metrics.incomingPods.inc({ queue: q, event }),
    });
    let handlers: { remove(): void } | undefined;
    const gauge = clock.setInterval(() => {
      const n = queue.pendingPods();
      for (const [q, v] of Object.entries(n)) metrics.pendingPods.set({ queue: q }, v);
    }, 1000);
    try {
      metrics.leaderStatus.set({ name: LEASE_NAME }, 1);
      handlers = registerEventHandlers({ pods, nodes, others: volumeInformers, queue, cache });
      queue.run();
      const loop = new SchedulingLoop({ client, recorder, queue, cache, pods: pods.lister, metrics, clock, logger: log, pvcs: listers.persistentVolumeClaims, algorithm: (info) => algorithm.attempt(info) });
      await loop.run(signal);
    } finally {
      gauge.cancel();
      handlers?.remove();
      queue.close();
      // A standby reports nothing pending and no mastership.
      metrics.pendingPods.reset();
      metrics.leaderStatus.set({ name: LEASE_NAME }, 0);
      log.info("stopped scheduling");
    }
  };

  const proc = await startElectedProcess({
    cfg, log, client, informers: factory, faults, registry: metrics.registry, leaseName: LEASE_NAME, identity, lead, recorder,
    recorders: () => [recorder],
    stopping, clock, rng: rng.fork(),
  });
  return { identity, url: proc.url, stop: () => proc.stop() };
}
