import { describe, expect, it } from "vitest";
import { DEFAULT_AFFINITY_TIMEOUT_SECONDS, servicePortsOf } from "../src/index.js";
import { service } from "./fixtures.js";

describe("servicePortsOf", () => {
  it("reads a ClusterIP Service's ports with upstream's keys", () => {
    const { ports, problems } = servicePortsOf(service("web", { clusterIP: "127.96.1.1", ports: [{ name: "http", port: 80 }, { name: "dns", port: 53, protocol: "UDP" }] }));
    expect(problems).toEqual([]);
    expect(ports.map((p) => [p.key, p.servicePort, p.clusterIPs, p.nodePort])).toEqual([
      ["default/web:http/TCP", 80, ["127.96.1.1"], 0],
      ["default/web:dns/UDP", 53, ["127.96.1.1"], 0],
    ]);
    expect(ports[0]!.affinityTimeoutSeconds).toBeUndefined();
  });

  it("names an unnamed port's key without a colon", () => {
    const { ports } = servicePortsOf(service("one", { clusterIP: "127.96.1.2", ports: [{ port: 443 }] }));
    expect(ports[0]!.key).toBe("default/one/TCP");
  });

  it("gives headless Services no cluster IP and ExternalName Services no ports", () => {
    expect(servicePortsOf(service("h", { clusterIP: "None" })).ports[0]!.clusterIPs).toEqual([]);
    expect(servicePortsOf(service("x", { type: "ExternalName" })).ports).toEqual([]);
  });

  it("takes node ports only for NodePort and LoadBalancer Services", () => {
    const p = [{ name: "http", port: 80, nodePort: 30080 }];
    expect(servicePortsOf(service("a", { type: "NodePort", clusterIP: "127.96.1.3", ports: p })).ports[0]!.nodePort).toBe(30080);
    expect(servicePortsOf(service("b", { type: "LoadBalancer", clusterIP: "127.96.1.4", ports: p })).ports[0]!.nodePort).toBe(30080);
    expect(servicePortsOf(service("c", { clusterIP: "127.96.1.5", ports: p })).ports[0]!.nodePort).toBe(0);
  });

  it("takes load-balancer IPs from status, except those with ipMode Proxy", () => {
    const svc = service("lb", { type: "LoadBalancer", clusterIP: "127.96.1.6", lbIngress: [{ ip: "127.240.0.100" }, { ip: "127.240.0.101", ipMode: "Proxy" }, { hostname: "lb.example" }] });
    expect(servicePortsOf(svc).ports[0]!.loadBalancerIPs).toEqual(["127.240.0.100"]);
    expect(servicePortsOf(service("notlb", { clusterIP: "127.96.1.7", lbIngress: [{ ip: "127.240.0.102" }] })).ports[0]!.loadBalancerIPs).toEqual([]);
  });

  it("applies externalTrafficPolicy Local only to externally reachable Services", () => {
    expect(servicePortsOf(service("np", { type: "NodePort", clusterIP: "127.96.1.8", externalTrafficPolicy: "Local" })).ports[0]!.externalPolicyLocal).toBe(true);
    expect(servicePortsOf(service("ci", { clusterIP: "127.96.1.9", externalTrafficPolicy: "Local" })).ports[0]!.externalPolicyLocal).toBe(false);
    expect(servicePortsOf(service("ext", { clusterIP: "127.96.1.10", externalIPs: ["127.1.1.1"], externalTrafficPolicy: "Local" })).ports[0]!.externalPolicyLocal).toBe(true);
    expect(servicePortsOf(service("itp", { clusterIP: "127.96.1.11", internalTrafficPolicy: "Local" })).ports[0]!.internalPolicyLocal).toBe(true);
  });

  it("defaults the ClientIP affinity timeout to 10800 s", () => {
    expect(servicePortsOf(service("s", { clusterIP: "127.96.1.12", sessionAffinity: "ClientIP" })).ports[0]!.affinityTimeoutSeconds).toBe(DEFAULT_AFFINITY_TIMEOUT_SECONDS);
    expect(servicePortsOf(service("t", { clusterIP: "127.96.1.13", sessionAffinity: "ClientIP", timeoutSeconds: 30 })).ports[0]!.affinityTimeoutSeconds).toBe(30);
  });

  it("skips what it cannot proxy and says why, never throwing on garbage", () => {
    const { ports, problems } = servicePortsOf(service("bad", { clusterIP: "127.96.1.14", ports: [{ name: "s", port: 9, protocol: "SCTP" }, { name: "p", port: 70000 }, { name: "ok", port: 81 }, { name: "ok", port: 82 }] }));
    expect(ports.map((p) => p.servicePort)).toEqual([81]);
    expect(problems).toHaveLength(3);
    expect(servicePortsOf(service("ip", { clusterIP: "not-an-ip" })).problems[0]).toContain("not an IPv4 address");
    for (const junk of [null, 42, "x", {}, { metadata: { name: "n" } }, { metadata: { name: "n", namespace: "d" }, spec: { ports: "nope", clusterIPs: 7 } }]) expect(() => servicePortsOf(junk)).not.toThrow();
  });
});
