/**
 * NodeRestriction (upstream's plugin/pkg/admission/noderestriction): what a kubelet —
 * `system:node:<name>` in `system:nodes` — may change. The Node authorizer lets nodes write
 * nodes, leases, pods (mirror pods), pods/status and pods/eviction at all; this plugin holds each
 * write to the node's own objects: its own Node (without taints changes or restricted labels),
 * its own Lease in kube-node-lease, status and eviction of pods bound to it, mirror pods bound to
 * it that use no secrets/configMaps/claims/service account, tokens bound to its pods, and PVC
 * status only. Refusals are 403s worded as upstream's (`pods "web" is forbidden: node "kubemu"
 * can only ...`). Requests of anyone else pass untouched.
 */
import type { KubeObject } from "@kubemu/common";
import { newStatus, StatusError } from "@kubemu/common";
import type { UserInfo } from "../auth/attributes.js";
import { NODE_LEASE_NAMESPACE, nodeIdentity } from "../auth/node/node-authorizer.js";
import { MIRROR_POD_ANNOTATION, podReferences } from "../auth/node/references.js";

export const NODE_RESTRICTION = "NodeRestriction";

/** One write as this plugin sees it (upstream's admission.Attributes). */
export interface NodeAdmissionAttributes {
  operation: "CREATE" | "UPDATE" | "DELETE";
  group: string;
  /** Plural resource name. */
  resource: string;
  subresource?: string;
  namespace?: string;
  /** The object's name ("" on a create whose name is in the body). */
  name: string;
  /** The new object (create, update) — for pods/eviction the Eviction, for serviceaccounts/token the TokenRequest. */
  object?: KubeObject;
  old?: KubeObject;
}

export interface NodeRestrictionDeps {
  /** The request's user; undefined for the API server's own writes. */
  user(): UserInfo | undefined;
  /** A pod as stored, undefined when there is none. */
  getPod(namespace: string, name: string): Promise<KubeObject | undefined>;
  /** A node as stored, undefined when there is none. */
  getNode(name: string): Promise<KubeObject | undefined>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const specOf = (o: KubeObject | undefined): Obj => (o && isObj(o.spec) ? o.spec : {});

/** Label keys kubelets may set on their own Node (upstream's kubeletapis.IsKubeletLabel). */
const KUBELET_LABELS = new Set([
  "kubernetes.io/hostname",
  "topology.kubernetes.io/zone",
  "topology.kubernetes.io/region",
  "failure-domain.beta.kubernetes.io/zone",
  "failure-domain.beta.kubernetes.io/region",
  "beta.kubernetes.io/instance-type",
  "node.kubernetes.io/instance-type",
  "kubernetes.io/os",
  "kubernetes.io/arch",
  "beta.kubernetes.io/os",
  "beta.kubernetes.io/arch",
]);
const KUBELET_LABEL_NAMESPACES = ["kubelet.kubernetes.io", "node.kubernetes.io"];

const labelNamespace = (key: string) => (key.includes("/") ? key.slice(0, key.indexOf("/")) : "");
const inNamespace = (ns: string, suffix: string) => ns === suffix || ns.endsWith(`.${suffix}`);

export function isKubeletLabel(key: string): boolean {
  if (KUBELET_LABELS.has(key)) return true;
  const ns = labelNamespace(key);
  return KUBELET_LABEL_NAMESPACES.some((allowed) => inNamespace(ns, allowed));
}

/** The labels a node may not add, remove or change on itself, sorted (upstream's getForbiddenLabels). */
export function forbiddenLabels(next: Record<string, string> | undefined, prev: Record<string, string> | undefined): string[] {
  const a = next ?? {};
  const b = prev ?? {};
  const modified = new Set<string>();
  for (const k of Object.keys(a)) if (!(k in b) || a[k] !== b[k]) modified.add(k);
  for (const k of Object.keys(b)) if (!(k in a) || a[k] !== b[k]) modified.add(k);
  const out = new Set<string>();
  for (const k of modified) {
    const ns = labelNamespace(k);
    if (inNamespace(ns, "node-restriction.kubernetes.io")) out.add(k);
    const kubernetes = inNamespace(ns, "kubernetes.io") || inNamespace(ns, "k8s.io");
    if (kubernetes && !isKubeletLabel(k)) out.add(k);
  }
  return [...out].sort();
}

export class NodeRestriction {
  constructor(private readonly deps: NodeRestrictionDeps) {}

  /** Throws upstream's 403 when a node may not make this write. */
  async validate(a: NodeAdmissionAttributes): Promise<void> {
    const id = nodeIdentity(this.deps.user());
    if (!id.isNode) return;
    const user = this.deps.user()!;
    if (id.nodeName === "") throw forbidden(a, `could not determine node from user ${JSON.stringify(user.name)}`);
    const node = id.nodeName;
    const gr = `${a.resource}.${a.group}`;
    switch (gr) {
      case "pods.":
        if (!a.subresource) return this.pod(node, a);
        if (a.subresource === "status") return podStatus(node, a);
        if (a.subresource === "eviction") return this.eviction(node, a);
        throw forbidden(a, `unexpected pod subresource "${a.subresource}", only 'status' and 'eviction' are allowed`);
      case "nodes.":
        return ownNode(node, a);
      case "persistentvolumeclaims.":
        if (a.subresource === "status") return pvcStatus(node, a);
        throw forbidden(a, "may only update PVC status");
      case "serviceaccounts.":
        return this.token(node, a);
      case "leases.coordination.k8s.io":
        return lease(node, a);
    }
  }

  private async pod(node: string, a: NodeAdmissionAttributes): Promise<void> {
    if (a.operation === "CREATE") return this.mirrorPod(node, a);
    if (a.operation === "DELETE") {
      const existing = await this.existingPod(a.namespace ?? "", a.name);
      if (specOf(existing).nodeName !== node) throw forbidden(a, `node "${node}" can only delete pods with spec.nodeName set to itself`);
      return;
    }
    throw forbidden(a, `unexpected operation "${a.operation}", node "${node}" can only create and delete mirror pods`);
  }

  private async mirrorPod(node: string, a: NodeAdmissionAttributes): Promise<void> {
    const pod = a.object!;
    if (pod.metadata.annotations?.[MIRROR_POD_ANNOTATION] === undefined) throw forbidden(a, `pod does not have "${MIRROR_POD_ANNOTATION}" annotation, node "${node}" can only create mirror pods`);
    const spec = specOf(pod);
    if (spec.nodeName !== node) throw forbidden(a, `node "${node}" can only create pods with spec.nodeName set to itself`);
    const owners = pod.metadata.ownerReferences ?? [];
    if (owners.length > 1) throw forbidden(a, `node "${node}" can only create pods with a single owner reference set to itself`);
    const owner = owners[0];
    if (!owner || owner.apiVersion !== "v1" || owner.kind !== "Node" || owner.name !== node) throw forbidden(a, `node "${node}" can only create pods with an owner reference set to itself`);
    if (owner.controller !== true) throw forbidden(a, `node "${node}" can only create pods with a controller owner reference set to itself`);
    if (owner.blockOwnerDeletion === true) throw forbidden(a, `node "${node}" must not set blockOwnerDeletion on an owner reference`);
    const self = await this.deps.getNode(node);
    if (!self) throw new StatusError(newStatus("NotFound", `nodes "${node}" not found`, { name: node, kind: "nodes" }));
    if (owner.uid !== self.metadata.uid) throw forbidden(a, `node ${node} UID mismatch: expected ${owner.uid} got ${self.metadata.uid ?? ""}`);
    // A node must not make a pod that would let it read other objects.
    if (spec.serviceAccountName) throw forbidden(a, `node "${node}" can not create pods that reference a service account`);
    const refs = podReferences(pod)!;
    if (refs.secrets.length > 0) throw forbidden(a, `node "${node}" can not create pods that reference secrets`);
    if (refs.configMaps.length > 0) throw forbidden(a, `node "${node}" can not create pods that reference configmaps`);
    const volumes = Array.isArray(spec.volumes) ? spec.volumes.filter(isObj) : [];
    const projected = volumes.flatMap((v) => (isObj(v.projected) && Array.isArray(v.projected.sources) ? v.projected.sources.filter(isObj) : []));
    if (projected.some((s) => s.clusterTrustBundle !== undefined)) throw forbidden(a, `node "${node}" can not create pods that reference clustertrustbundles`);
    if (volumes.some((v) => v.persistentVolumeClaim !== undefined)) throw forbidden(a, `node "${node}" can not create pods that reference persistentvolumeclaims`);
  }

  private async eviction(node: string, a: NodeAdmissionAttributes): Promise<void> {
    if (a.operation !== "CREATE") throw forbidden(a, `unexpected operation ${a.operation}`);
    const podName = a.name || a.object?.metadata?.name || "";
    if (!podName) throw forbidden(a, "could not determine pod from request data");
    const existing = await this.existingPod(a.namespace ?? "", podName);
    if (specOf(existing).nodeName !== node) throw forbidden(a, `node ${node} can only evict pods with spec.nodeName set to itself`);
  }

  private async token(node: string, a: NodeAdmissionAttributes): Promise<void> {
    if (a.operation !== "CREATE" || a.subresource !== "token") return;
    const spec = specOf(a.object);
    const ref = isObj(spec.boundObjectRef) ? spec.boundObjectRef : undefined;
    if (!ref || ref.apiVersion !== "v1" || ref.kind !== "Pod" || !ref.name) throw forbidden(a, "node requested token not bound to a pod");
    if (!ref.uid) throw forbidden(a, "node requested token with a pod binding without a uid");
    const pod = await this.existingPod(a.namespace ?? "", String(ref.name));
    if (ref.uid !== pod.metadata.uid) throw forbidden(a, `the UID in the bound object reference (${String(ref.uid)}) does not match the UID in record. The object might have been deleted and then recreated`);
    if (specOf(pod).nodeName !== node) throw forbidden(a, "node requested token bound to a pod scheduled on a different node");
  }

  /** The pod a request names; its NotFound as is (upstream returns the getter's error). */
  private async existingPod(namespace: string, name: string): Promise<KubeObject> {
    const pod = await this.deps.getPod(namespace, name);
    if (!pod) throw new StatusError(newStatus("NotFound", `pods "${name}" not found`, { name, kind: "pods" }));
    return pod;
  }
}

function podStatus(node: string, a: NodeAdmissionAttributes): void {
  if (a.operation !== "UPDATE") throw forbidden(a, `unexpected operation "${a.operation}"`);
  if (specOf(a.old).nodeName !== node) throw forbidden(a, `node "${node}" can only update pod status for pods with spec.nodeName set to itself`);
  if (!sameLabels(a.old?.metadata.labels, a.object?.metadata.labels)) throw forbidden(a, `node "${node}" cannot update labels through pod status`);
}

function pvcStatus(node: string, a: NodeAdmissionAttributes): void {
  if (a.operation !== "UPDATE") throw forbidden(a, `unexpected operation "${a.operation}"`);
  // Everything but status.capacity, status.conditions and the bookkeeping must stay as it was.
  const comparable = (o: KubeObject | undefined) => {
    const c = structuredClone(o ?? { metadata: {} }) as KubeObject & { status?: Obj };
    delete c.metadata.resourceVersion;
    delete c.metadata.managedFields;
    if (isObj(c.status)) {
      delete c.status.capacity;
      delete c.status.conditions;
      delete c.status.allocatedResourceStatuses;
      delete c.status.allocatedResources;
    }
    return canonical(c);
  };
  if (comparable(a.old) !== comparable(a.object)) throw forbidden(a, `node "${node}" is not allowed to update fields other than status.capacity and status.conditions`);
}

function ownNode(node: string, a: NodeAdmissionAttributes): void {
  const requested = a.name || (a.operation === "CREATE" ? (a.object?.metadata.name ?? "") : "");
  if (requested !== node) throw forbidden(a, `node "${node}" is not allowed to modify node "${requested}"`);
  const spec = specOf(a.object);
  if (a.operation === "CREATE") {
    if (spec.configSource !== undefined && spec.configSource !== null) throw forbidden(a, `node "${node}" is not allowed to create pods with a non-nil configSource`);
    const bad = forbiddenLabels(a.object?.metadata.labels, undefined);
    if (bad.length > 0) throw forbidden(a, `node "${node}" is not allowed to set the following labels: ${bad.join(", ")}`);
  }
  if (a.operation === "UPDATE") {
    const old = specOf(a.old);
    if (spec.configSource !== undefined && spec.configSource !== null && canonical(spec.configSource) !== canonical(old.configSource)) throw forbidden(a, `node "${node}" is not allowed to update configSource to a new non-nil configSource`);
    if (canonical(spec.taints ?? []) !== canonical(old.taints ?? [])) throw forbidden(a, `node "${node}" is not allowed to modify taints`);
    const bad = forbiddenLabels(a.object?.metadata.labels, a.old?.metadata.labels);
    if (bad.length > 0) throw forbidden(a, `is not allowed to modify labels: ${bad.join(", ")}`);
  }
}

function lease(node: string, a: NodeAdmissionAttributes): void {
  if (a.namespace !== NODE_LEASE_NAMESPACE) throw forbidden(a, `can only access leases in the "${NODE_LEASE_NAMESPACE}" system namespace`);
  const name = a.operation === "CREATE" ? (a.object?.metadata.name ?? a.name) : a.name;
  if (name !== node) throw forbidden(a, "can only access node lease with the same name as the requesting node");
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const x = a ?? {};
  const y = b ?? {};
  return Object.keys(x).length === Object.keys(y).length && Object.keys(x).every((k) => k in y && x[k] === y[k]);
}

/** JSON with sorted keys: a semantic comparison of API values. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) => (isObj(val) ? Object.fromEntries(Object.keys(val).sort().map((k) => [k, val[k]])) : val));
}

/** upstream's admission.NewForbidden: `<resource>[.<group>] "<name>" is forbidden: <why>` (name from the object on a create). */
export function forbidden(a: NodeAdmissionAttributes, why: string): StatusError {
  const resource = a.group ? `${a.resource}.${a.group}` : a.resource;
  const name = a.name || a.object?.metadata?.name || "";
  const message = name ? `${resource} ${JSON.stringify(name)} is forbidden: ${why}` : `${resource} is forbidden: ${why}`;
  return new StatusError(newStatus("Forbidden", message, { ...(name ? { name } : {}), group: a.group, kind: a.resource }));
}
