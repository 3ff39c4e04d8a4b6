/**
 * The namespace controller's wiring (upstream's namespace_controller.go): a namespace seen with a
 * deletionTimestamp is queued after a 5 s grace (so every API server's admission has seen the
 * deletion and refuses new content, and last-moment creations are visible), worked by
 * --concurrent-namespace-syncs (10) workers; content still going away is looked at again after
 * half its estimate plus a second, other failures back off (5 ms doubling to 60 s).
 * Terminating namespaces are also re-queued every --namespace-sync-period (5 min).
 */
import type { Logger, SharedInformer, WorkQueue } from "@kubemu/common";
import { BucketRateLimiter, ItemExponentialRateLimiter, MaxOfRateLimiter, Resources, objectKey, type RateLimiter, type Clock } from "@kubemu/common";
import type { ControllerContext } from "../../controller/context.js";
import type { QueueController } from "../../controller/run.js";
import { ServedResources } from "../../controller/served-resources.js";
import { NamespacedResourcesDeleter, ResourcesRemainingError, type NamespaceObject } from "./deleter.js";

/** --concurrent-namespace-syncs' default. */
export const NAMESPACE_WORKERS = 10;
/** namespaceDeletionGracePeriod. */
export const NAMESPACE_DELETION_GRACE_MS = 5000;
/** --namespace-sync-period's default. */
export const NAMESPACE_SYNC_PERIOD_MS = 5 * 60_000;

/** nsControllerRateLimiter: retries at least every minute, never slower. */
export function namespaceRateLimiter(clock: Clock): RateLimiter<string> {
  return new MaxOfRateLimiter<string>(new ItemExponentialRateLimiter<string>(5, 60_000), new BucketRateLimiter<string>(10, 100, clock));
}

export function namespaceController(ctx: ControllerContext): QueueController {
  const log: Logger = ctx.logger.child({ controller: "namespace" });
  const namespaces = ctx.informers.informerFor<NamespaceObject>(Resources.namespaces);
  const crds = ctx.informers.informerFor(Resources.customResourceDefinitions);
  const deleter = new NamespacedResourcesDeleter({
    client: ctx.client,
    discover: () => ({ resources: ServedResources.from(crds.lister.list()).all.filter((r) => r.namespaced) }),
    clock: ctx.clock,
    logger: log,
  });
  let queue: WorkQueue<string> | undefined;
  const enqueue = (ns: NamespaceObject) => {
    // Only namespaces being deleted, after the grace period.
    if (ns.metadata.deletionTimestamp) queue?.addAfter(objectKey(ns), NAMESPACE_DELETION_GRACE_MS);
  };
  return {
    name: "namespace",
    workers: NAMESPACE_WORKERS,
    rateLimiter: namespaceRateLimiter(ctx.clock),
    register(q) {
      queue = q;
      return [namespaces.addEventHandler({ onAdd: enqueue, onUpdate: (_old, n) => enqueue(n) })];
    },
    async reconcile(key) {
      if (!namespaces.lister.getByKey(key)) {
        log.info({ namespace: key }, "Namespace has been deleted");
        return;
      }
      try {
        await deleter.delete(key);
      } catch (e) {
        if (!(e instanceof ResourcesRemainingError)) throw e;
        const waitSeconds = Math.floor(e.estimate / 2) + 1;
        log.debug({ namespace: key, waitSeconds }, "Content remaining in namespace");
        queue?.addAfter(key, waitSeconds * 1000);
      }
    },
    background: (q, signal) => resyncTerminating(ctx, namespaces, q, signal),
  };
}

/** The informer's periodic resync, for terminating namespaces only (the only ones the handler enqueues). */
async function resyncTerminating(ctx: ControllerContext, namespaces: SharedInformer<NamespaceObject>, queue: WorkQueue<string>, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      await ctx.clock.sleep(NAMESPACE_SYNC_PERIOD_MS, signal);
    } catch {
      return;
    }
    for (const ns of namespaces.lister.list()) if (ns.metadata.deletionTimestamp) queue.addAfter(objectKey(ns), NAMESPACE_DELETION_GRACE_MS);
  }
}
