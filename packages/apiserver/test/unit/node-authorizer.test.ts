import { describe, expect, it } from "vitest";
import { DeletedFinalStateUnknown, type KubeObject } from "@kubemu/common";
import { NodeGraph } from "../../src/auth/node/graph.js";
import { podGraphHandler, pvGraphHandler } from "../../src/auth/node/graph-populator.js";
import { NodeAuthorizer, nodeIdentity } from "../../src/auth/node/node-authorizer.js";
import { resourceAttributes, type UserInfo } from "../../src/auth/attributes.js";
import { clusterRoles } from "../../src/auth/bootstrap/cluster-roles.js";
import { rulesOf } from "../../src/auth/rules.js";

const pod = (name: string, node: string | undefined, spec: Record<string, unknown> = {}, extra: { ns?: string; uid?: string; annotations?: Record<string, string> } = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: extra.ns ?? "ns", uid: extra.uid ?? `uid-${name}`, ...(extra.annotations ? { annotations: extra.annotations } : {}) },
  spec: { ...(node ? { nodeName: node } : {}), containers: [{ name: "c", image: "busybox" }], ...spec },
});
const pv = (name: string, claim?: { namespace: string; name: string }, spec: Record<string, unknown> = {}): KubeObject => ({ apiVersion: "v1", kind: "PersistentVolume", metadata: { name }, spec: { ...(claim ? { claimRef: claim } : {}), ...spec } });

describe("NodeGraph", () => {
  it("a pod's volumes, projected sources, env, envFrom, imagePullSecrets and service account lead to its node only", () => {
    const g = new NodeGraph();
    g.addPod(
      pod("web", "n1", {
        serviceAccountName: "sa",
        imagePullSecrets: [{ name: "pull" }],
        initContainers: [{ name: "i", env: [{ name: "A", valueFrom: { secretKeyRef: { name: "init-env", key: "k" } } }] }],
        containers: [{ name: "c", envFrom: [{ configMapRef: { name: "from-cm" } }, { secretRef: { name: "from-secret" } }], env: [{ name: "B", valueFrom: { configMapKeyRef: { name: "env-cm", key: "k" } } }] }],
        volumes: [
          { name: "s", secret: { secretName: "vol-secret" } },
          { name: "c", configMap: { name: "vol-cm" } },
          { name: "p", projected: { sources: [{ secret: { name: "proj-secret" } }, { configMap: { name: "proj-cm" } }] } },
          { name: "d", persistentVolumeClaim: { claimName: "data" } },
          { name: "scratch", ephemeral: { volumeClaimTemplate: { spec: {} } } },
          { name: "csi", csi: { driver: "x", nodePublishSecretRef: { name: "csi-secret" } } },
        ],
      }),
    );
    for (const s of ["pull", "init-env", "from-secret", "vol-secret", "proj-secret", "csi-secret"]) {
      expect(g.hasPathFrom("n1", "secret", "ns", s), s).toBe(true);
      expect(g.hasPathFrom("n2", "secret", "ns", s), s).toBe(false);
      expect(g.hasPathFrom("n1", "secret", "other", s), s).toBe(false);
    }
    for (const c of ["from-cm", "env-cm", "vol-cm", "proj-cm"]) expect(g.hasPathFrom("n1", "configmap", "ns", c), c).toBe(true);
    expect(g.hasPathFrom("n1", "pvc", "ns", "data")).toBe(true);
    expect(g.hasPathFrom("n1", "pvc", "ns", "web-scratch")).toBe(true);
    expect(g.hasPathFrom("n1", "serviceaccount", "ns", "sa")).toBe(true);
    expect(g.hasPathFrom("n1", "pod", "ns", "web")).toBe(true);
    expect(g.hasPathFrom("n2", "pod", "ns", "web")).toBe(false);
    expect(g.hasPathFrom("n1", "secret", "ns", "unrelated")).toBe(false);
  });

  it("an unbound pod is not in the graph; binding adds it; deleting removes every edge", () => {
    const g = new NodeGraph();
    const spec = { volumes: [{ name: "s", secret: { secretName: "s1" } }] };
    g.addPod(pod("p", undefined, spec));
    expect(g.hasPathFrom("n1", "secret", "ns", "s1")).toBe(false);
    g.addPod(pod("p", "n1", spec));
    expect(g.hasPathFrom("n1", "secret", "ns", "s1")).toBe(true);
    g.deletePod("ns", "p");
    expect(g.hasPathFrom("n1", "secret", "ns", "s1")).toBe(false);
    expect(g.size).toEqual({ pods: 0, pvs: 0, vertices: 0 });
  });

  it("a secret shared by pods on two nodes stays readable by each until its last pod there goes", () => {
    const g = new NodeGraph();
    const spec = { volumes: [{ name: "s", secret: { secretName: "shared" } }] };
    g.addPod(pod("a", "n1", spec));
    g.addPod(pod("b", "n1", spec));
    g.addPod(pod("c", "n2", spec));
    g.deletePod("ns", "a");
    expect(g.hasPathFrom("n1", "secret", "ns", "shared")).toBe(true);
    g.deletePod("ns", "b");
    expect(g.hasPathFrom("n1", "secret", "ns", "shared")).toBe(false);
    expect(g.hasPathFrom("n2", "secret", "ns", "shared")).toBe(true);
  });

  it("a pod recreated under the same name on another node moves its edges (node reassign)", () => {
    const g = new NodeGraph();
    const spec = { volumes: [{ name: "c", configMap: { name: "cfg" } }] };
    g.addPod(pod("web", "n1", spec, { uid: "u1" }));
    g.addPod(pod("web", "n2", { volumes: [{ name: "c", configMap: { name: "cfg2" } }] }, { uid: "u2" }));
    expect(g.hasPathFrom("n1", "configmap", "ns", "cfg")).toBe(false);
    expect(g.hasPathFrom("n1", "pod", "ns", "web")).toBe(false);
    expect(g.hasPathFrom("n2", "configmap", "ns", "cfg2")).toBe(true);
    expect(g.hasPathFrom("n2", "configmap", "ns", "cfg")).toBe(false);
  });

  it("mirror pods lead to their node but grant nothing else", () => {
    const g = new NodeGraph();
    g.addPod(pod("static", "n1", { serviceAccountName: "sa", volumes: [{ name: "s", secret: { secretName: "s1" } }] }, { annotations: { "kubernetes.io/config.mirror": "hash" } }));
    expect(g.hasPathFrom("n1", "pod", "ns", "static")).toBe(true);
    expect(g.hasPathFrom("n1", "secret", "ns", "s1")).toBe(false);
    expect(g.hasPathFrom("n1", "serviceaccount", "ns", "sa")).toBe(false);
  });

  it("pv → pvc → pod → node, and secret → pv", () => {
    const g = new NodeGraph();
    g.addPV(pv("vol", { namespace: "ns", name: "data" }, { csi: { driver: "x", nodeStageSecretRef: { name: "stage", namespace: "secrets" }, controllerPublishSecretRef: { name: "ctrl", namespace: "secrets" } } }));
    g.addPV(pv("unbound"));
    expect(g.hasPathFrom("n1", "pv", "", "vol")).toBe(false);
    g.addPod(pod("db", "n1", { volumes: [{ name: "d", persistentVolumeClaim: { claimName: "data" } }] }));
    expect(g.hasPathFrom("n1", "pv", "", "vol")).toBe(true);
    expect(g.hasPathFrom("n2", "pv", "", "vol")).toBe(false);
    expect(g.hasPathFrom("n1", "secret", "secrets", "stage")).toBe(true);
    // Controller secrets are not the kubelet's to read.
    expect(g.hasPathFrom("n1", "secret", "secrets", "ctrl")).toBe(false);
    expect(g.hasPathFrom("n1", "pv", "", "unbound")).toBe(false);
    g.deletePV("vol");
    expect(g.hasPathFrom("n1", "pv", "", "vol")).toBe(false);
    expect(g.hasPathFrom("n1", "secret", "secrets", "stage")).toBe(false);
    expect(g.hasPathFrom("n1", "pvc", "ns", "data")).toBe(true);
  });
});

describe("NodeAuthorizer", () => {
  const node = (n: string): UserInfo => ({ name: `system:node:${n}`, groups: ["system:nodes", "system:authenticated"] });
  const g = new NodeGraph();
  g.addPod(pod("web", "n1", { serviceAccountName: "sa", volumes: [{ name: "s", secret: { secretName: "mine" } }, { name: "d", persistentVolumeClaim: { claimName: "data" } }] }));
  g.addPV(pv("vol", { namespace: "ns", name: "data" }));
  const rules = rulesOf(clusterRoles().find((r) => r.metadata.name === "system:node"));
  const authz = new NodeAuthorizer(g, () => rules);
  const ask = (user: UserInfo, verb: string, resource: string, extra: { group?: string; namespace?: string; name?: string; subresource?: string; fieldSelector?: string } = {}) =>
    authz.authorize(user, resourceAttributes({ verb, group: extra.group ?? "", resource, ...extra }));

  it("identifies nodes as upstream's node identifier", () => {
    expect(nodeIdentity(node("n1"))).toEqual({ isNode: true, nodeName: "n1" });
    expect(nodeIdentity({ name: "system:node:n1", groups: [] })).toEqual({ isNode: false });
    expect(nodeIdentity({ name: "jane", groups: ["system:nodes"] })).toEqual({ isNode: false });
    expect(ask({ name: "system:node:", groups: ["system:nodes"] }, "get", "secrets", { namespace: "ns", name: "mine" })).toEqual({ decision: "noOpinion", reason: 'unknown node for user "system:node:"' });
    expect(ask({ name: "jane", groups: [] }, "get", "secrets", { namespace: "ns", name: "mine" })).toEqual({ decision: "noOpinion", reason: "" });
  });

  it("secrets and configmaps: get, and list/watch of one name, only when related", () => {
    expect(ask(node("n1"), "get", "secrets", { namespace: "ns", name: "mine" }).decision).toBe("allow");
    expect(ask(node("n1"), "watch", "secrets", { namespace: "ns", name: "mine" }).decision).toBe("allow");
    expect(ask(node("n2"), "get", "secrets", { namespace: "ns", name: "mine" })).toEqual({ decision: "noOpinion", reason: "no relationship found between node 'n2' and this object" });
    expect(ask(node("n1"), "list", "secrets", { namespace: "ns" })).toEqual({ decision: "noOpinion", reason: "No Object name found" });
    expect(ask(node("n1"), "list", "secrets")).toEqual({ decision: "noOpinion", reason: "can only read namespaced object of this type" });
    expect(ask(node("n1"), "update", "secrets", { namespace: "ns", name: "mine" })).toEqual({ decision: "noOpinion", reason: "can only read resources of this type" });
    expect(ask(node("n1"), "get", "configmaps", { namespace: "ns", name: "mine" }).reason).toBe("no relationship found between node 'n1' and this object");
  });

  it("claims and volumes only by get; tokens only for its pods' service accounts", () => {
    expect(ask(node("n1"), "get", "persistentvolumeclaims", { namespace: "ns", name: "data" }).decision).toBe("allow");
    expect(ask(node("n1"), "get", "persistentvolumes", { name: "vol" }).decision).toBe("allow");
    expect(ask(node("n1"), "watch", "persistentvolumes", { name: "vol" })).toEqual({ decision: "noOpinion", reason: "can only get individual resources of this type" });
    expect(ask(node("n1"), "create", "serviceaccounts", { namespace: "ns", name: "sa", subresource: "token" }).decision).toBe("allow");
    expect(ask(node("n2"), "create", "serviceaccounts", { namespace: "ns", name: "sa", subresource: "token" }).reason).toBe("no relationship found between node 'n2' and this object");
    expect(ask(node("n1"), "get", "serviceaccounts", { namespace: "ns", name: "sa" })).toEqual({ decision: "noOpinion", reason: "can only create tokens for individual service accounts" });
  });

  it("its own Node and Lease, pods with its spec.nodeName selector; the rest by system:node's rules", () => {
    expect(ask(node("n1"), "get", "nodes", { name: "n1" }).decision).toBe("allow");
    expect(ask(node("n1"), "get", "nodes", { name: "n2" })).toEqual({ decision: "noOpinion", reason: "node 'n1' cannot read 'n2', only its own Node object" });
    expect(ask(node("n1"), "list", "nodes")).toEqual({ decision: "noOpinion", reason: "node 'n1' cannot read all nodes, only its own Node object" });
    expect(ask(node("n1"), "patch", "nodes", { name: "n2", subresource: "status" }).decision).toBe("allow"); // NodeRestriction refuses it
    expect(ask(node("n1"), "update", "leases", { group: "coordination.k8s.io", namespace: "kube-node-lease", name: "n1" }).decision).toBe("allow");
    expect(ask(node("n1"), "update", "leases", { group: "coordination.k8s.io", namespace: "kube-node-lease", name: "n2" }).reason).toBe("can only access node lease with the same name as the requesting node");
    expect(ask(node("n1"), "get", "leases", { group: "coordination.k8s.io", namespace: "default", name: "n1" }).reason).toBe('can only access leases in the "kube-node-lease" system namespace');
    expect(ask(node("n1"), "watch", "pods", { fieldSelector: "spec.nodeName=n1" }).decision).toBe("allow");
    expect(ask(node("n1"), "watch", "pods", { fieldSelector: "spec.nodeName=n2" })).toEqual({ decision: "noOpinion", reason: "can only list/watch pods with spec.nodeName field selector" });
    expect(ask(node("n1"), "get", "pods", { namespace: "ns", name: "web" }).decision).toBe("allow");
    expect(ask(node("n2"), "get", "pods", { namespace: "ns", name: "web" }).decision).toBe("noOpinion");
    expect(ask(node("n1"), "patch", "pods", { namespace: "ns", name: "web", subresource: "status" }).decision).toBe("allow");
    expect(ask(node("n1"), "create", "pods", { namespace: "ns", name: "web", subresource: "binding" }).decision).toBe("noOpinion");
    expect(ask(node("n1"), "watch", "services").decision).toBe("allow");
    expect(ask(node("n1"), "create", "events", { namespace: "ns" }).decision).toBe("allow");
    expect(ask(node("n1"), "list", "deployments", { group: "apps" }).decision).toBe("noOpinion");
  });
});

describe("graph populator handlers (pod updates, tombstones)", () => {
  it("a pod enters the graph when bound; same node and UID change nothing; ephemeral containers and a new UID do; deletes (also tombstones) remove it", () => {
    const g = new NodeGraph();
    const h = podGraphHandler(g);
    const unbound = pod("web", undefined, { volumes: [{ name: "s", secret: { secretName: "s1" } }] });
    h.onAdd!(unbound, true);
    expect(g.hasPathFrom("n1", "secret", "ns", "s1")).toBe(false);
    const bound = pod("web", "n1", { volumes: [{ name: "s", secret: { secretName: "s1" } }] });
    h.onUpdate!(unbound, bound);
    expect(g.hasPathFrom("n1", "secret", "ns", "s1")).toBe(true);
    // A status-only update (same node and UID): the references are immutable, nothing is recomputed.
    h.onUpdate!(bound, { ...bound, status: { phase: "Running" } });
    expect(g.size.pods).toBe(1);
    const debug = pod("web", "n1", { volumes: [{ name: "s", secret: { secretName: "s1" } }], ephemeralContainers: [{ name: "dbg", image: "busybox", envFrom: [{ secretRef: { name: "debug-secret" } }] }] });
    h.onUpdate!(bound, debug);
    expect(g.hasPathFrom("n1", "secret", "ns", "debug-secret")).toBe(true);
    // The same name recreated on another node (a new UID).
    const moved = pod("web", "n2", { volumes: [{ name: "s", secret: { secretName: "s1" } }] }, { uid: "uid-2" });
    h.onUpdate!(debug, moved);
    expect(g.hasPathFrom("n1", "secret", "ns", "s1")).toBe(false);
    expect(g.hasPathFrom("n2", "secret", "ns", "s1")).toBe(true);
    h.onDelete!(new DeletedFinalStateUnknown("ns/web", moved));
    expect(g.hasPathFrom("n2", "secret", "ns", "s1")).toBe(false);
    expect(g.size).toEqual({ pods: 0, pvs: 0, vertices: 0 });
  });

  it("a PV rebound to another claim moves its edge", () => {
    const g = new NodeGraph();
    const h = pvGraphHandler(g);
    g.addPod(pod("a", "n1", { volumes: [{ name: "d", persistentVolumeClaim: { claimName: "a-claim" } }] }));
    g.addPod(pod("b", "n2", { volumes: [{ name: "d", persistentVolumeClaim: { claimName: "b-claim" } }] }));
    const first = pv("vol", { namespace: "ns", name: "a-claim" });
    h.onAdd!(first, true);
    expect(g.hasPathFrom("n1", "pv", "", "vol")).toBe(true);
    h.onUpdate!(first, pv("vol", { namespace: "ns", name: "b-claim" }));
    expect(g.hasPathFrom("n1", "pv", "", "vol")).toBe(false);
    expect(g.hasPathFrom("n2", "pv", "", "vol")).toBe(true);
    h.onDelete!(pv("vol", { namespace: "ns", name: "b-claim" }));
    expect(g.hasPathFrom("n2", "pv", "", "vol")).toBe(false);
  });
});
