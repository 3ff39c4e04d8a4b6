/**
 * statefulset-controller end to end, the seeds' StatefulSet Basics sequence with the real kubectl:
 * a headless Service and a StatefulSet with volumeClaimTemplates; web-0 first, web-1 only once
 * web-0 is Ready; claims www-web-N; scale down from the highest ordinal keeping the claims; a
 * partitioned rolling update from the highest ordinal down; rollout status, history and undo;
 * describe's events.
 *
 * There is no kubelet yet: the test plays it (markRunningReady, then autoKubelet, which also
 * completes the graceful deletes of bound pods). No scheduler runs: markRunningReady binds pods.
 * Claims stay Pending (no PV controller runs here).
 */
import { describe, expect, it } from "vitest";
import { Resources, type KubeObject } from "@kubemu/common";
import { ManagerHarness, eventually } from "./harness.js";
import { useCluster } from "./hooks.js";

const h = new ManagerHarness({ etcd: "127.1.22", api: "127.1.23", scheduler: "127.1.24", manager: "127.1.25" }, { controllers: "statefulset-controller" });
let kubelet: { stop(): Promise<void> } | undefined;

const WEB_YAML = `apiVersion: v1
kind: Service
metadata:
  name: nginx
  labels:
    app: nginx
spec:
  ports:
  - port: 80
    name: web
  clusterIP: None
  selector:
    app: nginx
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: "nginx"
  replicas: 2
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: registry.k8s.io/nginx-slim:0.21
        ports:
        - containerPort: 80
          name: web
        volumeMounts:
        - name: www
          mountPath: /usr/share/nginx/html
  volumeClaimTemplates:
  - metadata:
      name: www
    spec:
      accessModes: [ "ReadWriteOnce" ]
      resources:
        requests:
          storage: 1Gi
`;

type Pod = KubeObject & { spec: { containers: { image: string }[]; hostname?: string; subdomain?: string }; status?: { phase?: string } };
const podMap = async () => new Map((await h.pods("default", "app=nginx")).filter((p) => !p.metadata.deletionTimestamp).map((p) => [p.metadata.name!, p as Pod]));
const names = async () => [...(await podMap()).keys()].sort();
const images = async () => Object.fromEntries([...(await podMap())].map(([n, p]) => [n, p.spec.containers[0]!.image]));

/**
 * Watches the pods until stop(), recording the order in which pod names were deleted (gone or
 * replaced). A watch, not polling: with the test playing the kubelet, a pod and the next one can
 * both go within one polling interval, which would lose their order.
 */
/** Pod deletions in order; stop(n) first waits (up to 20 s) for n of them, since the watch may trail a list. */
async function trackChanges(): Promise<{ stop(expected?: number): Promise<string[]> }> {
  const order: string[] = [];
  const abort = new AbortController();
  const resourceVersion = (await h.client.list(Resources.pods, { namespace: "default", limit: 1 })).metadata.resourceVersion!;
  const loop = (async () => {
    for await (const ev of h.client.watch<Pod>(Resources.pods, { namespace: "default", labelSelector: "app=nginx", resourceVersion, signal: abort.signal })) {
      const name = ev.type === "DELETED" ? (ev.object as Pod).metadata.name! : undefined;
      if (name && !order.includes(name)) order.push(name);
    }
  })().catch(() => undefined);
  return {
    stop: async (expected = 0) => {
      for (let waited = 0; order.length < expected && waited < 20_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
      abort.abort();
      await loop;
      return order;
    },
  };
}

useCluster(h, { nodes: ["kubemu"], beforeStop: () => kubelet?.stop() });

describe("statefulset-controller with kubectl", () => {
  it("starts web-0 with its claim, and web-1 only after web-0 is Running and Ready", async () => {
    await h.kubectl.ok(["apply", "-f", "-"], { input: WEB_YAML });
    await eventually(names, (n) => n.includes("web-0"), "web-0 created", 30_000);
    // web-0 is Pending (no kubelet has started it): web-1 must wait.
    await new Promise((r) => setTimeout(r, 2000));
    expect(await names()).toEqual(["web-0"]);
    const pvc = await h.kubectl.ok(["get", "pvc", "-l", "app=nginx"]);
    expect(pvc).toMatch(/^NAME\s+STATUS\s+VOLUME\s+CAPACITY\s+ACCESS MODES\s+STORAGECLASS/);
    expect(pvc).toMatch(/www-web-0\s+Pending/);

    await h.markRunningReady("default", "web-0");
    await eventually(names, (n) => n.includes("web-1"), "web-1 created after web-0 Ready", 30_000);
    await h.markRunningReady("default", "web-1");
    const ready = await eventually(() => h.kubectl.ok(["get", "statefulset", "web"]), (o) => /web\s+2\/2/.test(o), "web 2/2", 30_000);
    expect(ready).toMatch(/^NAME\s+READY\s+AGE\n/);

    const web0 = (await podMap()).get("web-0")!;
    expect(web0.spec.hostname).toBe("web-0");
    expect(web0.spec.subdomain).toBe("nginx");
    expect(web0.metadata.labels).toMatchObject({ app: "nginx", "statefulset.kubernetes.io/pod-name": "web-0", "apps.kubernetes.io/pod-index": "0" });
    const pvcs = await h.kubectl.ok(["get", "pvc", "-l", "app=nginx", "-o", "name"]);
    expect(pvcs.trim().split("\n")).toEqual(["persistentvolumeclaim/www-web-0", "persistentvolumeclaim/www-web-1"]);
    expect(await h.kubectl.ok(["rollout", "status", "sts/web", "--timeout=30s"])).toContain("partitioned roll out complete: 2 new pods have been updated...");

    const described = await h.kubectl.ok(["describe", "sts", "web"]);
    expect(described).toMatch(/Normal\s+SuccessfulCreate\s+\S+\s+statefulset-controller\s+create Claim www-web-0 Pod web-0 in StatefulSet web success/);
    expect(described).toMatch(/Normal\s+SuccessfulCreate\s+\S+\s+statefulset-controller\s+create Pod web-0 in StatefulSet web successful/);
    expect(described).toMatch(/Volume Claims:\s+Name:\s+www/);
  });

  it("scales up in order and down from the highest ordinal, keeping every claim", async () => {
    kubelet = h.autoKubelet({ labelSelector: "app=nginx", readyDelayMs: 300 });
    await h.kubectl.ok(["scale", "sts", "web", "--replicas=3"]);
    await eventually(() => h.kubectl.ok(["get", "sts", "web"]), (o) => /web\s+3\/3/.test(o), "web 3/3", 40_000);

    const changes = await trackChanges();
    await h.kubectl.ok(["scale", "sts", "web", "--replicas=1"]);
    await eventually(names, (n) => n.length === 1, "scaled down to web-0", 40_000);
    expect(await changes.stop(2)).toEqual(["web-2", "web-1"]);
    expect(await names()).toEqual(["web-0"]);
    const pvcs = await h.kubectl.ok(["get", "pvc", "-l", "app=nginx", "-o", "name"]);
    expect(pvcs.trim().split("\n")).toEqual(["persistentvolumeclaim/www-web-0", "persistentvolumeclaim/www-web-1", "persistentvolumeclaim/www-web-2"]);
    const described = await h.kubectl.ok(["describe", "sts", "web"]);
    expect(described).toMatch(/Normal\s+SuccessfulDelete\s+\S+\s+statefulset-controller\s+delete Pod web-2 in StatefulSet web successful/);
  });

  it("rolls a partitioned update from the highest ordinal down; rollout status, history and undo read the revisions", async () => {
    await h.kubectl.ok(["scale", "sts", "web", "--replicas=3"]);
    await eventually(() => h.kubectl.ok(["get", "sts", "web"]), (o) => /web\s+3\/3/.test(o), "web 3/3 again", 40_000);

    await h.kubectl.ok(["patch", "statefulset", "web", "-p", '{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":2}}}}']);
    await h.kubectl.ok(["set", "image", "sts/web", "nginx=registry.k8s.io/nginx-slim:0.24"]);
    await eventually(images, (i) => i["web-2"] === "registry.k8s.io/nginx-slim:0.24", "web-2 updated", 40_000);
    expect(await h.kubectl.ok(["rollout", "status", "sts/web", "--timeout=40s"])).toContain("partitioned roll out complete: 1 new pods have been updated...");
    expect(await images()).toMatchObject({ "web-0": "registry.k8s.io/nginx-slim:0.21", "web-1": "registry.k8s.io/nginx-slim:0.21" });

    const changes = await trackChanges();
    await h.kubectl.ok(["patch", "statefulset", "web", "-p", '{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":0}}}}']);
    expect(await h.kubectl.ok(["rollout", "status", "sts/web", "--timeout=60s"])).toContain("partitioned roll out complete: 3 new pods have been updated...");
    expect(await changes.stop(2)).toEqual(["web-1", "web-0"]);
    expect(Object.values(await images())).toEqual(Array(3).fill("registry.k8s.io/nginx-slim:0.24"));

    const history = await h.kubectl.ok(["rollout", "history", "sts/web"]);
    expect(history).toMatch(/statefulset\.apps\/web\s*\nREVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
    expect(await h.kubectl.ok(["rollout", "history", "sts/web", "--revision=1"])).toContain("registry.k8s.io/nginx-slim:0.21");
    const revs = await h.kubectl.ok(["get", "controllerrevisions", "-o", "jsonpath={range .items[*]}{.metadata.name} {.revision}{\"\\n\"}{end}"]);
    expect(revs.trim().split("\n")).toHaveLength(2);

    expect(await h.kubectl.ok(["rollout", "undo", "sts/web"])).toContain("statefulset.apps/web rolled back");
    expect(await h.kubectl.ok(["rollout", "status", "sts/web", "--timeout=60s"])).toContain("partitioned roll out complete: 3 new pods have been updated...");
    await eventually(images, (i) => Object.values(i).every((x) => x === "registry.k8s.io/nginx-slim:0.21"), "rolled back to 0.21", 40_000);
    // The undo renumbers revision 1 as 3 rather than making a new one.
    const after = await h.kubectl.ok(["rollout", "history", "sts/web"]);
    expect(after).toMatch(/REVISION\s+CHANGE-CAUSE\n2\s+<none>\n3\s+<none>/);
    const status = (await h.client.get<KubeObject & { status: Record<string, unknown> }>(Resources.statefulSets, "default", "web")).status;
    expect(status).toMatchObject({ replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3, availableReplicas: 3 });
    expect(status.currentRevision).toBe(status.updateRevision);
  });
});
