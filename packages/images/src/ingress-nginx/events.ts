/**
 * Events as client-go's recorder writes them for the controller (source component
 * nginx-ingress-controller): one Event per object/type/reason/message, named <object>.<unix nanos
 * hex>; a repeat raises its count and lastTimestamp (what kubectl shows as "x2 over 60s").
 */
import { isNotFound, type KubeClient } from "./kube.js";
import type { Meta } from "./types.js";

export interface EventTarget {
  apiVersion: string;
  kind: string;
  metadata: Meta;
}

export class EventRecorder {
  private readonly seen = new Map<string, { name: string; namespace: string; count: number }>();

  constructor(
    private readonly client: KubeClient,
    private readonly component: string,
    private readonly onError: (msg: string) => void,
    private readonly now: () => Date = () => new Date(),
  ) {}

  event(obj: EventTarget, type: "Normal" | "Warning", reason: string, message: string): void {
    void this.record(obj, type, reason, message).catch((e: Error) => this.onError(`Server rejected event (will not retry!): ${e.message}`));
  }

  private async record(obj: EventTarget, type: string, reason: string, message: string): Promise<void> {
    const ns = obj.metadata.namespace ?? "default";
    const key = `${obj.metadata.uid ?? `${ns}/${obj.metadata.name}`}|${type}|${reason}|${message}`;
    const ts = this.now().toISOString().replace(/\.\d+Z$/, "Z");
    const prior = this.seen.get(key);
    if (prior) {
      prior.count++;
      try {
        await this.client.patch(`/api/v1/namespaces/${prior.namespace}/events/${prior.name}`, { count: prior.count, lastTimestamp: ts });
        return;
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    const name = `${obj.metadata.name}.${(BigInt(this.now().getTime()) * 1_000_000n + BigInt(Math.floor(performance.now() * 1000) % 1_000_000)).toString(16)}`;
    const entry = { name, namespace: ns, count: 1 };
    // client-go's correlator keeps an LRU of 4096 events: the oldest is forgotten first.
    if (this.seen.size >= 4096) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(key, entry);
    await this.client.post(`/api/v1/namespaces/${ns}/events`, {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace: ns },
      involvedObject: { apiVersion: obj.apiVersion, kind: obj.kind, namespace: ns, name: obj.metadata.name, uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion },
      reason,
      message,
      source: { component: this.component },
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
      type,
      reportingComponent: this.component,
      reportingInstance: "",
    });
  }
}
