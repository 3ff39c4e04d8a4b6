/**
 * A keyed set of informers over served resources (the part upstream's garbage collector and
 * QuotaMonitor share): built-in resources use the manager's shared informers (warm on a
 * standby); a custom resource gets its own informer, started when its CRD is established and
 * stopped when the CRD goes, so a removed resource leaves nothing listing it. The callers
 * decide which resources they want, under which key, and what the handler does.
 */
import type { EventHandler, KubeObject, ResourceRef, SharedInformer } from "@kubemu/common";
import { SharedInformer as Informer, listerWatcherFor, qualifiedName, stripManagedFields } from "@kubemu/common";
import type { ControllerContext } from "./context.js";
import { BUILTIN_RESOURCES, resourceKey } from "./served-resources.js";

/** Where monitors get their informers: a shared one for built-ins, an own one (with its stop) for custom resources. */
export interface InformerSource {
  shared(r: ResourceRef): SharedInformer | undefined;
  own(r: ResourceRef): { informer: SharedInformer; stop(): void };
}

export interface Monitor {
  resource: ResourceRef;
  informer: SharedInformer;
  registration: { remove(): void };
  stop?: () => void;
}

export class ServedResourceMonitors {
  private readonly monitors = new Map<string, Monitor>();

  constructor(
    private readonly source: InformerSource,
    private readonly handlerFor: (r: ResourceRef) => EventHandler,
  ) {}

  /** Makes the monitored set exactly `wanted` (by key); answers the keys added and removed. */
  sync(wanted: ReadonlyMap<string, ResourceRef>): { added: string[]; removed: string[] } {
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
    const handler = this.handlerFor(r);
    const shared = this.source.shared(r);
    if (shared) return { resource: r, informer: shared, registration: shared.addEventHandler(handler, { resync: false }) };
    const own = this.source.own(r);
    return { resource: r, informer: own.informer, registration: own.informer.addEventHandler(handler, { resync: false }), stop: own.stop };
  }

  get(key: string): Monitor | undefined {
    return this.monitors.get(key);
  }

  entries(): [string, Monitor][] {
    return [...this.monitors.entries()];
  }

  get size(): number {
    return this.monitors.size;
  }

  /** Unregisters from every informer and stops the own ones. */
  stop(): void {
    for (const m of this.monitors.values()) {
      m.registration.remove();
      m.stop?.();
    }
    this.monitors.clear();
  }
}

/** The manager's informers for built-ins, an own informer (stopped with `signal`) for custom resources. */
export function managerInformerSource(ctx: ControllerContext, signal: AbortSignal): InformerSource {
  const builtinKeys = new Set(BUILTIN_RESOURCES.map(resourceKey));
  return {
    shared: (r) => (builtinKeys.has(resourceKey(r)) ? ctx.informers.informerFor(r) : undefined),
    own: (r) => ownInformer(ctx, r, signal),
  };
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
