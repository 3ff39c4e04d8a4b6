/**
 * pods/eviction against the real store: PodDisruptionBudgets decide (429 while none is allowed,
 * decrement and disruptedPods when one is), pods that can skip the budget go at once, unhealthy
 * pods go without spending, DisruptionTarget EvictionByEvictionAPI, several PDBs, dry run.
 */
import { describe, expect, it } from "vitest";
import { failure, newStore } from "./helpers.js";

type Obj = Record<string, any>;

async function setup(pdbStatus: Obj | undefined, pdbSpec: Obj = { minAvailable: 1 }) {
  const { store, def, clock } = await newStore();
  const pods = def("", "pods");
  const pdbs = def("policy", "poddisruptionbudgets");
  const mkPod = async (name: string, o: { ready?: boolean; phase?: string; labels?: Obj } = {}) => {
    await store.create(pods, "default", { metadata: { name, labels: o.labels ?? { app: "web" } }, spec: { nodeName: "kubemu", containers: [{ name: "c", image: "nginx" }] } });
    const cur = (await store.get(pods, "default", name)) as Obj;
    await store.update(pods, "default", name, { ...cur, status: { phase: o.phase ?? "Running", conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }] } }, { subresource: "status" });
  };
  if (pdbStatus) {
    await store.create(pdbs, "default", { metadata: { name: "web-pdb" }, spec: { selector: { matchLabels: { app: "web" } }, ...pdbSpec } });
    const cur = (await store.get(pdbs, "default", "web-pdb")) as Obj;
    await store.update(pdbs, "default", "web-pdb", { ...cur, status: { observedGeneration: 1, ...pdbStatus } }, { subresource: "status" });
  }
  const evict = (name: string, body: Obj = {}, dryRun = false) => store.evict(pods, "default", name, { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace: "default" }, ...body }, { dryRun });
  const pod = (name: string) => store.get(pods, "default", name) as Promise<Obj>;
  const pdb = () => store.get(pdbs, "default", "web-pdb") as Promise<Obj>;
  return { store, pods, pdbs, mkPod, evict, pod, pdb, clock };
}

describe("pods/eviction and PodDisruptionBudgets", () => {
  it("refuses with 429 while the budget allows no disruption, in upstream's words", async () => {
    const s = await setup({ disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2, expectedPods: 2 });
    await s.mkPod("web-1");
    const e = await failure(s.evict("web-1"));
    expect(e.status).toMatchObject({
      code: 429,
      reason: "TooManyRequests",
      message: "Cannot evict pod as it would violate the pod's disruption budget.",
      details: { causes: [{ reason: "DisruptionBudget", message: "The disruption budget web-pdb needs 2 healthy pods and has 2 currently" }] },
    });
    expect((await s.pod("web-1")).metadata.deletionTimestamp).toBeUndefined();
  });

  it("spends one disruption: disruptionsAllowed decremented, the pod in disruptedPods, InsufficientPods at 0, DisruptionTarget on the pod, graceful delete", async () => {
    const s = await setup({ disruptionsAllowed: 1, currentHealthy: 2, desiredHealthy: 1, expectedPods: 2, conditions: [{ type: "DisruptionAllowed", status: "True", reason: "SufficientPods", message: "", observedGeneration: 1, lastTransitionTime: "2025-12-31T00:00:00Z" }] });
    await s.mkPod("web-1");
    await s.mkPod("web-2");
    await s.evict("web-1");
    const st = (await s.pdb()).status;
    expect(st.disruptionsAllowed).toBe(0);
    expect(st.disruptedPods).toEqual({ "web-1": "2026-01-01T00:00:00Z" });
    expect(st.conditions).toEqual([{ type: "DisruptionAllowed", status: "False", reason: "InsufficientPods", message: "", observedGeneration: 1, lastTransitionTime: "2026-01-01T00:00:00Z" }]);
    const p = await s.pod("web-1");
    expect(p.metadata.deletionTimestamp).toBeDefined();
    expect(p.metadata.deletionGracePeriodSeconds).toBe(30);
    expect(p.status.conditions).toContainEqual({ type: "DisruptionTarget", status: "True", reason: "EvictionByEvictionAPI", message: "Eviction API: evicting", lastProbeTime: null, lastTransitionTime: "2026-01-01T00:00:00Z" });
    // The next one waits for the controller to recount.
    expect((await failure(s.evict("web-2"))).status.code).toBe(429);
  });

  it("a budget not yet observed at its generation answers 429 'still being processed' with retryAfterSeconds 10", async () => {
    const s = await setup({ disruptionsAllowed: 5, currentHealthy: 2, desiredHealthy: 1, expectedPods: 2, observedGeneration: 0 });
    await s.mkPod("web-1");
    const e = await failure(s.evict("web-1"));
    expect(e.status).toMatchObject({ code: 429, details: { retryAfterSeconds: 10, causes: [{ reason: "DisruptionBudget", message: "The disruption budget web-pdb is still being processed by the server." }] } });
  });

  it("pods that are Pending, terminal or already being deleted go without asking the budget", async () => {
    const s = await setup({ disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 2, expectedPods: 2 });
    await s.mkPod("pending", { phase: "Pending", ready: false });
    await s.mkPod("done", { phase: "Succeeded", ready: false });
    await s.evict("pending");
    await s.evict("done", { deleteOptions: { gracePeriodSeconds: 0 } });
    expect((await s.pod("pending")).metadata.deletionTimestamp).toBeDefined();
    expect((await failure(s.pod("done"))).status.code).toBe(404);
    expect((await s.pdb()).status.disruptionsAllowed).toBe(0);
  });

  it("an unhealthy pod goes without spending a disruption while the budget is met; not while it is not (unless AlwaysAllow)", async () => {
    const met = await setup({ disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2, expectedPods: 3 });
    await met.mkPod("sick", { ready: false });
    await met.evict("sick");
    expect((await met.pod("sick")).metadata.deletionTimestamp).toBeDefined();
    expect((await met.pdb()).status.disruptedPods).toBeUndefined();

    const short = await setup({ disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 2, expectedPods: 3 });
    await short.mkPod("sick", { ready: false });
    expect((await failure(short.evict("sick"))).status.code).toBe(429);

    const always = await setup({ disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 2, expectedPods: 3 }, { minAvailable: 2, unhealthyPodEvictionPolicy: "AlwaysAllow" });
    await always.mkPod("sick", { ready: false });
    await always.evict("sick");
    expect((await always.pod("sick")).metadata.deletionTimestamp).toBeDefined();
  });

  it("no PDB: a plain eviction; two PDBs: 500 'more than one PodDisruptionBudget'", async () => {
    const none = await setup(undefined);
    await none.mkPod("web-1");
    await none.evict("web-1");
    expect((await none.pod("web-1")).metadata.deletionTimestamp).toBeDefined();

    const two = await setup({ disruptionsAllowed: 3, currentHealthy: 2, desiredHealthy: 1, expectedPods: 2 });
    await two.store.create(two.pdbs, "default", { metadata: { name: "everything" }, spec: { selector: {}, maxUnavailable: 1 } });
    await two.mkPod("web-1");
    const e = await failure(two.evict("web-1"));
    expect(e.status).toMatchObject({ code: 500, message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support." });
  });

  it("dry run checks the budget but changes nothing", async () => {
    const s = await setup({ disruptionsAllowed: 1, currentHealthy: 2, desiredHealthy: 1, expectedPods: 2 });
    await s.mkPod("web-1");
    await s.evict("web-1", {}, true);
    expect((await s.pdb()).status.disruptionsAllowed).toBe(1);
    expect((await s.pod("web-1")).metadata.deletionTimestamp).toBeUndefined();
    expect((await s.pod("web-1")).status.conditions.find((c: Obj) => c.type === "DisruptionTarget")).toBeUndefined();
  });

  it("a uid precondition that does not match is a 409; a name that does not match is a 400", async () => {
    const s = await setup(undefined);
    await s.mkPod("web-1");
    expect((await failure(s.evict("web-1", { deleteOptions: { preconditions: { uid: "other" } } }))).status.code).toBe(409);
    const bad = await failure(s.store.evict(s.pods, "default", "web-1", { metadata: { name: "web-2" } }));
    expect(bad.status).toMatchObject({ code: 400, message: "name in URL does not match name in Eviction object" });
  });
});
