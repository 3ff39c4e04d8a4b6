/**
 * Nodes as kube-proxy needs them: its own node's zone and eligibility, and which node a client
 * address belongs to (a node IP, or a pod IP in a node's pod CIDR). In local mode every node
 * shares one network namespace, so a ClusterIP listener is held by one kube-proxy for all nodes;
 * it answers each connection as the kube-proxy of the client's node would (Local traffic
 * policy and topology hints are judged for that node).
 */
import { isIPv4 } from "./service-ports.js";

export const ZONE_LABEL = "topology.kubernetes.io/zone";
/** The cluster autoscaler's taint on a node about to go (upstream's healthz turns 503 on it). */
export const TO_BE_DELETED_TAINT = "ToBeDeletedByClusterAutoscaler";

export interface NodeInfo {
  name: string;
  zone: string;
  addresses: string[];
  podCIDRs: string[];
  /** Deleted, or tainted ToBeDeletedByClusterAutoscaler. */
  leaving: boolean;
  /** status.addresses' InternalIP (where its kubelet listens). */
  internalIP: string | undefined;
  /** status.daemonEndpoints.kubeletEndpoint.Port (upstream's default 10250 when unset). */
  kubeletPort: number;
}

export const DEFAULT_KUBELET_PORT = 10250;

const obj = (v: unknown): Record<string, unknown> => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export function nodeInfoOf(node: unknown): NodeInfo | undefined {
  const meta = obj(obj(node)["metadata"]);
  const spec = obj(obj(node)["spec"]);
  const status = obj(obj(node)["status"]);
  const name = meta["name"];
  if (typeof name !== "string" || name === "") return undefined;
  const zone = obj(meta["labels"])[ZONE_LABEL];
  const addresses = arr(status["addresses"]).map((a) => obj(a)["address"]).filter(isIPv4);
  const cidrs = Array.isArray(spec["podCIDRs"]) ? arr(spec["podCIDRs"]) : [spec["podCIDR"]];
  const podCIDRs = cidrs.filter((c): c is string => typeof c === "string" && parseCidr(c) !== undefined);
  const leaving = !!meta["deletionTimestamp"] || arr(spec["taints"]).some((t) => obj(t)["key"] === TO_BE_DELETED_TAINT);
  const internalIP = arr(status["addresses"]).map(obj).find((a) => a["type"] === "InternalIP" && isIPv4(a["address"]))?.["address"] as string | undefined;
  const port = obj(obj(status["daemonEndpoints"])["kubeletEndpoint"])["Port"];
  const kubeletPort = typeof port === "number" && Number.isInteger(port) && port >= 1 && port <= 65535 ? port : DEFAULT_KUBELET_PORT;
  return { name, zone: typeof zone === "string" ? zone : "", addresses, podCIDRs, leaving, internalIP, kubeletPort };
}

export function ipToInt(ip: string): number {
  const p = ip.split(".").map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

function parseCidr(cidr: string): { base: number; mask: number } | undefined {
  const m = /^(.+)\/(\d{1,2})$/.exec(cidr);
  if (!m || !isIPv4(m[1]) || Number(m[2]) > 32) return undefined;
  const bits = Number(m[2]);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return { base: (ipToInt(m[1]) & mask) >>> 0, mask };
}

/** Node lookup by a client's address. */
export class NodeLocator {
  private readonly byIp = new Map<string, NodeInfo>();
  private readonly cidrs: { base: number; mask: number; node: NodeInfo }[] = [];
  private readonly byName = new Map<string, NodeInfo>();

  constructor(nodes: readonly NodeInfo[]) {
    for (const n of nodes) {
      this.byName.set(n.name, n);
      for (const a of n.addresses) this.byIp.set(a, n);
      for (const c of n.podCIDRs) this.cidrs.push({ ...parseCidr(c)!, node: n });
    }
  }

  get(name: string): NodeInfo | undefined {
    return this.byName.get(name);
  }

  /** The node whose IP this is, or whose pod CIDR holds it. */
  nodeFor(ip: string): NodeInfo | undefined {
    const exact = this.byIp.get(ip);
    if (exact) return exact;
    if (!isIPv4(ip)) return undefined;
    const n = ipToInt(ip);
    for (const c of this.cidrs) if (((n & c.mask) >>> 0) === c.base) return c.node;
    return undefined;
  }
}
