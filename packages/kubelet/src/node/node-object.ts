/**
 * The Node a kubelet registers and the parts of its status it owns, as minikube's nodes read
 * (`kubectl get nodes -o wide`, `kubectl describe node`): the kubelet's well-known labels (the
 * labels minikube and kubeadm add — minikube.k8s.io/*, the control-plane role — are the
 * launcher's, applied with admin rights: NodeRestriction forbids a kubelet to set them),
 * addresses, capacity = allocatable (minikube reserves nothing), nodeInfo and the kubelet endpoint.
 */
import type { HostInfo } from "./host-info.js";

/** The Kubernetes version this kubelet speaks. */
export const KUBELET_VERSION = "v1.32.4";
/** The runtime name and version the node reports (containerd://1.7.x on a real node). */
export const RUNTIME_VERSION = "kubemu://0.1.0";

export interface NodeIdentity {
  nodeName: string;
  nodeIp: string;
  podCidr: string | undefined;
  /** --node-labels. */
  extraLabels: Record<string, string>;
  kubeletPort: number;
}

export interface NodeCapacity {
  cpu: string;
  memory: string;
  ephemeralStorage: string;
  pods: string;
}

/** Labels the kubelet puts on its node: upstream's well-known ones and --node-labels. */
export function nodeLabels(id: NodeIdentity, host: Pick<HostInfo, "architecture">): Record<string, string> {
  return {
    "beta.kubernetes.io/arch": host.architecture,
    "beta.kubernetes.io/os": "linux",
    "kubernetes.io/arch": host.architecture,
    "kubernetes.io/hostname": id.nodeName,
    "kubernetes.io/os": "linux",
    ...id.extraLabels,
  };
}

export function resourceList(c: NodeCapacity): Record<string, string> {
  return { cpu: c.cpu, "ephemeral-storage": c.ephemeralStorage, "hugepages-1Gi": "0", "hugepages-2Mi": "0", memory: c.memory, pods: c.pods };
}

/** The Node object a kubelet creates when it registers. */
export function initialNode(id: NodeIdentity, host: HostInfo, capacity: NodeCapacity): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: id.nodeName,
      labels: nodeLabels(id, host),
      annotations: { "volumes.kubernetes.io/controller-managed-attach-detach": "true" },
    },
    spec: id.podCidr ? { podCIDR: id.podCidr, podCIDRs: [id.podCidr] } : {},
    status: ownedStatus(id, host, capacity),
  };
}

/** The status fields the kubelet owns, apart from conditions. */
export function ownedStatus(id: NodeIdentity, host: HostInfo, capacity: NodeCapacity): Record<string, unknown> {
  const resources = resourceList(capacity);
  return {
    capacity: resources,
    allocatable: { ...resources },
    addresses: [
      { type: "InternalIP", address: id.nodeIp },
      { type: "Hostname", address: id.nodeName },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: id.kubeletPort } },
    nodeInfo: {
      machineID: host.machineID,
      systemUUID: host.systemUUID,
      bootID: host.bootID,
      kernelVersion: host.kernelVersion,
      osImage: host.osImage,
      containerRuntimeVersion: RUNTIME_VERSION,
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: KUBELET_VERSION,
      operatingSystem: "linux",
      architecture: host.architecture,
    },
  };
}

/**
 * What an existing Node needs when this kubelet registers again (upstream's reconcile on
 * re-registration): the kubelet's default labels, and the pod CIDR if none was set yet.
 * Undefined when nothing differs.
 */
export function reconcileExisting(existing: { metadata?: { labels?: Record<string, string> }; spec?: { podCIDR?: string } }, wanted: Record<string, unknown>): Record<string, unknown> | undefined {
  const wantLabels = ((wanted.metadata as { labels: Record<string, string> }).labels);
  const have = existing.metadata?.labels ?? {};
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(wantLabels)) if (have[k] !== v) labels[k] = v;
  const patch: Record<string, unknown> = {};
  if (Object.keys(labels).length > 0) patch.metadata = { labels };
  const spec = wanted.spec as { podCIDR?: string; podCIDRs?: string[] };
  if (spec.podCIDR && !existing.spec?.podCIDR) patch.spec = spec;
  return Object.keys(patch).length > 0 ? patch : undefined;
}
