import { describe, expect, it } from "vitest";
import { describeLocalPort, endpointsForPort, planListeners, servicePortsOf, type EndpointInfo, type ServicePortInfo } from "../src/index.js";
import { service, slice, type EpOpts } from "./fixtures.js";

const self = { nodeName: "n1", nodeIp: "127.0.100.1", zone: "" };

function plan(svc: ReturnType<typeof service>, endpoints: EpOpts[]) {
  const ports: ServicePortInfo[] = servicePortsOf(svc).ports;
  const sl = slice(`${svc.metadata.name}-x`, svc.metadata.name!, endpoints);
  const eps = new Map<string, EndpointInfo[]>(ports.map((p) => [p.key, endpointsForPort([sl], p, self.nodeName)]));
  return planListeners(ports, eps, self).listeners.map((l) => ({ id: l.id, kind: l.kind, shared: l.shared, open: l.open, traffic: l.traffic, snat: l.snatToNode }));
}

describe("planListeners", () => {
  it("listens on the ClusterIP only while there are endpoints", () => {
    const svc = service("web", { clusterIP: "127.96.3.1" });
    expect(plan(svc, [{ ip: "127.244.2.2", node: "n2" }])).toEqual([{ id: "TCP 127.96.3.1:80", kind: "ClusterIP", shared: true, open: true, traffic: "internal", snat: false }]);
    expect(plan(svc, [])).toEqual([expect.objectContaining({ id: "TCP 127.96.3.1:80", open: false })]);
    expect(plan(svc, [{ ip: "127.244.2.2", ready: false, serving: false }])[0]!.open).toBe(false);
  });

  it("gives headless Services no listener", () => {
    expect(plan(service("h", { clusterIP: "None" }), [{ ip: "127.244.2.2" }])).toEqual([]);
  });

  it("puts the NodePort on this node's IP, masqueraded under Cluster policy", () => {
    const svc = service("np", { type: "NodePort", clusterIP: "127.96.3.2", ports: [{ name: "http", port: 80, nodePort: 30080 }] });
    expect(plan(svc, [{ ip: "127.244.2.2", node: "n2" }])).toEqual([
      { id: "TCP 127.96.3.2:80", kind: "ClusterIP", shared: true, open: true, traffic: "internal", snat: false },
      { id: "TCP 127.0.100.1:30080", kind: "NodePort", shared: false, open: true, traffic: "external", snat: true },
    ]);
  });

  it("opens external listeners under externalTrafficPolicy Local only with an endpoint on this node", () => {
    const svc = service("lb", { type: "LoadBalancer", clusterIP: "127.96.3.3", ports: [{ name: "http", port: 80, nodePort: 30081 }], lbIngress: [{ ip: "127.240.0.100" }], externalIPs: ["127.1.1.9"], externalTrafficPolicy: "Local" });
    const remote = plan(svc, [{ ip: "127.244.2.2", node: "n2" }]);
    expect(remote.map((l) => [l.kind, l.open])).toEqual([["ClusterIP", true], ["NodePort", false], ["ExternalIP", false], ["LoadBalancer", false]]);
    const local = plan(svc, [{ ip: "127.244.1.2", node: "n1" }]);
    expect(local.map((l) => [l.kind, l.open, l.snat])).toEqual([["ClusterIP", true, false], ["NodePort", true, false], ["ExternalIP", true, false], ["LoadBalancer", true, false]]);
  });

  it("lets the first Service port keep an address two of them ask for", () => {
    const a = servicePortsOf(service("a", { clusterIP: "127.96.3.4", externalIPs: ["127.1.1.10"] })).ports;
    const b = servicePortsOf(service("b", { clusterIP: "127.96.3.5", externalIPs: ["127.1.1.10"] })).ports;
    const eps = new Map([...a, ...b].map((p) => [p.key, [{ ip: "127.244.2.2", port: 8080, nodeName: "", zone: "", ready: true, serving: true, terminating: false, zoneHints: [], nodeHints: [] }]]));
    const p = planListeners([...b, ...a], eps, self);
    expect(p.listeners.filter((l) => l.id === "TCP 127.1.1.10:80").map((l) => l.serviceKey)).toEqual(["default/a:http/TCP"]);
    expect(p.conflicts).toEqual([{ id: "TCP 127.1.1.10:80", kept: "default/a:http/TCP", dropped: "default/b:http/TCP" }]);
  });

  it("describes a port as upstream's LocalPort does", () => {
    expect(describeLocalPort({ description: "nodePort for default/web:http", ip: "127.0.100.1", port: 30080, protocol: "TCP" })).toBe('"nodePort for default/web:http" (127.0.100.1:30080/tcp)');
  });
});
