/**
 * Events on Services as client-go's recorder writes them: a repeat of the same (object, type,
 * reason, message, source) updates the first event's count and lastTimestamp instead of making a
 * new one — what `kubectl describe` shows as `(x2 over 9m40s)`.
 */
import type { Api, Service } from "./types.js";

export class ServiceEvents {
  private readonly seen = new Map<string, { name: string; count: number }>();
  private seq = 0;

  constructor(
    private readonly api: Api,
    private readonly component: string,
    private readonly host: string | undefined,
    private readonly now: () => Date,
    private readonly log: (line: string) => void,
  ) {}

  async record(svc: Service, type: "Normal" | "Warning", reason: string, message: string): Promise<void> {
    const ns = svc.metadata.namespace ?? "default";
    const key = [svc.metadata.uid, ns, svc.metadata.name, type, reason, message].join("\u0000");
    const time = this.now().toISOString().replace(/\.\d+Z$/, "Z");
    const prior = this.seen.get(key);
    try {
      if (prior !== undefined) {
        // client-go patches the count and lastTimestamp (RBAC grants events create and patch only).
        prior.count++;
        await this.api.patch(`/api/v1/namespaces/${ns}/events/${prior.name}`, { count: prior.count, lastTimestamp: time });
        return;
      }
      const name = `${svc.metadata.name}.${this.now().getTime().toString(16)}${(this.seq++ % 4096).toString(16).padStart(3, "0")}`;
      const body = {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name, namespace: ns },
        involvedObject: { apiVersion: "v1", kind: "Service", namespace: ns, name: svc.metadata.name, uid: svc.metadata.uid, resourceVersion: svc.metadata.resourceVersion },
        type,
        reason,
        message,
        source: { component: this.component, ...(this.host ? { host: this.host } : {}) },
        firstTimestamp: time,
        lastTimestamp: time,
        count: 1,
        reportingComponent: this.component,
        reportingInstance: this.host ?? "",
      };
      await this.api.post(`/api/v1/namespaces/${ns}/events`, body);
      this.seen.set(key, { name, count: 1 });
    } catch (e) {
      // An event that cannot be written (or whose first copy is gone) is logged, never fatal; the next repeat starts afresh.
      this.seen.delete(key);
      this.log(`event ${reason} on ${ns}/${svc.metadata.name}: ${(e as Error).message}`);
    }
  }
}
