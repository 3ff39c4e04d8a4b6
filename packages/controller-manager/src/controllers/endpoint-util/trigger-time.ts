/**
 * The `endpoints.kubernetes.io/last-change-trigger-time` value (upstream's TriggerTimeTracker):
 * the earliest time, among the changes seen since a Service's last sync, of a pod turning
 * ready or not (its Ready condition's lastTransitionTime) or of the Service's creation. A
 * Service seen for the first time reports its creationTimestamp. Per Service; one sync of a
 * Service at a time (the work queue guarantees it).
 */
import type { PodObject, ServiceObject } from "./pods.js";

interface ServiceState {
  serviceTime: number;
  podTimes: Map<string, number>;
}

const parse = (t: string | undefined): number => (t ? Date.parse(t) : NaN);

export class TriggerTimeTracker {
  private readonly states = new Map<string, ServiceState>();

  /** Updates the Service's state and returns the trigger time to write (undefined: clear the annotation). */
  compute(service: ServiceObject, pods: readonly PodObject[]): number | undefined {
    const key = `${service.metadata.namespace}/${service.metadata.name}`;
    const prev = this.states.get(key);
    let min: number | undefined;
    const podTimes = new Map<string, number>();
    for (const pod of pods) {
      const t = parse(pod.status?.conditions?.find((c) => c.type === "Ready")?.lastTransitionTime);
      if (Number.isNaN(t)) continue;
      podTimes.set(pod.metadata.name!, t);
      if (t > (prev?.podTimes.get(pod.metadata.name!) ?? -Infinity)) min = min === undefined ? t : Math.min(min, t);
    }
    const serviceTime = parse(service.metadata.creationTimestamp);
    if (!Number.isNaN(serviceTime) && serviceTime > (prev?.serviceTime ?? -Infinity)) min = min === undefined ? serviceTime : Math.min(min, serviceTime);
    this.states.set(key, { serviceTime, podTimes });
    if (!prev) return Number.isNaN(serviceTime) ? undefined : serviceTime;
    return min;
  }

  deleteService(namespace: string, name: string): void {
    this.states.delete(`${namespace}/${name}`);
  }
}

/** Go's time.RFC3339Nano in UTC: fractional seconds only when non-zero, trailing zeros dropped. */
export function formatRfc3339Nano(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.replace(/\.(\d{3})Z$/, (_m, frac: string) => (frac === "000" ? "Z" : `.${frac.replace(/0+$/, "")}Z`));
}
