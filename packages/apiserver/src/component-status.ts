/**
 * componentstatuses, computed on read as upstream does: each listed component is probed over
 * HTTP (its /healthz or /readyz) and reported Healthy or Unhealthy with the probe's answer.
 */
import type { KubeObject } from "./storage/index.js";

export interface ComponentTarget {
  name: string;
  url: string;
}

export type ComponentStatusProbe = () => Promise<KubeObject[]>;

/** Probes every target concurrently with a short timeout. */
export function httpComponentStatus(targets: readonly ComponentTarget[], timeoutMs = 2000): ComponentStatusProbe {
  return async () =>
    Promise.all(
      targets.map(async (t) => {
        let condition: Record<string, string>;
        try {
          const res = await fetch(t.url, { signal: AbortSignal.timeout(timeoutMs) });
          const body = (await res.text()).trim().slice(0, 200);
          condition = res.ok ? { type: "Healthy", status: "True", message: body || "ok" } : { type: "Healthy", status: "False", message: "", error: `HTTP probe failed with statuscode: ${res.status}` };
        } catch (e) {
          const why = e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
          condition = { type: "Healthy", status: "False", message: "", error: `Get "${t.url}": ${why}` };
        }
        return { apiVersion: "v1", kind: "ComponentStatus", metadata: { name: t.name }, conditions: [condition] } as KubeObject;
      }),
    );
}
