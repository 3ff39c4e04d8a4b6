import { describe, expect, it } from "vitest";
import { humanDuration } from "../../src/tables/format.js";
import { podPrinter, podStatusReason } from "../../src/tables/pods.js";
import { builtinRegistry } from "../../src/registry/registry.js";
import { toTable, wantsTable } from "../../src/http/table.js";
import { aggregatedDiscovery, apiResourceList, wantsAggregated } from "../../src/http/discovery.js";
import { parseRequestPath } from "../../src/http/request-info.js";

const now = new Date("2026-01-01T01:00:00Z");

describe("tables", () => {
  it("formats ages like kubectl", () => {
    expect(humanDuration(5_000)).toBe("5s");
    expect(humanDuration(119_000)).toBe("119s");
    expect(humanDuration(200_000)).toBe("3m20s");
    expect(humanDuration(60 * 60_000)).toBe("60m");
    expect(humanDuration(5 * 3600_000 + 3 * 60_000)).toBe("5h3m");
    expect(humanDuration(3 * 86400_000 + 4 * 3600_000)).toBe("3d4h");
    expect(humanDuration(-5_000)).toBe("<invalid>");
  });

  it("prints pod rows with readiness, status reason and restarts", () => {
    const pod = {
      metadata: { name: "p", creationTimestamp: "2026-01-01T00:00:00Z" },
      spec: { nodeName: "kubemu", containers: [{ name: "a" }, { name: "b" }] },
      status: {
        phase: "Running",
        podIP: "127.244.1.5",
        containerStatuses: [
          { name: "a", ready: true, restartCount: 0, state: { running: {} } },
          { name: "b", ready: false, restartCount: 3, state: { waiting: { reason: "CrashLoopBackOff" } }, lastState: { terminated: { finishedAt: "2026-01-01T00:58:00Z" } } },
        ],
      },
    };
    expect(podPrinter.row(pod, { now })).toEqual(["p", "1/2", "CrashLoopBackOff", "3 (2m ago)", "60m", "127.244.1.5", "kubemu", "<none>", "<none>"]);
    expect(podStatusReason({ metadata: { deletionTimestamp: "x" }, status: { phase: "Running" } })).toBe("Terminating");
    expect(podStatusReason({ metadata: {}, spec: { initContainers: [{ name: "i" }] }, status: { phase: "Pending", initContainerStatuses: [{ name: "i", state: { running: {} } }] } })).toBe("Init:0/1");
  });

  it("builds Tables with the upstream column sets and PartialObjectMetadata rows", () => {
    const reg = builtinRegistry();
    const deploy = reg.lookup("apps", "v1", "deployments")!;
    const t = toTable(
      deploy,
      [{ metadata: { name: "d", creationTimestamp: "2026-01-01T00:59:00Z" }, spec: { replicas: 3, selector: { matchLabels: { app: "d" } }, template: { spec: { containers: [{ name: "c", image: "i" }] } } }, status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 } }],
      { resourceVersion: "7" },
      { include: "Metadata", version: "v1", now },
    ) as any;
    expect(t.columnDefinitions.map((c: any) => c.name)).toEqual(["Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"]);
    expect(t.rows[0].cells).toEqual(["d", "2/3", 3, 2, "60s", "c", "i", "app=d"]);
    expect(t.rows[0].object.kind).toBe("PartialObjectMetadata");
    const svc = reg.lookup("", "v1", "services")!;
    const st = toTable(svc, [{ metadata: { name: "s" }, spec: { type: "NodePort", clusterIP: "127.96.0.7", ports: [{ port: 80, nodePort: 30001, protocol: "TCP" }] } }], {}, { include: "None", version: "v1", now }) as any;
    expect(st.rows[0].cells.slice(0, 5)).toEqual(["s", "NodePort", "127.96.0.7", "<none>", "80:30001/TCP"]);
    expect(st.rows[0].object).toBeUndefined();
  });

  it("node STATUS as upstream's printNode: NotReady for Ready False and Unknown alike, Unknown without a Ready condition, SchedulingDisabled when cordoned", () => {
    const nodes = builtinRegistry().lookup("", "v1", "nodes")!;
    const status = (conditions: unknown[], unschedulable = false) =>
      (toTable(nodes, [{ metadata: { name: "n", creationTimestamp: "2026-01-01T00:00:00Z" }, spec: unschedulable ? { unschedulable } : {}, status: { conditions } }], {}, { include: "None", version: "v1", now }) as any).rows[0].cells[1];
    expect(status([{ type: "Ready", status: "True" }])).toBe("Ready");
    expect(status([{ type: "Ready", status: "False" }])).toBe("NotReady");
    expect(status([{ type: "Ready", status: "Unknown" }])).toBe("NotReady");
    expect(status([])).toBe("Unknown");
    expect(status([{ type: "Ready", status: "Unknown" }], true)).toBe("NotReady,SchedulingDisabled");
  });

  it("recognises the Table and aggregated discovery Accept headers kubectl sends", () => {
    expect(wantsTable("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")).toBe("v1");
    expect(wantsTable("application/json")).toBeUndefined();
    expect(wantsAggregated("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")).toContain("v=v2");
  });
});

describe("discovery and paths", () => {
  it("lists subresources with their kinds and get-all categories", () => {
    const list = apiResourceList(builtinRegistry(), "apps", "v1") as any;
    const scale = list.resources.find((r: any) => r.name === "deployments/scale");
    expect(scale).toMatchObject({ group: "autoscaling", version: "v1", kind: "Scale" });
    const all = (aggregatedDiscovery(builtinRegistry(), false) as any).items
      .flatMap((g: any) => g.versions[0].resources)
      .filter((r: any) => r.categories?.includes("all"))
      .map((r: any) => r.resource);
    expect(all).toEqual(expect.arrayContaining(["deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs"]));
  });

  it("parses resource paths", () => {
    expect(parseRequestPath("/api/v1/namespaces/default/pods/p/status")).toEqual({ kind: "resource", group: "", version: "v1", namespace: "default", resource: "pods", name: "p", subresource: "status" });
    expect(parseRequestPath("/api/v1/namespaces/foo")).toMatchObject({ resource: "namespaces", name: "foo" });
    expect(parseRequestPath("/api/v1/namespaces/foo/finalize")).toMatchObject({ resource: "namespaces", name: "foo", subresource: "finalize" });
    expect(parseRequestPath("/apis/apps/v1/deployments")).toMatchObject({ group: "apps", resource: "deployments" });
    expect(parseRequestPath("/apis")).toEqual({ kind: "apiGroups" });
    expect(parseRequestPath("/nope").kind).toBe("other");
  });
});
