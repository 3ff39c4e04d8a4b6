import { describe, expect, it } from "vitest";
import { categorizeEndpoints, endpointsForPort, type EndpointInfo } from "../src/index.js";
import { slice } from "./fixtures.js";

const port = { port: "http", protocol: "TCP" as const };
const ips = (eps: readonly EndpointInfo[]) => eps.map((e) => e.ip).sort();

describe("endpointsForPort", () => {
  it("takes the endpoints of the matching port name and protocol", () => {
    const s = slice("web-abc", "web", [{ ip: "127.244.1.2", node: "n1" }], [{ name: "http", port: 8080, protocol: "TCP" }, { name: "metrics", port: 9090, protocol: "TCP" }, { name: "http", port: 8053, protocol: "UDP" }]);
    expect(endpointsForPort([s], port, "n1")).toEqual([{ ip: "127.244.1.2", port: 8080, nodeName: "n1", zone: "", ready: true, serving: true, terminating: false, zoneHints: [], nodeHints: [] }]);
    expect(endpointsForPort([s], { port: "http", protocol: "UDP" }, "n1").map((e) => e.port)).toEqual([8053]);
    expect(endpointsForPort([s], { port: "", protocol: "TCP" }, "n1")).toEqual([]);
  });

  it("reads unset conditions as ready, serving and not terminating", () => {
    const [e] = endpointsForPort([slice("s", "web", [{ ip: "127.244.1.3" }])], port, "n1");
    expect(e).toMatchObject({ ready: true, serving: true, terminating: false });
    const [t] = endpointsForPort([slice("s", "web", [{ ip: "127.244.1.3", ready: false, serving: true, terminating: true }])], port, "n1");
    expect(t).toMatchObject({ ready: false, serving: true, terminating: true });
  });

  it("deduplicates ip:port across slices, a copy on this node winning", () => {
    const a = slice("web-a", "web", [{ ip: "127.244.1.4", node: "other" }]);
    const b = slice("web-b", "web", [{ ip: "127.244.1.4", node: "n1" }]);
    const eps = endpointsForPort([b, a], port, "n1");
    expect(eps).toHaveLength(1);
    expect(eps[0]!.nodeName).toBe("n1");
  });

  it("ignores IPv6 and FQDN slices and malformed entries", () => {
    const v6 = { ...slice("v6", "web", [{ ip: "::1" }]), addressType: "IPv6" };
    const broken = { metadata: { name: "b" }, addressType: "IPv4", ports: [{ name: "http", port: "x" }], endpoints: [{ addresses: ["127.244.1.5"] }] };
    const noAddr = { metadata: { name: "c" }, addressType: "IPv4", ports: [{ name: "http", port: 8080 }], endpoints: [{ addresses: [] }, null, { addresses: ["bogus"] }] };
    expect(endpointsForPort([v6, broken, noAddr, null, 7], port, "n1")).toEqual([]);
  });
});

function eps(list: Partial<EndpointInfo>[]): EndpointInfo[] {
  return list.map((e, i) => ({ ip: `127.244.9.${i + 1}`, port: 80, nodeName: "", zone: "", ready: true, serving: true, terminating: false, zoneHints: [], nodeHints: [], ...e }));
}

describe("categorizeEndpoints", () => {
  it("uses Ready endpoints, serving-terminating ones only when none is Ready", () => {
    const mixed = eps([{ ip: "127.0.0.1" }, { ip: "127.0.0.2", ready: false, terminating: true }, { ip: "127.0.0.3", ready: false, serving: false }]);
    expect(ips(categorizeEndpoints(mixed, "n1", "").cluster)).toEqual(["127.0.0.1"]);
    const draining = eps([{ ip: "127.0.0.2", ready: false, terminating: true }, { ip: "127.0.0.3", ready: false, serving: false, terminating: true }]);
    const c = categorizeEndpoints(draining, "n1", "");
    expect(ips(c.cluster)).toEqual(["127.0.0.2"]);
    expect(c.hasAny).toBe(true);
    expect(categorizeEndpoints(eps([{ ready: false, serving: false }]), "n1", "").hasAny).toBe(false);
  });

  it("keeps only this node's endpoints for Local, with the same fallback", () => {
    const list = eps([{ ip: "127.0.0.1", nodeName: "n1" }, { ip: "127.0.0.2", nodeName: "n2" }, { ip: "127.0.0.3", nodeName: "n1", ready: false, terminating: true }]);
    expect(ips(categorizeEndpoints(list, "n1", "").local)).toEqual(["127.0.0.1"]);
    expect(ips(categorizeEndpoints(list, "n3", "").local)).toEqual([]);
    const onlyTerminating = eps([{ ip: "127.0.0.3", nodeName: "n1", ready: false, terminating: true }, { ip: "127.0.0.4", nodeName: "n2" }]);
    expect(ips(categorizeEndpoints(onlyTerminating, "n1", "").local)).toEqual(["127.0.0.3"]);
  });

  it("follows zone hints only when every ready endpoint has one and some are for this zone", () => {
    const hinted = eps([{ ip: "127.0.0.1", zoneHints: ["a"] }, { ip: "127.0.0.2", zoneHints: ["b"] }]);
    expect(ips(categorizeEndpoints(hinted, "n1", "a").cluster)).toEqual(["127.0.0.1"]);
    expect(ips(categorizeEndpoints(hinted, "n1", "c").cluster)).toEqual(["127.0.0.1", "127.0.0.2"]);
    expect(ips(categorizeEndpoints(hinted, "n1", "").cluster)).toEqual(["127.0.0.1", "127.0.0.2"]);
    const partly = eps([{ ip: "127.0.0.1", zoneHints: ["a"] }, { ip: "127.0.0.2" }]);
    expect(ips(categorizeEndpoints(partly, "n1", "a").cluster)).toEqual(["127.0.0.1", "127.0.0.2"]);
  });

  it("prefers node hints (PreferSameNode) over zone hints", () => {
    const hinted = eps([{ ip: "127.0.0.1", nodeHints: ["n1"], zoneHints: ["a"] }, { ip: "127.0.0.2", nodeHints: ["n2"], zoneHints: ["a"] }]);
    expect(ips(categorizeEndpoints(hinted, "n1", "a").cluster)).toEqual(["127.0.0.1"]);
    expect(ips(categorizeEndpoints(hinted, "n9", "a").cluster)).toEqual(["127.0.0.1", "127.0.0.2"]);
  });
});
