/**
 * The disruption controller's PDB status over a FakeClient: minAvailable / maxUnavailable as
 * numbers and percentages of the controllers' scale (RS, Deployment, StatefulSet, RC, a custom
 * resource's scale), health counting, disruptedPods bookkeeping, fail-safe, events.
 */
import { describe, expect, it } from "vitest";
import { FakeClock, Resources, type KubeObject, type Lister, type ResourceRef } from "@kubemu/common";
import type { PodObject } from "../../src/controllers/node-util/conditions.js";
import type { PdbObject } from "../../src/controllers/disruption/conditions.js";
import { ControllerFinders } from "../../src/controllers/disruption/finders.js";
import { DisruptionSync } from "../../src/controllers/disruption/sync.js";
import { FakeClient, FakeRecorder } from "../fake-client.js";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");
const widgets: ResourceRef = { group: "example.com", version: "v1", resource: "widgets", kind: "Widget", namespaced: true };

function pdb(spec: Record<string, unknown>, status: Record<string, unknown> = {}, generation = 1): PdbObject {
  return { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: "web-pdb", namespace: "default", uid: "uid-pdb", generation }, spec: { selector: { matchLabels: { app: "web" } }, ...spec }, status: { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0, ...status } } as PdbObject;
}

function owner(kind: string, apiVersion: string, name: string, replicas: number, controller?: { kind: string; apiVersion: string; name: string }): KubeObject {
  return {
    apiVersion,
    kind,
    metadata: { name, namespace: "default", uid: `uid-${name}`, ...(controller ? { ownerReferences: [{ ...controller, uid: `uid-${controller.name}`, controller: true }] } : {}) },
    spec: { replicas },
  };
}

function pod(name: string, o: { ready?: boolean; owner?: { kind: string; apiVersion: string; name: string }; deleting?: boolean; labels?: Record<string, string> } = {}): PodObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      labels: o.labels ?? { app: "web" },
      ...(o.owner ? { ownerReferences: [{ ...o.owner, uid: `uid-${o.owner.name}`, controller: true }] } : {}),
      ...(o.deleting ? { deletionTimestamp: iso(T0) } : {}),
    },
    spec: { containers: [{ name: "c", image: "nginx" }] },
    status: { phase: "Running", conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }] },
  } as unknown as PodObject;
}

const RS = { kind: "ReplicaSet", apiVersion: "apps/v1", name: "web-rs" };
const SS = { kind: "StatefulSet", apiVersion: "apps/v1", name: "web" };

function setup(objects: { resource: ResourceRef; objects: KubeObject[] }[]) {
  const fake = new FakeClient(objects);
  const clock = new FakeClock(T0);
  const recorder = new FakeRecorder();
  const requeued: { key: string; ms: number }[] = [];
  const live = <T extends KubeObject>(r: ResourceRef): Lister<T> => ({
    get: (ns, n) => fake.indexer<T>(r).get(ns, n),
    getByKey: (k) => fake.indexer<T>(r).getByKey(k),
    list: (o) => fake.indexer<T>(r).list(o),
    byIndex: (i, v) => fake.indexer<T>(r).byIndex(i, v),
    keys: () => fake.indexer<T>(r).keys(),
    size: () => fake.indexer<T>(r).size(),
  });
  const finders = new ControllerFinders({ replicationControllers: live(Resources.replicationControllers), replicaSets: live(Resources.replicaSets), deployments: live(Resources.deployments), statefulSets: live(Resources.statefulSets) }, fake);
  const sync = new DisruptionSync({ client: fake, pdbs: live<PdbObject>(Resources.podDisruptionBudgets), pods: live<PodObject>(Resources.pods), finders, recorder, clock, enqueueAfter: (key, ms) => requeued.push({ key, ms }) });
  const status = () => fake.objects<PdbObject>(Resources.podDisruptionBudgets)[0]!.status!;
  return { fake, clock, recorder, requeued, sync, status, run: () => sync.sync("default/web-pdb") };
}

describe("PDB status", () => {
  it("minAvailable 2 of three Ready ReplicaSet pods allows one disruption (SufficientPods)", async () => {
    const s = setup([
      { resource: Resources.podDisruptionBudgets, objects: [pdb({ minAvailable: 2 })] },
      { resource: Resources.replicaSets, objects: [owner("ReplicaSet", "apps/v1", "web-rs", 3)] },
      { resource: Resources.pods, objects: [pod("a", { owner: RS }), pod("b", { owner: RS }), pod("c", { owner: RS })] },
    ]);
    await s.run();
    expect(s.status()).toEqual({
      disruptionsAllowed: 1,
      currentHealthy: 3,
      desiredHealthy: 2,
      expectedPods: 3,
      observedGeneration: 1,
      conditions: [{ type: "DisruptionAllowed", status: "True", reason: "SufficientPods", message: "", observedGeneration: 1, lastTransitionTime: iso(T0) }],
    });
    // Nothing changed: no second write.
    s.fake.clearActions();
    await s.run();
    expect(s.fake.writes()).toEqual([]);
  });

  it("maxUnavailable 1 takes the Deployment's scale over its ReplicaSet; a not-Ready pod leaves no disruption (InsufficientPods)", async () => {
    const s = setup([
      { resource: Resources.podDisruptionBudgets, objects: [pdb({ maxUnavailable: 1 })] },
      { resource: Resources.deployments, objects: [owner("Deployment", "apps/v1", "web", 3)] },
      { resource: Resources.replicaSets, objects: [owner("ReplicaSet", "apps/v1", "web-rs", 3, { kind: "Deployment", apiVersion: "apps/v1", name: "web" })] },
      { resource: Resources.pods, objects: [pod("a", { owner: RS }), pod("b", { owner: RS }), pod("c", { owner: RS, ready: false })] },
    ]);
    await s.run();
    expect(s.status()).toMatchObject({ disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2, expectedPods: 3 });
    expect(s.status().conditions).toEqual([{ type: "DisruptionAllowed", status: "False", reason: "InsufficientPods", message: "", observedGeneration: 1, lastTransitionTime: iso(T0) }]);
  });

  it("percentages are of the controllers' scale, rounded up: minAvailable 50% of a StatefulSet of 3 needs 2; maxUnavailable 34% of 3 lets 2 go", async () => {
    const objs = (spec: Record<string, unknown>) => [
      { resource: Resources.podDisruptionBudgets, objects: [pdb(spec)] },
      { resource: Resources.statefulSets, objects: [owner("StatefulSet", "apps/v1", "web", 3)] },
      { resource: Resources.pods, objects: [pod("web-0", { owner: SS }), pod("web-1", { owner: SS }), pod("web-2", { owner: SS })] },
    ];
    const a = setup(objs({ minAvailable: "50%" }));
    await a.run();
    expect(a.status()).toMatchObject({ desiredHealthy: 2, expectedPods: 3, disruptionsAllowed: 1 });
    const b = setup(objs({ maxUnavailable: "34%" }));
    await b.run();
    expect(b.status()).toMatchObject({ desiredHealthy: 1, expectedPods: 3, disruptionsAllowed: 2 });
  });

  it("a scaled-down controller counts its scale, not its pods (percent of 2 while 3 pods still run)", async () => {
    const s = setup([
      { resource: Resources.podDisruptionBudgets, objects: [pdb({ maxUnavailable: "50%" })] },
      { resource: Resources.replicationControllers, objects: [owner("ReplicationController", "v1", "web-rc", 2)] },
      { resource: Resources.pods, objects: ["a", "b", "c"].map((n) => pod(n, { owner: { kind: "ReplicationController", apiVersion: "v1", name: "web-rc" } })) },
    ]);
    await s.run();
    expect(s.status()).toMatchObject({ expectedPods: 2, desiredHealthy: 1, currentHealthy: 3, disruptionsAllowed: 2 });
  });

  it("a custom resource's scale comes from its CRD's specReplicasPath", async () => {
    const crd = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "widgets.example.com" },
      spec: { group: "example.com", scope: "Namespaced", names: { kind: "Widget", plural: "widgets" }, versions: [{ name: "v1", served: true, subresources: { scale: { specReplicasPath: ".spec.size" } } }] },
    };
    const w = { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w", namespace: "default", uid: "uid-w" }, spec: { size: 4 } };
    const s = setup([
      { resource: Resources.podDisruptionBudgets, objects: [pdb({ maxUnavailable: 1 })] },
      { resource: Resources.customResourceDefinitions, objects: [crd] },
      { resource: widgets, objects: [w] },
      { resource: Resources.pods, objects: ["a", "b", "c", "d"].map((n) => pod(n, { owner: { kind: "Widget", apiVersion: "example.com/v1", name: "w" } })) },
    ]);
    await s.run();
    expect(s.status()).toMatchObject({ expectedPods: 4, desiredHealthy: 3, disruptionsAllowed: 1 });
  });

  it("a kind without a scale fails safe: disruptionsAllowed 0, SyncFailed with the reason, CalculateExpectedPodCountFailed", async () => {
    const job = { kind: "Job", apiVersion: "batch/v1", name: "batch" };
    const s = setup([
      { resource: Resources.podDisruptionBudgets, objects: [pdb({ maxUnavailable: 1 }, { disruptionsAllowed: 3 })] },
      { resource: Resources.pods, objects: [pod("a", { owner: job })] },
    ]);
    await s.run();
    expect(s.status().disruptionsAllowed).toBe(0);
    expect(s.status().conditions).toEqual([{ type: "DisruptionAllowed", status: "False", reason: "SyncFailed", message: "jobs.batch does not implement the scale subresource", lastTransitionTime: iso(T0) }]);
    expect(s.recorder.lines()).toEqual(["Warning CalculateExpectedPodCountFailed Failed to calculate the number of expected pods: jobs.batch does not implement the scale subresource"]);
  });

  it("a controller that no longer exists: found no controllers for pod", async () => {
    const s = setup([
      { resource: Resources.podDisruptionBudgets, objects: [pdb({ minAvailable: "50%" })] },
      { resource: Resources.pods, objects: [pod("a", { owner: RS })] },
    ]);
    await s.run();
    expect(s.status().conditions?.[0]).toMatchObject({ reason: "SyncFailed", message: 'found no controllers for pod "a"' });
  });

  it("unmanaged pods with a percentage: UnmanagedPods warning; with an integer minAvailable they simply count", async () => {
    const a = setup([{ resource: Resources.podDisruptionBudgets, objects: [pdb({ maxUnavailable: "50%" })] }, { resource: Resources.pods, objects: [pod("bare")] }]);
    await a.run();
    expect(a.recorder.lines()).toEqual([
      'Warning UnmanagedPods Pods selected by this PodDisruptionBudget (selector: &LabelSelector{MatchLabels:map[string]string{app: web,},MatchExpressions:[]LabelSelectorRequirement{},}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.',
    ]);
    expect(a.status()).toMatchObject({ expectedPods: 0, disruptionsAllowed: 0 });
    const b = setup([{ resource: Resources.podDisruptionBudgets, objects: [pdb({ minAvailable: 1 })] }, { resource: Resources.pods, objects: [pod("bare"), pod("bare2")] }]);
    await b.run();
    expect(b.status()).toMatchObject({ expectedPods: 2, currentHealthy: 2, desiredHealthy: 1, disruptionsAllowed: 1 });
  });

  it("no pods: a NoPods event, and a closed budget", async () => {
    const s = setup([{ resource: Resources.podDisruptionBudgets, objects: [pdb({ minAvailable: 0 })] }, { resource: Resources.pods, objects: [pod("other", { labels: { app: "other" } })] }]);
    await s.run();
    expect(s.recorder.lines()).toEqual(["Normal NoPods No matching pods found"]);
    expect(s.status()).toMatchObject({ expectedPods: 0, currentHealthy: 0, disruptionsAllowed: 0 });
  });

  it("pods being deleted are not healthy", async () => {
    const s = setup([{ resource: Resources.podDisruptionBudgets, objects: [pdb({ minAvailable: 1 })] }, { resource: Resources.pods, objects: [pod("a"), pod("b", { deleting: true })] }]);
    await s.run();
    expect(s.status()).toMatchObject({ expectedPods: 2, currentHealthy: 1, disruptionsAllowed: 0 });
  });

  it("disruptedPods: an approved eviction stops counting at once; its entry goes when the pod is deleted, or after 2 minutes with NotDeleted", async () => {
    const approved = { a: iso(T0 - 30_000), b: iso(T0 - 10_000) };
    const s = setup([
      { resource: Resources.podDisruptionBudgets, objects: [pdb({ minAvailable: 1 }, { disruptedPods: approved, disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1, expectedPods: 3 })] },
      { resource: Resources.pods, objects: [pod("a"), pod("b", { deleting: true }), pod("c")] },
    ]);
    await s.run();
    expect(s.status()).toMatchObject({ currentHealthy: 1, disruptedPods: { a: approved.a }, disruptionsAllowed: 0 });
    expect(s.requeued).toEqual([{ key: "default/web-pdb", ms: 90_000 }]);
    s.clock.advance(90_001);
    await s.run();
    expect(s.status().disruptedPods).toBeUndefined();
    expect(s.status()).toMatchObject({ currentHealthy: 2, disruptionsAllowed: 1 });
    expect(s.recorder.lines()).toEqual(["Warning NotDeleted Pod was expected by PDB default/default to be deleted but it wasn't"]);
  });

  it("a new generation is observed even when the numbers stay", async () => {
    const s = setup([{ resource: Resources.podDisruptionBudgets, objects: [pdb({ minAvailable: 1 })] }, { resource: Resources.pods, objects: [pod("a"), pod("b")] }]);
    await s.run();
    const cur = s.fake.objects<PdbObject>(Resources.podDisruptionBudgets)[0]!;
    await s.fake.update(Resources.podDisruptionBudgets, { ...cur, metadata: { ...cur.metadata, generation: 2 } });
    await s.run();
    expect(s.status()).toMatchObject({ observedGeneration: 2, disruptionsAllowed: 1 });
    expect(s.status().conditions?.[0]).toMatchObject({ observedGeneration: 2, lastTransitionTime: iso(T0) });
  });
});

describe("pods and PDBs", () => {
  it("a pod picked by two PDBs wakes the first and gets MultiplePodDisruptionBudgets; a PDB without selector picks none, an empty one all", async () => {
    const second = { ...pdb({ minAvailable: 1 }), metadata: { name: "all", namespace: "default", uid: "uid-all" }, spec: { selector: {}, minAvailable: 1 } } as PdbObject;
    const none = { ...pdb({ minAvailable: 1 }), metadata: { name: "none", namespace: "default", uid: "uid-none" }, spec: { minAvailable: 1 } } as PdbObject;
    const s = setup([{ resource: Resources.podDisruptionBudgets, objects: [second, none, pdb({ minAvailable: 1 })] }, { resource: Resources.pods, objects: [pod("a")] }]);
    const chosen = s.sync.pdbForPod(pod("a"));
    expect(chosen?.metadata.name).toBe("all");
    expect(s.recorder.lines()).toEqual(['Warning MultiplePodDisruptionBudgets Pod "default"/"a" matches multiple PodDisruptionBudgets.  Chose "all" arbitrarily.']);
    expect(s.sync.pdbForPod(pod("x", { labels: { app: "other" } }))?.metadata.name).toBe("all");
  });

  it("a DisruptionTarget condition on a pod that was never deleted is set False after 2 minutes", async () => {
    const p = pod("a");
    (p.status!.conditions as unknown[]).push({ type: "DisruptionTarget", status: "True", reason: "EvictionByEvictionAPI", message: "Eviction API: evicting", lastTransitionTime: iso(T0) });
    const s = setup([{ resource: Resources.pods, objects: [p] }]);
    expect(await s.sync.syncStalePodDisruption("default/a")).toBe(120_000);
    s.clock.advance(120_000);
    expect(await s.sync.syncStalePodDisruption("default/a")).toBeUndefined();
    const cond = s.fake.objects<PodObject>(Resources.pods)[0]!.status!.conditions!.find((c) => c.type === "DisruptionTarget");
    expect(cond).toMatchObject({ status: "False", lastTransitionTime: iso(T0 + 120_000) });
  });
});
