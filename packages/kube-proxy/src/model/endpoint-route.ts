/**
 * How this kube-proxy reaches a chosen endpoint. In local mode every node shares the host's
 * network namespace, so every endpoint is dialed directly. In compose mode
 * (--cross-node-via-kubelet) each node has its own namespace and another node's pod IPs are not
 * routable from here: such an endpoint is reached through its node's kubelet, with the
 * port-forward request `kubectl port-forward` makes (`/portForward/<ns>/<pod>` on the node's
 * InternalIP and kubelet port). Port forwarding carries TCP only (upstream has no UDP
 * port-forward), so a UDP endpoint on another node is unreachable in compose mode and never chosen.
 */
import type { NodeInfo } from "./nodes.js";
import type { EndpointInfo, Protocol } from "./types.js";

export interface KubeletTarget {
  node: string;
  host: string;
  port: number;
  namespace: string;
  pod: string;
}

export type EndpointRoute = { kind: "direct" } | ({ kind: "kubelet" } & KubeletTarget) | { kind: "unreachable"; reason: string };

const DIRECT: EndpointRoute = Object.freeze({ kind: "direct" });

export function endpointRoute(ep: EndpointInfo, protocol: Protocol, self: string, crossNodeViaKubelet: boolean, nodeNamed: (name: string) => NodeInfo | undefined): EndpointRoute {
  // An endpoint without a node (a hand-made slice, an external address) is taken to be routable from here.
  if (!crossNodeViaKubelet || ep.nodeName === "" || ep.nodeName === self) return DIRECT;
  if (protocol !== "TCP") return { kind: "unreachable", reason: `${protocol} endpoint on node ${ep.nodeName}: port forwarding carries TCP only` };
  if (!ep.pod) return { kind: "unreachable", reason: `endpoint on node ${ep.nodeName} has no Pod targetRef to port-forward to` };
  const node = nodeNamed(ep.nodeName);
  if (!node) return { kind: "unreachable", reason: `node ${ep.nodeName} is not known` };
  if (!node.internalIP) return { kind: "unreachable", reason: `node ${ep.nodeName} has no InternalIP` };
  return { kind: "kubelet", node: node.name, host: node.internalIP, port: node.kubeletPort, namespace: ep.pod.namespace, pod: ep.pod.name };
}
