import { describe, expect, it } from "vitest";
import { toStatus, type KubeObject } from "@kubemu/common";
import { forbiddenLabels, NodeRestriction, type NodeAdmissionAttributes } from "../../src/admission/node-restriction.js";
import type { UserInfo } from "../../src/auth/attributes.js";

const nodeUser = (n: string): UserInfo => ({ name: `system:node:${n}`, groups: ["system:nodes", "system:authenticated"] });
const pod = (name: string, nodeName: string, extra: Partial<KubeObject> & { spec?: Record<string, unknown> } = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  ...extra,
  metadata: { name, namespace: "ns", uid: `uid-${name}`, ...(extra.metadata ?? {}) },
  spec: { nodeName, containers: [{ name: "c", image: "busybox" }], ...(extra.spec ?? {}) },
});
const node = (name: string, labels: Record<string, string> = {}, spec: Record<string, unknown> = {}): KubeObject => ({ apiVersion: "v1", kind: "Node", metadata: { name, uid: `uid-${name}`, labels }, spec });

function plugin(user: UserInfo | undefined) {
  const pods = new Map([["ns/mine", pod("mine", "n1")], ["ns/theirs", pod("theirs", "n2")]]);
  const nodes = new Map([["n1", node("n1")]]);
  return new NodeRestriction({ user: () => user, getPod: async (ns, n) => pods.get(`${ns}/${n}`), getNode: async (n) => nodes.get(n) });
}

/** The 403's message, or "allowed". */
async function outcome(user: UserInfo | undefined, a: NodeAdmissionAttributes): Promise<string> {
  try {
    await plugin(user).validate(a);
    return "allowed";
  } catch (e) {
    const s = toStatus(e);
    return `${s.code} ${s.message}`;
  }
}

const n1 = nodeUser("n1");
const mirror = (spec: Record<string, unknown> = {}, owner: Record<string, unknown> = {}) =>
  pod("static-web-n1", "n1", { metadata: { name: "static-web-n1", annotations: { "kubernetes.io/config.mirror": "abc" }, ownerReferences: [{ apiVersion: "v1", kind: "Node", name: "n1", uid: "uid-n1", controller: true, ...owner }] } as never, spec });

describe("NodeRestriction", () => {
  it("leaves everyone but nodes alone", async () => {
    expect(await outcome({ name: "jane", groups: ["system:authenticated"] }, { operation: "UPDATE", group: "", resource: "nodes", name: "n2", object: node("n2"), old: node("n2") })).toBe("allowed");
    expect(await outcome(undefined, { operation: "DELETE", group: "", resource: "pods", namespace: "ns", name: "theirs" })).toBe("allowed");
    expect(await outcome({ name: "system:node:", groups: ["system:nodes"] }, { operation: "DELETE", group: "", resource: "pods", namespace: "ns", name: "mine" })).toBe('403 pods "mine" is forbidden: could not determine node from user "system:node:"');
  });

  it("its own Node only; no taint changes; no restricted labels", async () => {
    expect(await outcome(n1, { operation: "UPDATE", group: "", resource: "nodes", subresource: "status", name: "n2", object: node("n2"), old: node("n2") })).toBe('403 nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"');
    expect(await outcome(n1, { operation: "CREATE", group: "", resource: "nodes", name: "", object: node("n2") })).toBe('403 nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"');
    expect(await outcome(n1, { operation: "DELETE", group: "", resource: "nodes", name: "n2" })).toBe('403 nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"');
    expect(await outcome(n1, { operation: "CREATE", group: "", resource: "nodes", name: "n1", object: node("n1", { "kubernetes.io/hostname": "n1", "node.kubernetes.io/exclude-from-external-load-balancers": "", "example.com/x": "y" }) })).toBe("allowed");
    expect(await outcome(n1, { operation: "CREATE", group: "", resource: "nodes", name: "n1", object: node("n1", { "node-role.kubernetes.io/control-plane": "", "node-restriction.kubernetes.io/pci": "true" }) })).toBe(
      '403 nodes "n1" is forbidden: node "n1" is not allowed to set the following labels: node-restriction.kubernetes.io/pci, node-role.kubernetes.io/control-plane',
    );
    expect(await outcome(n1, { operation: "UPDATE", group: "", resource: "nodes", name: "n1", object: node("n1", { "foo.node-restriction.kubernetes.io/a": "b" }), old: node("n1") })).toBe('403 nodes "n1" is forbidden: is not allowed to modify labels: foo.node-restriction.kubernetes.io/a');
    // Removing a restricted label is a modification too; keeping one as it is is not.
    expect(await outcome(n1, { operation: "UPDATE", group: "", resource: "nodes", name: "n1", object: node("n1"), old: node("n1", { "node-role.kubernetes.io/worker": "" }) })).toBe('403 nodes "n1" is forbidden: is not allowed to modify labels: node-role.kubernetes.io/worker');
    expect(await outcome(n1, { operation: "UPDATE", group: "", resource: "nodes", name: "n1", object: node("n1", { "node-role.kubernetes.io/worker": "", "kubernetes.io/arch": "arm64" }), old: node("n1", { "node-role.kubernetes.io/worker": "" }) })).toBe("allowed");
    expect(await outcome(n1, { operation: "UPDATE", group: "", resource: "nodes", name: "n1", object: node("n1", {}, { taints: [] }), old: node("n1", {}, { taints: [{ key: "k", effect: "NoSchedule" }] }) })).toBe('403 nodes "n1" is forbidden: node "n1" is not allowed to modify taints');
  });

  it("forbiddenLabels follows upstream's kubelet label set", () => {
    expect(forbiddenLabels({ "kubernetes.io/hostname": "a", "topology.kubernetes.io/zone": "z", "kubelet.kubernetes.io/x": "", "sub.node.kubernetes.io/y": "", "k8s.io/z": "", "minikube.k8s.io/name": "m", "other.io/x": "" }, undefined)).toEqual(["k8s.io/z", "minikube.k8s.io/name"]);
  });

  it("its own Lease in kube-node-lease only", async () => {
    const lease = (name: string): KubeObject => ({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name, namespace: "kube-node-lease" } });
    expect(await outcome(n1, { operation: "CREATE", group: "coordination.k8s.io", resource: "leases", namespace: "kube-node-lease", name: "", object: lease("n1") })).toBe("allowed");
    expect(await outcome(n1, { operation: "CREATE", group: "coordination.k8s.io", resource: "leases", namespace: "kube-node-lease", name: "", object: lease("n2") })).toBe('403 leases.coordination.k8s.io "n2" is forbidden: can only access node lease with the same name as the requesting node');
    expect(await outcome(n1, { operation: "UPDATE", group: "coordination.k8s.io", resource: "leases", namespace: "default", name: "n1", object: lease("n1"), old: lease("n1") })).toBe('403 leases.coordination.k8s.io "n1" is forbidden: can only access leases in the "kube-node-lease" system namespace');
  });

  it("pod status only of its pods, and without label changes", async () => {
    expect(await outcome(n1, { operation: "UPDATE", group: "", resource: "pods", subresource: "status", namespace: "ns", name: "mine", object: pod("mine", "n1"), old: pod("mine", "n1") })).toBe("allowed");
    expect(await outcome(n1, { operation: "UPDATE", group: "", resource: "pods", subresource: "status", namespace: "ns", name: "theirs", object: pod("theirs", "n2"), old: pod("theirs", "n2") })).toBe('403 pods "theirs" is forbidden: node "n1" can only update pod status for pods with spec.nodeName set to itself');
    expect(await outcome(n1, { operation: "UPDATE", group: "", resource: "pods", subresource: "status", namespace: "ns", name: "mine", object: pod("mine", "n1", { metadata: { name: "mine", labels: { a: "b" } } as never }), old: pod("mine", "n1") })).toBe('403 pods "mine" is forbidden: node "n1" cannot update labels through pod status');
    expect(await outcome(n1, { operation: "UPDATE", group: "", resource: "pods", subresource: "exec", namespace: "ns", name: "mine" })).toBe(`403 pods "mine" is forbidden: unexpected pod subresource "exec", only 'status' and 'eviction' are allowed`);
  });

  it("deletes and evicts only its pods", async () => {
    expect(await outcome(n1, { operation: "DELETE", group: "", resource: "pods", namespace: "ns", name: "mine" })).toBe("allowed");
    expect(await outcome(n1, { operation: "DELETE", group: "", resource: "pods", namespace: "ns", name: "theirs" })).toBe('403 pods "theirs" is forbidden: node "n1" can only delete pods with spec.nodeName set to itself');
    expect(await outcome(n1, { operation: "DELETE", group: "", resource: "pods", namespace: "ns", name: "gone" })).toBe('404 pods "gone" not found');
    expect(await outcome(n1, { operation: "CREATE", group: "", resource: "pods", subresource: "eviction", namespace: "ns", name: "mine" })).toBe("allowed");
    expect(await outcome(n1, { operation: "CREATE", group: "", resource: "pods", subresource: "eviction", namespace: "ns", name: "theirs" })).toBe('403 pods "theirs" is forbidden: node n1 can only evict pods with spec.nodeName set to itself');
    expect(await outcome(n1, { operation: "UPDATE", group: "", resource: "pods", namespace: "ns", name: "mine", object: pod("mine", "n1"), old: pod("mine", "n1") })).toBe('403 pods "mine" is forbidden: unexpected operation "UPDATE", node "n1" can only create and delete mirror pods');
  });

  it("creates only mirror pods bound to itself, owned by its Node, referencing nothing", async () => {
    const create = (p: KubeObject) => outcome(n1, { operation: "CREATE", group: "", resource: "pods", namespace: "ns", name: p.metadata.name!, object: p });
    expect(await create(mirror())).toBe("allowed");
    expect(await create(pod("plain", "n1"))).toBe('403 pods "plain" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods');
    const elsewhere = mirror();
    (elsewhere.spec as Record<string, unknown>).nodeName = "n2";
    expect(await create(elsewhere)).toBe('403 pods "static-web-n1" is forbidden: node "n1" can only create pods with spec.nodeName set to itself');
    expect(await create(mirror({}, { controller: false }))).toBe('403 pods "static-web-n1" is forbidden: node "n1" can only create pods with a controller owner reference set to itself');
    expect(await create(mirror({}, { blockOwnerDeletion: true }))).toBe('403 pods "static-web-n1" is forbidden: node "n1" must not set blockOwnerDeletion on an owner reference');
    expect(await create(mirror({}, { name: "n2" }))).toBe('403 pods "static-web-n1" is forbidden: node "n1" can only create pods with an owner reference set to itself');
    expect(await create(mirror({}, { uid: "forged" }))).toBe('403 pods "static-web-n1" is forbidden: node n1 UID mismatch: expected forged got uid-n1');
    expect(await create(mirror({ serviceAccountName: "default" }))).toBe('403 pods "static-web-n1" is forbidden: node "n1" can not create pods that reference a service account');
    expect(await create(mirror({ volumes: [{ name: "s", secret: { secretName: "x" } }] }))).toBe('403 pods "static-web-n1" is forbidden: node "n1" can not create pods that reference secrets');
    expect(await create(mirror({ volumes: [{ name: "c", projected: { sources: [{ configMap: { name: "x" } }] } }] }))).toBe('403 pods "static-web-n1" is forbidden: node "n1" can not create pods that reference configmaps');
    expect(await create(mirror({ volumes: [{ name: "d", persistentVolumeClaim: { claimName: "x" } }] }))).toBe('403 pods "static-web-n1" is forbidden: node "n1" can not create pods that reference persistentvolumeclaims');
  });

  it("tokens only bound to its own pods; PVC status only", async () => {
    const tr = (ref: Record<string, unknown> | undefined): KubeObject => ({ apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", metadata: {}, spec: ref ? { boundObjectRef: ref } : {} });
    const token = (ref: Record<string, unknown> | undefined) => outcome(n1, { operation: "CREATE", group: "", resource: "serviceaccounts", subresource: "token", namespace: "ns", name: "default", object: tr(ref) });
    expect(await token({ apiVersion: "v1", kind: "Pod", name: "mine", uid: "uid-mine" })).toBe("allowed");
    expect(await token(undefined)).toBe('403 serviceaccounts "default" is forbidden: node requested token not bound to a pod');
    expect(await token({ apiVersion: "v1", kind: "Pod", name: "mine" })).toBe('403 serviceaccounts "default" is forbidden: node requested token with a pod binding without a uid');
    expect(await token({ apiVersion: "v1", kind: "Pod", name: "mine", uid: "old" })).toBe('403 serviceaccounts "default" is forbidden: the UID in the bound object reference (old) does not match the UID in record. The object might have been deleted and then recreated');
    expect(await token({ apiVersion: "v1", kind: "Pod", name: "theirs", uid: "uid-theirs" })).toBe('403 serviceaccounts "default" is forbidden: node requested token bound to a pod scheduled on a different node');
    const pvc = (status: Record<string, unknown>, labels?: Record<string, string>): KubeObject => ({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "data", namespace: "ns", ...(labels ? { labels } : {}) }, spec: {}, status });
    expect(await outcome(n1, { operation: "UPDATE", group: "", resource: "persistentvolumeclaims", subresource: "status", namespace: "ns", name: "data", object: pvc({ phase: "Bound", capacity: { storage: "2Gi" } }), old: pvc({ phase: "Bound", capacity: { storage: "1Gi" } }) })).toBe("allowed");
    expect(await outcome(n1, { operation: "UPDATE", group: "", resource: "persistentvolumeclaims", subresource: "status", namespace: "ns", name: "data", object: pvc({ phase: "Lost" }), old: pvc({ phase: "Bound" }) })).toBe('403 persistentvolumeclaims "data" is forbidden: node "n1" is not allowed to update fields other than status.capacity and status.conditions');
    expect(await outcome(n1, { operation: "UPDATE", group: "", resource: "persistentvolumeclaims", namespace: "ns", name: "data", object: pvc({}), old: pvc({}) })).toBe('403 persistentvolumeclaims "data" is forbidden: may only update PVC status');
  });
});
