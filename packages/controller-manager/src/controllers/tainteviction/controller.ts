/**
 * The wiring of the taint eviction controller (upstream's tainteviction.New and Run): node events
 * whose NoExecute taints changed queue the node; pod events that bind a pod or change its
 * tolerations queue the pod. Both are judged synchronously (no I/O), so one worker each keeps
 * a node's taints and its pods' judgements in order, as upstream's sharding by node does.
 */
import type { SharedInformer, WorkQueue } from "@kubemu/common";
import { Resources, deletedObject, objectKey, runWorkers } from "@kubemu/common";
import type { ControllerContext } from "../../controller/context.js";
import { InstrumentedQueue, type QueueController } from "../../controller/run.js";
import type { PodObject } from "../node-util/conditions.js";
import type { NodeObject } from "../node-util/taints.js";
import { TaintEviction } from "./sync.js";

export const CONTROLLER_NAME = "taint-eviction-controller";

export function taintEvictionInformers(ctx: ControllerContext): { nodes: SharedInformer<NodeObject>; pods: SharedInformer<PodObject> } {
  return { nodes: ctx.informers.informerFor<NodeObject>(Resources.nodes), pods: ctx.informers.informerFor<PodObject>(Resources.pods) };
}

export class TaintEvictionController implements QueueController {
  /** The node queue (upstream's noexec_taint_node); the pod queue runs beside it. */
  readonly name = "noexec_taint_node";
  readonly workers = 1;
  readonly core: TaintEviction;
  private readonly informers: ReturnType<typeof taintEvictionInformers>;
  private readonly podQueue: InstrumentedQueue;

  constructor(private readonly ctx: ControllerContext) {
    this.informers = taintEvictionInformers(ctx);
    this.core = new TaintEviction({
      client: ctx.client,
      listers: { nodes: this.informers.nodes.lister, pods: this.informers.pods.lister },
      recorder: ctx.recorder(CONTROLLER_NAME),
      clock: ctx.clock,
      logger: ctx.logger.child({ controller: CONTROLLER_NAME }),
    });
    this.podQueue = new InstrumentedQueue("noexec_taint_pod", ctx);
  }

  register(queue: WorkQueue<string>): { remove(): void }[] {
    const node = (old: NodeObject | undefined, cur: NodeObject | undefined) => {
      if (TaintEviction.nodeNeedsSync(old, cur)) queue.add((cur ?? old)!.metadata.name!);
    };
    const pod = (old: PodObject | undefined, cur: PodObject | undefined) => {
      if (TaintEviction.podNeedsSync(old, cur)) this.podQueue.add(objectKey((cur ?? old)!));
    };
    return [
      this.informers.nodes.addEventHandler({ onAdd: (n) => node(undefined, n), onUpdate: (o, n) => node(o, n), onDelete: (n) => node(deletedObject(n), undefined) }),
      this.informers.pods.addEventHandler({ onAdd: (p) => pod(undefined, p), onUpdate: (o, p) => pod(o, p), onDelete: (p) => pod(deletedObject(p), undefined) }),
    ];
  }

  async reconcile(name: string): Promise<void> {
    this.core.handleNodeUpdate(name);
  }

  async background(_queue: WorkQueue<string>, signal: AbortSignal): Promise<void> {
    const stop = () => this.podQueue.shutDown();
    signal.addEventListener("abort", stop, { once: true });
    try {
      await runWorkers(this.podQueue, async (key) => this.core.handlePodUpdate(key), { workers: 1, logger: this.ctx.logger.child({ controller: CONTROLLER_NAME }) });
    } finally {
      signal.removeEventListener("abort", stop);
      // A standby must not delete pods on a timer set while it led.
      this.core.evictions.cancelAll();
    }
  }
}
