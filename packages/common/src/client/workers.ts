/**
 * The worker loop every controller runs (client-go's processNextWorkItem): take a key, reconcile
 * it, forget it on success or put it back rate-limited on failure, and always mark it done.
 */
import type { Logger } from "pino";
import { silentLogger } from "../logger.js";
import type { WorkQueue } from "./workqueue.js";

export interface WorkerOptions {
  /** Workers running at once (keys are never processed twice at once either way). */
  workers?: number;
  logger?: Logger;
  /** Retries before a failing key is dropped (logged); default: never dropped. */
  maxRetries?: number;
}

/** Runs reconcile over the queue's keys until the queue shuts down; resolves once every worker stopped. */
export async function runWorkers<K>(queue: WorkQueue<K>, reconcile: (key: K) => Promise<void>, opts: WorkerOptions = {}): Promise<void> {
  const log = opts.logger ?? silentLogger;
  const one = async () => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await reconcile(key);
        queue.forget(key);
      } catch (e) {
        const retries = queue.numRequeues(key);
        if (opts.maxRetries !== undefined && retries >= opts.maxRetries) {
          log.warn({ key, err: e instanceof Error ? e.message : String(e), retries }, "dropping key out of the queue");
          queue.forget(key);
        } else {
          log.info({ key, err: e instanceof Error ? e.message : String(e), retries }, "reconcile failed; requeued with backoff");
          queue.addRateLimited(key);
        }
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.workers ?? 1) }, one));
}
