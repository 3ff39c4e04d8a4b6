/** scheduling.k8s.io/v1 PriorityClass and the Priority admission plugin, on the real store. */
import { describe, expect, it } from "vitest";
import { newStore, failure } from "./helpers.js";
import { builtinRegistry } from "../../src/registry/registry.js";
import { apiResourceList } from "../../src/http/discovery.js";
import { toTable } from "../../src/http/table.js";
import { openApiV3Document } from "../../src/openapi/index.js";


const pod = (name: string, spec: Record<string, unknown> = {}) => ({ metadata: { name }, spec: { containers: [{ name: "c", image: "busybox" }], ...spec } });

async function setup() {
  const s = await newStore();
  const pcs = s.def("scheduling.k8s.io", "priorityclasses");
  const pods = s.def("", "pods");
  const createPc = (name: string, value: number, extra: Record<string, unknown> = {}) => s.store.create(pcs, undefined, { apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", metadata: { name }, value, ...extra }) as Promise<any>;
  return { ...s, pcs, pods, createPc };
}

describe("PriorityClass", () => {
  it("bootstrap creates the two system classes as kube-apiserver does", async () => {
    const { store, pcs } = await setup();
    const { items } = await store.list(pcs, undefined, {});
    expect(items.map((i: any) => [i.metadata.name, i.value, i.preemptionPolicy, i.globalDefault])).toEqual([
      ["system-cluster-critical", 2000000000, "PreemptLowerPriority", undefined],
      ["system-node-critical", 2000001000, "PreemptLowerPriority", undefined],
    ]);
    expect((items[1] as any).description).toBe("Used for system critical pods that must not be moved from their current node.");
    expect((items[0] as any).description).toBe("Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.");
  });

  it("defaults preemptionPolicy, keeps value, and drops Go's omitempty zero values", async () => {
    const { createPc } = await setup();
    const pc = await createPc("high", 1000, { globalDefault: false, description: "" });
    expect(pc).toMatchObject({ apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", value: 1000, preemptionPolicy: "PreemptLowerPriority" });
    expect(pc.globalDefault).toBeUndefined();
    expect(pc.description).toBeUndefined();
    expect(pc.metadata.namespace).toBeUndefined();
    expect((await createPc("zero", undefined as unknown as number)).value).toBe(0);
  });

  it("validates as upstream: user values up to 1e9, system- names reserved, preemptionPolicy values", async () => {
    const { createPc } = await setup();
    expect((await createPc("top", 1_000_000_000)).value).toBe(1_000_000_000);
    expect((await createPc("negative", -5)).value).toBe(-5);
    const big = await failure(createPc("big", 1_000_000_001));
    expect(big.status).toMatchObject({ code: 422, reason: "Invalid", message: 'PriorityClass.scheduling.k8s.io "big" is invalid: value: Forbidden: maximum allowed value of a user defined priority is 1000000000' });
    const sys = await failure(createPc("system-mine", 10));
    expect(sys.status.message).toBe(
      "PriorityClass.scheduling.k8s.io \"system-mine\" is invalid: metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class",
    );
    const sysValue = await failure(createPc("system-node-critical", 5));
    expect(sysValue.status.message).toContain("error: value of system-node-critical PriorityClass must be 2000001000");
    const policy = await failure(createPc("pol", 1, { preemptionPolicy: "Sometimes" }));
    expect(policy.status.message).toBe('PriorityClass.scheduling.k8s.io "pol" is invalid: preemptionPolicy: Unsupported value: "Sometimes": supported values: "PreemptLowerPriority", "Never"');
    const type = await failure(createPc("str", "high" as unknown as number));
    expect(type.status.code).toBe(400);
  });

  it("value and preemptionPolicy are immutable; the description may change", async () => {
    const { store, pcs, createPc } = await setup();
    const pc = await createPc("imm", 100, { preemptionPolicy: "Never" });
    const e = await failure(store.update(pcs, undefined, "imm", { ...pc, value: 200 }));
    expect(e.status.message).toBe('PriorityClass.scheduling.k8s.io "imm" is invalid: value: Forbidden: may not be changed in an update.');
    const p = await failure(store.patch(pcs, undefined, "imm", "merge", { preemptionPolicy: "PreemptLowerPriority" }));
    expect(p.status.message).toBe('PriorityClass.scheduling.k8s.io "imm" is invalid: preemptionPolicy: Invalid value: "PreemptLowerPriority": field is immutable');
    const { object } = await store.patch(pcs, undefined, "imm", "merge", { description: "for important things" });
    expect((object as any).description).toBe("for important things");
  });

  it("allows one globalDefault only", async () => {
    const { store, pcs, createPc } = await setup();
    await createPc("default-a", 10, { globalDefault: true });
    const second = await failure(createPc("default-b", 20, { globalDefault: true }));
    expect(second.status).toMatchObject({
      code: 403,
      reason: "Forbidden",
      message: 'priorityclasses.scheduling.k8s.io "default-b" is forbidden: PriorityClass default-a is already marked as default. Only one default can exist',
    });
    await createPc("other", 30);
    const marking = await failure(store.patch(pcs, undefined, "other", "merge", { globalDefault: true }));
    expect(marking.status.code).toBe(403);
    // The default itself may be updated.
    await store.patch(pcs, undefined, "default-a", "merge", { description: "the default" });
  });

  it("the system classes cannot be deleted; others can", async () => {
    const { store, pcs, createPc } = await setup();
    const e = await failure(store.delete(pcs, undefined, "system-node-critical", {}));
    expect(e.status).toMatchObject({ code: 403, message: 'priorityclasses.scheduling.k8s.io "system-node-critical" is forbidden: this is a system priority class and cannot be deleted' });
    await createPc("gone", 1);
    expect((await store.delete(pcs, undefined, "gone", {})).deleted).toBe(true);
  });

  it("is served cluster-scoped with short name pc, kubectl's columns, and an OpenAPI schema for explain", () => {
    const list = apiResourceList(builtinRegistry(), "scheduling.k8s.io", "v1") as any;
    expect(list.resources).toEqual([
      expect.objectContaining({ name: "priorityclasses", singularName: "priorityclass", namespaced: false, kind: "PriorityClass", shortNames: ["pc"], verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"] }),
    ]);
    const def = builtinRegistry().lookup("scheduling.k8s.io", "v1", "priorityclasses")!;
    const now = new Date("2026-01-01T00:10:00Z");
    const t = toTable(def, [{ apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", metadata: { name: "high", creationTimestamp: "2026-01-01T00:00:00Z" }, value: 1000, preemptionPolicy: "Never" }], { resourceVersion: "1" }, { include: "None", version: "v1", now }) as any;
    expect(t.columnDefinitions.map((c: any) => [c.name, c.type])).toEqual([
      ["Name", "string"],
      ["Value", "integer"],
      ["Global-Default", "boolean"],
      ["Age", "string"],
      ["PreemptionPolicy", "string"],
    ]);
    expect(t.rows[0].cells).toEqual(["high", 1000, false, "10m", "Never"]);
    const doc = JSON.parse(openApiV3Document("scheduling.k8s.io/v1", builtinRegistry().resources)!.json.toString());
    expect(doc.components.schemas["io.k8s.api.scheduling.v1.PriorityClass"].properties.value).toMatchObject({ type: "integer", format: "int32" });
    expect(Object.keys(doc.paths)).toContain("/apis/scheduling.k8s.io/v1/priorityclasses/{name}");
  });
});

describe("Priority admission of pods", () => {
  it("no class and no default: priority 0, PreemptLowerPriority, no class name", async () => {
    const { store, pods } = await setup();
    const p = (await store.create(pods, "default", pod("plain"))) as any;
    expect(p.spec.priority).toBe(0);
    expect(p.spec.preemptionPolicy).toBe("PreemptLowerPriority");
    expect(p.spec.priorityClassName).toBeUndefined();
  });

  it("resolves a class name to its value and preemption policy", async () => {
    const { store, pods, createPc } = await setup();
    await createPc("high", 1000, { preemptionPolicy: "Never" });
    const p = (await store.create(pods, "default", pod("hi", { priorityClassName: "high" }))) as any;
    expect(p.spec).toMatchObject({ priorityClassName: "high", priority: 1000, preemptionPolicy: "Never" });
    const sys = (await store.create(pods, "default", pod("sys", { priorityClassName: "system-node-critical" }))) as any;
    expect(sys.spec.priority).toBe(2000001000);
  });

  it("takes the globalDefault class for pods that name none", async () => {
    const { store, pods, createPc } = await setup();
    await createPc("everyone", 50, { globalDefault: true });
    const p = (await store.create(pods, "default", pod("d"))) as any;
    expect(p.spec).toMatchObject({ priorityClassName: "everyone", priority: 50, preemptionPolicy: "PreemptLowerPriority" });
  });

  it("refuses an unknown class, and a priority or policy that disagrees with the class", async () => {
    const { store, pods, createPc } = await setup();
    const e = await failure(store.create(pods, "default", pod("x", { priorityClassName: "nope" })));
    expect(e.status).toMatchObject({ code: 403, reason: "Forbidden", message: 'pods "x" is forbidden: no PriorityClass with name nope was found' });
    const gen = await failure(store.create(pods, "default", { metadata: { generateName: "x-" }, spec: { containers: [{ name: "c", image: "busybox" }], priorityClassName: "nope" } }));
    expect(gen.status.message).toBe("pods is forbidden: no PriorityClass with name nope was found");
    const prio = await failure(store.create(pods, "default", pod("y", { priority: 7 })));
    expect(prio.status.message).toBe('pods "y" is forbidden: the integer value of priority (7) must not be provided in pod spec; priority admission controller computed 0 from the given PriorityClass name');
    await createPc("never", 5, { preemptionPolicy: "Never" });
    const pol = await failure(store.create(pods, "default", pod("z", { priorityClassName: "never", preemptionPolicy: "PreemptLowerPriority" })));
    expect(pol.status.message).toBe(
      'pods "z" is forbidden: the string value of PreemptionPolicy (PreemptLowerPriority) must not be provided in pod spec; priority admission controller computed Never from the given PriorityClass name',
    );
    // A priority that agrees is fine.
    expect(((await store.create(pods, "default", pod("ok", { priorityClassName: "never", priority: 5 }))) as any).spec.priority).toBe(5);
  });

  it("an update that leaves the priority out keeps it; one that changes it is refused by validation", async () => {
    const { store, pods, createPc } = await setup();
    await createPc("mid", 300);
    const p = (await store.create(pods, "default", pod("u", { priorityClassName: "mid" }))) as any;
    const { priority: _p, preemptionPolicy: _pp, ...spec } = p.spec;
    const updated = (await store.update(pods, "default", "u", { ...p, metadata: { ...p.metadata, labels: { a: "b" } }, spec })) as any;
    expect(updated.spec.priority).toBe(300);
    expect(updated.spec.preemptionPolicy).toBe("PreemptLowerPriority");
    expect(updated.metadata.labels).toEqual({ a: "b" });
    const changed = await failure(store.update(pods, "default", "u", { ...updated, spec: { ...updated.spec, priority: 1 } }));
    expect(changed.status.code).toBe(422);
  });
});
