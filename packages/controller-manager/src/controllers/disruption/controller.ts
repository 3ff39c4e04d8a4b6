/**
 * The wiring of the disruption controller (upstream's NewDisruptionController and Run): PDB
 * events queue the PDB; pod events queue the PDB that picks the pod, and pods with a stale
 * DisruptionTarget condition go to their own delayed queue; the workload listers give the
 * controllers' scales.
 */
import type { KubeObject, WorkQueue } from "@kubemu/common";
import { Resources, deletedObject, objectKey, runWorkers } from "@kubemu/common";
import type { ControllerContext } from "../../controller/context.js";
import { InstrumentedQueue, type QueueController } from "../../controller/run.js";
import type { PodObject } from "../node-util/conditions.js";
import type { PdbObject } from "./conditions.js";
import { ControllerFinders } from "./finders.js";
import { DisruptionSync } from "./sync.js";

export const CONTROLLER_NAME = "disruption-controller";
/** Upstream's disruption controller records events as "controllermanager". */
export const EVENT_SOURCE = "controllermanager";

type Scalable = KubeObject & { spec?: { replicas?: number } };

export function disruptionInformers(ctx: ControllerContext) {
  const f = ctx.informers;
  return {
    pdbs: f.informerFor<PdbObject>(Resources.podDisruptionBudgets),
    pods: f.informerFor<PodObject>(Resources.pods),
    replicationControllers: f.informerFor<Scalable>(Resources.replicationControllers),
    replicaSets: f.informerFor<Scalable>(Resources.replicaSets),
    deployments: f.informerFor<Scalable>(Resources.deployments),
    statefulSets: f.informerFor<Scalable>(Resources.statefulSets),
  };
}

export class DisruptionController implements QueueController {
  readonly name = "disruption";
  readonly workers = 1;
  private readonly informers: ReturnType<typeof disruptionInformers>;
  private readonly sync: DisruptionSync;
  private readonly staleQueue: InstrumentedQueue;
  private enqueueAfter: (key: string, ms: number) => void = () => undefined;

  constructor(private readonly ctx: ControllerContext) {
    const i = (this.informers = disruptionInformers(ctx));
    this.sync = new DisruptionSync({
      client: ctx.client,
      pdbs: i.pdbs.lister,
      pods: i.pods.lister,
      finders: new ControllerFinders({ replicationControllers: i.replicationControllers.lister, replicaSets: i.replicaSets.lister, deployments: i.deployments.lister, statefulSets: i.statefulSets.lister }, ctx.client),
      recorder: ctx.recorder(EVENT_SOURCE),
      clock: ctx.clock,
      enqueueAfter: (key, ms) => this.enqueueAfter(key, ms),
      logger: ctx.logger.child({ controller: CONTROLLER_NAME }),
    });
    this.staleQueue = new InstrumentedQueue("stale_pod_disruption", ctx);
  }

  register(queue: WorkQueue<string>): { remove(): void }[] {
    // The recheck of disruptedPods (upstream's disruption_recheck queue feeds this one, rate limited).
    this.enqueueAfter = (key, ms) => queue.addAfter(key, ms);
    const pod = (p: PodObject, deleted: boolean) => {
      const pdb = this.sync.pdbForPod(p);
      if (pdb) queue.add(objectKey(pdb));
      if (deleted) return;
      const wait = this.sync.staleDisruptionWait(p);
      if (wait !== undefined) this.staleQueue.addAfter(objectKey(p), wait);
    };
    return [
      this.informers.pdbs.addEventHandler({ onAdd: (p) => queue.add(objectKey(p)), onUpdate: (_o, p) => queue.add(objectKey(p)), onDelete: (p) => queue.add(objectKey(deletedObject(p))) }),
      this.informers.pods.addEventHandler({ onAdd: (p) => pod(p, false), onUpdate: (_o, p) => pod(p, false), onDelete: (p) => pod(deletedObject(p), true) }),
    ];
  }

  reconcile(key: string): Promise<void> {
    return this.sync.sync(key);
  }

  async background(_queue: WorkQueue<string>, signal: AbortSignal): Promise<void> {
    const stop = () => this.staleQueue.shutDown();
    signal.addEventListener("abort", stop, { once: true });
    try {
      await runWorkers(
        this.staleQueue,
        async (key) => {
          const wait = await this.sync.syncStalePodDisruption(key);
          if (wait !== undefined) this.staleQueue.addAfter(key, wait);
        },
        { workers: 1, logger: this.ctx.logger.child({ controller: CONTROLLER_NAME }) },
      );
    } finally {
      signal.removeEventListener("abort", stop);
      this.staleQueue.shutDown();
    }
  }
}
