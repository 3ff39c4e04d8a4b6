/** @kubernetes/client-node (list, watch, informer) against a kubemu-apiserver on a real Raft store. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as k8s from "@kubernetes/client-node";
import { E2eCluster } from "./cluster.js";

const cluster = new E2eCluster("127.0.145", "127.0.146", 1);
let kc: k8s.KubeConfig;

beforeAll(async () => {
  await cluster.start();
  kc = new k8s.KubeConfig();
  // client-node 1.x refuses plain HTTP unless TLS verification is explicitly off.
  kc.loadFromOptions({
    clusters: [{ name: "e2e", server: cluster.apiservers[0]!.url, skipTLSVerify: true }],
    users: [{ name: "e2e" }],
    contexts: [{ name: "e2e", cluster: "e2e", user: "e2e" }],
    currentContext: "e2e",
  });
}, 60_000);

afterAll(async () => {
  await cluster.stop();
}, 30_000);

describe("@kubernetes/client-node", { timeout: 30_000 }, () => {
  it("creates and lists typed objects", async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "cn1", labels: { app: "cn" } }, data: { a: "1" } } });
    const list = await core.listNamespacedConfigMap({ namespace: "default", labelSelector: "app=cn" });
    expect(list.items.map((i) => i.metadata?.name)).toEqual(["cn1"]);
    expect(list.metadata?.resourceVersion).toMatch(/^\d+$/);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const d = await apps.createNamespacedDeployment({
      namespace: "default",
      body: {
        metadata: { name: "cnd" },
        spec: { selector: { matchLabels: { app: "cnd" } }, template: { metadata: { labels: { app: "cnd" } }, spec: { containers: [{ name: "c", image: "nginx" }] } } },
      },
    });
    expect(d.spec?.strategy?.type).toBe("RollingUpdate");
    await expect(core.readNamespacedConfigMap({ namespace: "default", name: "missing" })).rejects.toMatchObject({ code: 404 });
  });

  it("watches from a resourceVersion", async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const list = await core.listNamespacedConfigMap({ namespace: "default" });
    const watch = new k8s.Watch(kc);
    const events: string[] = [];
    const got = new Promise<void>((resolve) => {
      void watch
        .watch(
          "/api/v1/namespaces/default/configmaps",
          { resourceVersion: list.metadata!.resourceVersion, allowWatchBookmarks: true },
          (type: string, obj: k8s.V1ConfigMap) => {
            events.push(`${type} ${obj.metadata?.name}`);
            if (type === "DELETED") resolve();
          },
          () => undefined,
        )
        .then((req) => {
          void (async () => {
            await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "w1" } } });
            await core.patchNamespacedConfigMap({ namespace: "default", name: "w1", body: { data: { x: "y" } } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch));
            await core.deleteNamespacedConfigMap({ namespace: "default", name: "w1" });
          })();
          got.finally(() => req.abort());
        });
    });
    await got;
    expect(events).toEqual(["ADDED w1", "MODIFIED w1", "DELETED w1"]);
  });

  it("an informer lists then follows changes", async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const informer = k8s.makeInformer(kc, "/api/v1/namespaces/default/configmaps", () => core.listNamespacedConfigMap({ namespace: "default" }));
    const seen: string[] = [];
    informer.on("add", (o: k8s.V1ConfigMap) => seen.push(`add ${o.metadata?.name}`));
    informer.on("update", (o: k8s.V1ConfigMap) => seen.push(`update ${o.metadata?.name}`));
    await informer.start();
    try {
      expect(informer.list().map((o) => o.metadata?.name)).toContain("cn1");
      await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "inf" } } });
      for (let i = 0; i < 50 && !seen.includes("add inf"); i++) await new Promise((r) => setTimeout(r, 100));
      expect(seen).toContain("add inf");
      expect(informer.get("inf", "default")?.metadata?.name).toBe("inf");
    } finally {
      await informer.stop();
    }
  });
});
