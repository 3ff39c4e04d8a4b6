import type { Node, Pod } from "kubernetes-types/core/v1.js";

/** A node with allocatable cpu/memory/pods and optional zone/region labels. */
export function node(name: string, opts: { cpu?: string; memory?: string; zone?: string; region?: string; labels?: Record<string, string> } = {}): Node {
  const labels: Record<string, string> = { "kubernetes.io/hostname": name, ...opts.labels };
  if (opts.zone !== undefined) labels["topology.kubernetes.io/zone"] = opts.zone;
  if (opts.region !== undefined) labels["topology.kubernetes.io/region"] = opts.region;
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, uid: `node-${name}`, labels },
    status: { allocatable: { cpu: opts.cpu ?? "4", memory: opts.memory ?? "8Gi", pods: "110" } },
  };
}

/** A pod bound (or to be assumed) on nodeName, requesting cpu/memory. */
export function boundPod(name: string, nodeName: string, opts: { cpu?: string; memory?: string; uid?: string; antiAffinity?: boolean; affinity?: boolean; hostPort?: number } = {}): Pod {
  const requests: Record<string, string> = {};
  if (opts.cpu !== undefined) requests.cpu = opts.cpu;
  if (opts.memory !== undefined) requests.memory = opts.memory;
  const term = { labelSelector: { matchLabels: { app: name } }, topologyKey: "kubernetes.io/hostname" };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", uid: opts.uid ?? name, labels: { app: name } },
    spec: {
      nodeName,
      containers: [
        {
          name: "c",
          image: "nginx",
          resources: { requests },
          ...(opts.hostPort !== undefined ? { ports: [{ containerPort: 80, hostPort: opts.hostPort }] } : {}),
        },
      ],
      ...(opts.antiAffinity || opts.affinity
        ? {
            affinity: {
              ...(opts.affinity ? { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, podAffinityTerm: term }] } } : {}),
              ...(opts.antiAffinity ? { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } } : {}),
            },
          }
        : {}),
    },
  };
}

/** The same pod on another node. */
export function onNode(pod: Pod, nodeName: string): Pod {
  return { ...pod, spec: { ...pod.spec!, nodeName } };
}
