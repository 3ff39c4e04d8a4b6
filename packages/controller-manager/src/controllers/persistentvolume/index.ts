/**
 * The PV controller (kube-controller-manager's persistentvolume-binder-controller; events from
 * persistentvolume-controller): two queues, "claims" and "volumes", one worker each (syncClaim is
 * not re-entrant: two claim workers could bind two claims to one PV), fed by the PV and claim
 * informers and by a resync of everything every --pvclaimbinder-sync-period.
 */
import { Resources, type KubeObject, type SharedInformer, type WorkQueue } from "@kubemu/common";
import type { PodObject } from "../../controller/pod-control.js";
import type { ControllerContext, ControllerDescriptor } from "../../controller/context.js";
import { POD_PVC_INDEX, podPvcIndex } from "../../controller/pod-pvc-index.js";
import { enqueueSelf, runQueueController } from "../../controller/run.js";
import { PersistentVolumeSync } from "./sync.js";
import type { ClaimObject, ClassObject, VolumeObject } from "./types.js";

/** --pvclaimbinder-sync-period: upstream's 15 s; the fast profile resyncs every 5 s. */
export const PV_SYNC_PERIOD_MS = { fast: 5_000, realistic: 15_000 } as const;

function informersFor(ctx: ControllerContext) {
  return {
    volumes: ctx.informers.informerFor<VolumeObject>(Resources.persistentVolumes),
    claims: ctx.informers.informerFor<ClaimObject>(Resources.persistentVolumeClaims),
    classes: ctx.informers.informerFor<ClassObject>(Resources.storageClasses),
    pods: ctx.informers.informerFor<PodObject>(Resources.pods, {}, { [POD_PVC_INDEX]: podPvcIndex }),
  };
}

async function resyncEvery(ms: number, sync: PersistentVolumeSync, clock: ControllerContext["clock"], signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      await clock.sleep(ms, signal);
    } catch {
      return;
    }
    sync.resync();
  }
}

async function run(ctx: ControllerContext, signal: AbortSignal): Promise<void> {
  const inf = informersFor(ctx);
  const logger = ctx.logger.child({ controller: "persistentvolume-binder" });
  let claimQueue: WorkQueue<string> | undefined;
  let volumeQueue: WorkQueue<string> | undefined;
  const sync = new PersistentVolumeSync({
    client: ctx.client,
    listers: { volumes: inf.volumes.lister, claims: inf.claims.lister, classes: inf.classes.lister, pods: inf.pods.lister },
    recorder: ctx.recorder("persistentvolume-controller"),
    enqueueClaim: (key) => claimQueue?.add(key),
    enqueueVolume: (name) => volumeQueue?.add(name),
    logger,
    clock: ctx.clock,
    signal,
  });
  if (!(await ctx.informers.waitForCacheSync(signal))) return;
  sync.initializeCaches();
  const periodMs = ctx.options?.pvClaimBinderSyncPeriodMs ?? PV_SYNC_PERIOD_MS.realistic;
  const queueOf = (informer: SharedInformer<KubeObject>, name: string, work: (key: string) => Promise<void>, setQueue: (q: WorkQueue<string>) => void, background?: (signal: AbortSignal) => Promise<void>) =>
    runQueueController(
      ctx,
      {
        name,
        workers: 1,
        register: (queue) => {
          setQueue(queue);
          return [enqueueSelf(informer, queue)];
        },
        reconcile: work,
        ...(background ? { background: (_q: WorkQueue<string>, s: AbortSignal) => background(s) } : {}),
      },
      signal,
    );
  await Promise.all([
    queueOf(inf.claims as unknown as SharedInformer<KubeObject>, "claims", (key) => sync.claimWork(key), (q) => (claimQueue = q), (s) => resyncEvery(periodMs, sync, ctx.clock, s)),
    queueOf(inf.volumes as unknown as SharedInformer<KubeObject>, "volumes", (key) => sync.volumeWork(key), (q) => (volumeQueue = q)),
  ]);
  // Recycles stop on the same signal; let them finish (delete their pods) before returning.
  await sync.operationsIdle();
}

export const persistentVolumeBinderController: ControllerDescriptor = {
  name: "persistentvolume-binder-controller",
  aliases: ["persistentvolume-binder"],
  informers: (ctx) => void informersFor(ctx),
  run,
};
