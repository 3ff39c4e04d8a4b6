/**
 * Ingress status as ingress-nginx's status sync writes it (internal/ingress/status): the
 * addresses are --publish-status-address if given, else the nodes of the Running and Ready pods
 * that carry this controller pod's labels (ExternalIP, or InternalIP when there is none or
 * --report-node-internal-ip-address); every Ingress of the class whose
 * status.loadBalancer.ingress differs is updated through its status subresource.
 */
import type { KubeClient } from "./kube.js";
import type { Ingress, LoadBalancerIngress, Node, Pod } from "./types.js";

/** Labels the pods of one controller share (the per-revision ones differ between replicas). */
const REVISION_LABELS = ["pod-template-hash", "controller-revision-hash", "pod-template-generation"];

export function controllerSelector(labels: Record<string, string>): string {
  return Object.entries(labels)
    .filter(([k]) => !REVISION_LABELS.includes(k))
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

export function nodeAddresses(node: Node, useInternalIP: boolean): string[] {
  const internal: string[] = [];
  const external: string[] = [];
  for (const a of node.status?.addresses ?? []) {
    if (a.type === "InternalIP" && a.address) internal.push(a.address);
    if (a.type === "ExternalIP" && a.address) external.push(a.address);
  }
  return useInternalIP || external.length === 0 ? internal : external;
}

const toLB = (addr: string): LoadBalancerIngress => (/^[\d.]+$|:/.test(addr) ? { ip: addr } : { hostname: addr });

export function sameStatus(a: LoadBalancerIngress[], b: LoadBalancerIngress[]): boolean {
  const norm = (l: LoadBalancerIngress[]) => l.map((x) => `${x.ip ?? ""}|${x.hostname ?? ""}`).sort().join(",");
  return norm(a) === norm(b);
}

/** Go's %v of []IngressLoadBalancerIngress, as the "updating Ingress status" line prints it. */
export const goValue = (l: LoadBalancerIngress[]) => `[${l.map((x) => `{${x.ip ?? ""} ${x.hostname ?? ""} []}`).join(" ")}]`;

export interface StatusOptions {
  client: KubeClient;
  namespace: string;
  podLabels: Record<string, string>;
  publishStatusAddress: string;
  useNodeInternalIP: boolean;
  log: (msg: string, kv?: Record<string, string>) => void;
}

export async function runningAddresses(o: StatusOptions): Promise<LoadBalancerIngress[]> {
  if (o.publishStatusAddress) return o.publishStatusAddress.split(/,\s*/).filter(Boolean).map(toLB);
  const pods = await o.client.get<{ items: Pod[] }>(`/api/v1/namespaces/${o.namespace}/pods?labelSelector=${encodeURIComponent(controllerSelector(o.podLabels))}`);
  const addrs: string[] = [];
  for (const pod of pods.items) {
    if (pod.status?.phase !== "Running") continue;
    if (!(pod.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True")) {
      o.log("POD is not ready", { pod: `${pod.metadata.namespace}/${pod.metadata.name}`, node: pod.spec?.nodeName ?? "" });
      continue;
    }
    if (!pod.spec?.nodeName) continue;
    const node = await o.client.get<Node>(`/api/v1/nodes/${pod.spec.nodeName}`).catch(() => undefined);
    if (!node) continue;
    for (const a of nodeAddresses(node, o.useNodeInternalIP)) if (!addrs.includes(a)) addrs.push(a);
  }
  return addrs.map(toLB);
}

/** Writes the addresses into every Ingress whose status differs; a failure on one never stops the others. */
export async function updateIngressStatus(o: StatusOptions, ingresses: Ingress[], addrs: LoadBalancerIngress[]): Promise<void> {
  for (const ing of ingresses) {
    const cur = ing.status?.loadBalancer?.ingress ?? [];
    if (sameStatus(cur, addrs)) continue;
    o.log("updating Ingress status", { namespace: ing.metadata.namespace ?? "", ingress: ing.metadata.name, currentValue: goValue(cur), newValue: goValue(addrs) });
    const body = { ...ing, apiVersion: "networking.k8s.io/v1", kind: "Ingress", status: { loadBalancer: addrs.length > 0 ? { ingress: addrs } : {} } };
    await o.client.put(`/apis/networking.k8s.io/v1/namespaces/${ing.metadata.namespace}/ingresses/${ing.metadata.name}/status`, body).catch((e: Error) => o.log("error updating ingress rule", { error: e.message }));
  }
}
