/**
 * Custom resources whose kind is also a built-in kind (Pod, Namespace, Service, Node) in another
 * group are plain custom resources: no pod admission (service account, tolerations, priority),
 * no namespace deletion semantics (spec.finalizers, Terminating, the label name rule), no Service
 * name rule, and their status is reset on create like any resource with a status subresource.
 * Kind-specific behaviour belongs to the built-in declarations, found by group and resource.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MvccStore } from "@kubemu/etcd-raft";
import { ApiServer } from "../../src/apiserver.js";
import { KvStorageFactory, MvccBackend } from "../../src/storage/index.js";

let server: ApiServer;
let base = "";

type Json = Record<string, any>;
async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const r = await fetch(`${base}${path}`, { method, headers: { "content-type": "application/json" }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await r.text();
  return { status: r.status, body: text ? (JSON.parse(text) as Json) : {} };
}

const GROUP = "example.com";
function crd(kind: string, plural: string, scope: "Namespaced" | "Cluster") {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.${GROUP}` },
    spec: {
      group: GROUP,
      scope,
      names: { plural, singular: kind.toLowerCase(), kind },
      versions: [{ name: "v1", served: true, storage: true, subresources: { status: {} }, schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } }],
    },
  };
}

async function eventuallyServed(path: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await call("GET", path)).status !== 200) {
    if (Date.now() > deadline) throw new Error(`${path} not served`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  server = new ApiServer({ name: "apiserver-collision", storage: new KvStorageFactory({ backend: new MvccBackend(new MvccStore()) }), compactionIntervalMs: 0 });
  const addr = await server.start("127.0.0.1", 0);
  base = `http://127.0.0.1:${addr.port}`;
  for (const [kind, plural, scope] of [["Pod", "pods", "Namespaced"], ["Namespace", "namespaces", "Cluster"], ["Service", "services", "Namespaced"], ["Node", "nodes", "Cluster"]] as const) {
    expect((await call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd(kind, plural, scope))).status).toBe(201);
  }
  // A namespaced kind "Namespace" too, in a second group.
  const nsNamespaced = crd("Namespace", "namespaces", "Namespaced");
  nsNamespaced.metadata.name = "namespaces.scoped.example.com";
  nsNamespaced.spec.group = "scoped.example.com";
  expect((await call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", nsNamespaced)).status).toBe(201);
  for (const p of ["/apis/example.com/v1/namespaces/default/pods", "/apis/example.com/v1/namespaces", "/apis/example.com/v1/namespaces/default/services", "/apis/example.com/v1/nodes", "/apis/scoped.example.com/v1/namespaces/default/namespaces"])
    await eventuallyServed(p);
}, 30_000);

afterAll(async () => {
  await server.stop();
});

describe("a custom resource named like a built-in kind is a plain custom resource", () => {
  it("kind Pod in example.com: no pod admission, status reset, deleted with a Status", async () => {
    const body = { apiVersion: `${GROUP}/v1`, kind: "Pod", metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "nginx" }] }, status: { phase: "Running" } };
    const created = await call("POST", "/apis/example.com/v1/namespaces/default/pods", body);
    expect(created.status).toBe(201);
    expect(created.body.spec).toEqual({ containers: [{ name: "c", image: "nginx" }] }); // no serviceAccountName, tolerations, priority
    expect(created.body.status).toBeUndefined();
    const deleted = await call("DELETE", "/apis/example.com/v1/namespaces/default/pods/p");
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ kind: "Status", status: "Success" });
    expect((await call("GET", "/apis/example.com/v1/namespaces/default/pods/p")).status).toBe(404);
  });

  it("kind Namespace in example.com: any DNS subdomain name, spec.finalizers hold nothing, no Terminating phase", async () => {
    const created = await call("POST", "/apis/example.com/v1/namespaces", { apiVersion: `${GROUP}/v1`, kind: "Namespace", metadata: { name: "with.dots" }, spec: { finalizers: ["kubernetes"] } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const deleted = await call("DELETE", "/apis/example.com/v1/namespaces/with.dots");
    expect(deleted.status).toBe(200);
    expect(deleted.body.status).not.toEqual({ phase: "Terminating" });
    expect((await call("GET", "/apis/example.com/v1/namespaces/with.dots")).status).toBe(404);
    // The built-in rule still holds for core namespaces.
    expect((await call("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "with.dots" } })).status).toBe(422);
  });

  it("a namespaced kind Namespace is refused in a namespace that does not exist (NamespaceLifecycle applies)", async () => {
    const r = await call("POST", "/apis/scoped.example.com/v1/namespaces/missing/namespaces", { apiVersion: "scoped.example.com/v1", kind: "Namespace", metadata: { name: "x" } });
    expect(r.status).toBe(404);
    expect(r.body.message).toBe('namespaces "missing" not found');
  });

  it("kind Service in example.com: no DNS-1035 name rule, no ClusterIP", async () => {
    const r = await call("POST", "/apis/example.com/v1/namespaces/default/services", { apiVersion: `${GROUP}/v1`, kind: "Service", metadata: { name: "1web" }, spec: { ports: [{ port: 80 }] } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.spec).toEqual({ ports: [{ port: 80 }] });
  });

  it("kind Node in example.com: status is reset on create, as for any status subresource", async () => {
    const r = await call("POST", "/apis/example.com/v1/nodes", { apiVersion: `${GROUP}/v1`, kind: "Node", metadata: { name: "n1" }, status: { capacity: { cpu: "2" } } });
    expect(r.status).toBe(201);
    expect(r.body.status).toBeUndefined();
    // Core nodes keep theirs (kubelets report at registration).
    const core = await call("POST", "/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: "n1" }, status: { capacity: { cpu: "2" } } });
    expect(core.status).toBe(201);
    expect(core.body.status.capacity).toEqual({ cpu: "2" });
  });
});
