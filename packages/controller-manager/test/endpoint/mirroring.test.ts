import { describe, expect, it } from "vitest";
import { Resources, silentLogger, type KubeObject } from "@kubemu/common";
import { EndpointSliceTracker, serviceKeyOfSlice } from "../../src/controllers/endpoint-util/slice-tracker.js";
import type { EndpointSliceObject } from "../../src/controllers/endpointslice/endpoints.js";
import { MirroringReconciler, type EndpointsObject } from "../../src/controllers/endpointslicemirroring/reconciler.js";
import { MirroringSync } from "../../src/controllers/endpointslicemirroring/sync.js";
import { FakeClient, FakeRecorder } from "../fake-client.js";
import { service } from "./fixtures.js";

const external = (over: Partial<EndpointsObject> = {}): EndpointsObject => ({
  apiVersion: "v1",
  kind: "Endpoints",
  metadata: { name: "external-service", namespace: "default", uid: "uid-ep", resourceVersion: "3", labels: { team: "a" }, annotations: { note: "x", "kubectl.kubernetes.io/last-applied-configuration": "{}" } },
  subsets: [{ addresses: [{ ip: "11.11.11.11" }, { ip: "22.22.22.22" }], notReadyAddresses: [{ ip: "33.33.33.33" }], ports: [{ port: 80 }] }],
  ...over,
});

function setup(services: KubeObject[], endpoints: KubeObject[], slices: KubeObject[] = []) {
  const fake = new FakeClient([
    { resource: Resources.services, objects: services },
    { resource: Resources.endpoints, objects: endpoints },
    { resource: Resources.endpointSlices, objects: slices },
  ]);
  const recorder = new FakeRecorder();
  const tracker = new EndpointSliceTracker(serviceKeyOfSlice);
  const make = () => new MirroringSync({ endpoints: fake.indexer(Resources.endpoints), services: fake.indexer(Resources.services), slices: fake.indexer(Resources.endpointSlices), reconciler: new MirroringReconciler({ client: fake, tracker, recorder, logger: silentLogger }), tracker });
  return { fake, recorder, make };
}

const slicesOf = (fake: FakeClient) => fake.objects<EndpointSliceObject>(Resources.endpointSlices);

describe("endpointslice mirroring controller", () => {
  it("mirrors a selector-less Service's Endpoints into one slice, owned by the Endpoints", async () => {
    const { fake, make } = setup([service("external-service", { selector: null, ports: [{ port: 80 }] })], [external()]);
    await make().sync("default/external-service");
    const [s, ...rest] = slicesOf(fake);
    expect(rest).toEqual([]);
    expect(s!.metadata.generateName).toBe("external-service-");
    expect(s!.metadata.labels).toEqual({ team: "a", "kubernetes.io/service-name": "external-service", "endpointslice.kubernetes.io/managed-by": "endpointslicemirroring-controller.k8s.io" });
    expect(s!.metadata.annotations).toEqual({ note: "x" });
    expect(s!.metadata.ownerReferences).toEqual([{ apiVersion: "v1", kind: "Endpoints", name: "external-service", uid: "uid-ep", controller: true, blockOwnerDeletion: true }]);
    expect(s!.addressType).toBe("IPv4");
    expect(s!.ports).toEqual([{ name: "", port: 80, protocol: "TCP" }]);
    expect(s!.endpoints.map((e) => [e.addresses[0], e.conditions!.ready])).toEqual([
      ["11.11.11.11", true],
      ["22.22.22.22", true],
      ["33.33.33.33", false],
    ]);
    fake.clearActions();
    await make().sync("default/external-service");
    expect(fake.writes()).toEqual([]);
  });

  it("follows an edit of the Endpoints with an update of the same slice", async () => {
    const { fake, make } = setup([service("external-service", { selector: null })], [external()]);
    await make().sync("default/external-service");
    await fake.update(Resources.endpoints, external({ subsets: [{ addresses: [{ ip: "44.44.44.44" }], ports: [{ port: 80 }] }] }));
    fake.clearActions();
    await make().sync("default/external-service");
    expect(fake.writes().map((a) => a.verb)).toEqual(["update"]);
    expect(slicesOf(fake)[0]!.endpoints.map((e) => e.addresses[0])).toEqual(["44.44.44.44"]);
  });

  it("does not mirror a Service with a selector, skip-mirror Endpoints, or Endpoints without a Service — and cleans up", async () => {
    const old: EndpointSliceObject = { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", metadata: { name: "external-service-abc", namespace: "default", labels: { "kubernetes.io/service-name": "external-service", "endpointslice.kubernetes.io/managed-by": "endpointslicemirroring-controller.k8s.io" } }, addressType: "IPv4", endpoints: [] };
    const withSelector = setup([service("external-service")], [external()], [old]);
    await withSelector.make().sync("default/external-service");
    expect(slicesOf(withSelector.fake)).toEqual([]);

    const skip = setup([service("kubernetes", { selector: null })], [{ ...external(), metadata: { name: "kubernetes", namespace: "default", labels: { "endpointslice.kubernetes.io/skip-mirror": "true" } } }]);
    await skip.make().sync("default/kubernetes");
    expect(skip.fake.writes()).toEqual([]);

    const noService = setup([], [external()]);
    await noService.make().sync("default/external-service");
    expect(noService.fake.writes()).toEqual([]);
  });

  it("skips invalid IPs with an InvalidIPAddress event", async () => {
    const { fake, recorder, make } = setup([service("external-service", { selector: null })], [external({ subsets: [{ addresses: [{ ip: "11.11.11.11" }, { ip: "not-an-ip" }], ports: [{ port: 80 }] }] })]);
    await make().sync("default/external-service");
    expect(slicesOf(fake)[0]!.endpoints).toHaveLength(1);
    expect(recorder.lines()).toEqual(["Warning InvalidIPAddress Skipped 1 invalid IP addresses when mirroring to EndpointSlices"]);
  });

  it("two subsets with different ports make two slices", async () => {
    const { fake, make } = setup([service("external-service", { selector: null })], [external({ subsets: [{ addresses: [{ ip: "11.11.11.11" }], ports: [{ port: 80 }] }, { addresses: [{ ip: "22.22.22.22" }], ports: [{ port: 443 }] }] })]);
    await make().sync("default/external-service");
    expect(slicesOf(fake).map((s) => `${s.ports![0]!.port}:${s.endpoints[0]!.addresses[0]}`).sort()).toEqual(["443:22.22.22.22", "80:11.11.11.11"]);
  });
});
