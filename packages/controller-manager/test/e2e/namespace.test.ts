/**
 * The namespace controller in a real cluster, driven by the real kubectl: the seed's namespace
 * sequence (create -f, get, delete returns once it is gone), a namespace full of content (pods,
 * an owned ReplicaSet chain, ConfigMaps, Secrets, a Service, a Role, a custom resource) emptied
 * and removed, and content held by a finalizer reported in the namespace's conditions until it
 * goes — the leading controller-manager killed meanwhile, so its standby finishes the deletion.
 * The namespace and garbage-collector controllers run, in two controller-managers. There is no kubelet: the test plays
 * its part for the one bound pod, deleting it once it is terminating.
 */
import { describe, expect, it } from "vitest";
import { Resources, type KubeObject, type ResourceRef } from "@kubemu/common";
import { eventually, ManagerHarness } from "./harness.js";
import { useCluster } from "./hooks.js";

const h = new ManagerHarness({ etcd: "127.1.42", api: "127.1.43", scheduler: "127.1.44", manager: "127.1.45" }, { managers: 2, controllers: "namespace-controller,garbage-collector-controller" });
const gadgets: ResourceRef = { group: "example.com", version: "v1", resource: "gadgets", kind: "Gadget", namespaced: true };

useCluster(h, { nodes: ["kubemu"] });

type Ns = KubeObject & { status?: { phase?: string; conditions?: { type: string; status: string; reason: string; message: string }[] } };

const yaml = (o: unknown) => JSON.stringify(o);
const remaining = async (ns: string) => {
  const out: string[] = [];
  for (const r of [Resources.pods, Resources.replicaSets, Resources.configMaps, Resources.secrets, Resources.services, Resources.roles, Resources.serviceAccounts, gadgets]) {
    for (const o of (await h.client.list(r, { namespace: ns })).items) out.push(`${r.resource}/${o.metadata.name}`);
  }
  return out;
};

describe("namespace deletion with kubectl", () => {
  it("the seed's sequence: create -f a Namespace, see it Active, delete it — kubectl returns once it is gone", async () => {
    expect((await h.kubectl.ok(["create", "-f", "-"], { input: yaml({ apiVersion: "v1", kind: "Namespace", metadata: { name: "custom-namespace" } }) })).trim()).toBe("namespace/custom-namespace created");
    expect(await h.kubectl.ok(["get", "namespaces"])).toMatch(/^custom-namespace\s+Active\s/m);
    expect((await h.kubectl.ok(["delete", "namespace", "custom-namespace"])).trim()).toBe('namespace "custom-namespace" deleted');
    const gone = await h.kubectl.run(["get", "ns", "custom-namespace"]);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('namespaces "custom-namespace" not found');
  });

  it("a namespace with pods, a ReplicaSet chain, ConfigMaps, a Secret, a Service, a Role and a custom resource: kubectl delete ns returns and everything is gone", async () => {
    await h.kubectl.ok(["apply", "-f", "-"], {
      input: yaml({
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        metadata: { name: "gadgets.example.com" },
        spec: { group: "example.com", scope: "Namespaced", names: { plural: "gadgets", singular: "gadget", kind: "Gadget" }, versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } }] },
      }),
    });
    await h.kubectl.ok(["wait", "--for=condition=Established", "crd/gadgets.example.com", "--timeout=30s"]);
    await h.kubectl.ok(["create", "namespace", "team"]);
    await h.kubectl.ok(["create", "configmap", "settings", "-n", "team", "--from-literal=a=1"]);
    await h.kubectl.ok(["create", "secret", "generic", "creds", "-n", "team", "--from-literal=pw=x"]);
    await h.kubectl.ok(["create", "service", "clusterip", "web", "-n", "team", "--tcp=80:8080"]);
    await h.kubectl.ok(["create", "role", "reader", "-n", "team", "--verb=get", "--resource=pods"]);
    await h.kubectl.ok(["run", "loose", "-n", "team", "--image=nginx"]);
    await eventually(() => h.client.create(gadgets, { apiVersion: "example.com/v1", kind: "Gadget", metadata: { name: "g1", namespace: "team" }, spec: { size: 1 } } as KubeObject).catch(() => undefined), (o) => o !== undefined, "the Gadget created", 30_000);
    const rs = await h.client.create(Resources.replicaSets, { apiVersion: "apps/v1", kind: "ReplicaSet", metadata: { name: "app", namespace: "team" }, spec: { replicas: 1, selector: { matchLabels: { app: "app" } }, template: { metadata: { labels: { app: "app" } }, spec: { containers: [{ name: "c", image: "nginx" }] } } } } as KubeObject);
    await h.client.create(Resources.pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "app-x1", namespace: "team", labels: { app: "app" }, ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "app", uid: rs.metadata.uid!, controller: true, blockOwnerDeletion: true }] },
      spec: { terminationGracePeriodSeconds: 10, containers: [{ name: "c", image: "nginx" }] },
    } as KubeObject);
    // A running pod: its deletion is graceful and waits for the (played) kubelet.
    await h.markRunningReady("team", "app-x1");

    let kubeletPlaying = true;
    const kubelet = (async () => {
      while (kubeletPlaying) {
        for (const p of await h.pods("team").catch(() => [])) if (p.metadata.deletionTimestamp) await h.client.delete(Resources.pods, "team", p.metadata.name!, { gracePeriodSeconds: 0 }).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    try {
      const started = Date.now();
      const deleting = h.kubectl.run(["delete", "ns", "team"], { timeoutMs: 60_000 });
      const terminating = await eventually(() => h.client.get<Ns>(Resources.namespaces, undefined, "team"), (n) => n.status?.phase === "Terminating", "team Terminating", 10_000);
      expect(terminating.metadata.deletionTimestamp).toBeDefined();
      // New content is refused while it terminates.
      const refused = await h.kubectl.run(["create", "configmap", "late", "-n", "team"]);
      expect(refused.stderr).toContain("unable to create new content in namespace team because it is being terminated");
      const done = await deleting;
      expect(done.code, done.stderr).toBe(0);
      expect(done.stdout.trim()).toBe('namespace "team" deleted');
      // The 5 s deletion grace, then the running pod's 10 s estimate (looked at again after 6 s).
      expect(Date.now() - started).toBeGreaterThan(5000);
    } finally {
      kubeletPlaying = false;
      await kubelet;
    }
    expect(await remaining("team")).toEqual([]);
    expect((await h.kubectl.run(["get", "ns", "team"])).code).not.toBe(0);
  });

  it("content held by a finalizer: the namespace reports it in its conditions; with the leader killed, the new leader removes it once the content is released", async () => {
    await h.kubectl.ok(["create", "namespace", "held"]);
    await h.client.create(Resources.configMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "stuck", namespace: "held", finalizers: ["example.com/hold"] } } as KubeObject);
    await h.kubectl.ok(["delete", "ns", "held", "--wait=false"]);
    const ns = await eventually(
      () => h.client.get<Ns>(Resources.namespaces, undefined, "held"),
      (n) => (n.status?.conditions ?? []).some((c) => c.type === "NamespaceFinalizersRemaining" && c.status === "True"),
      "the held namespace's conditions",
      30_000,
    );
    const conds = Object.fromEntries(ns.status!.conditions!.map((c) => [c.type, `${c.status} ${c.reason}: ${c.message}`]));
    expect(conds).toEqual({
      NamespaceDeletionDiscoveryFailure: "False ResourcesDiscovered: All resources successfully discovered",
      NamespaceDeletionGroupVersionParsingFailure: "False ParsedGroupVersions: All legacy kube types successfully parsed",
      NamespaceDeletionContentFailure: "False ContentDeleted: All content successfully deleted, may be waiting on finalization",
      NamespaceContentRemaining: "True SomeResourcesRemain: Some resources are remaining: configmaps. has 1 resource instances",
      NamespaceFinalizersRemaining: "True SomeFinalizerRemain: Some finalizers are remaining: example.com/hold in 1 resource instances",
    });
    expect(await h.kubectl.ok(["get", "ns", "held", "-o", "jsonpath={.status.phase}"])).toBe("Terminating");
    const leader = await h.leader(30_000);
    await h.kill(leader.name);
    await h.leader(30_000, leader.name);
    await h.kubectl.ok(["patch", "configmap", "stuck", "-n", "held", "--type=merge", "-p", '{"metadata":{"finalizers":null}}']);
    await eventually(() => h.kubectl.run(["get", "ns", "held"]), (r) => r.code !== 0 && r.stderr.includes("not found"), "the held namespace gone", 40_000);
  });
});
