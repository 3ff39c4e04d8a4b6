import { describe, expect, it } from "vitest";
import type { KubeObject } from "@kubemu/common";
import { computeNodeMetrics, computePodMetrics, cpuQuantity, memoryQuantity, metricsNotFound } from "../../src/resource-metrics/metrics.js";
import type { ComputeContext } from "../../src/registry/types.js";
import { builtinRegistry } from "../../src/registry/registry.js";
import { ResourceApi } from "../../src/rest/resource-api.js";
import type { ResourceStore } from "../../src/rest/store.js";

const now = new Date("2026-12-03T18:00:00Z");
const t = "2026-12-03T17:59:58Z";

const node = (name: string, ready = true): KubeObject =>
  ({ metadata: { name, labels: { "kubernetes.io/hostname": name } }, status: { conditions: [{ type: "Ready", status: ready ? "True" : "False" }], addresses: [{ type: "InternalIP", address: "127.0.0.1" }] } }) as KubeObject;
const pod = (ns: string, name: string, nodeName: string, uid: string): KubeObject => ({ metadata: { namespace: ns, name, uid, labels: { app: name } }, spec: { nodeName } }) as KubeObject;

function fakeContext(objects: Record<string, KubeObject[]>, summaries: Record<string, unknown>): ComputeContext & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    list: async (_g, _v, plural) => objects[plural] ?? [],
    now: () => now,
    kubeletJson: async (n, path) => {
      asked.push(`${n.metadata.name}${path}`);
      const s = summaries[n.metadata.name!];
      if (!s) throw new Error("connection refused");
      return s;
    },
  };
}

describe("metrics.k8s.io quantities (as metrics-server writes them)", () => {
  it("CPU in nanocores, canonical", () => {
    expect(cpuQuantity(123456789)).toBe("123456789n");
    expect(cpuQuantity(250_000_000)).toBe("250m");
    expect(cpuQuantity(2_000_000_000)).toBe("2");
    expect(cpuQuantity(0)).toBe("0");
  });
  it("memory as a binary quantity", () => {
    expect(memoryQuantity(14884 * 1024)).toBe("14884Ki");
    expect(memoryQuantity(34 * 1024 * 1024)).toBe("34Mi");
    // Below 1Ki upstream falls back to decimal SI, so 1000 bytes read "1k"; bytes not a multiple of 1024 stay plain.
    expect(memoryQuantity(1000)).toBe("1k");
    expect(memoryQuantity(4097)).toBe("4097");
  });
});

describe("NodeMetrics from the kubelets' Summaries", () => {
  it("one per Ready node whose kubelet has a CPU rate; unready, silent and not-yet-rated nodes are left out", async () => {
    const ctx = fakeContext(
      { nodes: [node("a"), node("b"), node("c", false), node("d")] },
      {
        a: { node: { nodeName: "a", cpu: { time: t, usageNanoCores: 150_000_000, usageCoreNanoSeconds: 9e9 }, memory: { time: t, workingSetBytes: 512 * 2 ** 20 } } },
        // Only one sample so far: no rate.
        b: { node: { nodeName: "b", cpu: { time: t, usageCoreNanoSeconds: 1e9 }, memory: { time: t, workingSetBytes: 1 } } },
        c: { node: { nodeName: "c", cpu: { time: t, usageNanoCores: 1 }, memory: { time: t, workingSetBytes: 1 } } },
      },
    );
    const items = await computeNodeMetrics(ctx);
    expect(items).toEqual([
      {
        kind: "NodeMetrics",
        apiVersion: "metrics.k8s.io/v1beta1",
        metadata: { name: "a", creationTimestamp: now.toISOString(), labels: { "kubernetes.io/hostname": "a" } },
        timestamp: t,
        window: "10s",
        usage: { cpu: "150m", memory: "512Mi" },
      },
    ]);
    expect(ctx.asked).toEqual(["a/stats/summary?only_cpu_and_memory=true", "b/stats/summary?only_cpu_and_memory=true", "d/stats/summary?only_cpu_and_memory=true"]);
  });
});

describe("PodMetrics", () => {
  const stats = (ns: string, name: string, uid: string, containers: { name: string; cores?: number; bytes: number }[]) => ({
    podRef: { namespace: ns, name, uid },
    containers: containers.map((c) => ({ name: c.name, cpu: { time: t, ...(c.cores !== undefined ? { usageNanoCores: c.cores } : {}), usageCoreNanoSeconds: 1 }, memory: { time: t, workingSetBytes: c.bytes } })),
  });

  it("per-container usage with the pod's labels; only the namespace asked for, only nodes hosting its pods", async () => {
    const ctx = fakeContext(
      { nodes: [node("a"), node("b")], pods: [pod("default", "busy", "a", "u1"), pod("other", "x", "b", "u2")] },
      {
        a: { node: {}, pods: [stats("default", "busy", "u1", [{ name: "main", cores: 987_654_321, bytes: 3 * 2 ** 20 }, { name: "side", cores: 1_000_000, bytes: 2048 }])] },
        b: { node: {}, pods: [stats("other", "x", "u2", [{ name: "c", cores: 5, bytes: 5 }])] },
      },
    );
    const items = await computePodMetrics(ctx, "default");
    expect(items).toEqual([
      {
        kind: "PodMetrics",
        apiVersion: "metrics.k8s.io/v1beta1",
        metadata: { name: "busy", namespace: "default", creationTimestamp: now.toISOString(), labels: { app: "busy" } },
        timestamp: t,
        window: "10s",
        containers: [
          { name: "main", usage: { cpu: "987654321n", memory: "3Mi" } },
          { name: "side", usage: { cpu: "1m", memory: "2Ki" } },
        ],
      },
    ]);
    expect(ctx.asked).toEqual(["a/stats/summary?only_cpu_and_memory=true"]);
  });

  it("a pod with a container not rated yet, or a stale pod of the same name (other uid), has no metrics", async () => {
    const ctx = fakeContext(
      { nodes: [node("a")], pods: [pod("default", "new", "a", "u1"), pod("default", "again", "a", "u3")] },
      { a: { pods: [stats("default", "new", "u1", [{ name: "main", cores: 5, bytes: 1 }, { name: "late", bytes: 1 }]), stats("default", "again", "u-old", [{ name: "c", cores: 5, bytes: 1 }])] } },
    );
    expect(await computePodMetrics(ctx, undefined)).toEqual([]);
  });

  it("NotFound in metrics-server's words", () => {
    expect(metricsNotFound("podmetrics")("busy", "default").message).toBe('podmetrics.metrics.k8s.io "default/busy" not found');
    expect(metricsNotFound("nodemetrics")("kubemu", undefined).message).toBe('nodemetrics.metrics.k8s.io "kubemu" not found');
  });
});

describe("computed kinds through the REST adapter", () => {
  const ctx = fakeContext(
    { nodes: [node("a")], pods: [pod("default", "web", "a", "u1"), pod("default", "db", "a", "u2"), pod("kube-system", "dns", "a", "u3")] },
    {
      a: {
        pods: ["web", "db", "dns"].map((n, i) => ({
          podRef: { namespace: n === "dns" ? "kube-system" : "default", name: n, uid: `u${i + 1}` },
          containers: [{ name: "c", cpu: { time: t, usageNanoCores: 1e6 }, memory: { time: t, workingSetBytes: 1024 } }],
        })),
      },
    },
  );
  // The metrics kinds never touch the store: their objects come from compute.
  const registry = builtinRegistry();
  const api = new ResourceApi(undefined as unknown as ResourceStore, registry, (def, ns) => (def.compute ? def.compute(ctx, ns) : undefined));
  const target = (namespace?: string, name?: string) => api.resolve({ group: "metrics.k8s.io", version: "v1beta1", resource: "pods", namespace, name });

  it("discovery-facing declarations: get and list only, NodeMetrics cluster-scoped, PodMetrics namespaced", () => {
    const nodes = registry.lookup("metrics.k8s.io", "v1beta1", "nodes")!;
    const pods = registry.lookup("metrics.k8s.io", "v1beta1", "pods")!;
    expect([nodes.kind, nodes.namespaced, nodes.verbs]).toEqual(["NodeMetrics", false, ["get", "list"]]);
    expect([pods.kind, pods.namespaced, pods.verbs]).toEqual(["PodMetrics", true, ["get", "list"]]);
  });

  it("lists narrowed by namespace, label selector and field selector; a list envelope of kind PodMetricsList", async () => {
    const names = async (ns: string | undefined, q: { labelSelector?: string; fieldSelector?: string } = {}) => (await api.list(target(ns), q)).items.map((i) => `${i.metadata.namespace}/${i.metadata.name}`);
    expect(await names("default")).toEqual(["default/web", "default/db"]);
    expect(await names(undefined)).toEqual(["default/web", "default/db", "kube-system/dns"]);
    expect(await names(undefined, { labelSelector: "app in (db,dns)" })).toEqual(["default/db", "kube-system/dns"]);
    expect(await names("default", { fieldSelector: "metadata.name!=web" })).toEqual(["default/db"]);
    expect((await api.listEnvelope(target("default"), {})).kind).toBe("PodMetricsList");
  });

  it("get finds one in its namespace; a missing one is the declaration's NotFound", async () => {
    expect((await api.get(target("default", "db"))).metadata.name).toBe("db");
    await expect(api.get(target("default", "dns"))).rejects.toThrow('podmetrics.metrics.k8s.io "default/dns" not found');
    await expect(api.create(target("default"), {}, {})).rejects.toThrow(/not allow|method/i);
  });
});
