/**
 * CustomResourceDefinitions through two in-process API servers sharing one store (as two
 * apiserver processes share the Raft store): the CRD is created on A, its resource is served by B,
 * with schema validation, defaults, pruning, printer columns, status/scale subresources,
 * discovery, OpenAPI, and instance cleanup when the CRD is deleted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WireClient } from "@kubemu/common";
import { MvccStore } from "@kubemu/etcd-raft";
import { ApiServer } from "../../src/apiserver.js";
import { KvStorageFactory, MvccBackend } from "../../src/storage/index.js";

const backend = new MvccBackend(new MvccStore());
const servers: ApiServer[] = [];
let a = "";
let b = "";

const startServer = async (name: string): Promise<string> => {
  const s = new ApiServer({ name, storage: new KvStorageFactory({ backend }), compactionIntervalMs: 0 });
  servers.push(s);
  const addr = await s.start("127.0.0.1", 0);
  return `http://127.0.0.1:${addr.port}`;
};

beforeAll(async () => {
  a = await startServer("apiserver-a");
  b = await startServer("apiserver-b");
});

afterAll(async () => {
  // The servers share the backend: stop every one even if an earlier stop fails.
  for (const s of servers.reverse()) await s.stop().catch(() => undefined);
});

type Json = Record<string, any>;
async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Json }> {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { "content-type": "application/json", ...headers },
    ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  return { status: r.status, body: text ? (JSON.parse(text) as Json) : {} };
}

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const CRONTABS = "/apis/stable.example.com/v1/namespaces/default/crontabs";

const crontabCrd = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "crontabs.stable.example.com" },
  spec: {
    group: "stable.example.com",
    scope: "Namespaced",
    names: { plural: "crontabs", singular: "crontab", kind: "CronTab", shortNames: ["ct"], categories: ["all"] },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: {
                type: "object",
                description: "The CronTab's desired state.",
                properties: {
                  cronSpec: { type: "string", description: "The cron schedule." },
                  image: { type: "string" },
                  replicas: { type: "integer", minimum: 1, maximum: 10, default: 1 },
                },
                required: ["cronSpec"],
              },
              status: { type: "object", properties: { replicas: { type: "integer" }, selector: { type: "string" } } },
            },
          },
        },
        subresources: { status: {}, scale: { specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas", labelSelectorPath: ".status.selector" } },
        additionalPrinterColumns: [
          { name: "Spec", type: "string", jsonPath: ".spec.cronSpec", description: "The cron spec" },
          { name: "Replicas", type: "integer", jsonPath: ".spec.replicas" },
          { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
        ],
      },
    ],
  },
};

describe("CustomResourceDefinitions across two API servers", () => {
  it("validates the CRD itself as 422 with field paths", async () => {
    const bad = structuredClone(crontabCrd) as Json;
    bad.metadata.name = "crontab.stable.example.com";
    bad.spec.versions[0].storage = false;
    const r = await call(a, "POST", CRDS, bad);
    expect(r.status).toBe(422);
    expect(r.body.details.causes.map((c: Json) => c.field)).toEqual(["metadata.name", "spec.versions"]);
  });

  it("a CRD created on A becomes Established and is served by B", async () => {
    const created = await call(a, "POST", CRDS, crontabCrd);
    expect(created.status).toBe(201);
    const established = await eventually(
      () => call(a, "GET", `${CRDS}/crontabs.stable.example.com`),
      (r) => (r.body.status?.conditions ?? []).some((c: Json) => c.type === "Established" && c.status === "True"),
      "Established",
    );
    expect(established.body.status.acceptedNames).toMatchObject({ plural: "crontabs", kind: "CronTab", listKind: "CronTabList" });
    expect(established.body.status.conditions.map((c: Json) => `${c.type}=${c.status}`)).toEqual(["NamesAccepted=True", "Established=True"]);
    await eventually(() => call(b, "GET", "/apis/stable.example.com/v1"), (r) => r.status === 200, "discovery on B");
    const cr = await call(b, "POST", CRONTABS, { apiVersion: "stable.example.com/v1", kind: "CronTab", metadata: { name: "c1" }, spec: { cronSpec: "* * * * */5", image: "img", bogus: true }, status: { replicas: 9 } });
    expect(cr.status).toBe(201);
    expect(cr.body.spec).toEqual({ cronSpec: "* * * * */5", image: "img", replicas: 1 });
    expect(cr.body.status).toBeUndefined();
    expect(cr.body.metadata.generation).toBe(1);
    expect((await call(a, "GET", `${CRONTABS}/c1`)).body.spec.replicas).toBe(1);
  });

  it("rejects invalid bodies (422 with field paths) and unknown fields under Strict (400)", async () => {
    const bad = await call(b, "POST", CRONTABS, { apiVersion: "stable.example.com/v1", kind: "CronTab", metadata: { name: "bad" }, spec: { replicas: 11, image: 3 } });
    expect(bad.status).toBe(422);
    expect(bad.body.message).toBe(
      'CronTab.stable.example.com "bad" is invalid: [spec.cronSpec: Required value, spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10, spec.image: Invalid value: "integer": spec.image in body must be of type string: "integer"]',
    );
    const strict = await call(b, "POST", `${CRONTABS}?fieldValidation=Strict`, { apiVersion: "stable.example.com/v1", kind: "CronTab", metadata: { name: "s", labelz: {} }, spec: { cronSpec: "x", extra: 1 } });
    expect(strict.status).toBe(400);
    expect(strict.body.message).toContain('strict decoding error: unknown field "metadata.labelz", unknown field "spec.extra"');
  });

  it("patches: merge bumps generation, strategic merge is 415, status subresource changes only status", async () => {
    const merged = await call(a, "PATCH", `${CRONTABS}/c1`, { spec: { replicas: 3 }, status: { replicas: 7 } }, { "content-type": "application/merge-patch+json" });
    expect(merged.status).toBe(200);
    expect(merged.body.spec.replicas).toBe(3);
    expect(merged.body.status).toBeUndefined();
    expect(merged.body.metadata.generation).toBe(2);
    const smp = await call(a, "PATCH", `${CRONTABS}/c1`, { spec: { replicas: 4 } }, { "content-type": "application/strategic-merge-patch+json" });
    expect(smp.status).toBe(415);
    const st = await call(b, "PATCH", `${CRONTABS}/c1/status`, { spec: { replicas: 9 }, status: { replicas: 2, selector: "app=c1" } }, { "content-type": "application/merge-patch+json" });
    expect(st.status).toBe(200);
    expect(st.body.status).toEqual({ replicas: 2, selector: "app=c1" });
    expect(st.body.spec.replicas).toBe(3);
    expect(st.body.metadata.generation).toBe(2);
    const applied = await call(b, "PATCH", `${CRONTABS}/c1?fieldManager=me&force=true`, "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata:\n  name: c1\nspec:\n  image: applied\n", {
      "content-type": "application/apply-patch+yaml",
    });
    expect(applied.status).toBe(200);
    expect(applied.body.spec.image).toBe("applied");
  });

  it("JSON patch, PUT with a stale resourceVersion (409), deletecollection by label", async () => {
    const jp = await call(a, "PATCH", `${CRONTABS}/c1`, [{ op: "replace", path: "/spec/image", value: "jp" }], { "content-type": "application/json-patch+json" });
    expect(jp.body.spec.image).toBe("jp");
    const stale = { ...jp.body, metadata: { ...jp.body.metadata, resourceVersion: "1" } };
    expect((await call(b, "PUT", `${CRONTABS}/c1`, stale)).status).toBe(409);
    for (const n of ["d1", "d2"]) expect((await call(b, "POST", CRONTABS, { metadata: { name: n, labels: { batch: "x" } }, spec: { cronSpec: "x" } })).status).toBe(201);
    const dc = await call(a, "DELETE", `${CRONTABS}?labelSelector=batch%3Dx`);
    expect(dc.status).toBe(200);
    expect(dc.body.items.map((i: Json) => i.metadata.name)).toEqual(["d1", "d2"]);
    expect((await call(b, "GET", CRONTABS)).body.items.map((i: Json) => i.metadata.name)).toEqual(["c1"]);
  });

  it("scale subresource follows the CRD's paths", async () => {
    const scale = await call(b, "GET", `${CRONTABS}/c1/scale`);
    expect(scale.body).toMatchObject({ kind: "Scale", apiVersion: "autoscaling/v1", spec: { replicas: 3 }, status: { replicas: 2, selector: "app=c1" } });
    const put = await call(b, "PATCH", `${CRONTABS}/c1/scale`, { spec: { replicas: 5 } }, { "content-type": "application/merge-patch+json" });
    expect(put.status).toBe(200);
    expect((await call(a, "GET", `${CRONTABS}/c1`)).body.spec.replicas).toBe(5);
  });

  it("Table output with the printer columns", async () => {
    const t = await call(b, "GET", CRONTABS, undefined, { accept: "application/json;as=Table;v=v1;g=meta.k8s.io" });
    expect(t.body.columnDefinitions.map((c: Json) => `${c.name}:${c.type}`)).toEqual(["Name:string", "Spec:string", "Replicas:integer", "Age:date"]);
    expect(t.body.rows[0].cells.slice(0, 3)).toEqual(["c1", "* * * * */5", 5]);
    expect(t.body.rows[0].cells[3]).toMatch(/^\d+s$/);
  });

  it("discovery (legacy and aggregated) and OpenAPI v3 describe the new resource", async () => {
    const list = await call(b, "GET", "/apis/stable.example.com/v1");
    expect(list.body.resources.map((r: Json) => r.name).sort()).toEqual(["crontabs", "crontabs/scale", "crontabs/status"]);
    expect(list.body.resources[0]).toMatchObject({ kind: "CronTab", namespaced: true, shortNames: ["ct"], categories: ["all"] });
    const agg = await call(b, "GET", "/apis", undefined, { accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList" });
    const group = agg.body.items.find((g: Json) => g.metadata.name === "stable.example.com");
    expect(group.versions[0].resources[0]).toMatchObject({ resource: "crontabs", scope: "Namespaced", shortNames: ["ct"], categories: ["all"] });
    expect(agg.body.items.some((g: Json) => g.metadata.name === "apiextensions.k8s.io")).toBe(true);
    const index = await call(b, "GET", "/openapi/v3");
    const url = index.body.paths["apis/stable.example.com/v1"].serverRelativeURL as string;
    const doc = await call(b, "GET", url);
    const schema = doc.body.components.schemas["com.example.stable.v1.CronTab"];
    expect(schema.properties.spec.properties.cronSpec.description).toBe("The cron schedule.");
    expect(schema["x-kubernetes-group-version-kind"]).toEqual([{ group: "stable.example.com", kind: "CronTab", version: "v1" }]);
    expect(doc.body.components.schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]).toBeDefined();
    expect(doc.body.paths["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs"]).toBeDefined();
    // kubectl apply sends strategic merge only where the PATCH operation lists it; CRs take merge patches.
    expect(Object.keys(doc.body.paths["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}"].patch.requestBody.content).sort()).toEqual([
      "application/apply-patch+yaml",
      "application/json-patch+json",
      "application/merge-patch+json",
    ]);
  });

  it("the internal wire API serves custom resources through the same registry", async () => {
    const client = new WireClient({ name: "crd-test", endpoints: [`${b.replace("http:", "ws:")}/kubemu/wire`] });
    try {
      const ref = { group: "stable.example.com", version: "v1", resource: "crontabs", namespace: "default" };
      const created = await client.request<Json>("create", { ...ref, body: { apiVersion: "stable.example.com/v1", kind: "CronTab", metadata: { name: "wired" }, spec: { cronSpec: "x", junk: 1 } } });
      expect(created.spec).toEqual({ cronSpec: "x", replicas: 1 });
      const list = await client.request<Json>("list", ref);
      expect(list.items.map((i: Json) => i.metadata.name).sort()).toEqual(["c1", "wired"]);
      await expect(client.request("patch", { ...ref, name: "wired", patchType: "strategic", body: { spec: { image: "x" } } })).rejects.toMatchObject({ status: { code: 415 } });
      await client.request("delete", { ...ref, name: "wired" });
    } finally {
      await client.close();
    }
  });

  it("a schema change on the CRD applies to the next write on both servers", async () => {
    const cur = (await call(a, "GET", `${CRDS}/crontabs.stable.example.com`)).body;
    cur.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.suspend = { type: "boolean", default: false };
    expect((await call(a, "PUT", `${CRDS}/crontabs.stable.example.com`, cur)).status).toBe(200);
    const created = await eventually(
      () => call(b, "POST", CRONTABS, { metadata: { generateName: "s-" }, spec: { cronSpec: "x", suspend: true } }),
      (r) => r.status === 201 && r.body.spec.suspend === true,
      "new field kept",
    );
    await call(b, "DELETE", `${CRONTABS}/${created.body.metadata.name}`);
    const defaulted = await call(a, "POST", CRONTABS, { metadata: { name: "s-defaulted" }, spec: { cronSpec: "x" } });
    expect(defaulted.body.spec.suspend).toBe(false);
    await call(a, "DELETE", `${CRONTABS}/s-defaulted`);
  });

  it("a server started later serves the existing CRD at once", async () => {
    const c = await startServer("apiserver-c");
    expect((await call(c, "GET", `${CRONTABS}/c1`)).status).toBe(200);
  });

  it("deleting the CRD waits for instances (Terminating), deletes them, then stops serving on both servers", async () => {
    const held = await call(a, "POST", CRONTABS, { metadata: { name: "held", finalizers: ["example.com/hold"] }, spec: { cronSpec: "x" } });
    expect(held.status).toBe(201);
    const del = await call(a, "DELETE", `${CRDS}/crontabs.stable.example.com`);
    expect(del.status).toBe(200);
    expect(del.body.metadata.finalizers).toContain("customresourcecleanup.apiextensions.k8s.io");
    const terminating = await eventually(
      () => call(b, "GET", `${CRDS}/crontabs.stable.example.com`),
      (r) => (r.body.status?.conditions ?? []).some((c: Json) => c.type === "Terminating" && c.status === "True"),
      "Terminating",
    );
    expect(terminating.body.metadata.deletionTimestamp).toBeDefined();
    expect((await call(b, "POST", CRONTABS, { metadata: { name: "late" }, spec: { cronSpec: "x" } })).status).toBe(405);
    await eventually(() => call(b, "GET", `${CRONTABS}/c1`), (r) => r.status === 404, "c1 deleted");
    expect((await call(b, "GET", `${CRDS}/crontabs.stable.example.com`)).status).toBe(200);
    await call(b, "PATCH", `${CRONTABS}/held`, { metadata: { finalizers: null } }, { "content-type": "application/merge-patch+json" });
    await eventually(() => call(a, "GET", `${CRDS}/crontabs.stable.example.com`), (r) => r.status === 404, "CRD gone", 8000);
    for (const base of [a, b]) await eventually(() => call(base, "GET", "/apis/stable.example.com/v1"), (r) => r.status === 404, "group gone");
    // Instances are gone from the store: a new CRD of the same name starts empty.
    expect((await call(a, "POST", CRDS, crontabCrd)).status).toBe(201);
    const items = await eventually(() => call(b, "GET", CRONTABS), (r) => r.status === 200, "served again");
    expect(items.body.items).toEqual([]);
  });

  it("versions share one storage: written through v1beta1, read through v1; a kind clash is NamesAccepted=False and not served", async () => {
    const multi = structuredClone(crontabCrd) as Json;
    multi.metadata.name = "widgets.example.org";
    multi.spec.group = "example.org";
    multi.spec.names = { plural: "widgets", kind: "Widget" };
    const v1 = multi.spec.versions[0];
    multi.spec.versions = [{ ...v1, name: "v1beta1", storage: false }, v1];
    expect((await call(a, "POST", CRDS, multi)).status).toBe(201);
    await eventually(() => call(b, "GET", "/apis/example.org/v1beta1"), (r) => r.status === 200, "v1beta1 served");
    const w = await call(b, "POST", "/apis/example.org/v1beta1/namespaces/default/widgets", { apiVersion: "example.org/v1beta1", kind: "Widget", metadata: { name: "w" }, spec: { cronSpec: "x" } });
    expect(w.status).toBe(201);
    expect(w.body.apiVersion).toBe("example.org/v1beta1");
    expect((await call(a, "GET", "/apis/example.org/v1/namespaces/default/widgets/w")).body.apiVersion).toBe("example.org/v1");
    const listed = await call(a, "GET", "/apis/example.org/v1beta1/namespaces/default/widgets");
    expect([listed.body.apiVersion, listed.body.items[0].apiVersion]).toEqual(["example.org/v1beta1", "example.org/v1beta1"]);
    const watched = await (await fetch(`${a}/apis/example.org/v1beta1/namespaces/default/widgets?watch=1&timeoutSeconds=1`)).text();
    expect(JSON.parse(watched.split("\n")[0]!)).toMatchObject({ type: "ADDED", object: { apiVersion: "example.org/v1beta1", metadata: { name: "w" } } });

    const clash = structuredClone(multi) as Json;
    clash.metadata.name = "gadgets.example.org";
    clash.spec.names = { plural: "gadgets", kind: "Widget" };
    expect((await call(a, "POST", CRDS, clash)).status).toBe(201);
    const status = await eventually(
      () => call(b, "GET", `${CRDS}/gadgets.example.org`),
      (r) => (r.body.status?.conditions ?? []).some((c: Json) => c.type === "NamesAccepted"),
      "NamesAccepted",
    );
    expect(status.body.status.conditions.map((c: Json) => `${c.type}=${c.status}`)).toEqual(["NamesAccepted=False", "Established=False"]);
    expect((await call(b, "GET", "/apis/example.org/v1/namespaces/default/gadgets")).status).toBe(404);
    // Once the CRD holding the kind is gone, the other one's names are accepted.
    expect((await call(a, "DELETE", `${CRDS}/widgets.example.org`)).status).toBe(200);
    await eventually(
      () => call(b, "GET", `${CRDS}/gadgets.example.org`),
      (r) => (r.body.status?.conditions ?? []).some((c: Json) => c.type === "Established" && c.status === "True"),
      "gadgets Established",
      8000,
    );
    await eventually(() => call(b, "GET", "/apis/example.org/v1/namespaces/default/gadgets"), (r) => r.status === 200, "gadgets served");
  });

  it("cluster-scoped custom resources live outside namespaces", async () => {
    const cluster = structuredClone(crontabCrd) as Json;
    cluster.metadata.name = "clusterthings.example.net";
    cluster.spec.group = "example.net";
    cluster.spec.scope = "Cluster";
    cluster.spec.names = { plural: "clusterthings", kind: "ClusterThing" };
    delete cluster.spec.versions[0].subresources;
    expect((await call(a, "POST", CRDS, cluster)).status).toBe(201);
    await eventually(() => call(b, "GET", "/apis/example.net/v1/clusterthings"), (r) => r.status === 200, "served");
    const created = await call(b, "POST", "/apis/example.net/v1/clusterthings", { metadata: { name: "t", namespace: "ignored" }, spec: { cronSpec: "x" } });
    expect(created.status).toBe(201);
    expect(created.body.metadata.namespace).toBeUndefined();
    // Without a status subresource, status is part of the object: changing it bumps generation.
    const bumped = await call(a, "PATCH", "/apis/example.net/v1/clusterthings/t", { status: { replicas: 1 } }, { "content-type": "application/merge-patch+json" });
    expect([bumped.body.status, bumped.body.metadata.generation]).toEqual([{ replicas: 1 }, 2]);
    expect((await call(a, "GET", "/apis/example.net/v1/clusterthings/t")).status).toBe(200);
    expect((await call(a, "GET", "/apis/example.net/v1/namespaces/default/clusterthings/t")).status).toBe(404);
  });

  it("server-side apply merges lists by x-kubernetes-list-type; other lists are atomic", async () => {
    const lists = structuredClone(crontabCrd) as Json;
    lists.metadata.name = "routers.example.io";
    lists.spec.group = "example.io";
    lists.spec.names = { plural: "routers", kind: "Router" };
    lists.spec.versions[0].schema.openAPIV3Schema.properties.spec = {
      type: "object",
      properties: {
        ports: { type: "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"], items: { type: "object", properties: { name: { type: "string" }, port: { type: "integer" } } } },
        tags: { type: "array", items: { type: "string" } },
      },
    };
    expect((await call(a, "POST", CRDS, lists)).status).toBe(201);
    const path = "/apis/example.io/v1/namespaces/default/routers/r";
    await eventually(() => call(b, "GET", "/apis/example.io/v1"), (r) => r.status === 200, "served");
    const apply = (manager: string, spec: string, force = false) =>
      call(b, "PATCH", `${path}?fieldManager=${manager}${force ? "&force=true" : ""}`, `apiVersion: example.io/v1\nkind: Router\nmetadata:\n  name: r\nspec:\n${spec}`, { "content-type": "application/apply-patch+yaml" });
    expect((await apply("one", "  ports: [{name: http, port: 80}]\n  tags: [a]\n")).status).toBe(201);
    const two = await apply("two", "  ports: [{name: https, port: 443}]\n");
    expect(two.status).toBe(200);
    expect(two.body.spec.ports).toEqual([{ name: "http", port: 80 }, { name: "https", port: 443 }]);
    const clash = await apply("two", "  ports: [{name: https, port: 443}]\n  tags: [b]\n");
    expect(clash.status).toBe(409);
    const forced = await apply("two", "  ports: [{name: https, port: 443}]\n  tags: [b]\n", true);
    expect(forced.body.spec.tags).toEqual(["b"]);
  });
});
