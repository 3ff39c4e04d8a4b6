/**
 * The loop every controller runs while its manager leads (client-go sample-controller's Run):
 * wait for the informers' caches, register the event handlers that enqueue keys, run N workers
 * over a rate-limited queue calling reconcile(key), and on abort stop taking keys, let the
 * workers finish the keys in hand and unregister the handlers. A reconcile that throws is
 * logged with its key and retried with backoff; it never takes the process down.
 */
import type { KubeObject, RateLimiter, SharedInformer } from "@kubemu/common";
import { WorkQueue, deletedObject, objectKey, runWorkers } from "@kubemu/common";
import type { ControllerContext } from "./context.js";

export interface QueueController {
  /** The queue's name in logs and metrics ("deployment"). */
  name: string;
  workers: number;
  /** Adds the event handlers; each handler enqueues keys on `queue`. */
  register(queue: WorkQueue<string>): { remove(): void }[];
  reconcile(key: string): Promise<void>;
  /** Extra background work while running (periodic scans); must stop on the signal. */
  background?(queue: WorkQueue<string>, signal: AbortSignal): Promise<void>;
  /** The queue's rate limiter when not client-go's default controller one (the namespace controller's). */
  rateLimiter?: RateLimiter<string>;
}

export async function runQueueController(ctx: ControllerContext, c: QueueController, signal: AbortSignal): Promise<void> {
  const log = ctx.logger.child({ controller: c.name });
  if (!(await ctx.informers.waitForCacheSync(signal))) return;
  const queue = new InstrumentedQueue(c.name, ctx, c.rateLimiter);
  const registrations = c.register(queue);
  const onAbort = () => queue.shutDown();
  signal.addEventListener("abort", onAbort, { once: true });
  log.info("starting controller");
  try {
    await Promise.all([runWorkers(queue, (key) => c.reconcile(key), { workers: c.workers, logger: log }), c.background?.(queue, signal)]);
  } finally {
    signal.removeEventListener("abort", onAbort);
    queue.shutDown();
    for (const r of registrations) r.remove();
    log.info("stopped controller");
  }
}

/**
 * A WorkQueue that reports its depth, adds and retries to the manager's metrics (for controllers
 * that run their own queues, as the garbage collector's two).
 */
export class InstrumentedQueue extends WorkQueue<string> {
  constructor(
    private readonly queueName: string,
    private readonly ctx: ControllerContext,
    rateLimiter?: RateLimiter<string>,
  ) {
    super({ clock: ctx.clock, ...(rateLimiter ? { rateLimiter } : {}) });
  }

  override add(key: string): void {
    super.add(key);
    this.ctx.queueMetrics?.added(this.queueName);
    this.ctx.queueMetrics?.depth(this.queueName, this.len());
  }

  override addRateLimited(key: string): void {
    super.addRateLimited(key);
    this.ctx.queueMetrics?.retried(this.queueName);
  }
}

/** Enqueues every object's own key on add, update and delete (the common handler). */
export function enqueueSelf<T extends KubeObject>(informer: SharedInformer<T>, queue: WorkQueue<string>): { remove(): void } {
  const add = (o: T) => queue.add(objectKey(o));
  return informer.addEventHandler({ onAdd: add, onUpdate: (_old, n) => add(n), onDelete: (o) => add(deletedObject(o)) });
}
