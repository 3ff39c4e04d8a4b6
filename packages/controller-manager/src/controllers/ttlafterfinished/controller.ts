/** The TTL-after-finished controller's wiring: a finished Job with a TTL (and no deletion yet) is queued. */
import type { WorkQueue } from "@kubemu/common";
import { objectKey } from "@kubemu/common";
import type { JobObject } from "../job/util.js";
import { TtlAfterFinishedSync, needsCleanup, type TtlSyncParts } from "./sync.js";

export class TtlAfterFinishedController {
  readonly sync: TtlAfterFinishedSync;

  constructor(
    parts: Omit<TtlSyncParts, "enqueueAfter">,
    private readonly queue: Pick<WorkQueue<string>, "add" | "addAfter">,
  ) {
    this.sync = new TtlAfterFinishedSync({ ...parts, enqueueAfter: (k, ms) => queue.addAfter(k, ms) });
  }

  reconcile(key: string): Promise<void> {
    return this.sync.processJob(key);
  }

  /** Job adds and updates (upstream watches no deletes). */
  jobChanged(job: JobObject): void {
    if (!job.metadata.deletionTimestamp && needsCleanup(job)) this.queue.add(objectKey(job));
  }
}
