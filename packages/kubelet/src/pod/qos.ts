/** A pod's QoS class, as upstream's GetPodQOS: summed cpu/memory requests and limits over every container. */
import type { Pod } from "kubernetes-types/core/v1.js";
import { parseQuantity, quantityMilliValue } from "@kubemu/common";

export type QosClass = "Guaranteed" | "Burstable" | "BestEffort";

const milli = (v: unknown) => {
  try {
    return quantityMilliValue(parseQuantity(String(v)));
  } catch {
    return 0;
  }
};

export function podQos(pod: Pod): QosClass {
  const requests = new Map<string, number>();
  const limits = new Map<string, number>();
  let guaranteed = true;
  for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
    for (const [name, q] of Object.entries((c.resources?.requests ?? {}) as Record<string, unknown>)) {
      if (name !== "cpu" && name !== "memory") continue;
      const v = milli(q);
      if (v > 0) requests.set(name, (requests.get(name) ?? 0) + v);
    }
    const found = new Set<string>();
    for (const [name, q] of Object.entries((c.resources?.limits ?? {}) as Record<string, unknown>)) {
      if (name !== "cpu" && name !== "memory") continue;
      const v = milli(q);
      if (v > 0) {
        found.add(name);
        limits.set(name, (limits.get(name) ?? 0) + v);
      }
    }
    if (!found.has("cpu") || !found.has("memory")) guaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return "BestEffort";
  if (guaranteed) for (const [name, r] of requests) if (limits.get(name) !== r) guaranteed = false;
  return guaranteed && requests.size === limits.size ? "Guaranteed" : "Burstable";
}
