/** The ApiServer in-process (memory store, port 0): the internal wire API and HTTP basics. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StatusError, WireClient } from "@kubemu/common";
import { MvccStore } from "@kubemu/etcd-raft";
import { ApiServer } from "../../src/apiserver.js";
import { KvStorageFactory, MvccBackend } from "../../src/storage/index.js";
import type { WatchEvent } from "../../src/storage/index.js";

let server: ApiServer;
let base = "";
let client: WireClient;

beforeAll(async () => {
  server = new ApiServer({ name: "apiserver-test", storage: new KvStorageFactory({ backend: new MvccBackend(new MvccStore()) }), compactionIntervalMs: 0, disableAdmissionPlugins: ["ServiceAccount"] });
  const addr = await server.start("127.0.0.1", 0);
  base = `http://127.0.0.1:${addr.port}`;
  client = new WireClient({ name: "test-component", endpoints: [`ws://127.0.0.1:${addr.port}/kubemu/wire`] });
});

afterAll(async () => {
  await client?.close();
  await server?.stop();
});

describe("internal wire API", () => {
  it("creates, gets, lists, patches, updates status and deletes", async () => {
    const pods = { version: "v1", resource: "pods", namespace: "default" };
    const created = await client.request<any>("create", { ...pods, body: { metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "busybox" }] } } });
    expect(created.metadata.uid).toBeDefined();
    expect(created.status.phase).toBe("Pending");
    const got = await client.request<any>("get", { ...pods, name: "p" });
    expect(got.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
    await client.request("create", { ...pods, name: "p", subresource: "binding", body: { target: { kind: "Node", name: "kubemu" } } });
    const st = await client.request<any>("update", { ...pods, name: "p", subresource: "status", body: { ...(await client.request<any>("get", { ...pods, name: "p" })), status: { phase: "Running", podIP: "127.244.1.2" } } });
    expect(st.status.phase).toBe("Running");
    expect(st.spec.nodeName).toBe("kubemu");
    const list = await client.request<any>("list", { ...pods, fieldSelector: "spec.nodeName=kubemu,status.phase=Running" });
    expect(list.items.map((i: any) => i.metadata.name)).toEqual(["p"]);
    const patched = await client.request<any>("patch", { ...pods, name: "p", patchType: "strategic", body: { metadata: { labels: { a: "b" } } } });
    expect(patched.metadata.labels).toEqual({ a: "b" });
    const del = await client.request<any>("delete", { ...pods, name: "p", options: { gracePeriodSeconds: 0 } });
    expect(del.metadata.name).toBe("p");
    await expect(client.request("get", { ...pods, name: "p" })).rejects.toBeInstanceOf(StatusError);
    await expect(client.request("get", { version: "v1", resource: "widgets", name: "x" })).rejects.toMatchObject({ status: { code: 404 } });
    await expect(client.request("get", { nonsense: true })).rejects.toMatchObject({ status: { code: 400 } });
  });

  it("multiplexes several watches on one connection", async () => {
    const cms = { version: "v1", resource: "configmaps", namespace: "default" };
    const list = await client.request<any>("list", cms);
    const rv = list.metadata.resourceVersion;
    const a = client.stream<WatchEvent>("watch", { ...cms, resourceVersion: rv, labelSelector: "w=a" });
    const b = client.stream<WatchEvent>("watch", { ...cms, resourceVersion: rv, labelSelector: "w=b" });
    await client.request("create", { ...cms, body: { metadata: { name: "wa", labels: { w: "a" } } } });
    await client.request("create", { ...cms, body: { metadata: { name: "wb", labels: { w: "b" } } } });
    const first = async (s: AsyncIterable<WatchEvent>) => {
      for await (const ev of s) return ev;
      return undefined;
    };
    const [ea, eb] = await Promise.all([first(a), first(b)]);
    expect([ea?.type, (ea?.object as any).metadata.name]).toEqual(["ADDED", "wa"]);
    expect([eb?.type, (eb?.object as any).metadata.name]).toEqual(["ADDED", "wb"]);
  });
});

describe("events.k8s.io/v1 and core/v1 Events share storage", () => {
  it("an event written through either API reads through both", async () => {
    const post = (path: string, body: unknown) => fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const r = await post("/apis/events.k8s.io/v1/namespaces/default/events", {
      metadata: { name: "e1" },
      regarding: { kind: "Pod", name: "p", namespace: "default" },
      note: "Scheduled to kubemu",
      reason: "Scheduled",
      type: "Normal",
      action: "Binding",
      reportingController: "default-scheduler",
      reportingInstance: "scheduler-0",
      eventTime: "2026-01-01T00:00:00.000000Z",
    });
    expect(r.status).toBe(201);
    const core = (await (await fetch(`${base}/api/v1/namespaces/default/events/e1`)).json()) as any;
    expect(core).toMatchObject({ apiVersion: "v1", kind: "Event", message: "Scheduled to kubemu", involvedObject: { kind: "Pod", name: "p" }, reportingComponent: "default-scheduler" });
    await post("/api/v1/namespaces/default/events", { metadata: { name: "e2" }, involvedObject: { kind: "Pod", name: "p" }, message: "hello", reason: "Pulled", type: "Normal" });
    const v1 = (await (await fetch(`${base}/apis/events.k8s.io/v1/namespaces/default/events?fieldSelector=reason%3DPulled`)).json()) as any;
    expect(v1.items).toHaveLength(1);
    expect(v1.items[0]).toMatchObject({ apiVersion: "events.k8s.io/v1", note: "hello", regarding: { name: "p" } });
    const byObject = (await (await fetch(`${base}/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dp`)).json()) as any;
    expect(byObject.items.map((e: any) => e.metadata.name).sort()).toEqual(["e1", "e2"]);
  });
});

describe("HTTP basics", () => {
  it("serves version, health, discovery and a Status for unknown paths", async () => {
    expect(await (await fetch(`${base}/version`)).json()).toMatchObject({ major: "1", minor: "32" });
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const agg = await fetch(`${base}/apis`, { headers: { accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json" } });
    expect(agg.headers.get("content-type")).toBe("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
    expect(((await agg.json()) as any).items.map((i: any) => i.metadata.name)).toContain("apps");
    const legacy = (await (await fetch(`${base}/apis`)).json()) as any;
    expect(legacy.kind).toBe("APIGroupList");
    const nf = await fetch(`${base}/api/v1/namespaces/default/widgets`);
    expect(nf.status).toBe(404);
    expect(((await nf.json()) as any).kind).toBe("Status");
  });

  it("answers upgrade requests it does not serve with a 404 Status instead of hanging", async () => {
    const { request } = await import("node:http");
    const status = await new Promise<number>((resolve, reject) => {
      const r = request(`${base}/api/v1/namespaces/default/pods/p/exec?command=sh`, { headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-protocol": "v5.channel.k8s.io" } });
      r.on("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      r.on("upgrade", () => reject(new Error("unexpected upgrade")));
      r.on("error", reject);
      r.end();
    });
    expect(status).toBe(404);
  });

  it("pretty-prints for curl and ?pretty=true", async () => {
    const curl = await (await fetch(`${base}/apis/batch`, { headers: { "user-agent": "curl/8.5.0" } })).text();
    expect(curl).toContain('{\n  "kind": "APIGroup"');
    const compact = await (await fetch(`${base}/apis/batch`)).text();
    expect(compact.startsWith('{"kind":"APIGroup"')).toBe(true);
    expect(await (await fetch(`${base}/apis/batch?pretty=true`)).text()).toContain("\n  ");
  });

  it("answers a Table when asked, and gzip when accepted", async () => {
    const r = await fetch(`${base}/api/v1/namespaces?includeObject=Object`, { headers: { accept: "application/json;as=Table;v=v1;g=meta.k8s.io" } });
    const t = (await r.json()) as any;
    expect(t.kind).toBe("Table");
    expect(t.rows[0].object.kind).toBe("Namespace");
    const raw = await fetch(`${base}/openapi/v3/api/v1`, { headers: { "accept-encoding": "gzip" } });
    expect(raw.status).toBe(200);
    expect(raw.headers.get("content-encoding")).toBe("gzip");
    for (let i = 0; i < 60; i++)
      await fetch(`${base}/api/v1/namespaces/default/configmaps`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ metadata: { name: `big-${i}` }, data: { v: "x".repeat(2000) } }) });
    const big = await fetch(`${base}/api/v1/namespaces/default/configmaps`, { headers: { "accept-encoding": "gzip" } });
    expect(big.headers.get("content-encoding")).toBe("gzip");
    expect(((await big.json()) as { items: unknown[] }).items.length).toBeGreaterThanOrEqual(60);
  });

  it("watch ends at timeoutSeconds and sends 410 Expired for a compacted resourceVersion", async () => {
    const t0 = Date.now();
    const r = await fetch(`${base}/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1&resourceVersion=999999`);
    const text = await r.text();
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r.status).toBe(200);
    expect(text === "" || text.includes('"type"')).toBe(true);
    for (let i = 0; i < 3; i++) await fetch(`${base}/api/v1/namespaces/default/configmaps`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ metadata: { generateName: "c-" } }) });
    await server.ctx.storage.compact();
    const old = await fetch(`${base}/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=2&timeoutSeconds=5`);
    const line = JSON.parse((await old.text()).trim().split("\n")[0]!);
    expect(line.type).toBe("ERROR");
    expect(line.object).toMatchObject({ kind: "Status", code: 410, reason: "Expired" });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/apiserver_watch_events_total\{group="",version="v1",kind="ConfigMap"\} [1-9]/);
  });
});

describe("readiness follows the store", () => {
  it("turns /readyz 503 while the store does not answer and 200 again after", async () => {
    const { KvStorageFactory: Factory, MvccBackend: Backend } = await import("../../src/storage/index.js");
    const backend = new Backend(new MvccStore());
    let broken = false;
    const realRevision = backend.currentRevision.bind(backend);
    backend.currentRevision = () => (broken ? new Promise<number>(() => undefined) : realRevision());
    const s = new ApiServer({ name: "probe", storage: new Factory({ backend, watchCache: false }), compactionIntervalMs: 0, storeProbeTimeoutMs: 200 });
    const addr = await s.start("127.0.0.1", 0);
    const readyz = async () => (await fetch(`http://127.0.0.1:${addr.port}/readyz`)).status;
    try {
      expect(await readyz()).toBe(200);
      broken = true;
      let code = 200;
      for (let i = 0; i < 50 && code === 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        code = await readyz();
      }
      expect(code).toBe(503);
      broken = false;
      for (let i = 0; i < 30 && code !== 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        code = await readyz();
      }
      expect(code).toBe(200);
    } finally {
      broken = false;
      await s.stop();
    }
  });
});
