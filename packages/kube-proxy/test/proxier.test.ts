import { describe, expect, it } from "vitest";
import { FakeClock, Indexer, SeededRng, silentLogger, type KubeObject } from "@kubemu/common";
import { ListenerManager, ProxierHealth, Proxier, RouteTable, SLICE_SERVICE_INDEX, type ListenerSpec } from "../src/index.js";
import { newKubeProxyMetrics } from "../src/server/metrics.js";
import { node, service, slice } from "./fixtures.js";

function setup() {
  const clock = new FakeClock(1_700_000_000_000);
  const services = new Indexer<KubeObject>();
  const slices = new Indexer<KubeObject>({ [SLICE_SERVICE_INDEX]: (s) => [`${s.metadata?.namespace}/${s.metadata?.labels?.["kubernetes.io/service-name"]}`] });
  const nodes = new Indexer<KubeObject>();
  const applied: ListenerSpec[][] = [];
  const listeners = { apply: (l: readonly ListenerSpec[]) => applied.push([...l]), counts: () => ({ binding: 0, bound: 0, waiting: 0, failed: 0 }), udpSessions: 0 } as unknown as ListenerManager;
  const metrics = newKubeProxyMetrics();
  const health = new ProxierHealth(clock, 60_000, 0);
  const routes = new RouteTable({ self: { nodeName: "n1", zone: "" }, clock, rng: new SeededRng(3) });
  const proxier = new Proxier({ nodeName: "n1", nodeIp: "127.0.100.1", services, slices, nodes, routes, listeners, health, metrics, clock, log: silentLogger, minSyncPeriodMs: 0 });
  return { clock, services, slices, nodes, applied, proxier, metrics, health, routes };
}

const last = (a: ListenerSpec[][]) => (a.at(-1) ?? []).map((l) => l.id).sort();

describe("Proxier", () => {
  it("coalesces changes into one sync that opens the listeners with endpoints", () => {
    const t = setup();
    t.services.set(service("web", { type: "NodePort", clusterIP: "127.96.5.1", ports: [{ name: "http", port: 80, nodePort: 30100 }] }));
    t.services.set(service("empty", { clusterIP: "127.96.5.2" }));
    t.slices.set(slice("web-1", "web", [{ ip: "127.244.1.2", node: "n1" }]));
    t.nodes.set(node("n1", "127.0.100.1", "127.244.1.0/24"));
    t.proxier.onServiceChange();
    t.proxier.onServiceChange();
    t.proxier.onSliceChange(undefined);
    expect(t.health.isHealthy()).toBe(true);
    t.clock.advance(0);
    expect(t.applied).toHaveLength(1);
    expect(last(t.applied)).toEqual(["TCP 127.0.100.1:30100", "TCP 127.96.5.1:80"]);
    expect(t.routes.pick("default/web:http/TCP", "127.0.0.1", "internal")?.ip).toBe("127.244.1.2");
    expect(t.proxier.summary().servicePorts).toBe(2);
  });

  it("closes a listener when its last endpoint goes and survives malformed objects", () => {
    const t = setup();
    t.services.set(service("web", { clusterIP: "127.96.5.3" }));
    t.slices.set(slice("web-1", "web", [{ ip: "127.244.1.2" }]));
    t.proxier.sync();
    expect(last(t.applied)).toEqual(["TCP 127.96.5.3:80"]);
    t.slices.set(slice("web-1", "web", [{ ip: "127.244.1.2", ready: false, serving: false }]));
    t.services.set({ apiVersion: "v1", kind: "Service", metadata: { name: "junk", namespace: "default" }, spec: { ports: [{ port: "eighty" }], clusterIP: 5 } } as unknown as KubeObject);
    t.slices.set({ apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", metadata: { name: "junk-1", namespace: "default", labels: { "kubernetes.io/service-name": "junk" } }, endpoints: "no" } as unknown as KubeObject);
    t.proxier.sync();
    expect(last(t.applied)).toEqual([]);
  });

  it("counts Local-policy services without local endpoints, and records network programming latency", async () => {
    const t = setup();
    t.services.set(service("loc", { clusterIP: "127.96.5.4", internalTrafficPolicy: "Local" }));
    const s = slice("loc-1", "loc", [{ ip: "127.244.2.2", node: "n2" }]);
    s.metadata.annotations = { "endpoints.kubernetes.io/last-change-trigger-time": new Date(t.clock.now() - 1500).toISOString() };
    t.slices.set(s);
    t.proxier.onSliceChange(s);
    t.clock.advance(0);
    const text = await t.metrics.registry.metrics();
    expect(text).toContain('kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_policy="internal"} 1');
    expect(text).toContain("kubeproxy_network_programming_duration_seconds_count 1");
    expect(text).toMatch(/kubeproxy_sync_proxy_rules_last_timestamp_seconds 1700000000/);
    expect(text).toContain("kubeproxy_sync_proxy_rules_endpoint_changes_total 1");
  });

  it("turns /healthz unhealthy when its own node is being deleted", () => {
    const t = setup();
    t.nodes.set(node("n1", "127.0.100.1", "127.244.1.0/24", undefined, { deleting: true }));
    t.proxier.sync();
    expect(t.health.healthz().code).toBe(503);
  });
});
