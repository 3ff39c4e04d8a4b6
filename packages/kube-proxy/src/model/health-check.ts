/**
 * Which Services get a health-check port on this node and what it reports (upstream's
 * NeedsHealthCheck and EndpointsMap.LocalReadyEndpoints): a LoadBalancer Service with
 * `externalTrafficPolicy: Local` and a `healthCheckNodePort`; its count is the number of
 * distinct IPs among this node's ready endpoints, over all the Service's ports.
 */
import type { KubeObject } from "@kubemu/common";
import type { EndpointInfo } from "./types.js";

export interface HealthCheckService {
  namespace: string;
  name: string;
  port: number;
  localEndpoints: number;
}

/** The health-check port a Service needs, or undefined. */
export function healthCheckNodePortOf(svc: KubeObject): number | undefined {
  const spec = (svc as { spec?: { type?: unknown; externalTrafficPolicy?: unknown; healthCheckNodePort?: unknown } }).spec;
  if (spec?.type !== "LoadBalancer" || spec.externalTrafficPolicy !== "Local") return undefined;
  const port = spec.healthCheckNodePort;
  return typeof port === "number" && Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
}

/** Distinct IPs of the node's ready endpoints across a Service's ports. */
export function localReadyEndpoints(endpointsByPort: Iterable<EndpointInfo[]>, nodeName: string): number {
  const ips = new Set<string>();
  for (const eps of endpointsByPort) for (const e of eps) if (e.ready && e.nodeName === nodeName) ips.add(e.ip);
  return ips.size;
}

/** "namespace/name" → what its health-check server answers, for every Service that needs one. */
export function healthCheckServices(states: Iterable<{ service: KubeObject; endpoints: Map<string, EndpointInfo[]> }>, nodeName: string): Map<string, HealthCheckService> {
  const out = new Map<string, HealthCheckService>();
  for (const st of states) {
    const port = healthCheckNodePortOf(st.service);
    if (port === undefined) continue;
    const namespace = st.service.metadata?.namespace ?? "";
    const name = st.service.metadata?.name ?? "";
    out.set(`${namespace}/${name}`, { namespace, name, port, localEndpoints: localReadyEndpoints(st.endpoints.values(), nodeName) });
  }
  return out;
}

/** The body upstream's health-check handler writes (its dedented template: tab-indented, no final newline). */
export function healthCheckBody(s: Pick<HealthCheckService, "namespace" | "name" | "localEndpoints">, proxyHealthy: boolean): string {
  return ["{", `\t"service": {`, `\t\t"namespace": ${JSON.stringify(s.namespace)},`, `\t\t"name": ${JSON.stringify(s.name)}`, "\t},", `\t"localEndpoints": ${s.localEndpoints},`, `\t"serviceProxyHealthy": ${proxyHealthy}`, "}"].join("\n");
}
