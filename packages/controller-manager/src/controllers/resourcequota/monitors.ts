/**
 * The quota monitors (upstream's QuotaMonitor): an informer on every quotable resource — every
 * served namespaced resource but the ignored ones (Events) — whose caches the recount lists,
 * and whose changes that free quota (replenishment) ask for a recount: any deletion, a pod
 * going terminal, a Service leaving NodePort/LoadBalancer, a claim's allocated size changing.
 * Creates are not replenishment: the admission plugin charged them already. Built-in resources
 * use the manager's shared informers; a custom resource gets its own informer while its CRD is
 * established.
 */
import type { EventHandler, GroupResource, KubeObject, QuotaObject, ResourceRef, SharedInformer } from "@kubemu/common";
import { SharedInformer as Informer, deletedObject, isQuotaIgnored, listerWatcherFor, qualifiedName, quotaServiceType, quotaV1Pod, requiresQuotaReplenish, stripManagedFields } from "@kubemu/common";
import type { ControllerContext } from "../../controller/context.js";
import { BUILTIN_RESOURCES } from "../../controller/served-resources.js";

const grKey = (gr: GroupResource) => `${gr.group}/${gr.resource}`;
const grOf = (r: ResourceRef): GroupResource => ({ group: r.group, resource: r.resource });

/** Whether a resource is quotable: namespaced and not ignored. */
export function isQuotable(r: ResourceRef): boolean {
  return r.namespaced && !isQuotaIgnored(grOf(r));
}

/** The built-in resources the controller monitors (each group/resource once). */
export function monitoredBuiltins(): ResourceRef[] {
  const seen = new Set<string>();
  return BUILTIN_RESOURCES.filter((r) => {
    const k = grKey(grOf(r));
    if (!isQuotable(r) || seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The update filter of the monitors: only changes that can lower a quota's usage ask for a recount. */
export function updateFreesQuota(gr: GroupResource, old: QuotaObject, cur: QuotaObject, now: number): boolean {
  if (gr.group !== "") return false;
  switch (gr.resource) {
    case "pods":
      return quotaV1Pod(old, now) && !quotaV1Pod(cur, now);
    case "services":
      return quotaServiceType(old) !== quotaServiceType(cur);
    case "persistentvolumeclaims":
      return requiresQuotaReplenish(cur, old);
    default:
      return false;
  }
}

/** Where monitors get their informers: a shared one for built-ins, an own one (with its stop) for custom resources. */
export interface InformerSource {
  shared(r: ResourceRef): SharedInformer | undefined;
  own(r: ResourceRef): { informer: SharedInformer; stop(): void };
}

interface Monitor {
  resource: ResourceRef;
  informer: SharedInformer;
  registration: { remove(): void };
  stop?: () => void;
}

export class QuotaMonitors {
  private readonly monitors = new Map<string, Monitor>();

  constructor(
    private readonly source: InformerSource,
    /** A change in a namespace that may have freed quota of a resource. */
    private readonly replenish: (gr: GroupResource, namespace: string) => void,
    private readonly now: () => number,
  ) {}

  /** Makes the monitored set exactly the quotable ones of `served`; answers what changed. */
  sync(served: readonly ResourceRef[]): { added: string[]; removed: string[] } {
    const wanted = new Map<string, ResourceRef>();
    for (const r of served) if (isQuotable(r) && !wanted.has(grKey(grOf(r)))) wanted.set(grKey(grOf(r)), r);
    const added: string[] = [];
    const removed: string[] = [];
    for (const [key, m] of this.monitors) {
      if (wanted.has(key)) continue;
      m.registration.remove();
      m.stop?.();
      this.monitors.delete(key);
      removed.push(key);
    }
    for (const [key, r] of wanted) {
      if (this.monitors.has(key)) continue;
      this.monitors.set(key, this.start(r));
      added.push(key);
    }
    return { added, removed };
  }

  private start(r: ResourceRef): Monitor {
    const gr = grOf(r);
    const notify = (o: KubeObject) => this.replenish(gr, o.metadata.namespace ?? "");
    const handler: EventHandler = {
      onUpdate: (old, cur) => {
        if (old.metadata.resourceVersion !== cur.metadata.resourceVersion && updateFreesQuota(gr, old, cur, this.now())) notify(cur);
      },
      onDelete: (o) => notify(deletedObject(o)),
    };
    const shared = this.source.shared(r);
    if (shared) return { resource: r, informer: shared, registration: shared.addEventHandler(handler, { resync: false }) };
    const own = this.source.own(r);
    return { resource: r, informer: own.informer, registration: own.informer.addEventHandler(handler, { resync: false }), stop: own.stop };
  }

  /** The group/resources monitored now. */
  resources(): GroupResource[] {
    return [...this.monitors.values()].map((m) => grOf(m.resource));
  }

  /** A resource's objects in a namespace; throws while it is not monitored or its cache not synced (protectedLister). */
  list(gr: GroupResource, namespace: string): KubeObject[] {
    const m = this.monitors.get(grKey(gr));
    if (!m) throw new Error(`${qualifiedName(gr)} is not monitored`);
    if (!m.informer.hasSynced()) throw new Error(`${qualifiedName(gr)} not yet synced`);
    return m.informer.lister.list({ namespace });
  }

  /** Whether every monitor has listed once. */
  hasSynced(): boolean {
    return [...this.monitors.values()].every((m) => m.informer.hasSynced());
  }

  stop(): void {
    for (const m of this.monitors.values()) {
      m.registration.remove();
      m.stop?.();
    }
    this.monitors.clear();
  }
}

/** A custom resource's own informer, stopped with its monitor or with the controller. */
export function ownInformer(ctx: ControllerContext, r: ResourceRef, signal: AbortSignal): { informer: SharedInformer; stop(): void } {
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  const informer = new Informer<KubeObject>({
    name: qualifiedName(r),
    listerWatcher: listerWatcherFor(ctx.informers.client, r),
    transform: stripManagedFields,
    clock: ctx.clock,
    rng: ctx.rng.fork(),
    logger: ctx.logger,
  });
  void informer.run(stop.signal);
  return {
    informer,
    stop: () => {
      signal.removeEventListener("abort", onAbort);
      stop.abort();
    },
  };
}
