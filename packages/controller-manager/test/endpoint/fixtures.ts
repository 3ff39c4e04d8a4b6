/** Services and pods for the endpoint controllers' unit tests. */
import type { KubeObject } from "@kubemu/common";
import type { PodObject, ServiceObject } from "../../src/controllers/endpoint-util/pods.js";

export interface PodOpts {
  labels?: Record<string, string>;
  ip?: string;
  ready?: boolean;
  node?: string;
  hostname?: string;
  subdomain?: string;
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  deleting?: boolean;
  phase?: string;
  readySince?: string;
  namespace?: string;
}

export function pod(name: string, o: PodOpts = {}): PodObject {
  const ready = o.ready ?? true;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: o.namespace ?? "default",
      uid: `uid-${name}`,
      resourceVersion: "1",
      labels: o.labels ?? { app: "web" },
      ...(o.deleting ? { deletionTimestamp: "2026-01-01T00:10:00Z" } : {}),
    },
    spec: {
      nodeName: o.node ?? "kubemu",
      ...(o.hostname ? { hostname: o.hostname } : {}),
      ...(o.subdomain ? { subdomain: o.subdomain } : {}),
      containers: [{ name: "c", image: "nginx", ports: o.ports ?? [{ name: "http", containerPort: 8080, protocol: "TCP" }] }],
    },
    status: {
      phase: o.phase ?? "Running",
      ...(o.ip === "" ? {} : { podIP: o.ip ?? "127.244.1.2", podIPs: [{ ip: o.ip ?? "127.244.1.2" }] }),
      conditions: [{ type: "Ready", status: ready ? "True" : "False", lastTransitionTime: o.readySince ?? "2026-01-01T00:01:00Z" }],
    },
  } as PodObject;
}

export interface ServiceOpts {
  selector?: Record<string, string> | null;
  ports?: { name?: string; port: number; targetPort?: number | string; protocol?: string }[];
  clusterIP?: string;
  publishNotReadyAddresses?: boolean;
  labels?: Record<string, string>;
  type?: string;
}

export function service(name: string, o: ServiceOpts = {}): ServiceObject {
  const selector = o.selector === null ? undefined : (o.selector ?? { app: "web" });
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "default", uid: `uid-svc-${name}`, resourceVersion: "1", creationTimestamp: "2026-01-01T00:00:00Z", ...(o.labels ? { labels: o.labels } : {}) },
    spec: {
      type: o.type ?? "ClusterIP",
      clusterIP: o.clusterIP ?? "10.96.0.10",
      ipFamilies: ["IPv4"],
      ...(selector ? { selector } : {}),
      ports: (o.ports ?? [{ port: 80, targetPort: 8080 }]).map((p) => ({ protocol: "TCP", ...p, targetPort: p.targetPort ?? p.port })),
      ...(o.publishNotReadyAddresses ? { publishNotReadyAddresses: true } : {}),
    },
  } as ServiceObject;
}

export const node = (name: string): KubeObject => ({ apiVersion: "v1", kind: "Node", metadata: { name, uid: `uid-node-${name}` } });
