/**
 * The graph builder's monitors (upstream's syncMonitors/startMonitors): one informer per served
 * resource but the ignored ones, feeding the graph builder (the informer set itself is
 * controller/served-resource-monitors.ts).
 */
import type { KubeObject, ResourceRef } from "@kubemu/common";
import { apiVersionOf, deletedObject } from "@kubemu/common";
import { ServedResourceMonitors, type InformerSource } from "../../controller/served-resource-monitors.js";
import { resourceKey, type ServedResources } from "../../controller/served-resources.js";
import type { GraphBuilder } from "./graph-builder.js";

/** Resources the collector never watches (upstream's DefaultIgnoredResources: Events in both groups). */
export const IGNORED_RESOURCES: ReadonlySet<string> = new Set(["/events", "events.k8s.io/events"]);

export const isIgnored = (r: ResourceRef) => IGNORED_RESOURCES.has(`${r.group}/${r.resource}`);

export class Monitors {
  private readonly monitors: ServedResourceMonitors;

  constructor(builder: GraphBuilder, source: InformerSource) {
    this.monitors = new ServedResourceMonitors(source, (r) => {
      const apiVersion = apiVersionOf(r);
      const kind = r.kind;
      return {
        onAdd: (obj) => builder.process({ type: "add", obj, apiVersion, kind }),
        onUpdate: (oldObj, obj) => builder.process({ type: "update", obj, oldObj, apiVersion, kind }),
        onDelete: (obj) => builder.process({ type: "delete", obj: deletedObject(obj), apiVersion, kind }),
      };
    });
  }

  /** Makes the monitored set exactly the served resources (minus the ignored ones); answers what changed. */
  sync(served: ServedResources): { added: string[]; removed: string[] } {
    return this.monitors.sync(new Map(served.all.filter((r) => !isIgnored(r)).map((r) => [resourceKey(r), r])));
  }

  /** Whether every monitor has listed once (IsSynced: false while there are none). */
  hasSynced(): boolean {
    return this.monitors.size > 0 && this.monitors.entries().every(([, m]) => m.informer.hasSynced());
  }

  /** The resources not synced yet (for the log line when the collector proceeds anyway). */
  unsynced(): string[] {
    return this.monitors.entries().filter(([, m]) => !m.informer.hasSynced()).map(([k]) => k);
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
    this.monitors.stop();
  }
}
