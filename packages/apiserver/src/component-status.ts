/**
 * componentstatuses, computed on read as upstream does: each listed component is probed over
 * HTTP (its /healthz or /readyz) and reported Healthy or Unhealthy with the probe's answer.
 */
import type { KubeObject } from "./storage/index.js";

export interface ComponentTarget {
  name: string;
  /** Replicas' health URLs: the component is Healthy when any of them answers 2xx. */
  urls: string[];
}

export type ComponentStatusProbe = () => Promise<KubeObject[]>;

async function probe(url: string, timeoutMs: number): Promise<Record<string, string>> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.text()).trim().slice(0, 200);
    return res.ok ? { type: "Healthy", status: "True", message: body || "ok" } : { type: "Healthy", status: "False", message: "", error: `HTTP probe failed with statuscode: ${res.status}` };
  } catch (e) {
    const why = e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
    return { type: "Healthy", status: "False", message: "", error: `Get "${url}": ${why}` };
  }
}

/** Probes every target's replicas concurrently with a short timeout. */
export function httpComponentStatus(targets: readonly ComponentTarget[], timeoutMs = 2000): ComponentStatusProbe {
  return async () =>
    Promise.all(
      targets.map(async (t) => {
        const results = await Promise.all(t.urls.map((u) => probe(u, timeoutMs)));
        const condition = results.find((r) => r.status === "True") ?? results[0] ?? { type: "Healthy", status: "False", message: "", error: "no probe URL" };
        return { apiVersion: "v1", kind: "ComponentStatus", metadata: { name: t.name }, conditions: [condition] } as KubeObject;
      }),
    );
}
