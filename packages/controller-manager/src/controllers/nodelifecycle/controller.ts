/**
 * The wiring of the node lifecycle controller (upstream's NewNodeLifecycleController and Run):
 * node events queue the node for its NoSchedule taints and labels (8 workers); a pod newly bound
 * to a node queues the pod (4 workers); the monitor pass runs every --node-monitor-period and
 * the NoExecute tainting pass every 100 ms.
 */
import type { KubeObject, SharedInformer, WorkQueue } from "@kubemu/common";
import { Resources, deletedObject, objectKey, runWorkers } from "@kubemu/common";
import type { ControllerContext } from "../../controller/context.js";
import { every } from "../../controller/periodic.js";
import { InstrumentedQueue, type QueueController } from "../../controller/run.js";
import type { PodObject } from "../node-util/conditions.js";
import type { NodeObject } from "../node-util/taints.js";
import type { LeaseObject } from "./health.js";
import { NODE_LEASE_NAMESPACE, NodeLifecycle } from "./sync.js";

export const CONTROLLER_NAME = "node-lifecycle-controller";
/** Events come from "node-controller", as upstream's. */
export const EVENT_SOURCE = "node-controller";

const NODE_UPDATE_WORKERS = 8;
const POD_UPDATE_WORKERS = 4;
/** upstream's scheduler.NodeEvictionPeriod. */
const NODE_EVICTION_PERIOD_MS = 100;

export function nodeLifecycleInformers(ctx: ControllerContext): { nodes: SharedInformer<NodeObject>; pods: SharedInformer<PodObject>; leases: SharedInformer<LeaseObject> } {
  return {
    nodes: ctx.informers.informerFor<NodeObject>(Resources.nodes),
    pods: ctx.informers.informerFor<PodObject>(Resources.pods),
    leases: ctx.informers.informerFor<LeaseObject>(Resources.leases, { namespace: NODE_LEASE_NAMESPACE }),
  };
}

export class NodeLifecycleController implements QueueController {
  readonly name = "node_lifecycle_controller";
  readonly workers = NODE_UPDATE_WORKERS;
  readonly core: NodeLifecycle;
  private readonly informers: ReturnType<typeof nodeLifecycleInformers>;
  private readonly podQueue: InstrumentedQueue;

  constructor(private readonly ctx: ControllerContext) {
    this.informers = nodeLifecycleInformers(ctx);
    this.core = new NodeLifecycle({
      client: ctx.client,
      listers: { nodes: this.informers.nodes.lister, pods: this.informers.pods.lister, leases: this.informers.leases.lister },
      recorder: ctx.recorder(EVENT_SOURCE),
      clock: ctx.clock,
      ...(ctx.options?.nodeLifecycle ? { options: ctx.options.nodeLifecycle } : {}),
      logger: ctx.logger.child({ controller: CONTROLLER_NAME }),
    });
    this.podQueue = new InstrumentedQueue("node_lifecycle_controller_pods", ctx);
  }

  register(queue: WorkQueue<string>): { remove(): void }[] {
    const podUpdated = (old: PodObject | undefined, cur: PodObject) => {
      const node = cur.spec?.nodeName;
      if (node && (!old || old.spec?.nodeName !== node)) this.podQueue.add(objectKey(cur));
    };
    return [
      this.informers.nodes.addEventHandler({
        onAdd: (n) => queue.add(n.metadata.name!),
        onUpdate: (_old, n) => queue.add(n.metadata.name!),
        onDelete: (n) => this.core.forgetNode(deletedObject<KubeObject>(n).metadata.name!),
      }),
      this.informers.pods.addEventHandler({ onAdd: (p) => podUpdated(undefined, p), onUpdate: podUpdated }),
    ];
  }

  reconcile(name: string): Promise<void> {
    return this.core.syncNode(name);
  }

  async background(_queue: WorkQueue<string>, signal: AbortSignal): Promise<void> {
    const log = this.ctx.logger.child({ controller: CONTROLLER_NAME });
    const stop = () => this.podQueue.shutDown();
    signal.addEventListener("abort", stop, { once: true });
    try {
      await Promise.all([
        runWorkers(this.podQueue, (key) => this.core.syncPod(key), { workers: POD_UPDATE_WORKERS, logger: log }),
        every(this.ctx.clock, log, NODE_EVICTION_PERIOD_MS, signal, "error in the NoExecute tainting pass", () => this.core.doNoExecuteTaintingPass()),
        every(this.ctx.clock, log, this.core.options.nodeMonitorPeriodMs, signal, "error monitoring node health", () => this.core.monitorNodeHealth()),
      ]);
    } finally {
      signal.removeEventListener("abort", stop);
      this.podQueue.shutDown();
    }
  }
}
