/**
 * The graph builder's monitors (upstream's syncMonitors/startMonitors): one informer per served
 * resource feeding the graph builder. Built-in resources use the manager's shared informers
 * (warm on a standby); a custom resource gets its own informer, started when its CRD is
 * established and stopped when the CRD goes, so a removed resource leaves nothing listing it.
 */
import type { EventHandler, KubeObject, ResourceRef, SharedInformer } from "@kubemu/common";
import { apiVersionOf, deletedObject } from "@kubemu/common";
import { resourceKey, type ServedResources } from "../../controller/served-resources.js";
import type { GraphBuilder } from "./graph-builder.js";

/** Resources the collector never watches (upstream's DefaultIgnoredResources: Events in both groups). */
export const IGNORED_RESOURCES: ReadonlySet<string> = new Set(["/events", "events.k8s.io/events"]);

export const isIgnored = (r: ResourceRef) => IGNORED_RESOURCES.has(`${r.group}/${r.resource}`);

/** Where monitors get their informers: a shared one for built-ins, an own one (with its stop) for the others. */
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

export class Monitors {
  private readonly monitors = new Map<string, Monitor>();

  constructor(
    private readonly builder: GraphBuilder,
    private readonly source: InformerSource,
  ) {}

  /** Makes the monitored set exactly the served resources (minus the ignored ones); answers what changed. */
  sync(served: ServedResources): { added: string[]; removed: string[] } {
    const wanted = new Map(served.all.filter((r) => !isIgnored(r)).map((r) => [resourceKey(r), r]));
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
    const apiVersion = apiVersionOf(r);
    const kind = r.kind;
    const handler: EventHandler = {
      onAdd: (obj) => this.builder.process({ type: "add", obj, apiVersion, kind }),
      onUpdate: (oldObj, obj) => this.builder.process({ type: "update", obj, oldObj, apiVersion, kind }),
      onDelete: (obj) => this.builder.process({ type: "delete", obj: deletedObject(obj), apiVersion, kind }),
    };
    const shared = this.source.shared(r);
    if (shared) return { resource: r, informer: shared, registration: shared.addEventHandler(handler, { resync: false }) };
    const own = this.source.own(r);
    return { resource: r, informer: own.informer, registration: own.informer.addEventHandler(handler, { resync: false }), stop: own.stop };
  }

  /** Whether every monitor has listed once (IsSynced: false while there are none). */
  hasSynced(): boolean {
    return this.monitors.size > 0 && [...this.monitors.values()].every((m) => m.informer.hasSynced());
  }

  /** The resources not synced yet (for the log line when the collector proceeds anyway). */
  unsynced(): string[] {
    return [...this.monitors.entries()].filter(([, m]) => !m.informer.hasSynced()).map(([k]) => k);
  }

  /** An object from the monitor of `r`, if one is running and holds it. */
  cached(r: ResourceRef, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.monitors.get(resourceKey(r))?.informer.lister.get(namespace, name);
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
