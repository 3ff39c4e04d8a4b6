/**
 * The resourcequota controller's wiring (upstream's resource_quota_controller.go): quotas whose
 * status does not yet capture their spec (or lack a usage figure the controller can count) go
 * to the priority queue, other quota events and replenishment to the primary one; a spec.hard
 * change is the only update that counts (status writes are the controller's own); every quota
 * is recounted each --resource-quota-sync-period; --concurrent-resource-quota-syncs (5)
 * workers on each queue, started once the quota informer and every monitor have synced.
 */
import type { GroupResource, KubeObject, Lister, QuotaEvaluator, WorkQueue } from "@kubemu/common";
import { QuotaRegistry, Resources, deletedObject, listsEqual, objectKey, parseResourceList, runWorkers } from "@kubemu/common";
import type { ControllerContext } from "../../controller/context.js";
import { InstrumentedQueue } from "../../controller/run.js";
import { managerInformerSource } from "../../controller/served-resource-monitors.js";
import { ServedResources } from "../../controller/served-resources.js";
import { QuotaMonitors } from "./monitors.js";
import { ResourceQuotaSync } from "./sync.js";

/** --concurrent-resource-quota-syncs' default. */
export const QUOTA_WORKERS = 5;
/** --resource-quota-sync-period: upstream's 5 min; the fast profile recounts every 30 s. */
export const RESOURCE_QUOTA_SYNC_PERIOD_MS = { fast: 30_000, realistic: 300_000 } as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const specHard = (q: KubeObject) => parseResourceList(isObj(q.spec) ? q.spec.hard : undefined);
const statusOf = (q: KubeObject): Obj => (isObj(q.status) ? q.status : {});

export interface HandlerDeps {
  quotas: Lister<KubeObject>;
  evaluators(): readonly QuotaEvaluator[];
  evaluatorFor(gr: GroupResource): QuotaEvaluator | undefined;
  primary: Pick<WorkQueue<string>, "add">;
  priority: Pick<WorkQueue<string>, "add">;
}

/** The event handlers and enqueue rules, free of informers so tests can drive them. */
export class QuotaHandlers {
  constructor(private readonly d: HandlerDeps) {}

  /** addQuota: a quota whose status lags its spec, or misses a usage we can count, is urgent. */
  addQuota(quota: KubeObject): void {
    const key = objectKey(quota);
    const status = statusOf(quota);
    if (status.hard === undefined || !listsEqual(specHard(quota), parseResourceList(status.hard))) {
      this.d.priority.add(key);
      return;
    }
    const used = parseResourceList(status.used);
    for (const name of Object.keys(parseResourceList(status.hard))) {
      if (used[name]) continue;
      if (this.d.evaluators().some((e) => e.matchingResources([name]).length > 0)) {
        this.d.priority.add(key);
        return;
      }
    }
    this.d.primary.add(key);
  }

  /** Only a change of spec.hard drives a recount; status updates are this controller's own. */
  updateQuota(old: KubeObject, cur: KubeObject): void {
    if (listsEqual(specHard(old), specHard(cur))) return;
    this.addQuota(cur);
  }

  deleteQuota(quota: KubeObject): void {
    this.d.primary.add(objectKey(quota));
  }

  /** replenishQuota: recount the namespace's quotas that track something of this resource. */
  replenish(gr: GroupResource, namespace: string): void {
    const evaluator = this.d.evaluatorFor(gr);
    if (!evaluator) return;
    for (const quota of this.d.quotas.list({ namespace })) {
      const hard = Object.keys(parseResourceList(statusOf(quota).hard));
      if (evaluator.matchingResources(hard).length > 0) this.d.primary.add(objectKey(quota));
    }
  }

  /** enqueueAll: the periodic full recount. */
  enqueueAll(): void {
    for (const quota of this.d.quotas.list()) this.d.primary.add(objectKey(quota));
  }
}

export async function runResourceQuotaController(ctx: ControllerContext, signal: AbortSignal): Promise<void> {
  const log = ctx.logger.child({ controller: "resourcequota" });
  const quotas = ctx.informers.informerFor(Resources.resourceQuotas);
  const crds = ctx.informers.informerFor(Resources.customResourceDefinitions);
  if (!(await ctx.informers.waitForCacheSync(signal))) return;

  const primary = new InstrumentedQueue("resourcequota_primary", ctx);
  const priority = new InstrumentedQueue("resourcequota_priority", ctx);
  const registry = new QuotaRegistry();
  const monitors = new QuotaMonitors(
    managerInformerSource(ctx, signal),
    // Monitors report only updates and deletes, never while being set up: handlers exists by then.
    (gr, ns) => handlers.replenish(gr, ns),
    () => ctx.clock.now(),
  );
  const evaluators = () => monitors.resources().map((gr) => registry.get(gr));
  const handlers = new QuotaHandlers({
    quotas: quotas.lister,
    evaluators,
    evaluatorFor: (gr) => (monitors.resources().some((m) => m.group === gr.group && m.resource === gr.resource) ? registry.get(gr) : undefined),
    primary,
    priority,
  });
  const resync = () => {
    const { added, removed } = monitors.sync(ServedResources.from(crds.lister.list()).all);
    if (added.length || removed.length) log.info({ added: added.length, removed }, "quota monitors synced with the served resources");
  };
  resync();
  // CRDs change what is quotable (upstream re-reads discovery every 30 s).
  const crdHandler = crds.addEventHandler({ onAdd: resync, onUpdate: (a, b) => a.metadata.resourceVersion !== b.metadata.resourceVersion && resync(), onDelete: resync }, { resync: false });
  const sync = new ResourceQuotaSync({ client: ctx.client, quotas: quotas.lister, evaluators, list: (gr, ns) => monitors.list(gr, ns), clock: ctx.clock, logger: log });
  const quotaHandler = quotas.addEventHandler(
    { onAdd: (q) => handlers.addQuota(q), onUpdate: (old, cur) => handlers.updateQuota(old, cur), onDelete: (q) => handlers.deleteQuota(deletedObject(q)) },
    { resync: false },
  );
  const onAbort = () => {
    primary.shutDown();
    priority.shutDown();
  };
  signal.addEventListener("abort", onAbort, { once: true });
  log.info("starting controller");
  try {
    // Only count once every monitor has listed (upstream's informerSyncedFuncs include the monitors').
    while (!monitors.hasSynced() && !signal.aborted) await ctx.clock.sleep(100, signal).catch(() => undefined);
    if (signal.aborted) return;
    const period = ctx.options?.resourceQuotaSyncPeriodMs ?? RESOURCE_QUOTA_SYNC_PERIOD_MS.realistic;
    await Promise.all([
      runWorkers(primary, (key) => sync.sync(key), { workers: QUOTA_WORKERS, logger: log }),
      runWorkers(priority, (key) => sync.sync(key), { workers: QUOTA_WORKERS, logger: log }),
      resyncEvery(ctx, period, () => handlers.enqueueAll(), signal),
    ]);
  } finally {
    signal.removeEventListener("abort", onAbort);
    onAbort();
    quotaHandler.remove();
    crdHandler.remove();
    monitors.stop();
    log.info("stopped controller");
  }
}

/** Calls fn every period until the signal aborts. */
async function resyncEvery(ctx: ControllerContext, periodMs: number, fn: () => void, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      await ctx.clock.sleep(periodMs, signal);
    } catch {
      return;
    }
    fn();
  }
}
