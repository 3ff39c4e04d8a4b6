import { describe, expect, it } from "vitest";
import { FakeClock, SeededRng } from "@kubemu/common";
import { AffinityTable, nodeInfoOf, RouteTable, servicePortsOf, type EndpointInfo, type NodeInfo } from "../src/index.js";
import { node, service } from "./fixtures.js";

const ep = (ip: string, nodeName = "", extra: Partial<EndpointInfo> = {}): EndpointInfo => ({ ip, port: 8080, nodeName, zone: "", ready: true, serving: true, terminating: false, zoneHints: [], nodeHints: [], ...extra });
const nodes: NodeInfo[] = [node("n1", "127.0.100.1", "127.244.1.0/24"), node("n2", "127.0.100.2", "127.244.2.0/24")].map((n) => nodeInfoOf(n)!);

function table(svc: ReturnType<typeof service>, endpoints: EndpointInfo[], clock = new FakeClock(1_000_000)) {
  const ports = servicePortsOf(svc).ports;
  const t = new RouteTable({ self: { nodeName: "n1", zone: "" }, clock, rng: new SeededRng(7) });
  t.update(ports, new Map(ports.map((p) => [p.key, endpoints])), nodes, "");
  return { t, key: ports[0]!.key, clock };
}

describe("RouteTable.pick", () => {
  it("spreads new connections at random over the Ready endpoints", () => {
    const { t, key } = table(service("web", { clusterIP: "127.96.4.1" }), [ep("127.244.1.2"), ep("127.244.2.2"), ep("127.244.2.3")]);
    const counts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const e = t.pick(key, "127.0.0.1", "internal")!;
      counts.set(e.ip, (counts.get(e.ip) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(["127.244.1.2", "127.244.2.2", "127.244.2.3"]);
    for (const n of counts.values()) expect(n).toBeGreaterThan(850);
  });

  it("answers nothing when no endpoint is usable, and skips excluded ones", () => {
    const { t, key } = table(service("web", { clusterIP: "127.96.4.2" }), [ep("127.244.1.2", "", { ready: false, serving: false })]);
    expect(t.pick(key, "127.0.0.1", "internal")).toBeUndefined();
    const two = table(service("w2", { clusterIP: "127.96.4.3" }), [ep("127.244.1.2"), ep("127.244.1.3")]);
    for (let i = 0; i < 20; i++) expect(two.t.pick(two.key, "127.0.0.1", "internal", new Set(["127.244.1.2:8080"]))!.ip).toBe("127.244.1.3");
    expect(t.pick("default/none:http/TCP", "127.0.0.1", "internal")).toBeUndefined();
  });

  it("keeps a client on its endpoint under ClientIP affinity until the timeout passes without it", () => {
    const { t, key, clock } = table(service("s", { clusterIP: "127.96.4.4", sessionAffinity: "ClientIP", timeoutSeconds: 10 }), [ep("127.244.1.2"), ep("127.244.1.3"), ep("127.244.1.4"), ep("127.244.1.5")]);
    const first = t.pick(key, "127.244.2.9", "internal")!.ip;
    for (let i = 0; i < 50; i++) {
      clock.advance(9_000); // each visit within the timeout refreshes it
      expect(t.pick(key, "127.244.2.9", "internal")!.ip).toBe(first);
    }
    const others = new Set<string>();
    for (let i = 0; i < 40; i++) others.add(t.pick(key, `127.244.2.${100 + i}`, "internal")!.ip);
    expect(others.size).toBeGreaterThan(1);
    // After a silence longer than the timeout, the choice is made afresh (eventually another endpoint).
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      clock.advance(11_000);
      seen.add(t.pick(key, "127.244.2.9", "internal")!.ip);
    }
    expect(seen.size).toBeGreaterThan(1);
  });

  it("moves a sticky client when its endpoint leaves", () => {
    const svc = service("s", { clusterIP: "127.96.4.5", sessionAffinity: "ClientIP" });
    const { t, key } = table(svc, [ep("127.244.1.2"), ep("127.244.1.3")]);
    const first = t.pick(key, "127.244.2.9", "internal")!.ip;
    const remaining = first === "127.244.1.2" ? "127.244.1.3" : "127.244.1.2";
    const ports = servicePortsOf(svc).ports;
    t.update(ports, new Map([[key, [ep(remaining)]]]), nodes, "");
    expect(t.pick(key, "127.244.2.9", "internal")!.ip).toBe(remaining);
  });

  it("serves ClusterIP traffic as the client's node would under internalTrafficPolicy Local", () => {
    const { t, key } = table(service("loc", { clusterIP: "127.96.4.6", internalTrafficPolicy: "Local" }), [ep("127.244.1.2", "n1"), ep("127.244.2.2", "n2")]);
    for (let i = 0; i < 20; i++) {
      expect(t.pick(key, "127.244.2.7", "internal")!.ip).toBe("127.244.2.2"); // a pod on n2
      expect(t.pick(key, "127.0.100.1", "internal")!.ip).toBe("127.244.1.2"); // node n1 itself
      expect(t.pick(key, "127.0.0.1", "internal")!.ip).toBe("127.244.1.2"); // unknown: this proxy's node
    }
  });

  it("keeps external traffic on this node under externalTrafficPolicy Local", () => {
    const { t, key } = table(service("np", { type: "NodePort", clusterIP: "127.96.4.7", externalTrafficPolicy: "Local", ports: [{ name: "http", port: 80, nodePort: 30090 }] }), [ep("127.244.1.2", "n1"), ep("127.244.2.2", "n2")]);
    for (let i = 0; i < 20; i++) expect(t.pick(key, "127.244.2.7", "external")!.ip).toBe("127.244.1.2");
    const cluster = t.usable(key, "127.244.2.7", "internal").map((e) => e.ip).sort();
    expect(cluster).toEqual(["127.244.1.2", "127.244.2.2"]);
  });
});

describe("AffinityTable", () => {
  it("forgets timed-out entries on sweep and stays bounded", () => {
    const a = new AffinityTable(3);
    a.record("k", "1", "e1", 0);
    a.record("k", "2", "e2", 5_000);
    expect(a.sweep(() => 4, 6_000)).toBe(1);
    expect(a.lookup("k", "2", 4, 6_000)).toBe("e2");
    expect(a.sweep(() => undefined, 6_000)).toBe(1);
    for (let i = 0; i < 10; i++) a.record("k", String(i), "e", 0);
    expect(a.size).toBe(3);
  });
});
