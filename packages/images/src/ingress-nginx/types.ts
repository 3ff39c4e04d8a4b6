/** The parts of the Kubernetes objects the ingress controller reads (networking.k8s.io/v1, v1, discovery.k8s.io/v1). */

export interface Meta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ServiceBackendPort {
  number?: number;
  name?: string;
}

export interface IngressBackend {
  service?: { name: string; port?: ServiceBackendPort };
  resource?: unknown;
}

export type PathType = "Exact" | "Prefix" | "ImplementationSpecific";

export interface HTTPIngressPath {
  path?: string;
  pathType?: PathType;
  backend: IngressBackend;
}

export interface IngressRule {
  host?: string;
  http?: { paths: HTTPIngressPath[] };
}

export interface IngressTLS {
  hosts?: string[];
  secretName?: string;
}

export interface LoadBalancerIngress {
  ip?: string;
  hostname?: string;
}

export interface Ingress {
  apiVersion?: string;
  kind?: string;
  metadata: Meta;
  spec?: { ingressClassName?: string; defaultBackend?: IngressBackend; rules?: IngressRule[]; tls?: IngressTLS[] };
  status?: { loadBalancer?: { ingress?: LoadBalancerIngress[] } };
}

export interface IngressClass {
  metadata: Meta;
  spec?: { controller?: string };
}

export interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
}

export interface Service {
  metadata: Meta;
  spec?: { type?: string; clusterIP?: string; ports?: ServicePort[]; externalName?: string };
}

export interface EndpointSlice {
  metadata: Meta;
  addressType?: string;
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean }; targetRef?: { kind?: string; name?: string; namespace?: string } }[];
  ports?: { name?: string; port?: number; protocol?: string }[] | null;
}

export interface Secret {
  metadata: Meta;
  type?: string;
  data?: Record<string, string>;
}

export interface Pod {
  metadata: Meta;
  spec?: { nodeName?: string; containers?: { name: string; ports?: { containerPort: number; hostPort?: number; protocol?: string; name?: string }[] }[] };
  status?: { phase?: string; hostIP?: string; podIP?: string; conditions?: { type: string; status: string }[] };
}

export interface Node {
  metadata: Meta;
  status?: { addresses?: { type: string; address: string }[] };
}

/** "namespace/name", client-go's MetaNamespaceKey. */
export function keyOf(o: { metadata: Meta }): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
}
