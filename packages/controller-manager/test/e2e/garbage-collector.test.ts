/**
 * The garbage collector in a real cluster, driven by the real kubectl: cascading deletes in the
 * three propagation modes (the seed's `kubectl delete statefulset web --cascade=orphan` among
 * them), a custom resource owning a ConfigMap, and an object whose owner never existed. The
 * ReplicaSets' pods come from the ReplicaSet controller (and a Deployment's ReplicaSet from the
 * deployment controller); the StatefulSet's pods are written by the test, ownerReferences included,
 * as no StatefulSet controller runs here. There is no kubelet: the pods are never bound, so the
 * API server deletes them at once.
 */
import { describe, expect, it } from "vitest";
import { Resources, type KubeObject, type ResourceRef } from "@kubemu/common";
import { eventually, ManagerHarness } from "./harness.js";
import { useCluster } from "./hooks.js";

const h = new ManagerHarness({ etcd: "127.1.38", api: "127.1.39", scheduler: "127.1.40", manager: "127.1.41" }, { controllers: "garbage-collector-controller,deployment-controller,replicaset-controller" });
const NS = "gc";

useCluster(h, {
  afterStart: async () => {
    await h.client.create(Resources.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } } as KubeObject);
  },
});

const template = (app: string) => ({ metadata: { labels: { app } }, spec: { containers: [{ name: "c", image: "nginx" }] } });

/** An owner object of resource r (ReplicaSet or StatefulSet shaped), written directly. */
async function owner(r: ResourceRef, name: string, replicas = 2): Promise<KubeObject> {
  const spec = r.kind === "StatefulSet" ? { serviceName: name, replicas, selector: { matchLabels: { app: name } }, template: template(name) } : { replicas, selector: { matchLabels: { app: name } }, template: template(name) };
  return h.client.create(r, { apiVersion: `${r.group}/${r.version}`, kind: r.kind, metadata: { name, namespace: NS }, spec } as KubeObject);
}

/** Pods with a controller ownerReference (blockOwnerDeletion, as the workload controllers write them) to `o`. */
async function ownedPods(r: ResourceRef, o: KubeObject, names: string[]): Promise<void> {
  const ownerReferences = [{ apiVersion: `${r.group}/${r.version}`, kind: r.kind, name: o.metadata.name!, uid: o.metadata.uid!, controller: true, blockOwnerDeletion: true }];
  for (const name of names) {
    await h.client.create(Resources.pods, { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: NS, labels: { app: o.metadata.name! }, ownerReferences }, spec: { containers: [{ name: "c", image: "nginx" }] } } as KubeObject);
  }
}

const podNames = async (app: string) => (await h.pods(NS, `app=${app}`)).map((p) => p.metadata.name).sort();

/** A ReplicaSet and the pods the ReplicaSet controller makes for it. */
async function replicaSetWithPods(name: string, replicas: number): Promise<void> {
  await owner(Resources.replicaSets, name, replicas);
  await eventually(() => podNames(name), (n) => n.length === replicas, `${name}'s ${replicas} pods`, 40_000);
}

describe("garbage collector with kubectl", () => {
  it("kubectl delete rs (background, kubectl's default) removes its pods", async () => {
    await replicaSetWithPods("bg", 2);
    expect(await h.kubectl.ok(["delete", "rs", "bg", "-n", NS])).toContain('replicaset.apps "bg" deleted');
    await eventually(() => podNames("bg"), (n) => n.length === 0, "the ReplicaSet's pods collected", 30_000);
  });

  it("kubectl delete rs --cascade=orphan returns and leaves the pods without ownerReferences", async () => {
    await replicaSetWithPods("orph", 2);
    const before = await podNames("orph");
    // kubectl waits until the ReplicaSet is gone, which needs the collector to drop the orphan finalizer.
    expect(await h.kubectl.ok(["delete", "rs", "orph", "-n", NS, "--cascade=orphan"])).toContain('replicaset.apps "orph" deleted');
    expect((await h.kubectl.run(["get", "rs", "orph", "-n", NS])).code).not.toBe(0);
    const pods = await h.pods(NS, "app=orph");
    expect(pods.map((p) => p.metadata.name).sort()).toEqual(before);
    for (const p of pods) expect(p.metadata.ownerReferences ?? []).toEqual([]);
  });

  it("the seed's kubectl delete statefulset web --cascade=orphan: the pods stay, and deleting one by hand is final", async () => {
    const sts = await owner(Resources.statefulSets, "web");
    await ownedPods(Resources.statefulSets, sts, ["web-0", "web-1"]);
    await h.kubectl.ok(["delete", "statefulset", "web", "-n", NS, "--cascade=orphan"]);
    const out = await h.kubectl.ok(["get", "pods", "-l", "app=web", "-n", NS]);
    expect(out).toMatch(/^web-0\s/m);
    expect(out).toMatch(/^web-1\s/m);
    await h.kubectl.ok(["delete", "pod", "web-0", "-n", NS]);
    expect(await podNames("web")).toEqual(["web-1"]);
  });

  it("kubectl delete rs --cascade=foreground returns only once the pods are gone", async () => {
    await replicaSetWithPods("fg", 3);
    expect(await h.kubectl.ok(["delete", "rs", "fg", "-n", NS, "--cascade=foreground"])).toContain('replicaset.apps "fg" deleted');
    // The owner went last: by the time kubectl saw it gone, its blocking dependents were already deleted.
    expect(await podNames("fg")).toEqual([]);
  });

  it("a custom resource owning a ConfigMap: deleting the custom resource collects the ConfigMap", async () => {
    await h.kubectl.ok(["apply", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        metadata: { name: "widgets.example.com" },
        spec: {
          group: "example.com",
          scope: "Namespaced",
          names: { plural: "widgets", singular: "widget", kind: "Widget" },
          versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object", properties: { spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } } } }],
        },
      }),
    });
    await h.kubectl.ok(["wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=30s"]);
    const widgets: ResourceRef = { group: "example.com", version: "v1", resource: "widgets", kind: "Widget", namespaced: true };
    const w = await eventually(
      () => h.client.create(widgets, { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w1", namespace: NS }, spec: { size: 1 } } as KubeObject).catch(() => undefined),
      (o) => o !== undefined,
      "the Widget created",
      30_000,
    );
    await h.client.create(Resources.configMaps, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "w1-config", namespace: NS, ownerReferences: [{ apiVersion: "example.com/v1", kind: "Widget", name: "w1", uid: w!.metadata.uid!, controller: true, blockOwnerDeletion: true }] },
      data: { size: "1" },
    } as KubeObject);
    // The collector must have a monitor on widgets (started when the CRD was established) and keep the ConfigMap while its owner lives.
    await new Promise((r) => setTimeout(r, 2000));
    expect((await h.kubectl.run(["get", "configmap", "w1-config", "-n", NS])).code).toBe(0);
    await h.kubectl.ok(["delete", "widget", "w1", "-n", NS]);
    await eventually(() => h.kubectl.run(["get", "configmap", "w1-config", "-n", NS]), (r) => r.code !== 0 && r.stderr.includes("NotFound"), "the Widget's ConfigMap collected", 30_000);
  });

  it("an object whose owner never existed is collected; one with a live owner stays", async () => {
    const live = await h.client.create(Resources.configMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "live-owner", namespace: NS } } as KubeObject);
    const ref = (name: string, uid: string) => [{ apiVersion: "v1", kind: "ConfigMap", name, uid }];
    await h.client.create(Resources.configMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "kept", namespace: NS, ownerReferences: ref("live-owner", live.metadata.uid!) } } as KubeObject);
    await h.client.create(Resources.configMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "dangling", namespace: NS, ownerReferences: ref("ghost", "00000000-0000-0000-0000-000000000000") } } as KubeObject);
    // Same name as a live object, another uid: absent too.
    await h.client.create(Resources.configMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "mismatch", namespace: NS, ownerReferences: ref("live-owner", "11111111-1111-1111-1111-111111111111") } } as KubeObject);
    await eventually(
      async () => (await h.client.list(Resources.configMaps, { namespace: NS })).items.map((c) => c.metadata.name).sort(),
      (names) => !names.includes("dangling") && !names.includes("mismatch"),
      "the ConfigMaps with absent owners collected",
      30_000,
    );
    expect((await h.client.get(Resources.configMaps, NS, "kept")).metadata.name).toBe("kept");
  });

  it("kubectl delete deploy --cascade=orphan returns and leaves the ReplicaSet and its pods; deleting the ReplicaSet then collects the pods", async () => {
    await h.kubectl.ok(["create", "deployment", "site", "-n", NS, "--image=nginx", "--replicas=2"]);
    await eventually(() => podNames("site"), (n) => n.length === 2, "the Deployment's two pods", 40_000);
    await h.kubectl.ok(["delete", "deploy", "site", "-n", NS, "--cascade=orphan"]);
    const rss = (await h.client.list(Resources.replicaSets, { namespace: NS, labelSelector: "app=site" })).items;
    expect(rss).toHaveLength(1);
    expect(rss[0]!.metadata.ownerReferences ?? []).toEqual([]);
    const pods = await h.pods(NS, "app=site");
    expect(pods).toHaveLength(2);
    for (const p of pods) expect(p.metadata.ownerReferences?.[0]?.uid).toBe(rss[0]!.metadata.uid);
    await h.kubectl.ok(["delete", "rs", rss[0]!.metadata.name!, "-n", NS]);
    await eventually(() => podNames("site"), (n) => n.length === 0, "the orphaned ReplicaSet's pods collected", 30_000);
  });
});
