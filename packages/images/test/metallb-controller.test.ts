import { describe, expect, it } from "vitest";
import { MetallbController } from "../src/metallb/controller.js";
import type { Api, Service } from "../src/metallb/types.js";

/** A tiny in-memory API: Services (status PUTs bump resourceVersion), one ConfigMap, recorded events. */
function fakeApi() {
  let rv = 10;
  const state = { services: new Map<string, Service>(), config: undefined as string | undefined, events: [] as Record<string, unknown>[], conflicts: 0 };
  const api: Api = {
    get: async <T>(path: string) => {
      if (path === "/api/v1/services") return { items: [...state.services.values()].map((s) => structuredClone(s)) } as T;
      if (path === "/api/v1/namespaces/metallb-system/configmaps/config") {
        if (state.config === undefined) throw Object.assign(new Error("not found"), { code: 404 });
        return { metadata: { name: "config" }, data: { config: state.config } } as T;
      }
      throw new Error(`unexpected GET ${path}`);
    },
    post: async <T>(_path: string, body: unknown) => (state.events.push(body as Record<string, unknown>), body as T),
    patch: async <T>(path: string) => Promise.reject<T>(new Error(`unexpected PATCH ${path}`)),
    put: async <T>(path: string, body: unknown) => {
      const m = /^\/api\/v1\/namespaces\/([^/]+)\/services\/([^/]+)\/status$/.exec(path);
      if (!m) throw new Error(`unexpected PUT ${path}`);
      if (state.conflicts > 0) {
        state.conflicts--;
        throw Object.assign(new Error("the object has been modified"), { code: 409 });
      }
      const svc = body as Service;
      state.services.set(`${m[1]}/${m[2]}`, { ...svc, metadata: { ...svc.metadata, resourceVersion: String(++rv) } });
      return body as T;
    },
  };
  const addService = (name: string, spec: Partial<Service["spec"]> = {}) =>
    state.services.set(`default/${name}`, { metadata: { name, namespace: "default", uid: `uid-${name}`, resourceVersion: String(++rv) }, spec: { type: "LoadBalancer", clusterIP: "127.96.0.50", ports: [{ port: 8080, protocol: "TCP" }], ...spec } });
  return { api, state, addService };
}

const ingress = (s: Service | undefined) => s?.status?.loadBalancer?.ingress?.map((i) => i.ip) ?? [];
const pool = (range: string) => `address-pools:\n- name: default\n  protocol: layer2\n  addresses:\n  - ${range}\n`;

describe("MetallbController (the seed's sequence on a fake API)", () => {
  it("pending without a usable config, then the pool's address with IPAllocated; freed on delete for the next Service", async () => {
    const f = fakeApi();
    const logs: string[] = [];
    const c = new MetallbController({ api: f.api, namespace: "metallb-system", configMapName: "config", log: (l) => logs.push(l), now: () => new Date("2026-12-03T18:00:00Z") });
    f.addService("my-service");
    await c.tick();
    expect(ingress(f.state.services.get("default/my-service"))).toEqual([]);
    f.state.config = "address-pools:\n- name: default\n  protocol: layer2\n  addresses:\n  - -\n";
    await c.tick();
    expect(ingress(f.state.services.get("default/my-service"))).toEqual([]);
    expect(logs.some((l) => l.startsWith("configStale: config (re)load failed"))).toBe(true);

    f.state.config = pool("127.240.1.100-127.240.1.100");
    await c.tick();
    expect(ingress(f.state.services.get("default/my-service"))).toEqual(["127.240.1.100"]);
    expect(f.state.events).toEqual([expect.objectContaining({ type: "Normal", reason: "IPAllocated", message: 'Assigned IP "127.240.1.100"', source: { component: "metallb-controller" } })]);
    await c.tick(); // converged: nothing new
    expect(f.state.events).toHaveLength(1);

    f.addService("second");
    await c.tick();
    expect(f.state.events[1]).toMatchObject({ type: "Warning", reason: "AllocationFailed", message: 'Failed to allocate IP for "default/second": no available IPs' });
    await c.tick(); // not repeated while nothing changes
    expect(f.state.events).toHaveLength(2);

    f.state.services.delete("default/my-service");
    await c.tick();
    expect(ingress(f.state.services.get("default/second"))).toEqual(["127.240.1.100"]);
    expect(f.state.events[2]).toMatchObject({ reason: "IPAllocated", involvedObject: { name: "second" } });
    expect(c.metrics()).toContain('metallb_allocator_addresses_in_use_total{pool="default"} 1\n');
    expect(c.metrics()).toContain('metallb_allocator_addresses_total{pool="default"} 1\n');
  });

  it("keeps addresses it finds at start, clears a Service that stops being a LoadBalancer, and retries a conflicting status write", async () => {
    const f = fakeApi();
    f.state.config = pool("127.240.1.0/24");
    f.addService("old");
    f.state.services.get("default/old")!.status = { loadBalancer: { ingress: [{ ip: "127.240.1.7" }] } };
    f.addService("new");
    const c = new MetallbController({ api: f.api, namespace: "metallb-system", configMapName: "config", log: () => undefined, now: () => new Date() });
    f.state.conflicts = 1;
    await c.tick();
    await c.tick();
    expect(ingress(f.state.services.get("default/old"))).toEqual(["127.240.1.7"]);
    expect(ingress(f.state.services.get("default/new"))).toEqual(["127.240.1.0"]);
    const old = f.state.services.get("default/old")!;
    f.state.services.set("default/old", { ...old, spec: { ...old.spec, type: "ClusterIP" }, metadata: { ...old.metadata, resourceVersion: "999" } });
    await c.tick();
    expect(ingress(f.state.services.get("default/old"))).toEqual([]);
    f.addService("third", { loadBalancerIP: "127.240.1.7" });
    await c.tick();
    expect(ingress(f.state.services.get("default/third"))).toEqual(["127.240.1.7"]);
  });
});
