/** Quota accounting shared by the ResourceQuota admission plugin and the resourcequota controller. */
import { describe, expect, it } from "vitest";
import {
  QuotaRegistry,
  addLists,
  calculateUsage,
  computePodQOS,
  formatResourceList,
  lessThanOrEqual,
  listsEqual,
  maskList,
  parseResourceList,
  podEvaluator,
  podLimits,
  podRequests,
  pvcEvaluator,
  quotaMatches,
  quotaV1Pod,
  serviceEvaluator,
  subtractListsNonNegative,
  prettyPrintList,
} from "../src/index.js";

const list = (o: Record<string, string>) => parseResourceList(o);
const fmt = formatResourceList;
const container = (name: string, requests?: Record<string, string>, limits?: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  name,
  image: "nginx",
  resources: { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) },
  ...extra,
});
const pod = (spec: Record<string, unknown>, meta: Record<string, unknown> = {}, status: Record<string, unknown> = {}) => ({ metadata: { name: "p", ...meta }, spec, status });

describe("resource lists", () => {
  it("adds in the first operand's format unless it is zero, subtracts never below zero", () => {
    expect(fmt(addLists(list({ memory: "0" }), list({ memory: "64Mi" })))).toEqual({ memory: "64Mi" });
    expect(fmt(addLists(list({ memory: "64Mi", cpu: "100m" }), list({ memory: "64Mi", pods: "1" })))).toEqual({ memory: "128Mi", cpu: "100m", pods: "1" });
    expect(fmt(addLists(list({ cpu: "1" }), list({ cpu: "500m" })))).toEqual({ cpu: "1500m" });
    expect(fmt(subtractListsNonNegative(list({ cpu: "1", memory: "1Gi" }), list({ cpu: "2", pods: "1" })))).toEqual({ cpu: "0", memory: "1Gi", pods: "0" });
  });

  it("compares, masks and prints as the quota plugin does", () => {
    expect(lessThanOrEqual(list({ cpu: "2", memory: "1Gi" }), list({ cpu: "1500m", pods: "3" }))).toEqual({ allowed: false, exceeded: ["cpu"] });
    expect(lessThanOrEqual(list({ cpu: "1" }), list({ cpu: "1" })).allowed).toBe(true);
    expect(listsEqual(list({ cpu: "1" }), list({ cpu: "1000m" }))).toBe(true);
    expect(fmt(maskList(list({ cpu: "1", memory: "2" }), ["memory"]))).toEqual({ memory: "2" });
    expect(prettyPrintList(list({ "limits.memory": "1Gi", "limits.cpu": "2" }))).toBe("limits.cpu=2,limits.memory=1Gi");
  });
});

describe("pod requests and limits", () => {
  it("sums containers, takes the largest init container, and keeps sidecars running", () => {
    const p = pod({
      containers: [container("a", { cpu: "100m" }, { cpu: "200m" }), container("b", { cpu: "200m", memory: "64Mi" })],
      initContainers: [
        container("init", { cpu: "500m" }, { cpu: "1" }),
        container("sidecar", { cpu: "50m", memory: "10Mi" }, undefined, { restartPolicy: "Always" }),
        container("late-init", { cpu: "400m" }),
      ],
      overhead: { cpu: "10m" },
    });
    // containers 300m + sidecar 50m = 350m; init needs max(500m, 50m, 400m+50m) = 500m; + overhead 10m.
    expect(fmt(podRequests(p))).toEqual({ cpu: "510m", memory: "74Mi" });
    expect(fmt(podRequests(p, { overhead: false }))).toEqual({ cpu: "500m", memory: "74Mi" });
    // Limits: containers 200m, init 1 → 1, overhead only where a limit exists.
    expect(fmt(podLimits(p))).toEqual({ cpu: "1010m" });
  });

  it("computes QoS from every container's positive cpu/memory", () => {
    expect(computePodQOS(pod({ containers: [container("a")] }))).toBe("BestEffort");
    expect(computePodQOS(pod({ containers: [container("a", { cpu: "0" })] }))).toBe("BestEffort");
    expect(computePodQOS(pod({ containers: [container("a", { cpu: "1" })] }))).toBe("Burstable");
    expect(computePodQOS(pod({ containers: [container("a", { cpu: "1", memory: "1Gi" }, { cpu: "1", memory: "1Gi" })] }))).toBe("Guaranteed");
  });
});

describe("evaluators", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");

  it("charges a pod its requests and limits, and terminal or long-deleted pods only their count", () => {
    const p = pod({ containers: [container("nginx", { cpu: "100m", memory: "10Mi" }, { cpu: "200m", memory: "100Mi" })] });
    expect(fmt(podEvaluator.usage(p, now))).toEqual({
      "count/pods": "1",
      pods: "1",
      cpu: "100m",
      "requests.cpu": "100m",
      "limits.cpu": "200m",
      memory: "10Mi",
      "requests.memory": "10Mi",
      "limits.memory": "100Mi",
    });
    expect(fmt(podEvaluator.usage({ ...p, status: { phase: "Succeeded" } }, now))).toEqual({ "count/pods": "1" });
    const deleting = { ...p, metadata: { deletionTimestamp: "2025-12-31T23:59:00Z", deletionGracePeriodSeconds: 30 } };
    expect(quotaV1Pod(deleting, now)).toBe(false);
    expect(quotaV1Pod(deleting, Date.parse("2025-12-31T23:59:10Z"))).toBe(true);
  });

  it("requires cpu and memory where a quota names them, per resource with the containers' names", () => {
    const p = pod({ containers: [container("web", { cpu: "1" }), container("app")], initContainers: [container("init", undefined, { memory: "1Gi" })] });
    expect(podEvaluator.constraints(["limits.cpu", "limits.memory", "pods", "requests.storage"], p)).toBe("must specify limits.cpu for: app,init,web; limits.memory for: app,web");
    expect(podEvaluator.constraints(["requests.cpu"], p)).toBe("must specify requests.cpu for: app,init");
    expect(podEvaluator.constraints(["pods", "count/pods"], p)).toBeUndefined();
  });

  it("counts services, node ports and load balancers", () => {
    const svc = (spec: Record<string, unknown>) => ({ metadata: {}, spec });
    expect(fmt(serviceEvaluator.usage(svc({ type: "ClusterIP", ports: [{ port: 80 }] }), now))).toEqual({ "count/services": "1", services: "1", "services.loadbalancers": "0", "services.nodeports": "0" });
    expect(fmt(serviceEvaluator.usage(svc({ type: "NodePort", ports: [{ port: 80 }, { port: 443 }] }), now))["services.nodeports"]).toBe("2");
    const lb = fmt(serviceEvaluator.usage(svc({ type: "LoadBalancer", allocateLoadBalancerNodePorts: false, ports: [{ port: 80, nodePort: 30001 }, { port: 81 }] }), now));
    expect([lb["services.loadbalancers"], lb["services.nodeports"]]).toEqual(["1", "1"]);
  });

  it("charges claims storage per class, rounded up to whole bytes, the allocated size when larger", () => {
    const pvc = { metadata: {}, spec: { storageClassName: "gold", resources: { requests: { storage: "1.5" } } }, status: {} };
    expect(fmt(pvcEvaluator.usage(pvc, now))).toEqual({
      persistentvolumeclaims: "1",
      "count/persistentvolumeclaims": "1",
      "gold.storageclass.storage.k8s.io/persistentvolumeclaims": "1",
      "requests.storage": "2",
      "gold.storageclass.storage.k8s.io/requests.storage": "2",
    });
    const resized = { ...pvc, spec: { resources: { requests: { storage: "1Gi" } } }, status: { allocatedResources: { storage: "2Gi" } } };
    expect(fmt(pvcEvaluator.usage(resized, now))["requests.storage"]).toBe("2Gi");
    expect(pvcEvaluator.matchingResources(["gold.storageclass.storage.k8s.io/requests.storage", "requests.cpu", "count/persistentvolumeclaims"])).toEqual([
      "gold.storageclass.storage.k8s.io/requests.storage",
      "count/persistentvolumeclaims",
    ]);
  });

  it("matches a quota by its hard resources and every scope", () => {
    const quota = (scopes: string[], scopeSelector?: unknown) => ({ spec: { scopes, scopeSelector }, status: { hard: { pods: "4" } } });
    const best = pod({ containers: [container("a")] });
    const burst = pod({ containers: [container("a", { cpu: "1" })], activeDeadlineSeconds: 30, priorityClassName: "high" });
    expect(quotaMatches(podEvaluator, quota(["BestEffort", "NotTerminating"]), best)).toBe(true);
    expect(quotaMatches(podEvaluator, quota(["BestEffort"]), burst)).toBe(false);
    expect(quotaMatches(podEvaluator, quota(["Terminating", "NotBestEffort"]), burst)).toBe(true);
    const pcIn = { matchExpressions: [{ scopeName: "PriorityClass", operator: "In", values: ["high", "medium"] }] };
    expect(quotaMatches(podEvaluator, quota([], pcIn), burst)).toBe(true);
    expect(quotaMatches(podEvaluator, quota([], pcIn), best)).toBe(false);
    const pcNotIn = { matchExpressions: [{ scopeName: "PriorityClass", operator: "NotIn", values: ["high"] }] };
    expect(quotaMatches(podEvaluator, quota([], pcNotIn), best)).toBe(true);
    // A quota whose status has no hard limits yet matches nothing (the controller fills it).
    expect(quotaMatches(podEvaluator, { spec: {}, status: {} }, best)).toBe(false);
  });
});

describe("calculateUsage", () => {
  it("recounts only the quota's resources, over objects in its scopes, starting from zero", () => {
    const registry = new QuotaRegistry();
    const pods = [
      pod({ containers: [container("a", { cpu: "100m" }, { cpu: "200m" })] }),
      pod({ containers: [container("b")] }),
      pod({ containers: [container("c", { cpu: "1" })] }, {}, { phase: "Failed" }),
    ];
    const objects: Record<string, unknown[]> = { "/pods": pods, "/configmaps": [{ metadata: {} }, { metadata: {} }] };
    registry.get({ group: "apps", resource: "deployments" });
    const { used, errors } = calculateUsage({
      namespace: "default",
      quota: { spec: { hard: { pods: "10", "requests.cpu": "2", "count/configmaps": "5", configmaps: "5", "count/deployments.apps": "3", "requests.storage": "1Gi" } } },
      evaluators: registry.list(),
      list: (gr) => (objects[`${gr.group}/${gr.resource}`] ?? []) as never,
      now: 0,
    });
    expect(errors).toEqual([]);
    expect(fmt(used)).toEqual({ pods: "2", "requests.cpu": "100m", "count/configmaps": "2", configmaps: "2", "count/deployments.apps": "0", "requests.storage": "0" });
    const scoped = calculateUsage({ namespace: "default", quota: { spec: { hard: { pods: "10" }, scopes: ["BestEffort"] } }, evaluators: registry.list(), list: (gr) => (objects[`${gr.group}/${gr.resource}`] ?? []) as never, now: 0 });
    expect(fmt(scoped.used)).toEqual({ pods: "1" });
  });

  it("leaves out what an evaluator could not list, and says why", () => {
    const { used, errors } = calculateUsage({
      namespace: "ns",
      quota: { spec: { hard: { pods: "1", secrets: "2" } } },
      evaluators: new QuotaRegistry().list(),
      list: (gr) => {
        if (gr.resource === "pods") throw new Error("pods not yet synced");
        return [];
      },
      now: 0,
    });
    expect(fmt(used)).toEqual({ secrets: "0" });
    expect(errors.map((e) => e.message)).toEqual(["failed to list content: pods not yet synced"]);
  });
});
