/**
 * The garbage collector's wiring (upstream's GarbageCollector.Run and Sync): a graph builder fed by
 * monitors on every served resource, the monitor set kept equal to the served resources as
 * CustomResourceDefinitions come and go, and --concurrent-gc-syncs (20) workers on each of the
 * attemptToDelete and attemptToOrphan queues. Workers start once the monitors have synced, or
 * after the initial sync timeout anyway, as upstream.
 */
import type { ResourceRef } from "@kubemu/common";
import { Resources } from "@kubemu/common";
import type { ControllerContext } from "../../controller/context.js";
import { InstrumentedQueue } from "../../controller/run.js";
import { managerInformerSource } from "../../controller/served-resource-monitors.js";
import { BUILTIN_RESOURCES, ServedResources } from "../../controller/served-resources.js";
import { GarbageCollector, type WorkResult } from "./garbage-collector.js";
import { GraphBuilder } from "./graph-builder.js";
import { Monitors, isIgnored } from "./monitors.js";
import { ReferenceCache } from "./reference-cache.js";

export const COMPONENT = "garbage-collector-controller";
/** --concurrent-gc-syncs' default. */
export const GC_WORKERS = 20;
/** How long Run waits for the monitors before collecting anyway. */
export const INITIAL_SYNC_TIMEOUT_MS = 30_000;

/** The built-in resources the collector monitors (every one but Events). */
export function monitoredBuiltins(): ResourceRef[] {
  return BUILTIN_RESOURCES.filter((r) => !isIgnored(r));
}

export async function runGarbageCollector(ctx: ControllerContext, signal: AbortSignal): Promise<void> {
  const log = ctx.logger.child({ controller: "garbagecollector" });
  const crds = ctx.informers.informerFor(Resources.customResourceDefinitions);
  if (!(await crds.waitForSync(signal))) return;

  const attemptToDelete = new InstrumentedQueue("garbage_collector_attempt_to_delete", ctx);
  const attemptToOrphan = new InstrumentedQueue("garbage_collector_attempt_to_orphan", ctx);
  const absentOwners = new ReferenceCache(500);
  const builder = new GraphBuilder({
    attemptToDelete: (uid, o) => (o?.rateLimited ? attemptToDelete.addRateLimited(uid) : attemptToDelete.add(uid)),
    attemptToOrphan: (uid) => attemptToOrphan.add(uid),
    absentOwners,
    recorder: ctx.recorder(COMPONENT),
    logger: log,
  });
  const monitors = new Monitors(builder, managerInformerSource(ctx, signal));
  let served = ServedResources.from(crds.lister.list());
  const resync = () => {
    served = ServedResources.from(crds.lister.list());
    const { added, removed } = monitors.sync(served);
    if (added.length || removed.length) log.info({ added, removed }, "syncing garbage collector with updated resources");
  };
  resync();
  // CRDs change what is served: keep the monitors in step (upstream polls discovery every 30 s).
  const crdHandler = crds.addEventHandler({ onAdd: resync, onUpdate: (a, b) => a.metadata.resourceVersion !== b.metadata.resourceVersion && resync(), onDelete: resync }, { resync: false });

  const collector = new GarbageCollector({
    client: ctx.client,
    builder,
    resources: () => served,
    cached: (r, ns, name) => monitors.cached(r, ns, name),
    absentOwners,
    attemptToDelete: (uid) => attemptToDelete.add(uid),
    clock: ctx.clock,
    logger: log,
  });
  const onAbort = () => {
    attemptToDelete.shutDown();
    attemptToOrphan.shutDown();
  };
  signal.addEventListener("abort", onAbort, { once: true });
  log.info("starting controller");
  try {
    if (await waitForMonitors(ctx, monitors, signal)) log.info("all resource monitors have synced");
    else if (!signal.aborted) log.info({ unsynced: monitors.unsynced() }, "not all resource monitors could be synced, proceeding anyways");
    if (signal.aborted) return;
    log.info("proceeding to collect garbage");
    const workers = (queue: InstrumentedQueue, work: (uid: string) => Promise<WorkResult>) => Array.from({ length: GC_WORKERS }, () => worker(queue, work));
    await Promise.all([...workers(attemptToDelete, (uid) => collector.attemptToDeleteWorker(uid)), ...workers(attemptToOrphan, (uid) => collector.attemptToOrphanWorker(uid))]);
  } finally {
    signal.removeEventListener("abort", onAbort);
    onAbort();
    crdHandler.remove();
    monitors.stop();
    log.info("stopped controller");
  }
}

/** One worker: take a uid, work it, forget it or put it back rate-limited. */
async function worker(queue: InstrumentedQueue, work: (uid: string) => Promise<WorkResult>): Promise<void> {
  for (;;) {
    const uid = await queue.get();
    if (uid === undefined) return;
    try {
      const result = await work(uid);
      if (result === "forget") queue.forget(uid);
      else queue.addRateLimited(uid);
    } finally {
      queue.done(uid);
    }
  }
}

/** Resolves true once every monitor has synced, false on timeout or abort. */
async function waitForMonitors(ctx: ControllerContext, monitors: Monitors, signal: AbortSignal): Promise<boolean> {
  const deadline = ctx.clock.now() + INITIAL_SYNC_TIMEOUT_MS;
  while (!monitors.hasSynced()) {
    if (signal.aborted || ctx.clock.now() >= deadline) return false;
    await ctx.clock.sleep(100, signal).catch(() => undefined);
  }
  return true;
}
