import { describe, expect, it } from "vitest";
import { Resources, silentLogger, type KubeObject } from "@kubemu/common";
import type { PodObject, ServiceObject } from "../../src/controllers/endpoint-util/pods.js";
import { EndpointSliceTracker, serviceKeyOfSlice } from "../../src/controllers/endpoint-util/slice-tracker.js";
import type { EndpointSliceObject } from "../../src/controllers/endpointslice/endpoints.js";
import { SliceReconciler } from "../../src/controllers/endpointslice/reconciler.js";
import { EndpointSliceSync, StaleInformerCacheError } from "../../src/controllers/endpointslice/sync.js";
import { FakeClient, FakeRecorder } from "../fake-client.js";
import { node, pod, service } from "./fixtures.js";

function setup(services: ServiceObject[], pods: PodObject[], slices: KubeObject[] = [], nodes = [node("kubemu")]) {
  const fake = new FakeClient([
    { resource: Resources.services, objects: services },
    { resource: Resources.pods, objects: pods },
    { resource: Resources.endpointSlices, objects: slices },
    { resource: Resources.nodes, objects: nodes },
  ]);
  const tracker = new EndpointSliceTracker(serviceKeyOfSlice);
  const recorder = new FakeRecorder();
  const make = () => {
    const reconciler = new SliceReconciler({ client: fake, nodes: fake.indexer(Resources.nodes), tracker, logger: silentLogger });
    return new EndpointSliceSync({ services: fake.indexer(Resources.services), pods: fake.indexer(Resources.pods), slices: fake.indexer(Resources.endpointSlices), reconciler, tracker, recorder, logger: silentLogger });
  };
  return { fake, tracker, recorder, make };
}

const slicesOf = (fake: FakeClient) => fake.objects<EndpointSliceObject>(Resources.endpointSlices);

describe("endpointslice controller", () => {
  it("makes one IPv4 slice with conditions, nodeName, targetRef, ports, labels and the Service as owner", async () => {
    const svc = service("web", { labels: { tier: "front" } });
    const { fake, make } = setup([svc], [pod("a"), pod("b", { ip: "127.244.1.3", ready: false })]);
    await make().sync("default/web");
    const [s, ...rest] = slicesOf(fake);
    expect(rest).toEqual([]);
    expect(s!.metadata.generateName).toBe("web-");
    expect(s!.metadata.labels).toEqual({ tier: "front", "kubernetes.io/service-name": "web", "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io" });
    expect(s!.metadata.ownerReferences).toEqual([{ apiVersion: "v1", kind: "Service", name: "web", uid: "uid-svc-web", controller: true, blockOwnerDeletion: true }]);
    expect(s!.metadata.annotations?.["endpoints.kubernetes.io/last-change-trigger-time"]).toBe("2026-01-01T00:00:00Z");
    expect(s!.addressType).toBe("IPv4");
    expect(s!.ports).toEqual([{ name: "", port: 8080, protocol: "TCP" }]);
    expect(s!.endpoints).toEqual([
      { addresses: ["127.244.1.2"], conditions: { ready: true, serving: true, terminating: false }, targetRef: { kind: "Pod", namespace: "default", name: "a", uid: "uid-a" }, nodeName: "kubemu" },
      { addresses: ["127.244.1.3"], conditions: { ready: false, serving: false, terminating: false }, targetRef: { kind: "Pod", namespace: "default", name: "b", uid: "uid-b" }, nodeName: "kubemu" },
    ]);
  });

  it("terminating pods stay as serving/terminating endpoints that are not ready", async () => {
    const { fake, make } = setup([service("web")], [pod("a", { deleting: true }), pod("b", { ip: "127.244.1.3", deleting: true, ready: false })]);
    await make().sync("default/web");
    const conds = slicesOf(fake)[0]!.endpoints.map((e) => [e.targetRef!.name, e.conditions]);
    expect(conds).toEqual([
      ["a", { ready: false, serving: true, terminating: true }],
      ["b", { ready: false, serving: false, terminating: true }],
    ]);
  });

  it("publishNotReadyAddresses marks every endpoint ready", async () => {
    const { fake, make } = setup([service("web", { publishNotReadyAddresses: true })], [pod("a", { ready: false })]);
    await make().sync("default/web");
    expect(slicesOf(fake)[0]!.endpoints[0]!.conditions).toEqual({ ready: true, serving: false, terminating: false });
  });

  it("sets hostname for a headless Service's pods and the headless label", async () => {
    const { fake, make } = setup([service("nginx", { clusterIP: "None" })], [pod("web-0", { hostname: "web-0", subdomain: "nginx" })]);
    await make().sync("default/nginx");
    const s = slicesOf(fake)[0]!;
    expect(s.metadata.labels?.["service.kubernetes.io/headless"]).toBe("");
    expect(s.endpoints[0]!.hostname).toBe("web-0");
  });

  it("splits at 100 endpoints per slice, and pods with different resolved ports go to different slices", async () => {
    const pods = Array.from({ length: 250 }, (_, i) => pod(`p${String(i).padStart(3, "0")}`, { ip: `127.244.${Math.floor(i / 200)}.${(i % 200) + 1}` }));
    pods.push(pod("odd", { ip: "127.244.9.1", ports: [{ name: "http", containerPort: 9000 }] }));
    const svc = service("web", { ports: [{ port: 80, targetPort: "http" }] });
    const { fake, make } = setup([svc], pods);
    await make().sync("default/web");
    const sizes = slicesOf(fake)
      .map((s) => `${s.ports![0]!.port}:${s.endpoints.length}`)
      .sort();
    expect(sizes).toEqual(["8080:100", "8080:100", "8080:50", "9000:1"]);
  });

  it("keeps an unchanged slice and rewrites one whose pod became not ready", async () => {
    const { fake, make } = setup([service("web")], [pod("a"), pod("b", { ip: "127.244.1.3" })]);
    await make().sync("default/web");
    fake.clearActions();
    await make().sync("default/web");
    expect(fake.writes()).toEqual([]);
    await fake.updateStatus(Resources.pods, pod("b", { ip: "127.244.1.3", ready: false, readySince: "2026-01-01T00:05:00Z" }));
    await make().sync("default/web");
    expect(fake.writes().map((a) => a.verb)).toEqual(["update-status", "update"]);
    const s = slicesOf(fake)[0]!;
    expect(s.endpoints.find((e) => e.targetRef!.name === "b")!.conditions!.ready).toBe(false);
  });

  it("a Service with no pods gets one empty placeholder slice, kept as it is", async () => {
    const { fake, make } = setup([service("web")], []);
    await make().sync("default/web");
    expect(slicesOf(fake).map((s) => [s.endpoints.length, s.ports!.length])).toEqual([[0, 0]]);
    fake.clearActions();
    await make().sync("default/web");
    expect(fake.writes()).toEqual([]);
  });

  it("a pod appearing reuses the placeholder slice instead of deleting it", async () => {
    const { fake, make } = setup([service("web")], []);
    await make().sync("default/web");
    await fake.create(Resources.pods, pod("a"));
    fake.clearActions();
    await make().sync("default/web");
    expect(fake.writes().map((a) => a.verb)).toEqual(["update"]);
    expect(slicesOf(fake)[0]!.endpoints.map((e) => e.targetRef!.name)).toEqual(["a"]);
  });

  it("Services without a selector get no slices from it", async () => {
    const { fake, make } = setup([service("external-service", { selector: null })], [pod("a")]);
    await make().sync("default/external-service");
    expect(fake.writes()).toEqual([]);
  });

  it("a pod on a missing Node is left out and the sync fails with upstream's message and event", async () => {
    const { fake, make, recorder } = setup([service("web")], [pod("a"), pod("b", { ip: "127.244.1.3", node: "ghost" })]);
    await expect(make().sync("default/web")).rejects.toThrow("skipping Pod b for Service default/web: Node ghost Not Found");
    expect(slicesOf(fake)[0]!.endpoints.map((e) => e.targetRef!.name)).toEqual(["a"]);
    expect(recorder.lines()).toEqual(["Warning FailedToUpdateEndpointSlices Error updating Endpoint Slices for Service default/web: skipping Pod b for Service default/web: Node ghost Not Found"]);
  });

  it("refuses to act on a cache that has not seen its own writes", async () => {
    const { fake, make, tracker } = setup([service("web")], [pod("a")]);
    const first = make();
    await first.sync("default/web");
    const created = slicesOf(fake)[0]!;
    tracker.update({ ...created, metadata: { ...created.metadata, resourceVersion: String(Number(created.metadata.resourceVersion) + 5) } });
    await expect(make().sync("default/web")).rejects.toBeInstanceOf(StaleInformerCacheError);
  });
});
