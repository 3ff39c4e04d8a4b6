/**
 * The namespace deleter over a FakeClient with the API server's deletion semantics: the whole
 * sequence (Terminating, every resource emptied, conditions, the finalize subresource), content
 * held by finalizers and by pods' grace periods (estimates), and each failure condition.
 */
import { describe, expect, it } from "vitest";
import { FakeClock, Resources, StatusError, newNotFound, newStatus, silentLogger, type KubeObject, type ResourceRef } from "@kubemu/common";
import { NamespacedResourcesDeleter, ResourcesRemainingError, type Discovery, type NamespaceObject } from "../../src/controllers/namespace/deleter.js";
import { FakeClient } from "../fake-client.js";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const widgets: ResourceRef = Object.freeze({ group: "example.com", version: "v1", resource: "widgets", kind: "Widget", namespaced: true });
const { pods, configMaps, namespaces } = Resources;

const terminating = (phase = "Terminating"): NamespaceObject => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name: "team", uid: "uid-team", resourceVersion: "1", deletionTimestamp: "2026-01-01T00:00:00Z" },
  spec: { finalizers: ["kubernetes"] },
  status: { phase },
});

const item = (r: ResourceRef, name: string, extra: Partial<KubeObject["metadata"]> = {}, spec?: Record<string, unknown>): KubeObject =>
  ({ apiVersion: r.group ? `${r.group}/${r.version}` : r.version, kind: r.kind, metadata: { name, namespace: "team", uid: `uid-${name}`, resourceVersion: "1", ...extra }, ...(spec ? { spec } : {}) }) as KubeObject;

function setup(objects: { resource: ResourceRef; objects: KubeObject[] }[], opts: { ns?: NamespaceObject; discover?: () => Discovery; at?: number } = {}) {
  const clock = new FakeClock(opts.at ?? T0 + 6000);
  const fake = new FakeClient([{ resource: namespaces, objects: [opts.ns ?? terminating()] }, ...objects], { lifecycle: true });
  const resources = [pods, configMaps, widgets];
  const deleter = new NamespacedResourcesDeleter({ client: fake, discover: opts.discover ?? (() => ({ resources })), clock, logger: silentLogger });
  const ns = () => fake.objects<NamespaceObject>(namespaces).find((n) => n.metadata.name === "team");
  const conditions = () => Object.fromEntries((ns()?.status?.conditions ?? []).map((c) => [c.type, `${c.status} ${c.reason}: ${c.message}`]));
  return { clock, fake, deleter, ns, conditions };
}

describe("namespace deletion", () => {
  it("empties every resource with deletecollection, records the conditions, then finalizes and the namespace goes", async () => {
    const { fake, deleter, ns, conditions } = setup([
      { resource: pods, objects: [item(pods, "p1"), item(pods, "p2")] },
      { resource: configMaps, objects: [item(configMaps, "c1"), { ...item(configMaps, "elsewhere"), metadata: { ...item(configMaps, "elsewhere").metadata, namespace: "other" } }] },
      { resource: widgets, objects: [item(widgets, "w1")] },
    ]);
    const statuses: unknown[] = [];
    fake.react((a) => {
      if (a.verb === "update-status") statuses.push(structuredClone((a.object as NamespaceObject).status?.conditions));
      return undefined;
    });
    await deleter.delete("team");
    expect(ns()).toBeUndefined();
    expect(fake.objects(pods)).toEqual([]);
    expect(fake.objects(widgets)).toEqual([]);
    expect(fake.objects(configMaps).map((c) => c.metadata.name)).toEqual(["elsewhere"]);
    expect(fake.writes().map((a) => `${a.verb}${a.subresource ? `/${a.subresource}` : ""} ${a.resource}`)).toEqual([
      "deletecollection pods",
      "deletecollection configmaps",
      "deletecollection widgets",
      "update-status/status namespaces",
      // As upstream: finalize sends the namespace read before the conditions were written, so the
      // first attempt conflicts and the retry, after a fresh read, lands.
      "update/finalize namespaces",
      "update/finalize namespaces",
    ]);
    expect(fake.writes()[0]!.options).toEqual({ namespace: "team", propagationPolicy: "Background" });
    expect(statuses[0]).toEqual([
      { type: "NamespaceDeletionDiscoveryFailure", status: "False", lastTransitionTime: "2026-01-01T00:00:06Z", reason: "ResourcesDiscovered", message: "All resources successfully discovered" },
      { type: "NamespaceDeletionGroupVersionParsingFailure", status: "False", lastTransitionTime: "2026-01-01T00:00:06Z", reason: "ParsedGroupVersions", message: "All legacy kube types successfully parsed" },
      { type: "NamespaceDeletionContentFailure", status: "False", lastTransitionTime: "2026-01-01T00:00:06Z", reason: "ContentDeleted", message: "All content successfully deleted, may be waiting on finalization" },
      { type: "NamespaceContentRemaining", status: "False", lastTransitionTime: "2026-01-01T00:00:06Z", reason: "ContentRemoved", message: "All content successfully removed" },
      { type: "NamespaceFinalizersRemaining", status: "False", lastTransitionTime: "2026-01-01T00:00:06Z", reason: "ContentRemoved", message: "All content successfully removed" },
    ]);
    expect(conditions()).toEqual({});
  });

  it("marks a deleted namespace Terminating first; a namespace not being deleted or already gone is left alone", async () => {
    const { fake, deleter } = setup([], { ns: terminating("Active") });
    await deleter.delete("team");
    expect(fake.writes()[0]).toMatchObject({ verb: "update-status", resource: "namespaces" });
    expect((fake.writes()[0]!.object as NamespaceObject).status?.phase).toBe("Terminating");

    const live = setup([], { ns: { ...terminating("Active"), metadata: { name: "team", uid: "uid-team", resourceVersion: "1" } } });
    await live.deleter.delete("team");
    await live.deleter.delete("missing");
    expect(live.fake.writes()).toEqual([]);
  });

  it("content held by finalizers: ContentRemaining and FinalizersRemaining, a 15 s estimate, finalized once it goes", async () => {
    const { fake, deleter, ns, conditions } = setup([{ resource: configMaps, objects: [item(configMaps, "held", { finalizers: ["example.com/hold"] })] }]);
    const err = await deleter.delete("team").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResourcesRemainingError);
    expect((err as ResourcesRemainingError).estimate).toBe(15);
    expect((err as Error).message).toBe("some content remains in the namespace, estimate 15 seconds before it is removed");
    expect(conditions()).toMatchObject({
      NamespaceContentRemaining: "True SomeResourcesRemain: Some resources are remaining: configmaps. has 1 resource instances",
      NamespaceFinalizersRemaining: "True SomeFinalizerRemain: Some finalizers are remaining: example.com/hold in 1 resource instances",
      NamespaceDeletionContentFailure: "False ContentDeleted: All content successfully deleted, may be waiting on finalization",
    });
    expect(fake.writes().some((a) => a.subresource === "finalize")).toBe(false);
    await fake.patch(configMaps, "team", "held", "merge", { metadata: { finalizers: null } });
    await deleter.delete("team");
    expect(ns()).toBeUndefined();
  });

  it("terminating pods: the longest grace period is the estimate until that long has passed since the deletion", async () => {
    const pod = item(pods, "slow", { finalizers: ["example.com/hold"] }, { terminationGracePeriodSeconds: 30 });
    const early = setup([{ resource: pods, objects: [pod] }], { at: T0 + 10_000 });
    expect(((await early.deleter.delete("team").catch((e: unknown) => e)) as ResourcesRemainingError).estimate).toBe(30);
    const late = setup([{ resource: pods, objects: [pod] }], { at: T0 + 31_000 });
    expect(((await late.deleter.delete("team").catch((e: unknown) => e)) as ResourcesRemainingError).estimate).toBe(15);
    // A finished pod's grace period does not count.
    const done = setup([{ resource: pods, objects: [{ ...pod, status: { phase: "Succeeded" } } as KubeObject] }], { at: T0 + 10_000 });
    expect(((await done.deleter.delete("team").catch((e: unknown) => e)) as ResourcesRemainingError).estimate).toBe(15);
  });

  it("a failing deletecollection is NamespaceDeletionContentFailure; the namespace is not finalized", async () => {
    const { fake, deleter, ns, conditions } = setup([{ resource: configMaps, objects: [item(configMaps, "c1")] }]);
    fake.failOn("deletecollection", "configmaps", new StatusError(newStatus("InternalError", "Internal error occurred: etcd is down")));
    await expect(deleter.delete("team")).rejects.toThrow("Internal error occurred: etcd is down");
    expect(conditions().NamespaceDeletionContentFailure).toBe("True ContentDeletionFailed: Failed to delete all resource types, 1 remaining: Internal error occurred: etcd is down");
    expect(ns()).toBeDefined();
  });

  it("discovery failing for some groups is NamespaceDeletionDiscoveryFailure; what was discovered is still emptied", async () => {
    const { fake, deleter, ns, conditions } = setup([{ resource: configMaps, objects: [item(configMaps, "c1")] }], {
      discover: () => ({ resources: [configMaps], error: { message: "unable to retrieve the complete list of server APIs: metrics.k8s.io/v1beta1: the server is currently unable to handle the request", failedGroups: 1 } }),
    });
    await expect(deleter.delete("team")).rejects.toThrow("unable to retrieve the complete list of server APIs");
    expect(conditions().NamespaceDeletionDiscoveryFailure).toBe(
      "True DiscoveryFailed: Discovery failed for some groups, 1 failing: unable to retrieve the complete list of server APIs: metrics.k8s.io/v1beta1: the server is currently unable to handle the request",
    );
    expect(fake.objects(configMaps)).toEqual([]);
    expect(ns()).toBeDefined();
  });

  it("where deletecollection is not served, items are deleted one by one (and deletecollection is not tried again)", async () => {
    const { fake, deleter, ns } = setup([{ resource: widgets, objects: [item(widgets, "w1"), item(widgets, "w2")] }]);
    fake.failOn("deletecollection", "widgets", new StatusError(newStatus("MethodNotAllowed", "the server does not allow this method on the requested resource")));
    await deleter.delete("team");
    expect(ns()).toBeUndefined();
    expect(fake.writes().filter((a) => a.resource === "widgets").map((a) => `${a.verb} ${a.name ?? ""}`)).toEqual(["deletecollection ", "delete w1", "delete w2"]);
  });

  it("items left with no finalizer and no estimate are unexpected: an error naming the resource, and ContentRemaining", async () => {
    const { fake, deleter, conditions } = setup([{ resource: configMaps, objects: [item(configMaps, "stuck")] }]);
    fake.failOn("deletecollection", "configmaps", newNotFound({ resource: "configmaps" }, ""));
    fake.failOn("delete", "configmaps", new StatusError(newStatus("MethodNotAllowed", "the server does not allow this method on the requested resource")));
    await expect(deleter.delete("team")).rejects.toThrow("unexpected items still remain in namespace: team for gvr: /v1, Resource=configmaps");
    expect(conditions()).toMatchObject({
      NamespaceContentRemaining: "True SomeResourcesRemain: Some resources are remaining: configmaps. has 1 resource instances",
      NamespaceDeletionContentFailure: "True ContentDeletionFailed: Failed to delete all resource types, 1 remaining: unexpected items still remain in namespace: team for gvr: /v1, Resource=configmaps",
    });
  });

  it("a later pass that succeeds sets the failed condition back to False with a new transition time", async () => {
    const { fake, deleter, clock, conditions, ns } = setup([{ resource: configMaps, objects: [item(configMaps, "c1")] }]);
    let fail = true;
    fake.react((a) => (fail && a.verb === "deletecollection" ? new StatusError(newStatus("InternalError", "Internal error occurred: boom")) : undefined));
    await deleter.delete("team").catch(() => undefined);
    expect(conditions().NamespaceDeletionContentFailure).toMatch(/^True/);
    fail = false;
    clock.advance(5000);
    const statuses: NamespaceObject[] = [];
    fake.react((a) => {
      if (a.verb === "update-status") statuses.push(structuredClone(a.object as NamespaceObject));
      return undefined;
    });
    await deleter.delete("team");
    const c = statuses[0]!.status!.conditions!.find((x) => x.type === "NamespaceDeletionContentFailure")!;
    expect([c.status, c.reason, c.lastTransitionTime]).toEqual(["False", "ContentDeleted", "2026-01-01T00:00:11Z"]);
    expect(ns()).toBeUndefined();
  });
});
