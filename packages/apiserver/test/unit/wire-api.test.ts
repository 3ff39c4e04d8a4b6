/**
 * The internal wire API in-process: a WireServer with registerWireApi over the real store (memory
 * MVCC backend) and a real WireClient, so params cross msgpack frames as a component's do.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, Resources, WireClient, WireServer, type KubeObject } from "@kubemu/common";
import { registerWireApi } from "../../src/internal/wire-api.js";
import { ResourceApi } from "../../src/rest/resource-api.js";
import { customResourceDefs } from "../../src/crd/custom-resource.js";
import { newStore, failure } from "./helpers.js";

let server: WireServer;
let client: WireClient;
let url = "";

/** A CRD whose listKind is not `<Kind>List`, with status and scale subresources. */
const widgetCrd = (terminating = false): KubeObject => ({
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "widgets.example.com", ...(terminating ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}) },
  spec: {
    group: "example.com",
    scope: "Namespaced",
    names: { plural: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetCollection" },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        subresources: { status: {}, scale: { specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas" } },
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: { type: "object", properties: { replicas: { type: "integer" }, color: { type: "string" } } },
              status: { type: "object", properties: { replicas: { type: "integer" } } },
            },
          },
        },
      },
    ],
  },
});

let setWidgets: (terminating: boolean) => void;

beforeAll(async () => {
  const { store, ctx } = await newStore();
  setWidgets = (terminating) => ctx.registry.set("widgets.example.com", customResourceDefs(widgetCrd(terminating)));
  setWidgets(false);
  server = new WireServer({ name: "apiserver-wire-test" });
  registerWireApi(server, new ResourceApi(store, ctx.registry));
  const addr = await server.listen({ host: "127.0.0.1", port: 0 });
  url = addr.url;
  client = new WireClient({ name: "wire-api-test", endpoints: [url] });
});

afterAll(async () => {
  await client?.close();
  await server?.close();
});

const call = <T = any>(method: string, params: unknown) => client.request<T>(method, params);


const pods = { version: "v1", resource: "pods", namespace: "default" };
const cms = { version: "v1", resource: "configmaps", namespace: "default" };
const deploys = { group: "apps", version: "v1", resource: "deployments", namespace: "default" };
const widgets = { group: "example.com", version: "v1", resource: "widgets", namespace: "default" };

const deployment = (name: string) => ({
  metadata: { name, labels: { app: name } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "nginx" }] } },
  },
});

describe("wire API: lists", () => {
  it("a custom resource's list carries its CRD's listKind; built-ins <Kind>List or their declared listKind", async () => {
    await call("create", { ...widgets, body: { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w1" }, spec: { color: "red" } } });
    const list = await call("list", widgets);
    expect(list).toMatchObject({ kind: "WidgetCollection", apiVersion: "example.com/v1" });
    expect(list.items.map((i: any) => i.metadata.name)).toEqual(["w1"]);
    expect(list.metadata.resourceVersion).toMatch(/^\d+$/);
    expect((await call("list", { version: "v1", resource: "namespaces" })).kind).toBe("NamespaceList");
    expect((await call("list", { version: "v1", resource: "endpoints", namespace: "default" })).kind).toBe("EndpointsList");
  });

  it("pages with limit and continue", async () => {
    for (const n of ["page-a", "page-b", "page-c"]) await call("create", { ...cms, body: { metadata: { name: n, labels: { paged: "yes" } } } });
    const first = await call("list", { ...cms, labelSelector: "paged=yes", limit: 2 });
    expect(first.items).toHaveLength(2);
    expect(first.metadata.continue).toBeTruthy();
    const rest = await call("list", { ...cms, labelSelector: "paged=yes", limit: 2, continue: first.metadata.continue });
    expect(rest.items.map((i: any) => i.metadata.name)).toEqual(["page-c"]);
  });
});

describe("wire API: the declared verbs, as over HTTP", () => {
  it("refuses verbs a resource does not declare with upstream's 405", async () => {
    const cs = { version: "v1", resource: "componentstatuses" };
    const e = await failure(call("create", { ...cs, body: { metadata: { name: "x" } } }));
    expect(e.status).toMatchObject({ code: 405, reason: "MethodNotAllowed", message: "the server does not allow this method on the requested resource" });
    expect((await failure(call("delete", { ...cs, name: "etcd-0" }))).status.code).toBe(405);
    expect((await failure(call("deletecollection", cs))).status.code).toBe(405);
    expect((await call("list", cs)).kind).toBe("ComponentStatusList");
  });

  it("a terminating CRD's resource takes no create, but still lists", async () => {
    setWidgets(true);
    try {
      const e = await failure(call("create", { ...widgets, body: { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "late" } } }));
      expect(e.status.code).toBe(405);
      expect((await call("list", widgets)).kind).toBe("WidgetCollection");
    } finally {
      setWidgets(false);
    }
  });

  it("a subresource serves only its verbs, and only on resources that declare it", async () => {
    await call("create", { ...pods, body: { metadata: { name: "verbs" }, spec: { containers: [{ name: "c", image: "busybox" }] } } });
    expect((await failure(call("get", { ...pods, name: "verbs", subresource: "binding" }))).status.code).toBe(405);
    expect((await failure(call("update", { ...pods, name: "verbs", subresource: "eviction", body: {} }))).status.code).toBe(405);
    const nf = await failure(call("create", { ...cms, name: "page-a", subresource: "binding", body: { target: { name: "kubemu" } } }));
    expect(nf.status).toMatchObject({ code: 404, message: "the server could not find the requested resource" });
    expect((await failure(call("get", { ...pods, name: "verbs", subresource: "logs" }))).status.code).toBe(404);
  });
});

describe("wire API: subresources", () => {
  it("binding assigns the node once (pods/binding), as POST pods/{name}/binding", async () => {
    await call("create", { ...pods, body: { metadata: { name: "bind-me" }, spec: { containers: [{ name: "c", image: "busybox" }] } } });
    const ok = await call("create", { ...pods, name: "bind-me", subresource: "binding", body: { apiVersion: "v1", kind: "Binding", metadata: { name: "bind-me" }, target: { kind: "Node", name: "kubemu" } } });
    expect(ok).toMatchObject({ kind: "Status", status: "Success" });
    const pod = await call("get", { ...pods, name: "bind-me" });
    expect(pod.spec.nodeName).toBe("kubemu");
    expect(pod.status.conditions).toContainEqual(expect.objectContaining({ type: "PodScheduled", status: "True" }));
    const again = await failure(call("create", { ...pods, name: "bind-me", subresource: "binding", body: { target: { name: "kubemu-m02" } } }));
    expect(again.status).toMatchObject({ code: 409, reason: "Conflict", message: 'Operation cannot be fulfilled on pods "bind-me": pod bind-me is already assigned to node "kubemu"' });
    const noTarget = await failure(call("create", { ...pods, name: "verbs", subresource: "binding", body: {} }));
    expect(noTarget.status).toMatchObject({ code: 422, reason: "Invalid" });
  });

  it("a Binding's uid is a precondition: a bind decided for a deleted pod does not land on its same-name successor", async () => {
    const first = await call("create", { ...pods, body: { metadata: { name: "reborn" }, spec: { containers: [{ name: "c", image: "busybox" }] } } });
    await call("delete", { ...pods, name: "reborn", options: { gracePeriodSeconds: 0 } });
    const second = await call("create", { ...pods, body: { metadata: { name: "reborn" }, spec: { containers: [{ name: "c", image: "busybox" }] } } });
    expect(second.metadata.uid).not.toBe(first.metadata.uid);
    const stale = await failure(call("create", { ...pods, name: "reborn", subresource: "binding", body: { metadata: { name: "reborn", uid: first.metadata.uid }, target: { name: "kubemu" } } }));
    expect(stale.status).toMatchObject({ code: 409, reason: "Conflict", message: `Operation cannot be fulfilled on pods "reborn": Precondition failed: UID in precondition: ${first.metadata.uid}, UID in object meta: ${second.metadata.uid}` });
    expect((await call("get", { ...pods, name: "reborn" })).spec.nodeName).toBeUndefined();
    await call("create", { ...pods, name: "reborn", subresource: "binding", body: { metadata: { name: "reborn", uid: second.metadata.uid }, target: { name: "kubemu" } } });
    expect((await call("get", { ...pods, name: "reborn" })).spec.nodeName).toBe("kubemu");
  });

  it("a status update changes status only: spec changes in the body are ignored", async () => {
    const created = await call("create", { ...deploys, body: deployment("st") });
    const body = { ...created, spec: { ...created.spec, replicas: 7 }, status: { replicas: 3, observedGeneration: 1 } };
    const updated = await call("update", { ...deploys, name: "st", subresource: "status", body });
    expect(updated.status).toEqual({ replicas: 3, observedGeneration: 1 });
    expect(updated.spec.replicas).toBe(1);
    expect(updated.metadata.generation).toBe(1);
    // And through the main resource, status is kept while spec changes.
    const main = await call("update", { ...deploys, name: "st", body: { ...updated, spec: { ...updated.spec, replicas: 2 }, status: { replicas: 99 } } });
    expect(main.spec.replicas).toBe(2);
    expect(main.status.replicas).toBe(3);
    const patched = await call("patch", { ...deploys, name: "st", subresource: "status", patchType: "merge", body: { spec: { replicas: 9 }, status: { readyReplicas: 1 } } });
    expect(patched.spec.replicas).toBe(2);
    expect(patched.status).toMatchObject({ replicas: 3, readyReplicas: 1 });
  });

  it("scale reads and writes replicas through a Scale (built-in and custom resources); apply is 415 there", async () => {
    await call("create", { ...deploys, body: deployment("sc") });
    expect(await call("get", { ...deploys, name: "sc", subresource: "scale" })).toMatchObject({ kind: "Scale", apiVersion: "autoscaling/v1", spec: { replicas: 1 } });
    const scaled = await call("patch", { ...deploys, name: "sc", subresource: "scale", patchType: "merge", body: { spec: { replicas: 4 } } });
    expect(scaled).toMatchObject({ kind: "Scale", spec: { replicas: 4 } });
    expect((await call("get", { ...deploys, name: "sc" })).spec.replicas).toBe(4);
    const put = await call("update", { ...deploys, name: "sc", subresource: "scale", body: { apiVersion: "autoscaling/v1", kind: "Scale", metadata: { name: "sc" }, spec: { replicas: 0 } } });
    expect(put.spec.replicas).toBe(0);
    const apply = await failure(call("patch", { ...deploys, name: "sc", subresource: "scale", patchType: "apply", fieldManager: "t", body: { spec: { replicas: 2 } } }));
    expect(apply.status).toMatchObject({ code: 415, reason: "UnsupportedMediaType" });
    expect(apply.status.message).not.toContain("apply-patch");
    await call("create", { ...widgets, body: { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "ws" }, spec: { replicas: 2 } } });
    await call("patch", { ...widgets, name: "ws", subresource: "scale", patchType: "json", body: [{ op: "replace", path: "/spec/replicas", value: 5 }] });
    expect((await call("get", { ...widgets, name: "ws" })).spec.replicas).toBe(5);
  });
});

describe("wire API: patches", () => {
  it("applies each patch type, with upstream's options checks", async () => {
    await call("create", { ...cms, body: { metadata: { name: "p", labels: { a: "1" } }, data: { k: "v" } } });
    const json = await call("patch", { ...cms, name: "p", patchType: "json", body: [{ op: "add", path: "/data/j", value: "x" }] });
    expect(json.data).toEqual({ k: "v", j: "x" });
    const merge = await call("patch", { ...cms, name: "p", patchType: "merge", body: { data: { j: null, m: "y" } } });
    expect(merge.data).toEqual({ k: "v", m: "y" });
    const smp = await call("patch", { ...cms, name: "p", patchType: "strategic", body: { metadata: { labels: { b: "2" } } } });
    expect(smp.metadata.labels).toEqual({ a: "1", b: "2" });
    const applied = await call("patch", { ...cms, name: "p", patchType: "apply", fieldManager: "applier", body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "p" }, data: { s: "z" } } });
    expect(applied.data).toMatchObject({ s: "z" });
    expect(applied.metadata.managedFields.map((m: any) => m.manager)).toContain("applier");
    // Apply of a missing object creates it.
    const fresh = await call("patch", { ...cms, name: "p-new", patchType: "apply", fieldManager: "applier", body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "p-new" }, data: { a: "b" } } });
    expect(fresh.metadata.uid).toBeDefined();

    const noManager = await failure(call("patch", { ...cms, name: "p", patchType: "apply", body: { metadata: { name: "p" } } }));
    expect(noManager.status).toMatchObject({ code: 400, message: 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch' });
    const force = await failure(call("patch", { ...cms, name: "p", patchType: "merge", force: true, body: {} }));
    expect(force.status.message).toBe('PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch');
    const notArray = await failure(call("patch", { ...cms, name: "p", patchType: "json", body: { op: "add" } }));
    expect(notArray.status.code).toBe(400);
    const crSmp = await failure(call("patch", { ...widgets, name: "w1", patchType: "strategic", body: { spec: { color: "blue" } } }));
    expect(crSmp.status).toMatchObject({ code: 415, reason: "UnsupportedMediaType" });
  });
});

describe("wire API: deletecollection", () => {
  it("deletes what the selectors match, with delete options, and answers the list of them", async () => {
    for (const [name, tier] of [["dc-1", "web"], ["dc-2", "web"], ["dc-3", "db"]] as const)
      await call("create", { ...cms, body: { metadata: { name, labels: { dc: "yes", tier } } } });
    const dry = await call("deletecollection", { ...cms, labelSelector: "dc=yes,tier=web", dryRun: true });
    expect(dry.items).toHaveLength(2);
    expect((await call("list", { ...cms, labelSelector: "dc=yes" })).items).toHaveLength(3);
    const gone = await call("deletecollection", { ...cms, labelSelector: "dc=yes,tier=web", options: { propagationPolicy: "Background" } });
    expect(gone.kind).toBe("ConfigMapList");
    expect(gone.items.map((i: any) => i.metadata.name).sort()).toEqual(["dc-1", "dc-2"]);
    expect((await call("list", { ...cms, labelSelector: "dc=yes" })).items.map((i: any) => i.metadata.name)).toEqual(["dc-3"]);
    const byField = await call("deletecollection", { ...cms, fieldSelector: "metadata.name=dc-3" });
    expect(byField.items.map((i: any) => i.metadata.name)).toEqual(["dc-3"]);
  });

  it("a misspelt selector is refused, deleting nothing", async () => {
    await call("create", { ...cms, body: { metadata: { name: "keep-me", labels: { keep: "yes" } } } });
    const e = await failure(call("deletecollection", { ...cms, labelselector: "keep=no" }));
    expect(e.status.code).toBe(400);
    expect(e.status.message).toContain('unknown param "labelselector"');
    expect(await call("get", { ...cms, name: "keep-me" })).toMatchObject({ metadata: { name: "keep-me" } });
  });
});

describe("wire API: malformed params are BadRequest, and the server keeps serving", () => {
  const cases: [string, string, unknown, string][] = [
    ["params not an object", "get", "pods", "params must be an object"],
    ["no resource", "list", { version: "v1" }, "params.resource is required"],
    ["a non-string name", "get", { ...cms, name: 7 }, "params.name must be a string"],
    ["no name on get", "get", cms, "params.name is required"],
    ["a name on list", "list", { ...cms, name: "x" }, "params.name must not be set"],
    ["a namespace on a cluster-scoped resource", "get", { version: "v1", resource: "nodes", namespace: "default", name: "n" }, "nodes is cluster-scoped"],
    ["a namespaced object without namespace", "get", { version: "v1", resource: "pods", name: "p" }, "params.namespace is required for pods"],
    ["a subresource without a name", "update", { ...pods, subresource: "status", body: {} }, "params.name is required with a subresource"],
    ["a negative limit", "list", { ...cms, limit: -1 }, "params.limit must be a non-negative integer"],
    ["a non-string selector", "list", { ...cms, labelSelector: 5 }, "params.labelSelector must be a string"],
    ["a bad selector", "list", { ...cms, labelSelector: "a in (b" }, ""],
    ["an unknown resourceVersionMatch", "list", { ...cms, resourceVersionMatch: "Newest" }, 'invalid resourceVersionMatch: "Newest"'],
    ["an unknown patch type", "patch", { ...cms, name: "p", patchType: "xml", body: {} }, 'unknown patchType "xml"'],
    ["a non-boolean dryRun", "create", { ...cms, dryRun: "yes", body: { metadata: { name: "d" } } }, "params.dryRun must be a boolean"],
    ["options not an object", "delete", { ...cms, name: "p", options: "now" }, "params.options must be an object"],
    ["an unknown propagation policy", "delete", { ...cms, name: "p", options: { propagationPolicy: "Later" } }, "propagationPolicy: Unsupported value"],
    ["a non-integer grace period", "delete", { ...cms, name: "p", options: { gracePeriodSeconds: 1.5 } }, "gracePeriodSeconds must be an integer"],
    ["a name on create without subresource", "create", { ...cms, name: "x", body: { metadata: { name: "x" } } }, "params.name is only taken with a subresource"],
    ["a body that is not an object", "create", { ...cms, body: [1, 2] }, "the request body must be a JSON object"],
    ["a too-long field manager", "create", { ...cms, fieldManager: "m".repeat(129), body: { metadata: { name: "fm" } } }, "fieldManager may not be more than 128 characters"],
  ];
  for (const [what, method, params, message] of cases) {
    it(what, async () => {
      const e = await failure(call(method, params));
      expect(e.status).toMatchObject({ code: 400, reason: "BadRequest" });
      if (message) expect(e.status.message).toContain(message);
    });
  }

  it("a watch with a param it does not take fails the stream with BadRequest", async () => {
    const s = client.stream("watch", { ...cms, limit: 5 });
    const e = await failure((async () => {
      for await (const _ of s) break;
    })());
    expect(e.status).toMatchObject({ code: 400, message: expect.stringContaining('unknown param "limit"') });
  });

  it("still serves after all of those", async () => {
    expect((await call("get", { ...cms, name: "p" })).metadata.name).toBe("p");
  });
});

describe("wire API: watch", () => {
  it("streams changes from a list's resourceVersion, with selectors", async () => {
    const rv = (await call("list", cms)).metadata.resourceVersion;
    const s = client.stream<any>("watch", { ...cms, resourceVersion: rv, labelSelector: "w=1", allowBookmarks: true });
    await call("create", { ...cms, body: { metadata: { name: "w-other" } } });
    await call("create", { ...cms, body: { metadata: { name: "w-one", labels: { w: "1" } } } });
    for await (const ev of s) {
      expect([ev.type, ev.object.metadata.name]).toEqual(["ADDED", "w-one"]);
      break;
    }
  });
});

describe("wire API: the common ApiClient speaks it", () => {
  it("create, bind, updateStatus, patch, list, deleteCollection, delete and watch through ApiClient", async () => {
    const api = new ApiClient({ name: "kube-scheduler-test", endpoints: [url], fieldManager: "kube-scheduler" });
    try {
      const rv = (await api.list(Resources.pods, { namespace: "default" })).metadata.resourceVersion;
      const events = api.watch(Resources.pods, { namespace: "default", resourceVersion: rv, labelSelector: "via=client" });
      const pod = await api.create(Resources.pods, { apiVersion: "v1", kind: "Pod", metadata: { name: "via-client", namespace: "default", labels: { via: "client" } }, spec: { containers: [{ name: "c", image: "busybox" }] } } as KubeObject);
      expect(pod.metadata.managedFields?.[0]).toMatchObject({ manager: "kube-scheduler" });
      await api.bind("default", "via-client", "kubemu", { uid: pod.metadata.uid! });
      const bound = await api.get<any>(Resources.pods, "default", "via-client");
      expect(bound.spec.nodeName).toBe("kubemu");
      const st = await api.updateStatus<any>(Resources.pods, { ...bound, spec: { ...bound.spec, nodeName: "elsewhere" }, status: { ...bound.status, phase: "Running" } });
      expect([st.status.phase, st.spec.nodeName]).toEqual(["Running", "kubemu"]);
      const patched = await api.patch<any>(Resources.pods, "default", "via-client", "merge", { metadata: { annotations: { seen: "yes" } } });
      expect(patched.metadata.annotations).toEqual({ seen: "yes" });
      const pcs = await api.list(Resources.priorityClasses);
      expect(pcs.kind).toBe("PriorityClassList");
      await api.create(Resources.configMaps, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "via-client-cm", namespace: "default", labels: { via: "client" } } } as KubeObject);
      const gone = await api.deleteCollection(Resources.configMaps, { namespace: "default", labelSelector: "via=client" });
      expect(gone.items.map((i) => i.metadata.name)).toEqual(["via-client-cm"]);
      const last = await api.delete<any>(Resources.pods, "default", "via-client", { gracePeriodSeconds: 0 });
      expect(last.metadata.name).toBe("via-client");
      const seen: string[] = [];
      for await (const ev of events) {
        seen.push(ev.type);
        if (ev.type === "DELETED") break;
      }
      expect(seen[0]).toBe("ADDED");
      expect(seen).toContain("MODIFIED");
    } finally {
      await api.close();
    }
  });

  it("update with subresource finalize replaces a terminating Namespace's spec.finalizers, and the namespace goes", async () => {
    const api = new ApiClient({ name: "kube-controller-manager-test", endpoints: [url], fieldManager: "kube-controller-manager" });
    try {
      await api.create(Resources.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: "finalize-me" } } as KubeObject);
      const terminating = await api.delete<any>(Resources.namespaces, undefined, "finalize-me");
      expect([terminating.status.phase, terminating.spec.finalizers]).toEqual(["Terminating", ["kubernetes"]]);
      const finalized = await api.update<any>(Resources.namespaces, { ...terminating, spec: { finalizers: [] } }, { subresource: "finalize" });
      expect(finalized.spec.finalizers ?? []).toEqual([]);
      expect((await failure(api.get(Resources.namespaces, undefined, "finalize-me"))).status.code).toBe(404);
    } finally {
      await api.close();
    }
  });
});
