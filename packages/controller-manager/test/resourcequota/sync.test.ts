/** The resourcequota controller: the recount (sync), its enqueue rules and its monitors, over the FakeClient. */
import { describe, expect, it } from "vitest";
import type { GroupResource, KubeObject, SharedInformer } from "@kubemu/common";
import { FakeClock, Indexer, QuotaRegistry, Resources, newConflict, silentLogger, standardIndexers } from "@kubemu/common";
import { FakeClient } from "../fake-client.js";
import { ResourceQuotaSync } from "../../src/controllers/resourcequota/sync.js";
import { QuotaHandlers } from "../../src/controllers/resourcequota/controller.js";
import { QuotaMonitors, monitoredBuiltins, updateFreesQuota } from "../../src/controllers/resourcequota/monitors.js";

const T0 = Date.parse("2026-01-01T00:00:00Z");
type Res = { requests?: Record<string, string>; limits?: Record<string, string> };
const pod = (name: string, resources: Res = {}, extra: { spec?: Record<string, unknown>; status?: Record<string, unknown>; ns?: string } = {}): KubeObject => ({
  metadata: { name, namespace: extra.ns ?? "default", uid: `uid-${name}`, resourceVersion: "1" },
  spec: { containers: [{ name: "c", image: "nginx", resources }], ...(extra.spec ?? {}) },
  status: { phase: "Running", ...(extra.status ?? {}) },
});
const quota = (name: string, hard: Record<string, string>, status?: Record<string, unknown>, spec: Record<string, unknown> = {}): KubeObject => ({
  metadata: { name, namespace: "default", uid: `uid-${name}`, resourceVersion: "5" },
  spec: { hard, ...spec },
  ...(status ? { status } : {}),
});
const cm = (name: string): KubeObject => ({ metadata: { name, namespace: "default" } });

const MONITORED: GroupResource[] = [
  { group: "", resource: "pods" },
  { group: "", resource: "configmaps" },
  { group: "", resource: "services" },
  { group: "apps", resource: "deployments" },
];

class Fixture {
  readonly fake: FakeClient;
  readonly clock = new FakeClock(T0);
  readonly registry = new QuotaRegistry();
  unsynced = new Set<string>();
  sync!: ResourceQuotaSync;

  constructor(objects: { quotas?: KubeObject[]; pods?: KubeObject[]; configMaps?: KubeObject[] }) {
    this.fake = new FakeClient([
      { resource: Resources.resourceQuotas, objects: objects.quotas ?? [] },
      { resource: Resources.pods, objects: objects.pods ?? [] },
      { resource: Resources.configMaps, objects: objects.configMaps ?? [] },
    ]);
    this.rebuild();
  }

  /** Listers as the informers would show the fake's objects now. */
  rebuild(): void {
    const quotas = this.fake.indexer(Resources.resourceQuotas);
    const byResource: Record<string, Indexer> = {
      "/pods": this.fake.indexer(Resources.pods),
      "/configmaps": this.fake.indexer(Resources.configMaps),
      "/services": this.fake.indexer(Resources.services),
      "apps/deployments": this.fake.indexer(Resources.deployments),
    };
    this.sync = new ResourceQuotaSync({
      client: this.fake,
      quotas,
      evaluators: () => MONITORED.map((gr) => this.registry.get(gr)),
      list: (gr, ns) => {
        const k = `${gr.group}/${gr.resource}`;
        if (this.unsynced.has(k)) throw new Error(`${gr.resource} not yet synced`);
        return byResource[k]!.list({ namespace: ns });
      },
      clock: this.clock,
      logger: silentLogger,
    });
  }

  statusWrites() {
    return this.fake.writes().filter((a) => a.verb === "update-status");
  }

  stored(name: string) {
    return this.fake.objects(Resources.resourceQuotas).find((q) => q.metadata.name === name)!.status as { hard: Record<string, string>; used: Record<string, string> };
  }
}

describe("resourcequota sync", () => {
  it("fills a new quota's status: hard from spec, used recounted from the namespace", async () => {
    const f = new Fixture({
      quotas: [quota("cpu-and-mem", { "requests.cpu": "400m", "requests.memory": "200Mi", "limits.cpu": "600m", "limits.memory": "500Mi", pods: "10", configmaps: "5" })],
      pods: [
        pod("kubia", { requests: { cpu: "100m", memory: "10Mi" }, limits: { cpu: "200m", memory: "100Mi" } }),
        pod("done", { requests: { cpu: "1" } }, { status: { phase: "Succeeded" } }),
        pod("elsewhere", { requests: { cpu: "1" } }, { ns: "other" }),
      ],
      configMaps: [cm("a"), cm("b")],
    });
    await f.sync.sync("default/cpu-and-mem");
    expect(f.statusWrites()).toHaveLength(1);
    expect(f.stored("cpu-and-mem")).toEqual({
      hard: { "requests.cpu": "400m", "requests.memory": "200Mi", "limits.cpu": "600m", "limits.memory": "500Mi", pods: "10", configmaps: "5" },
      used: { "requests.cpu": "100m", "requests.memory": "10Mi", "limits.cpu": "200m", "limits.memory": "100Mi", pods: "1", configmaps: "2" },
    });
    // The write carried the quota's resourceVersion (a concurrent change conflicts).
    expect(f.statusWrites()[0]!.object!.metadata.resourceVersion).toBe("5");
  });

  it("writes nothing when the counts and limits are what status says", async () => {
    const f = new Fixture({ quotas: [quota("q", { pods: "2" }, { hard: { pods: "2" }, used: { pods: "1" } })], pods: [pod("a")] });
    await f.sync.sync("default/q");
    expect(f.statusWrites()).toHaveLength(0);
  });

  it("follows a spec change: new names counted, names no longer limited dropped, usage replenished", async () => {
    const f = new Fixture({ quotas: [quota("q", { pods: "5", "count/deployments.apps": "2" }, { hard: { pods: "2", secrets: "1" }, used: { pods: "2", secrets: "1" } })], pods: [pod("a")] });
    await f.sync.sync("default/q");
    expect(f.stored("q")).toEqual({ hard: { pods: "5", "count/deployments.apps": "2" }, used: { pods: "1", "count/deployments.apps": "0" } });
  });

  it("counts only objects in the quota's scopes", async () => {
    const f = new Fixture({
      quotas: [
        quota("best-effort", { pods: "4" }, undefined, { scopes: ["BestEffort", "NotTerminating"] }),
        quota("high", { pods: "4" }, undefined, { scopeSelector: { matchExpressions: [{ scopeName: "PriorityClass", operator: "In", values: ["high"] }] } }),
      ],
      pods: [
        pod("be"),
        pod("be-deadline", {}, { spec: { activeDeadlineSeconds: 30 } }),
        pod("burstable", { requests: { cpu: "100m" } }, { status: { qosClass: "Burstable" } }),
        pod("important", { requests: { cpu: "1" } }, { spec: { priorityClassName: "high" } }),
      ],
    });
    await f.sync.sync("default/best-effort");
    await f.sync.sync("default/high");
    expect(f.stored("best-effort").used).toEqual({ pods: "1" });
    expect(f.stored("high").used).toEqual({ pods: "1" });
  });

  it("does not charge pods stuck deleting past their grace period", async () => {
    const stuck = pod("stuck", { requests: { cpu: "1" } });
    stuck.metadata.deletionTimestamp = "2025-12-31T23:00:00Z";
    stuck.metadata.deletionGracePeriodSeconds = 30;
    const f = new Fixture({ quotas: [quota("q", { pods: "5", "requests.cpu": "4", "count/pods": "5" })], pods: [stuck, pod("live", { requests: { cpu: "500m" } })] });
    await f.sync.sync("default/q");
    expect(f.stored("q").used).toEqual({ pods: "1", "requests.cpu": "500m", "count/pods": "2" });
  });

  it("keeps the old figure of a resource it cannot count, writes the rest, and fails the key", async () => {
    const f = new Fixture({ quotas: [quota("q", { pods: "5", configmaps: "5" }, { hard: { pods: "5", configmaps: "5" }, used: { pods: "3", configmaps: "0" } })], pods: [pod("a")], configMaps: [cm("x")] });
    f.unsynced.add("/pods");
    await expect(f.sync.sync("default/q")).rejects.toThrow("failed to list content: pods not yet synced");
    expect(f.stored("q").used).toEqual({ pods: "3", configmaps: "1" });
  });

  it("returns the write's conflict so the key is retried, and ignores a deleted quota", async () => {
    const f = new Fixture({ quotas: [quota("q", { pods: "5" })] });
    f.fake.failOn("update-status", "resourcequotas", newConflict({ resource: "resourcequotas" }, "q", "the object has been modified; please apply your changes to the latest version and try again"));
    await expect(f.sync.sync("default/q")).rejects.toThrow("the object has been modified");
    await f.sync.sync("default/gone");
    expect(f.statusWrites()).toHaveLength(1);
  });
});

describe("resourcequota handlers", () => {
  const setup = (quotas: KubeObject[]) => {
    const primary: string[] = [];
    const priority: string[] = [];
    const registry = new QuotaRegistry();
    const ix = new Indexer<KubeObject>(standardIndexers as never);
    for (const q of quotas) ix.set(q);
    const h = new QuotaHandlers({
      quotas: ix,
      evaluators: () => MONITORED.map((gr) => registry.get(gr)),
      evaluatorFor: (gr) => (MONITORED.some((m) => m.group === gr.group && m.resource === gr.resource) ? registry.get(gr) : undefined),
      primary: { add: (k) => primary.push(k) },
      priority: { add: (k) => priority.push(k) },
    });
    return { h, primary, priority };
  };

  it("puts quotas whose status lags their spec, or lacks a countable figure, in the priority queue", () => {
    const { h, primary, priority } = setup([]);
    h.addQuota(quota("new", { pods: "1" }));
    h.addQuota(quota("changed", { pods: "2" }, { hard: { pods: "1" }, used: { pods: "0" } }));
    h.addQuota(quota("missing", { pods: "1" }, { hard: { pods: "1" }, used: {} }));
    h.addQuota(quota("uncountable", { "example.com/widgets": "1" }, { hard: { "example.com/widgets": "1" }, used: {} }));
    h.addQuota(quota("settled", { pods: "1" }, { hard: { pods: "1" }, used: { pods: "1" } }));
    expect(priority).toEqual(["default/new", "default/changed", "default/missing"]);
    expect(primary).toEqual(["default/uncountable", "default/settled"]);
  });

  it("an update counts only when spec.hard changed; a delete enqueues the key", () => {
    const { h, primary, priority } = setup([]);
    const q = quota("q", { pods: "1" }, { hard: { pods: "1" }, used: { pods: "0" } });
    h.updateQuota(q, { ...q, status: { hard: { pods: "1" }, used: { pods: "1" } } });
    expect([...primary, ...priority]).toEqual([]);
    h.updateQuota(q, { ...q, spec: { hard: { pods: "1000m" } } });
    expect([...primary, ...priority]).toEqual([]);
    h.updateQuota(q, { ...q, spec: { hard: { pods: "3" } } });
    expect(priority).toEqual(["default/q"]);
    h.deleteQuota(q);
    expect(primary).toEqual(["default/q"]);
  });

  it("replenishes only the namespace's quotas that track the changed resource", () => {
    const { h, primary } = setup([
      quota("pods-q", { pods: "1" }, { hard: { pods: "1" }, used: {} }),
      quota("cm-q", { configmaps: "1" }, { hard: { configmaps: "1" }, used: {} }),
      { ...quota("other-ns", { pods: "1" }, { hard: { pods: "1" } }), metadata: { name: "other-ns", namespace: "other" } },
    ]);
    h.replenish({ group: "", resource: "pods" }, "default");
    expect(primary).toEqual(["default/pods-q"]);
    h.replenish({ group: "batch", resource: "jobs" }, "default");
    expect(primary).toEqual(["default/pods-q"]);
    h.enqueueAll();
    expect(primary.slice(1).sort()).toEqual(["default/cm-q", "default/pods-q", "other/other-ns"]);
  });
});

describe("resourcequota monitors", () => {
  it("replenish on pods going terminal, services leaving NodePort/LoadBalancer, claims' allocated size changing", () => {
    const running = pod("p");
    const pods = { group: "", resource: "pods" };
    expect(updateFreesQuota(pods, running, { ...running, status: { phase: "Failed" } }, T0)).toBe(true);
    expect(updateFreesQuota(pods, running, { ...running, metadata: { ...running.metadata, labels: { a: "b" } } }, T0)).toBe(false);
    const svc = (type: string) => ({ metadata: {}, spec: { type } });
    const services = { group: "", resource: "services" };
    expect(updateFreesQuota(services, svc("NodePort"), svc("ClusterIP"), T0)).toBe(true);
    expect(updateFreesQuota(services, svc("ClusterIP"), svc("ExternalName"), T0)).toBe(false);
    const claim = (storage?: string) => ({ metadata: {}, spec: {}, status: storage ? { allocatedResources: { storage } } : {} });
    const pvcs = { group: "", resource: "persistentvolumeclaims" };
    expect(updateFreesQuota(pvcs, claim("1Gi"), claim("2Gi"), T0)).toBe(true);
    expect(updateFreesQuota(pvcs, claim("1Gi"), claim("1024Mi"), T0)).toBe(false);
    expect(updateFreesQuota({ group: "", resource: "configmaps" }, cm("a"), cm("a"), T0)).toBe(false);
  });

  it("monitors every quotable resource once, lists only synced ones, and calls replenish on deletes", () => {
    const builtins = monitoredBuiltins().map((r) => `${r.group}/${r.resource}`);
    expect(builtins).toContain("/pods");
    expect(builtins).toContain("apps/deployments");
    expect(builtins).not.toContain("/events");
    expect(builtins).not.toContain("/nodes");
    const handlers: { onDelete?: (o: KubeObject) => void }[] = [];
    let synced = false;
    const ix = new Indexer<KubeObject>(standardIndexers as never);
    ix.set(cm("x"));
    const informer = {
      hasSynced: () => synced,
      lister: ix,
      addEventHandler: (h: { onDelete?: (o: KubeObject) => void }) => {
        handlers.push(h);
        return { remove: () => handlers.splice(handlers.indexOf(h), 1) };
      },
    } as unknown as SharedInformer;
    const replenished: string[] = [];
    const monitors = new QuotaMonitors({ shared: () => informer, own: () => ({ informer, stop: () => undefined }) }, (gr, ns) => replenished.push(`${gr.resource}@${ns}`), () => T0);
    expect(monitors.sync([Resources.configMaps, Resources.events, Resources.nodes])).toEqual({ added: ["/configmaps"], removed: [] });
    expect(() => monitors.list({ group: "", resource: "configmaps" }, "default")).toThrow("configmaps not yet synced");
    expect(() => monitors.list({ group: "", resource: "pods" }, "default")).toThrow("pods is not monitored");
    synced = true;
    expect(monitors.list({ group: "", resource: "configmaps" }, "default").map((o) => o.metadata.name)).toEqual(["x"]);
    handlers[0]!.onDelete!(cm("x"));
    expect(replenished).toEqual(["configmaps@default"]);
    expect(monitors.sync([])).toEqual({ added: [], removed: ["/configmaps"] });
    expect(handlers).toHaveLength(0);
  });
});
