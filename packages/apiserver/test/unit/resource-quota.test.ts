/** The ResourceQuota admission plugin on the real store: matching, scopes, upstream's messages, the CAS charge. */
import { describe, expect, it } from "vitest";
import { failure, newStore } from "./helpers.js";
import { ResourceStore } from "../../src/rest/store.js";

type Res = { requests?: Record<string, string>; limits?: Record<string, string> };
const container = (name: string, resources: Res = {}) => ({ name, image: "nginx", resources });
const pod = (name: string, containers: unknown[] = [container("c")], extra: Record<string, unknown> = {}) => ({ metadata: { name }, spec: { containers, ...extra } });

async function setup() {
  const s = await newStore();
  const quotas = s.def("", "resourcequotas");
  const pods = s.def("", "pods");
  /** A quota as the resourcequota controller leaves it: status.hard = spec.hard, used counted. */
  const quota = async (name: string, hard: Record<string, string>, used: Record<string, string> = {}, spec: Record<string, unknown> = {}, ns = "default") => {
    await s.store.create(quotas, ns, { metadata: { name }, spec: { hard, ...spec } });
    const zero = Object.fromEntries(Object.keys(hard).map((k) => [k, "0"]));
    await s.store.update(quotas, ns, name, { metadata: { name }, spec: { hard, ...spec }, status: { hard, used: { ...zero, ...used } } }, { subresource: "status" });
  };
  const used = async (name: string, ns = "default") => ((await s.store.get(quotas, ns, name)) as any).status.used as Record<string, string>;
  const createPod = (p: unknown, opts: { dryRun?: boolean } = {}) => s.store.create(pods, "default", p, opts) as Promise<any>;
  return { ...s, quotas, pods, quota, used, createPod };
}

describe("ResourceQuota admission", () => {
  it("charges a pod's requests and limits to the quota's status.used", async () => {
    const { quota, used, createPod } = await setup();
    await quota("compute", { pods: "4", "requests.cpu": "1", "requests.memory": "1Gi", "limits.cpu": "2", "limits.memory": "2Gi" });
    await createPod(pod("a", [container("c", { requests: { cpu: "100m", memory: "10Mi" }, limits: { cpu: "200m", memory: "100Mi" } })]));
    expect(await used("compute")).toEqual({ pods: "1", "requests.cpu": "100m", "requests.memory": "10Mi", "limits.cpu": "200m", "limits.memory": "100Mi" });
    await createPod(pod("b", [container("c", { requests: { cpu: "400m", memory: "10Mi" }, limits: { cpu: "1", memory: "100Mi" } })]));
    expect(await used("compute")).toEqual({ pods: "2", "requests.cpu": "500m", "requests.memory": "20Mi", "limits.cpu": "1200m", "limits.memory": "200Mi" });
  });

  it("refuses a pod over the quota in upstream's words and charges nothing", async () => {
    const { quota, used, createPod } = await setup();
    await quota("compute", { "limits.cpu": "2", "limits.memory": "1Gi" }, { "limits.cpu": "1" });
    const err = await failure(createPod(pod("p2", [container("c", { limits: { cpu: "2", memory: "100Mi" } })])));
    expect(err.status).toMatchObject({ code: 403, reason: "Forbidden", details: { name: "p2", kind: "pods" } });
    expect(err.status.message).toBe('pods "p2" is forbidden: exceeded quota: compute, requested: limits.cpu=2, used: limits.cpu=1, limited: limits.cpu=2');
    expect(await used("compute")).toEqual({ "limits.cpu": "1", "limits.memory": "0" });
    const both = await failure(createPod(pod("p3", [container("c", { limits: { cpu: "2", memory: "2Gi" } })])));
    expect(both.status.message).toBe('pods "p3" is forbidden: exceeded quota: compute, requested: limits.cpu=2,limits.memory=2Gi, used: limits.cpu=1,limits.memory=0, limited: limits.cpu=2,limits.memory=1Gi');
  });

  it("requires the containers to state what a quota limits (failed quota: must specify ...)", async () => {
    const { quota, createPod } = await setup();
    await quota("cpu-and-mem", { "requests.cpu": "400m", "requests.memory": "200Mi", "limits.cpu": "600m", "limits.memory": "500Mi" });
    const err = await failure(createPod(pod("kubia-manual", [container("kubia")])));
    expect(err.status.message).toBe(
      'pods "kubia-manual" is forbidden: failed quota: cpu-and-mem: must specify limits.cpu for: kubia; limits.memory for: kubia; requests.cpu for: kubia; requests.memory for: kubia',
    );
    const partial = await failure(createPod(pod("two", [container("a", { limits: { cpu: "100m", memory: "10Mi" } }), container("b", { requests: { cpu: "10m", memory: "1Mi" } })])));
    expect(partial.status.message).toBe('pods "two" is forbidden: failed quota: cpu-and-mem: must specify limits.cpu for: b; limits.memory for: b');
  });

  it("ignores a quota the controller has not counted yet, and refuses while its usage is unknown", async () => {
    const { store, quotas, createPod, used } = await setup();
    await store.create(quotas, "default", { metadata: { name: "fresh" }, spec: { hard: { pods: "1" } } });
    await createPod(pod("a"));
    await createPod(pod("b"));
    await store.update(quotas, "default", "fresh", { metadata: { name: "fresh" }, spec: { hard: { pods: "1" } }, status: { hard: { pods: "1", "count/pods": "5" }, used: { pods: "0" } } }, { subresource: "status" });
    const err = await failure(createPod(pod("c")));
    expect(err.status.message).toBe('pods "c" is forbidden: status unknown for quota: fresh, resources: count/pods,pods');
    expect(await used("fresh")).toEqual({ pods: "0" });
  });

  it("counts only the pods in the quota's scopes", async () => {
    const { quota, used, createPod } = await setup();
    await quota("best-effort", { pods: "1" }, {}, { scopes: ["BestEffort", "NotTerminating"] });
    await createPod(pod("burstable", [container("c", { requests: { cpu: "1" } })]));
    await createPod(pod("terminating", [container("c")], { activeDeadlineSeconds: 60 }));
    expect(await used("best-effort")).toEqual({ pods: "0" });
    await createPod(pod("be1"));
    const err = await failure(createPod(pod("be2")));
    expect(err.status.message).toBe('pods "be2" is forbidden: exceeded quota: best-effort, requested: pods=1, used: pods=1, limited: pods=1');
  });

  it("matches PriorityClass scope selectors", async () => {
    const { store, def, quota, used, createPod } = await setup();
    await store.create(def("scheduling.k8s.io", "priorityclasses"), undefined, { metadata: { name: "high" }, value: 1000 });
    await quota("high-pods", { pods: "5" }, {}, { scopeSelector: { matchExpressions: [{ scopeName: "PriorityClass", operator: "In", values: ["high"] }] } });
    await createPod(pod("plain"));
    await createPod(pod("important", [container("c")], { priorityClassName: "high" }));
    expect(await used("high-pods")).toEqual({ pods: "1" });
  });

  it("does not count terminal pods, never looks at pod updates, and skips dry runs", async () => {
    const { quota, used, createPod, store, pods } = await setup();
    await quota("q", { pods: "2", "count/pods": "3" });
    await createPod({ ...pod("done"), status: { phase: "Succeeded" } });
    expect(await used("q")).toEqual({ pods: "1", "count/pods": "1" });
    await store.patch(pods, "default", "done", "merge", { metadata: { labels: { x: "y" } } });
    await createPod(pod("dry"), { dryRun: true });
    expect(await used("q")).toEqual({ pods: "1", "count/pods": "1" });
  });

  it("charges services, node ports and load balancers, and the delta when a service changes type", async () => {
    const { store, def, quota, used } = await setup();
    const services = def("", "services");
    await quota("svc", { services: "3", "services.nodeports": "2", "services.loadbalancers": "1" });
    const svc = (name: string, type: string, ports: Record<string, unknown>[] = [{ port: 80 }]) => ({ metadata: { name }, spec: { type, selector: { app: "x" }, ports } });
    await store.create(services, "default", svc("web", "ClusterIP"));
    expect(await used("svc")).toEqual({ services: "1", "services.nodeports": "0", "services.loadbalancers": "0" });
    await store.patch(services, "default", "web", "merge", { spec: { type: "NodePort" } });
    expect(await used("svc")).toEqual({ services: "1", "services.nodeports": "1", "services.loadbalancers": "0" });
    const err = await failure(store.create(services, "default", svc("lb", "LoadBalancer", [{ name: "http", port: 80 }, { name: "https", port: 443 }])));
    expect(err.status.message).toBe('services "lb" is forbidden: exceeded quota: svc, requested: services.nodeports=2, used: services.nodeports=1, limited: services.nodeports=2');
    await store.create(services, "default", svc("lb", "LoadBalancer"));
    expect(await used("svc")).toEqual({ services: "2", "services.nodeports": "2", "services.loadbalancers": "1" });
  });

  it("charges claims' storage, per storage class too", async () => {
    const { store, def, quota, used } = await setup();
    const pvcs = def("", "persistentvolumeclaims");
    await quota("storage", { persistentvolumeclaims: "4", "requests.storage": "10Gi", "gold.storageclass.storage.k8s.io/requests.storage": "3Gi" });
    const claim = (name: string, storage: string, cls?: string) => ({ metadata: { name }, spec: { accessModes: ["ReadWriteOnce"], ...(cls ? { storageClassName: cls } : {}), resources: { requests: { storage } } } });
    await store.create(pvcs, "default", claim("plain", "5Gi"));
    await store.create(pvcs, "default", claim("gold-1", "2Gi", "gold"));
    expect(await used("storage")).toEqual({ persistentvolumeclaims: "2", "requests.storage": "7Gi", "gold.storageclass.storage.k8s.io/requests.storage": "2Gi" });
    const err = await failure(store.create(pvcs, "default", claim("gold-2", "2Gi", "gold")));
    expect(err.status.message).toBe(
      'persistentvolumeclaims "gold-2" is forbidden: exceeded quota: storage, requested: gold.storageclass.storage.k8s.io/requests.storage=2Gi, used: gold.storageclass.storage.k8s.io/requests.storage=2Gi, limited: gold.storageclass.storage.k8s.io/requests.storage=3Gi',
    );
    // Expanding a claim charges the growth.
    await store.patch(pvcs, "default", "plain", "merge", { spec: { resources: { requests: { storage: "6Gi" } } } });
    expect((await used("storage"))["requests.storage"]).toBe("8Gi");
  });

  it("counts configmaps, secrets, quotas and any resource by count/<resource>.<group>", async () => {
    const { store, def, quota, used } = await setup();
    await quota("objects", { configmaps: "1", secrets: "5", resourcequotas: "2", "count/deployments.apps": "1", "count/configmaps": "5" });
    await store.create(def("", "configmaps"), "default", { metadata: { name: "a" }, data: { k: "v" } });
    const cm = await failure(store.create(def("", "configmaps"), "default", { metadata: { name: "b" } }));
    expect(cm.status.message).toBe('configmaps "b" is forbidden: exceeded quota: objects, requested: configmaps=1, used: configmaps=1, limited: configmaps=1');
    await store.create(def("", "secrets"), "default", { metadata: { name: "s" }, stringData: { a: "b" } });
    const template = { metadata: { labels: { app: "x" } }, spec: { containers: [container("c")] } };
    await store.create(def("apps", "deployments"), "default", { metadata: { name: "d1" }, spec: { selector: { matchLabels: { app: "x" } }, template } });
    const dep = await failure(store.create(def("apps", "deployments"), "default", { metadata: { name: "d2" }, spec: { selector: { matchLabels: { app: "x" } }, template } }));
    expect(dep.status).toMatchObject({ code: 403, details: { group: "apps", kind: "deployments" } });
    expect(dep.status.message).toBe('deployments.apps "d2" is forbidden: exceeded quota: objects, requested: count/deployments.apps=1, used: count/deployments.apps=1, limited: count/deployments.apps=1');
    await store.create(def("", "resourcequotas"), "default", { metadata: { name: "second" }, spec: { hard: { pods: "1" } } });
    expect(await used("objects")).toEqual({ configmaps: "1", "count/configmaps": "1", secrets: "1", resourcequotas: "1", "count/deployments.apps": "1" });
  });

  it("never charges events, namespaces or other namespaces' quotas", async () => {
    const { store, def, quota, used } = await setup();
    await store.create(def("", "namespaces"), undefined, { metadata: { name: "team" } });
    await quota("team-q", { "count/events": "0", pods: "1" }, {}, {}, "team");
    await store.create(def("", "events"), "team", { metadata: { name: "e" }, involvedObject: { kind: "Pod", name: "x", namespace: "team" }, reason: "R", message: "m" });
    await store.create(def("", "pods"), "default", pod("elsewhere"));
    expect(await used("team-q", "team")).toEqual({ "count/events": "0", pods: "0" });
  });

  it("two API servers admitting at once never both take the last unit (CAS on the quota)", async () => {
    const { ctx, quota, used, pods } = await setup();
    await quota("three", { pods: "3" });
    const apiserver0 = new ResourceStore(ctx);
    const apiserver1 = new ResourceStore(ctx);
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => (i % 2 ? apiserver1 : apiserver0).create(pods, "default", pod(`p${i}`))));
    const ok = results.filter((r) => r.status === "fulfilled").length;
    expect(ok).toBe(3);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => (r.reason as { status: { message: string } }).status.message);
    expect(refused).toHaveLength(7);
    for (const m of refused) expect(m).toMatch(/^pods "p\d" is forbidden: exceeded quota: three, requested: pods=1, used: pods=3, limited: pods=3$/);
    expect(await used("three")).toEqual({ pods: "3" });
  });
});
