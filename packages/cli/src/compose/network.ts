import type { ClusterNetwork } from "../components.js";
import { nodeIp as localNodeIp } from "../node-certs.js";

/**
 * Compose mode's addressing (DESIGN.md: "Compose mode uses service names as hosts; pod IPs stay
 * node-local"). Every process is a container on one project network; members are dialled by
 * service name. Node containers get fixed addresses because a Node's InternalIP must be an IP
 * the kubelet knows at start (and its serving certificate names); the rest are left to Docker.
 */
export const composeNetworkName = "kubemu-compose";
export const composeSubnet = "172.30.0.0/24";
/** Docker hands out dynamic addresses from the lower half only, so the nodes' fixed ones never collide. */
export const composeDynamicRange = "172.30.0.0/25";
/** Node i's container address: 172.30.0.<201+i> (so at most 50 nodes). */
export const composeNodeIp = (i: number) => `172.30.0.${201 + i}`;
export const composeMaxNodes = 50;

export const composeClusterNetwork: ClusterNetwork = {
  host: (m) => m.name,
  // A store member's listen URL is also its entry in --initial-cluster (its identity), so it
  // listens on its service name; the others listen on every address of their own container.
  bind: (m) => (m.name.startsWith("etcd-") ? m.name : "0.0.0.0"),
  // Control endpoints stay on the container's loopback: nothing outside it calls them.
  controlHost: () => "127.0.0.1",
  nodeIp: composeNodeIp,
  // kube-proxy takes 127.0.0.0/8 only; each node container has its own loopback, so NodePorts
  // listen on the local-mode node address inside it.
  proxyNodeIp: localNodeIp,
  // Pod IPs are node-local: a pod on another node is reached through that node's kubelet.
  proxyArgs: ["--cross-node-via-kubelet"],
};
