/**
 * A Service object → the ports kube-proxy proxies (upstream's ServicePort info), read
 * defensively: a malformed field drops that port or address with a note, never throws.
 */
import { servicePortKey, type Protocol, type ServicePortInfo } from "./types.js";

/** sessionAffinityConfig.clientIP.timeoutSeconds when unset (3 hours, upstream's default). */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;

/** Labels that take a Service (and its slices) away from the default kube-proxy, as upstream's informer selector. */
export const SERVICE_PROXY_NAME_LABEL = "service.kubernetes.io/service-proxy-name";
export const HEADLESS_LABEL = "service.kubernetes.io/headless";
export const PROXY_LABEL_SELECTOR = `!${SERVICE_PROXY_NAME_LABEL},!${HEADLESS_LABEL}`;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIPv4(s: unknown): s is string {
  return typeof s === "string" && IPV4.test(s);
}

const isPort = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= 65535;
const obj = (v: unknown): Record<string, unknown> => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export interface ServicePortsResult {
  ports: ServicePortInfo[];
  /** Why parts of the Service were skipped (logged by the caller). */
  problems: string[];
}

export function servicePortsOf(service: unknown): ServicePortsResult {
  const problems: string[] = [];
  const meta = obj(obj(service)["metadata"]);
  const spec = obj(obj(service)["spec"]);
  const status = obj(obj(service)["status"]);
  const namespace = typeof meta["namespace"] === "string" ? meta["namespace"] : "";
  const name = typeof meta["name"] === "string" ? meta["name"] : "";
  if (!namespace || !name) return { ports: [], problems: ["service without namespace or name"] };
  const type = typeof spec["type"] === "string" ? spec["type"] : "ClusterIP";
  // ExternalName Services are DNS only (a CNAME): nothing to proxy.
  if (type === "ExternalName") return { ports: [], problems };

  const ipList = (field: string, values: unknown[]): string[] => {
    const out: string[] = [];
    for (const v of values) {
      if (v === "None" || v === "" || v === undefined) continue;
      if (typeof v === "string" && v.includes(":")) continue; // IPv6: this proxy is IPv4 only
      if (!isIPv4(v)) {
        problems.push(`${field}: ${JSON.stringify(v)} is not an IPv4 address`);
        continue;
      }
      if (!out.includes(v)) out.push(v);
    }
    return out;
  };
  const clusterIPs = ipList("spec.clusterIPs", Array.isArray(spec["clusterIPs"]) ? (spec["clusterIPs"] as unknown[]) : [spec["clusterIP"]]);
  const externalIPs = ipList("spec.externalIPs", arr(spec["externalIPs"]));
  const loadBalancerIPs =
    type === "LoadBalancer"
      ? ipList(
          "status.loadBalancer.ingress",
          // ipMode Proxy: the load balancer delivers to the nodes itself; kube-proxy leaves the IP alone.
          arr(obj(status["loadBalancer"])["ingress"]).filter((i) => obj(i)["ipMode"] !== "Proxy").map((i) => obj(i)["ip"]).filter((ip) => ip !== undefined),
        )
      : [];
  const externallyAccessible = type === "NodePort" || type === "LoadBalancer" || externalIPs.length > 0;
  const externalPolicyLocal = externallyAccessible && spec["externalTrafficPolicy"] === "Local";
  const internalPolicyLocal = spec["internalTrafficPolicy"] === "Local";
  let affinityTimeoutSeconds: number | undefined;
  if (spec["sessionAffinity"] === "ClientIP") {
    const t = obj(obj(spec["sessionAffinityConfig"])["clientIP"])["timeoutSeconds"];
    affinityTimeoutSeconds = typeof t === "number" && Number.isInteger(t) && t > 0 ? t : DEFAULT_AFFINITY_TIMEOUT_SECONDS;
  }

  const ports: ServicePortInfo[] = [];
  const seen = new Set<string>();
  for (const [i, raw] of arr(spec["ports"]).entries()) {
    const p = obj(raw);
    const protocol = (p["protocol"] ?? "TCP") as string;
    if (protocol !== "TCP" && protocol !== "UDP") {
      problems.push(`spec.ports[${i}]: protocol ${JSON.stringify(protocol)} is not proxied (TCP and UDP only)`);
      continue;
    }
    if (!isPort(p["port"])) {
      problems.push(`spec.ports[${i}].port: ${JSON.stringify(p["port"])} is not a port number`);
      continue;
    }
    const portName = typeof p["name"] === "string" ? p["name"] : "";
    const nodePort = (type === "NodePort" || type === "LoadBalancer") && isPort(p["nodePort"]) ? p["nodePort"] : 0;
    const base = { namespace, name, port: portName, protocol: protocol as Protocol };
    const key = servicePortKey(base);
    if (seen.has(key)) {
      problems.push(`spec.ports[${i}]: duplicate port ${key}`);
      continue;
    }
    seen.add(key);
    ports.push({ ...base, key, servicePort: p["port"], clusterIPs, nodePort, externalIPs, loadBalancerIPs, externalPolicyLocal, internalPolicyLocal, affinityTimeoutSeconds });
  }
  return { ports, problems };
}
