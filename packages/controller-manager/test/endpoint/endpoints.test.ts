import { describe, expect, it } from "vitest";
import { Resources, newConflict, silentLogger, type KubeObject } from "@kubemu/common";
import { EndpointsSync, type EndpointsObject } from "../../src/controllers/endpoint/sync.js";
import { MAX_CAPACITY, repackSubsets, truncateSubsets } from "../../src/controllers/endpoint/subsets.js";
import type { PodObject, ServiceObject } from "../../src/controllers/endpoint-util/pods.js";
import { FakeClient, FakeRecorder } from "../fake-client.js";
import { pod, service } from "./fixtures.js";

function setup(services: ServiceObject[], pods: PodObject[], endpoints: KubeObject[] = []) {
  const fake = new FakeClient([
    { resource: Resources.services, objects: services },
    { resource: Resources.pods, objects: pods },
    { resource: Resources.endpoints, objects: endpoints },
  ]);
  const recorder = new FakeRecorder();
  const make = () =>
    new EndpointsSync({
      client: fake,
      services: fake.indexer<ServiceObject>(Resources.services),
      pods: fake.indexer<PodObject>(Resources.pods),
      endpoints: fake.indexer<EndpointsObject>(Resources.endpoints),
      recorder,
      logger: silentLogger,
    });
  return { fake, recorder, sync: make() };
}

const eps = (fake: FakeClient, name = "web") => fake.objects<EndpointsObject>(Resources.endpoints).find((e) => e.metadata.name === name);

describe("endpoints controller", () => {
  it("lists ready pods under addresses and not-ready ones under notReadyAddresses, with nodeName and targetRef", async () => {
    const { fake, sync } = setup([service("web")], [pod("a", { ip: "127.244.1.3" }), pod("b", { ip: "127.244.1.2" }), pod("c", { ip: "127.244.1.4", ready: false })]);
    await sync.sync("default/web");
    const ep = eps(fake)!;
    expect(ep.subsets).toHaveLength(1);
    const s = ep.subsets![0]!;
    expect(s.addresses!.map((a) => a.ip)).toEqual(["127.244.1.2", "127.244.1.3"]);
    expect(s.addresses![0]).toEqual({ ip: "127.244.1.2", nodeName: "kubemu", targetRef: { kind: "Pod", namespace: "default", name: "b", uid: "uid-b" } });
    expect(s.notReadyAddresses!.map((a) => a.ip)).toEqual(["127.244.1.4"]);
    expect(s.ports).toEqual([{ port: 8080, protocol: "TCP" }]);
    expect(ep.metadata.annotations?.["endpoints.kubernetes.io/last-change-trigger-time"]).toBe("2026-01-01T00:00:00Z");
  });

  it("a second sync of unchanged pods writes nothing", async () => {
    const { fake } = setup([service("web")], [pod("a")]);
    const first = new EndpointsSync({ client: fake, services: fake.indexer(Resources.services), pods: fake.indexer(Resources.pods), endpoints: fake.indexer(Resources.endpoints), recorder: new FakeRecorder(), logger: silentLogger });
    await first.sync("default/web");
    fake.clearActions();
    const again = new EndpointsSync({ client: fake, services: fake.indexer(Resources.services), pods: fake.indexer(Resources.pods), endpoints: fake.indexer(Resources.endpoints), recorder: new FakeRecorder(), logger: silentLogger, triggerTimes: first.triggerTimes });
    await again.sync("default/web");
    expect(fake.writes()).toEqual([]);
  });

  it("a pod turning not-ready moves to notReadyAddresses and the trigger time is its transition", async () => {
    const { fake } = setup([service("web")], [pod("a"), pod("b", { ip: "127.244.1.3" })]);
    const mk = (triggerTimes?: EndpointsSync["triggerTimes"]) =>
      new EndpointsSync({ client: fake, services: fake.indexer(Resources.services), pods: fake.indexer(Resources.pods), endpoints: fake.indexer(Resources.endpoints), recorder: new FakeRecorder(), logger: silentLogger, ...(triggerTimes ? { triggerTimes } : {}) });
    const s1 = mk();
    await s1.sync("default/web");
    await fake.updateStatus(Resources.pods, pod("b", { ip: "127.244.1.3", ready: false, readySince: "2026-01-01T00:05:00Z" }));
    await mk(s1.triggerTimes).sync("default/web");
    const ep = eps(fake)!;
    expect(ep.subsets![0]!.addresses!.map((a) => a.ip)).toEqual(["127.244.1.2"]);
    expect(ep.subsets![0]!.notReadyAddresses!.map((a) => a.ip)).toEqual(["127.244.1.3"]);
    expect(ep.metadata.annotations?.["endpoints.kubernetes.io/last-change-trigger-time"]).toBe("2026-01-01T00:05:00Z");
  });

  it("publishNotReadyAddresses lists every pod as ready, terminating ones too", async () => {
    const { fake, sync } = setup([service("web", { publishNotReadyAddresses: true })], [pod("a", { ready: false }), pod("b", { ip: "127.244.1.3", deleting: true })]);
    await sync.sync("default/web");
    const s = eps(fake)!.subsets![0]!;
    expect(s.addresses!.map((a) => a.ip)).toEqual(["127.244.1.2", "127.244.1.3"]);
    expect(s.notReadyAddresses).toBeUndefined();
  });

  it("leaves out terminating, terminal and IP-less pods, and pods the selector does not pick", async () => {
    const pods = [pod("a"), pod("gone", { ip: "127.244.1.5", deleting: true }), pod("done", { ip: "127.244.1.6", phase: "Succeeded" }), pod("noip", { ip: "" }), pod("other", { ip: "127.244.1.7", labels: { app: "db" } })];
    const { fake, sync } = setup([service("web")], pods);
    await sync.sync("default/web");
    const s = eps(fake)!.subsets![0]!;
    expect(s.addresses!.map((a) => a.targetRef!.name)).toEqual(["a"]);
    expect(s.notReadyAddresses).toBeUndefined();
  });

  it("resolves a named targetPort per pod, and pods without that port get no entry for it", async () => {
    const svc = service("web", { ports: [{ name: "http", port: 80, targetPort: "http" }, { name: "metrics", port: 9090, targetPort: 9090 }] });
    const pods = [pod("a", { ports: [{ name: "http", containerPort: 8080 }] }), pod("b", { ip: "127.244.1.3", ports: [{ name: "http", containerPort: 8081 }] }), pod("c", { ip: "127.244.1.4", ports: [] })];
    const { fake, sync } = setup([svc], pods);
    await sync.sync("default/web");
    const subsets = eps(fake)!.subsets!;
    const flat = subsets.flatMap((s) => s.addresses!.flatMap((a) => s.ports!.map((p) => `${a.targetRef!.name}:${p.name}=${p.port}`))).sort();
    expect(flat).toEqual(["a:http=8080", "a:metrics=9090", "b:http=8081", "b:metrics=9090", "c:metrics=9090"]);
  });

  it("sets hostname for pods whose subdomain names a headless Service, and labels the Endpoints headless", async () => {
    const svc = service("nginx", { clusterIP: "None", labels: { app: "nginx" } });
    const pods = [pod("web-0", { hostname: "web-0", subdomain: "nginx" }), pod("web-1", { ip: "127.244.1.3", hostname: "web-1", subdomain: "other" })];
    const { fake, sync } = setup([svc], pods);
    await sync.sync("default/nginx");
    const ep = eps(fake, "nginx")!;
    expect(ep.metadata.labels).toEqual({ app: "nginx", "service.kubernetes.io/headless": "" });
    const byName = new Map(ep.subsets![0]!.addresses!.map((a) => [a.targetRef!.name, a]));
    expect(byName.get("web-0")!.hostname).toBe("web-0");
    expect(byName.get("web-1")!.hostname).toBeUndefined();
  });

  it("a headless Service without ports still lists its pods", async () => {
    const svc = service("nginx", { clusterIP: "None", ports: [] });
    const { fake, sync } = setup([svc], [pod("a")]);
    await sync.sync("default/nginx");
    const s = eps(fake, "nginx")!.subsets!;
    expect(s).toEqual([{ addresses: [{ ip: "127.244.1.2", nodeName: "kubemu", targetRef: { kind: "Pod", namespace: "default", name: "a", uid: "uid-a" } }] }]);
  });

  it("leaves the hand-written Endpoints of a Service without a selector untouched", async () => {
    const handWritten: EndpointsObject = { apiVersion: "v1", kind: "Endpoints", metadata: { name: "external-service", namespace: "default", resourceVersion: "5" }, subsets: [{ addresses: [{ ip: "11.11.11.11" }, { ip: "22.22.22.22" }], ports: [{ port: 80 }] }] };
    const { fake, sync } = setup([service("external-service", { selector: null, ports: [{ port: 80 }] })], [pod("a")], [handWritten]);
    await sync.sync("default/external-service");
    expect(fake.writes()).toEqual([]);
    expect(eps(fake, "external-service")!.subsets).toEqual(handWritten.subsets);
  });

  it("deletes the Endpoints of a deleted Service", async () => {
    const { fake, sync } = setup([], [], [{ apiVersion: "v1", kind: "Endpoints", metadata: { name: "web", namespace: "default" } }]);
    await sync.sync("default/web");
    expect(fake.writes().map((a) => `${a.verb} ${a.resource} ${a.name}`)).toEqual(["delete endpoints web"]);
    expect(eps(fake)).toBeUndefined();
  });

  it("copies the Service's labels and replaces stale subsets with an update", async () => {
    const old: EndpointsObject = { apiVersion: "v1", kind: "Endpoints", metadata: { name: "web", namespace: "default", resourceVersion: "7", labels: { stale: "x" } }, subsets: [{ addresses: [{ ip: "127.244.9.9" }], ports: [{ port: 8080, protocol: "TCP" }] }] };
    const { fake, sync } = setup([service("web", { labels: { app: "web" } })], [pod("a")], [old]);
    await sync.sync("default/web");
    expect(fake.writes().map((a) => a.verb)).toEqual(["update"]);
    const ep = eps(fake)!;
    expect(ep.metadata.labels).toEqual({ app: "web" });
    expect(ep.subsets![0]!.addresses!.map((a) => a.ip)).toEqual(["127.244.1.2"]);
  });

  it("a failed update records FailedToUpdateEndpoint and rethrows", async () => {
    const old: EndpointsObject = { apiVersion: "v1", kind: "Endpoints", metadata: { name: "web", namespace: "default", resourceVersion: "7" }, subsets: [] };
    const { fake, sync, recorder } = setup([service("web")], [pod("a")], [old]);
    fake.failOn("update", "endpoints", newConflict({ resource: "endpoints" }, "web", "the object has been modified"));
    await expect(sync.sync("default/web")).rejects.toThrow();
    expect(recorder.lines()[0]).toMatch(/^Warning FailedToUpdateEndpoint Failed to update endpoint default\/web: /);
  });

  it("over 1000 addresses are truncated and annotated over-capacity", async () => {
    const pods = Array.from({ length: 1005 }, (_, i) => pod(`p${i}`, { ip: `127.244.${Math.floor(i / 250)}.${(i % 250) + 1}` }));
    const { fake, sync } = setup([service("web")], pods);
    await sync.sync("default/web");
    const ep = eps(fake)!;
    expect(ep.metadata.annotations?.["endpoints.kubernetes.io/over-capacity"]).toBe("truncated");
    expect(ep.subsets!.reduce((n, s) => n + (s.addresses?.length ?? 0), 0)).toBe(MAX_CAPACITY);
  });
});

describe("subsets", () => {
  it("repack groups addresses by the ports they serve; not-ready wins", () => {
    const a = { ip: "10.0.0.1" };
    const b = { ip: "10.0.0.2" };
    const out = repackSubsets([
      { addresses: [a], ports: [{ port: 80 }] },
      { addresses: [b], ports: [{ port: 80 }] },
      { notReadyAddresses: [a], ports: [{ port: 80 }] },
      { addresses: [b], ports: [{ port: 81 }] },
    ]);
    expect(out).toHaveLength(2);
    const p80 = out.find((s) => s.ports!.some((p) => p.port === 80))!;
    expect(p80.addresses).toEqual([b]);
    expect(p80.notReadyAddresses).toEqual([a]);
    const p81 = out.find((s) => s.ports!.some((p) => p.port === 81))!;
    expect(p81.addresses).toEqual([b]);
  });

  it("truncation keeps ready addresses before not-ready ones", () => {
    const ready = Array.from({ length: 900 }, (_, i) => ({ ip: `10.0.${Math.floor(i / 250)}.${i % 250}` }));
    const notReady = Array.from({ length: 200 }, (_, i) => ({ ip: `10.1.${Math.floor(i / 250)}.${i % 250}` }));
    const out = truncateSubsets([{ addresses: ready, notReadyAddresses: notReady, ports: [{ port: 80 }] }])!;
    expect(out[0]!.addresses).toHaveLength(900);
    expect(out[0]!.notReadyAddresses).toHaveLength(100);
    expect(truncateSubsets([{ addresses: ready }])).toBeUndefined();
  });
});
