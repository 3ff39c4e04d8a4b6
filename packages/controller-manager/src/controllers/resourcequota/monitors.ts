/**
 * The quota monitors (upstream's QuotaMonitor): an informer on every quotable resource — every
 * served namespaced resource but the ignored ones (Events) — whose caches the recount lists,
 * and whose changes that free quota (replenishment) ask for a recount: any deletion, a pod
 * going terminal, a Service leaving NodePort/LoadBalancer, a claim's allocated size changing.
 * Creates are not replenishment: the admission plugin charged them already. The informer set
 * itself (shared informers for built-ins, own ones for custom resources) is
 * controller/served-resource-monitors.ts.
 */
import type { GroupResource, KubeObject, QuotaObject, ResourceRef } from "@kubemu/common";
import { deletedObject, isQuotaIgnored, qualifiedName, quotaServiceType, quotaV1Pod, requiresQuotaReplenish } from "@kubemu/common";
import { ServedResourceMonitors, type InformerSource } from "../../controller/served-resource-monitors.js";
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

export class QuotaMonitors {
  private readonly monitors: ServedResourceMonitors;

  constructor(
    source: InformerSource,
    /** A change in a namespace that may have freed quota of a resource. */
    replenish: (gr: GroupResource, namespace: string) => void,
    now: () => number,
  ) {
    this.monitors = new ServedResourceMonitors(source, (r) => {
      const gr = grOf(r);
      const notify = (o: KubeObject) => replenish(gr, o.metadata.namespace ?? "");
      return {
        onUpdate: (old, cur) => {
          if (old.metadata.resourceVersion !== cur.metadata.resourceVersion && updateFreesQuota(gr, old, cur, now())) notify(cur);
        },
        onDelete: (o) => notify(deletedObject(o)),
      };
    });
  }

  /** Makes the monitored set exactly the quotable ones of `served`; answers what changed. */
  sync(served: readonly ResourceRef[]): { added: string[]; removed: string[] } {
    const wanted = new Map<string, ResourceRef>();
    for (const r of served) if (isQuotable(r) && !wanted.has(grKey(grOf(r)))) wanted.set(grKey(grOf(r)), r);
    return this.monitors.sync(wanted);
  }

  /** The group/resources monitored now. */
  resources(): GroupResource[] {
    return this.monitors.entries().map(([, m]) => grOf(m.resource));
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
    return this.monitors.entries().every(([, m]) => m.informer.hasSynced());
  }

  stop(): void {
    this.monitors.stop();
  }
}
