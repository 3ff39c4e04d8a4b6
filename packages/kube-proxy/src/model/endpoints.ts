/**
 * EndpointSlices → the endpoints of one Service port (upstream's endpointSliceCache), and the
 * split into the endpoints Cluster and Local traffic policies may use (upstream's
 * CategorizeEndpoints, topology hints included).
 */
import { endpointString, type EndpointInfo, type ServicePortInfo } from "./types.js";
import { isIPv4 } from "./service-ports.js";

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";

const obj = (v: unknown): Record<string, unknown> => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const names = (v: unknown): string[] => arr(v).map((h) => obj(h)["name"]).filter((n): n is string => typeof n === "string");

/**
 * The endpoints of `port` in the Service's slices (IPv4 slices only), deduplicated by ip:port;
 * a duplicate on this node wins, as upstream's cache favours a local copy.
 */
export function endpointsForPort(slices: readonly unknown[], port: Pick<ServicePortInfo, "port" | "protocol">, localNode: string): EndpointInfo[] {
  const byName = [...slices].sort((a, b) => String(obj(obj(a)["metadata"])["name"]).localeCompare(String(obj(obj(b)["metadata"])["name"])));
  const out = new Map<string, EndpointInfo>();
  for (const s of byName) {
    const slice = obj(s);
    if (slice["addressType"] !== "IPv4") continue;
    for (const rawPort of arr(slice["ports"])) {
      const p = obj(rawPort);
      const portName = typeof p["name"] === "string" ? p["name"] : "";
      const protocol = p["protocol"] ?? "TCP";
      const num = p["port"];
      if (portName !== port.port || protocol !== port.protocol) continue;
      if (typeof num !== "number" || !Number.isInteger(num) || num < 1 || num > 65535) continue;
      for (const rawEp of arr(slice["endpoints"])) {
        const ep = obj(rawEp);
        const ip = arr(ep["addresses"])[0];
        if (!isIPv4(ip)) continue;
        const c = obj(ep["conditions"]);
        const nodeName = typeof ep["nodeName"] === "string" ? ep["nodeName"] : "";
        const hints = obj(ep["hints"]);
        const ref = obj(ep["targetRef"]);
        const podName = ref["kind"] === "Pod" && typeof ref["name"] === "string" && ref["name"] !== "" ? ref["name"] : undefined;
        const podNamespace = typeof ref["namespace"] === "string" && ref["namespace"] !== "" ? ref["namespace"] : String(obj(slice["metadata"])["namespace"] ?? "");
        const info: EndpointInfo = {
          ip,
          port: num,
          nodeName,
          zone: typeof ep["zone"] === "string" ? ep["zone"] : "",
          // Unknown readiness is read as ready, unknown serving as serving, unknown terminating as not.
          ready: c["ready"] !== false,
          serving: c["serving"] !== false,
          terminating: c["terminating"] === true,
          zoneHints: names(hints["forZones"]),
          nodeHints: names(hints["forNodes"]),
          ...(podName && podNamespace ? { pod: { namespace: podNamespace, name: podName } } : {}),
        };
        const key = endpointString(info);
        if (!out.has(key) || (nodeName !== "" && nodeName === localNode)) out.set(key, info);
      }
    }
  }
  return [...out.values()];
}

export interface CategorizedEndpoints {
  /** What Cluster traffic policy uses: ready endpoints (by topology hints when they apply), else serving-terminating ones. */
  cluster: EndpointInfo[];
  /** What Local traffic policy uses: ready endpoints on the node, else its serving-terminating ones. */
  local: EndpointInfo[];
  /** Some endpoint anywhere can take traffic. */
  hasAny: boolean;
}

const servingTerminating = (e: EndpointInfo) => e.serving && e.terminating;

type TopologyMode = "" | "PreferSameNode" | "PreferSameZone";

/** Hints apply only when every ready endpoint has one and some are for this node (or its zone). */
function topologyMode(endpoints: readonly EndpointInfo[], nodeName: string, zone: string): TopologyMode {
  const ready = endpoints.filter((e) => e.ready);
  if (ready.length === 0) return "";
  if (ready.every((e) => e.nodeHints.length > 0) && ready.some((e) => e.nodeHints.includes(nodeName))) return "PreferSameNode";
  if (zone !== "" && ready.every((e) => e.zoneHints.length > 0) && ready.some((e) => e.zoneHints.includes(zone))) return "PreferSameZone";
  return "";
}

/** Upstream's CategorizeEndpoints for a node (its name and topology.kubernetes.io/zone). */
export function categorizeEndpoints(endpoints: readonly EndpointInfo[], nodeName: string, zone: string): CategorizedEndpoints {
  const mode = topologyMode(endpoints, nodeName, zone);
  const inTopology = (e: EndpointInfo) => mode === "" || (mode === "PreferSameNode" ? e.nodeHints.includes(nodeName) : e.zoneHints.includes(zone));
  let cluster = endpoints.filter((e) => e.ready && inTopology(e));
  if (cluster.length === 0) cluster = endpoints.filter(servingTerminating);
  const onNode = endpoints.filter((e) => e.nodeName !== "" && e.nodeName === nodeName);
  let local = onNode.filter((e) => e.ready);
  if (local.length === 0) local = onNode.filter(servingTerminating);
  const hasAny = endpoints.some((e) => e.ready || servingTerminating(e));
  return { cluster, local, hasAny };
}
