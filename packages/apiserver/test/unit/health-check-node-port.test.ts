import { describe, expect, it } from "vitest";
import { failure, newStore } from "./helpers.js";

const lb = (name: string, extra: Record<string, unknown> = {}) => ({ metadata: { name }, spec: { type: "LoadBalancer", externalTrafficPolicy: "Local", ports: [{ port: 80 }], ...extra } });

describe("healthCheckNodePort allocation (upstream's NeedsHealthCheck: LoadBalancer + externalTrafficPolicy Local)", () => {
  it("allocates one on create, takes a requested one, refuses a taken one, and none for Cluster policy", async () => {
    const { store, def } = await newStore();
    const svc = def("", "services");
    const a = (await store.create(svc, "default", lb("a"))) as any;
    expect(a.spec.healthCheckNodePort).toBeGreaterThanOrEqual(30000);
    expect(a.spec.healthCheckNodePort).not.toBe(a.spec.ports[0].nodePort);
    const b = (await store.create(svc, "default", lb("b", { healthCheckNodePort: 32123 }))) as any;
    expect(b.spec.healthCheckNodePort).toBe(32123);
    const e = await failure(store.create(svc, "default", lb("c", { healthCheckNodePort: 32123 })));
    expect(e.status.reason).toBe("Invalid");
    expect(e.status.message).toContain("spec.healthCheckNodePort: Invalid value: 32123: provided port is already allocated");
    const cl = (await store.create(svc, "default", lb("d", { externalTrafficPolicy: "Cluster" }))) as any;
    expect(cl.spec.healthCheckNodePort).toBeUndefined();
    const forbidden = await failure(store.create(svc, "default", lb("e", { externalTrafficPolicy: "Cluster", healthCheckNodePort: 32124 })));
    expect(forbidden.status.message).toContain("spec.healthCheckNodePort: Forbidden: may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'");
  });

  it("keeps it across updates that leave it out, frees it when Local is dropped, allocates when Local is set; delete frees it", async () => {
    const { store, def } = await newStore();
    const svc = def("", "services");
    const a = (await store.create(svc, "default", lb("a", { healthCheckNodePort: 32200 }))) as any;
    const kept = (await store.update(svc, "default", "a", lb("a"))) as any;
    expect(kept.spec.healthCheckNodePort).toBe(32200);
    const cluster = (await store.patch(svc, "default", "a", "merge", { spec: { externalTrafficPolicy: "Cluster" } })).object as any;
    expect(cluster.spec.healthCheckNodePort).toBeUndefined();
    // Freed: another Service can take it now.
    const b = (await store.create(svc, "default", lb("b", { healthCheckNodePort: 32200 }))) as any;
    expect(b.spec.healthCheckNodePort).toBe(32200);
    const local = (await store.patch(svc, "default", "a", "merge", { spec: { externalTrafficPolicy: "Local" } })).object as any;
    expect(local.spec.healthCheckNodePort).toBeGreaterThanOrEqual(30000);
    expect(local.spec.healthCheckNodePort).not.toBe(32200);
    await store.delete(svc, "default", "b", {});
    const c = (await store.create(svc, "default", lb("c", { healthCheckNodePort: 32200 }))) as any;
    expect(c.spec.healthCheckNodePort).toBe(32200);
    expect(a.metadata.name).toBe("a");
  });
});
