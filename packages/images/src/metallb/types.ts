/** The parts of Kubernetes objects the metallb programs read and write. */

export interface Meta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
}

export interface ServicePort {
  name?: string;
  protocol?: string;
  port: number;
  nodePort?: number;
}

export interface Service {
  apiVersion?: string;
  kind?: string;
  metadata: Meta;
  spec: {
    type?: string;
    clusterIP?: string;
    loadBalancerIP?: string;
    externalTrafficPolicy?: string;
    selector?: Record<string, string>;
    ports?: ServicePort[];
  };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

export interface Endpoints {
  metadata: Meta;
  subsets?: { addresses?: { ip: string; nodeName?: string }[]; notReadyAddresses?: { ip: string; nodeName?: string }[] }[];
}

export interface ConfigMap {
  metadata: Meta;
  data?: Record<string, string>;
}

export interface List<T> {
  metadata?: { resourceVersion?: string };
  items: T[];
}

export const serviceKey = (s: { metadata: Meta }) => `${s.metadata.namespace ?? "default"}/${s.metadata.name}`;

/** The API calls the programs make (ApiServerClient in the program; a fake in tests). */
export interface Api {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
  put<T>(path: string, body: unknown): Promise<T>;
  /** JSON merge patch. */
  patch<T>(path: string, body: unknown): Promise<T>;
}
