import { describe, expect, it } from "vitest";
import { Allocator } from "../src/metallb/allocator.js";
import { parseConfig, parseIPv4 } from "../src/metallb/config.js";
import { convergeBalancer } from "../src/metallb/controller.js";
import type { Service } from "../src/metallb/types.js";

const cfg = (text: string) => parseConfig(text);
const pools = (addresses: string[], extra = "") => cfg(`address-pools:\n- name: default\n  protocol: layer2\n${extra}  addresses:\n${addresses.map((a) => `  - ${a}\n`).join("")}`);
const ip = (s: string) => parseIPv4(s)!;
const tcp = (port: number) => [{ proto: "TCP", port }];

function svc(name: string, extra: Partial<Service["spec"]> = {}, annotations?: Record<string, string>, ingressIP?: string): Service {
  return {
    metadata: { name, namespace: "default", uid: `uid-${name}`, resourceVersion: "1", ...(annotations ? { annotations } : {}) },
    spec: { type: "LoadBalancer", clusterIP: "127.96.0.20", ports: [{ protocol: "TCP", port: 8080 }], ...extra },
    ...(ingressIP ? { status: { loadBalancer: { ingress: [{ ip: ingressIP }] } } } : {}),
  };
}

describe("metallb 0.9 config", () => {
  it("parses CIDRs, a-b ranges, auto-assign and avoid-buggy-ips", () => {
    const c = cfg("address-pools:\n- name: a\n  protocol: layer2\n  addresses: [127.240.1.0/30, 127.240.2.10-127.240.2.12]\n- name: b\n  protocol: layer2\n  auto-assign: false\n  avoid-buggy-ips: true\n  addresses: [127.240.3.0/24]\n");
    expect(c.pools.map((p) => [p.name, p.autoAssign, p.avoidBuggyIPs, p.ranges])).toEqual([
      ["a", true, false, [{ first: ip("127.240.1.0"), last: ip("127.240.1.3") }, { first: ip("127.240.2.10"), last: ip("127.240.2.12") }]],
      ["b", false, true, [{ first: ip("127.240.3.0"), last: ip("127.240.3.255") }]],
    ]);
  });

  it("refuses what upstream refuses, in its words", () => {
    // What minikube writes when no range was entered: `- -`.
    expect(() => cfg("address-pools:\n- name: default\n  protocol: layer2\n  addresses:\n  - -\n")).toThrow(/could not parse config/);
    expect(() => pools(["127.240.1.0/33"])).toThrow('parsing address pool #1: invalid CIDR "127.240.1.0/33" in pool "default": invalid CIDR "127.240.1.0/33"');
    expect(() => pools(["x-127.240.1.9"])).toThrow('invalid IP range "x-127.240.1.9": invalid start IP "x"');
    expect(() => cfg("address-pools:\n- name: default\n  addresses: [127.240.1.0/24]\n")).toThrow("parsing address pool #1: address pool is missing the protocol field");
    expect(() => cfg("address-pools:\n- name: default\n  protocol: layer2\n")).toThrow("parsing address pool #1: pool has no prefixes defined");
    expect(() => cfg("address-pools:\n- name: a\n  protocol: layer2\n  addresses: [127.240.1.0/24]\n- name: b\n  protocol: layer2\n  addresses: [127.240.1.10-127.240.1.20]\n")).toThrow(
      'CIDR "127.240.1.10-127.240.1.20" in pool "b" overlaps with already defined CIDR "127.240.1.0/24"',
    );
    expect(() => cfg("address-pools:\n- name: a\n  protocol: layer2\n  addresses: [127.240.1.0/24]\n  colour: red\n")).toThrow("field colour not found in type config.addressPool");
  });
});

describe("metallb 0.9 allocator", () => {
  it("hands out addresses in order and refuses when the pool is full", () => {
    const a = new Allocator();
    a.setPools(pools(["127.240.1.10-127.240.1.11"]).pools);
    expect(a.allocate("default/a", tcp(80), "", "")).toBe(ip("127.240.1.10"));
    expect(a.allocate("default/b", tcp(80), "", "")).toBe(ip("127.240.1.11"));
    expect(() => a.allocate("default/c", tcp(80), "", "")).toThrow("no available IPs");
    expect(a.allocate("default/a", tcp(80), "", "")).toBe(ip("127.240.1.10")); // idempotent
    a.unassign("default/a");
    expect(a.allocate("default/c", tcp(80), "", "")).toBe(ip("127.240.1.10"));
  });

  it("skips pools without auto-assign and .0/.255 with avoid-buggy-ips", () => {
    const a = new Allocator();
    a.setPools(cfg("address-pools:\n- name: manual\n  protocol: layer2\n  auto-assign: false\n  addresses: [127.240.1.0/24]\n- name: auto\n  protocol: layer2\n  avoid-buggy-ips: true\n  addresses: [127.240.2.0/24]\n").pools);
    expect(a.allocate("default/a", tcp(80), "", "")).toBe(ip("127.240.2.1"));
    expect(a.pool("default/a")).toBe("auto");
    expect(a.allocateFromPool("default/b", "manual", tcp(80), "", "")).toBe(ip("127.240.1.0"));
    expect(() => a.allocateFromPool("default/c", "nope", tcp(80), "", "")).toThrow('unknown pool "nope"');
  });

  it("shares an address only with the same sharing key, same backend key and disjoint ports", () => {
    const a = new Allocator();
    a.setPools(pools(["127.240.1.10/32"]).pools);
    a.assign("default/a", ip("127.240.1.10"), tcp(80), "k", "");
    a.assign("default/b", ip("127.240.1.10"), tcp(443), "k", "");
    expect(() => a.assign("default/c", ip("127.240.1.10"), tcp(80), "k", "")).toThrow('port TCP/80 is already in use on "127.240.1.10"');
    expect(() => a.assign("default/d", ip("127.240.1.10"), tcp(8080), "other", "")).toThrow(/can't change sharing key for "default\/d", address also in use by default\/a,default\/b/);
    expect(() => a.assign("default/e", ip("127.240.1.10"), tcp(8080), "", "")).toThrow(/can't change sharing key/);
    expect(() => a.assign("default/f", ip("127.240.9.9"), tcp(80), "", "")).toThrow('"127.240.9.9" is not allowed in config');
  });

  it("counts usable addresses, addresses in use and Services per pool (the controller's gauges)", () => {
    const a = new Allocator();
    a.setPools(cfg("address-pools:\n- name: a\n  protocol: layer2\n  avoid-buggy-ips: true\n  addresses: [127.240.1.0/23]\n- name: b\n  protocol: layer2\n  addresses: [127.240.3.10-127.240.3.19]\n").pools);
    a.assign("default/x", ip("127.240.1.5"), tcp(80), "k", "");
    a.assign("default/y", ip("127.240.1.5"), tcp(443), "k", "");
    a.allocateFromPool("default/z", "b", tcp(80), "", "");
    expect(a.stats()).toEqual([
      { pool: "a", total: 512 - 4, inUse: 1, services: 2 },
      { pool: "b", total: 10, inUse: 1, services: 1 },
    ]);
  });

  it("refuses a new config that would strand an assigned address", () => {
    const a = new Allocator();
    a.setPools(pools(["127.240.1.0/24"]).pools);
    a.allocate("default/a", tcp(80), "", "");
    expect(() => a.setPools(pools(["127.240.2.0/24"]).pools)).toThrow('new config not compatible with assigned IPs: service "default/a" cannot own "127.240.1.0" under new config');
  });
});

describe("convergeBalancer", () => {
  const config = pools(["127.240.1.100-127.240.1.100"]);
  const fresh = () => {
    const a = new Allocator();
    a.setPools(config.pools);
    return a;
  };

  it("allocates with IPAllocated, keeps an existing address silently, and fails with AllocationFailed", () => {
    const a = fresh();
    expect(convergeBalancer("default/my-service", svc("my-service"), a, config, true)).toMatchObject({ ip: "127.240.1.100", done: true, events: [{ type: "Normal", reason: "IPAllocated", message: 'Assigned IP "127.240.1.100"' }] });
    expect(convergeBalancer("default/my-service", svc("my-service", {}, undefined, "127.240.1.100"), a, config, true)).toMatchObject({ ip: "127.240.1.100", events: [] });
    expect(convergeBalancer("default/other", svc("other"), a, config, true)).toMatchObject({
      ip: undefined,
      events: [{ type: "Warning", reason: "AllocationFailed", message: 'Failed to allocate IP for "default/other": no available IPs' }],
    });
  });

  it("frees the address when the Service stops being a LoadBalancer", () => {
    const a = fresh();
    convergeBalancer("default/a", svc("a"), a, config, true);
    expect(convergeBalancer("default/a", svc("a", { type: "ClusterIP" }, undefined, "127.240.1.100"), a, config, true)).toMatchObject({ ip: undefined, events: [] });
    expect(convergeBalancer("default/b", svc("b"), a, config, true).ip).toBe("127.240.1.100");
  });

  it("honours spec.loadBalancerIP and the address-pool annotation", () => {
    const two = pools(["127.240.1.0/24"]);
    const a = new Allocator();
    a.setPools(two.pools);
    expect(convergeBalancer("default/a", svc("a", { loadBalancerIP: "127.240.1.77" }), a, two, true).ip).toBe("127.240.1.77");
    expect(convergeBalancer("default/b", svc("b", { loadBalancerIP: "127.240.1.77" }), a, two, true).events[0]!.message).toBe('Failed to allocate IP for "default/b": can\'t change sharing key for "default/b", address also in use by default/a');
    expect(convergeBalancer("default/c", svc("c", { loadBalancerIP: "127.241.0.1" }), a, two, true).events[0]!.message).toBe('Failed to allocate IP for "default/c": "127.241.0.1" is not allowed in config');
    expect(convergeBalancer("default/d", svc("d", {}, { "metallb.universe.tf/address-pool": "gold" }), a, two, true).events[0]!.message).toBe('Failed to allocate IP for "default/d": unknown pool "gold"');
  });

  it("does not allocate before the controller is synced", () => {
    expect(convergeBalancer("default/a", svc("a"), fresh(), config, false)).toMatchObject({ done: false, events: [] });
  });
});
