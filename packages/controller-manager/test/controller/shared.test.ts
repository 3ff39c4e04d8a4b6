import { describe, expect, it } from "vitest";
import { FakeClock, Resources, newNotFound, type KubeObject } from "@kubemu/common";
import { ControllerExpectations, EXPECTATIONS_TIMEOUT_MS, UidTrackingExpectations } from "../../src/controller/expectations.js";
import { canonicalJson, computeHash } from "../../src/controller/hash.js";
import { slowStartBatch, isPodAvailable } from "../../src/controller/pod-util.js";
import { PodControl, podFromTemplate, podNamePrefix } from "../../src/controller/pod-control.js";
import { claimObjects, controllerOf } from "../../src/controller/controller-ref.js";
import { FakeClient, FakeRecorder } from "../fake-client.js";

const rs = (over: Partial<KubeObject["metadata"]> = {}): KubeObject => ({ apiVersion: "apps/v1", kind: "ReplicaSet", metadata: { name: "web", namespace: "default", uid: "rs-uid", ...over } });
const pod = (name: string, labels: Record<string, string>, ownerUid?: string): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "default", uid: `uid-${name}`, labels, ...(ownerUid ? { ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "x", uid: ownerUid, controller: true }] } : {}) },
});

describe("expectations", () => {
  it("block a sync until every expected create is observed, or the timeout passes", () => {
    const clock = new FakeClock(1_000_000);
    const e = new ControllerExpectations(clock);
    expect(e.satisfied("default/web")).toBe(true);
    e.expectCreations("default/web", 2);
    expect(e.satisfied("default/web")).toBe(false);
    e.creationObserved("default/web");
    expect(e.satisfied("default/web")).toBe(false);
    e.creationObserved("default/web");
    expect(e.satisfied("default/web")).toBe(true);
    e.expectDeletions("default/web", 1);
    clock.advance(EXPECTATIONS_TIMEOUT_MS + 1);
    expect(e.satisfied("default/web")).toBe(true);
  });

  it("uid-tracking counts only the deletions it asked for", () => {
    const e = new UidTrackingExpectations(new FakeClock(0));
    e.expectDeletionsOf("default/web", ["default/a", "default/b"]);
    e.deletionObservedOf("default/web", "default/zzz");
    e.deletionObservedOf("default/web", "default/a");
    e.deletionObservedOf("default/web", "default/a");
    expect(e.get("default/web")).toEqual({ add: 0, del: 1 });
    e.deletionObservedOf("default/web", "default/b");
    expect(e.satisfied("default/web")).toBe(true);
  });
});

describe("template hash", () => {
  it("ignores key order, changes with the template and with the collision count, and uses the safe alphabet", () => {
    const a = computeHash({ metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c", image: "nginx" }] } });
    const b = computeHash({ spec: { containers: [{ image: "nginx", name: "c" }] }, metadata: { labels: { app: "web" } } });
    expect(a).toBe(b);
    expect(a).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{6,10}$/);
    expect(computeHash({ spec: { containers: [{ name: "c", image: "nginx:1.2" }] }, metadata: { labels: { app: "web" } } })).not.toBe(a);
    expect(computeHash({ metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c", image: "nginx" }] } }, 1)).not.toBe(a);
    expect(canonicalJson({ b: 1, a: [1, { d: undefined, c: null }] })).toBe('{"a":[1,{"c":null}],"b":1}');
  });
});

describe("slowStartBatch", () => {
  it("runs batches of 1, 2, 4, ... and stops after the first failing batch", async () => {
    const batches: number[] = [];
    let inFlight = 0;
    let calls = 0;
    const r = await slowStartBatch(20, 1, async () => {
      const n = ++calls;
      if (inFlight === 0) batches.push(0);
      inFlight++;
      batches[batches.length - 1]!++;
      await Promise.resolve();
      inFlight--;
      if (n === 5) throw new Error("quota");
    });
    expect(batches).toEqual([1, 2, 4]);
    expect(r.successes).toBe(6);
    expect(String(r.error)).toContain("quota");
    expect((await slowStartBatch(5, 1, async () => undefined)).successes).toBe(5);
  });
});

describe("isPodAvailable", () => {
  it("needs Ready for more than minReadySeconds", () => {
    const p = { status: { conditions: [{ type: "Ready", status: "True", lastTransitionTime: "2026-01-01T00:00:00Z" }] } };
    const t = Date.parse("2026-01-01T00:00:00Z");
    expect(isPodAvailable(p, 0, t)).toBe(true);
    expect(isPodAvailable(p, 10, t + 9_000)).toBe(false);
    expect(isPodAvailable(p, 10, t + 10_000)).toBe(false);
    expect(isPodAvailable(p, 10, t + 10_001)).toBe(true);
    expect(isPodAvailable({ status: { conditions: [{ type: "Ready", status: "False" }] } }, 0, t)).toBe(false);
  });
});

describe("pod control", () => {
  it("makes pods from the template with a controller ref and records upstream's events", async () => {
    const owner = rs();
    const fake = new FakeClient();
    const rec = new FakeRecorder();
    const template = { metadata: { labels: { app: "web" }, annotations: { a: "1" } }, spec: { containers: [{ name: "c", image: "nginx" }] } };
    const p = podFromTemplate(template, owner, Resources.replicaSets);
    expect(p.metadata.generateName).toBe("web-");
    expect(p.metadata.ownerReferences).toEqual([{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: "rs-uid", controller: true, blockOwnerDeletion: true }]);
    const created = await new PodControl(fake, rec).create(p, owner);
    expect(created.metadata.name).toMatch(/^web-/);
    expect(rec.lines()).toEqual([`Normal SuccessfulCreate Created pod: ${created.metadata.name}`]);
    fake.failOn("create", "pods", newNotFound({ resource: "namespaces" }, "default"));
    await expect(new PodControl(fake, rec).create(p, owner)).rejects.toThrow();
    expect(rec.lines()[1]).toBe('Warning FailedCreate Error creating: namespaces "default" not found');
    expect(await new PodControl(fake, rec).delete("default", "nosuch", owner)).toBe(false);
    expect(podNamePrefix("x".repeat(70)).length).toBe(58);
  });
});

describe("claimObjects", () => {
  it("keeps owned matching pods, adopts matching orphans, releases owned pods that stopped matching, ignores others' pods", async () => {
    const owner = rs();
    const pods = [pod("owned", { app: "web" }, "rs-uid"), pod("orphan", { app: "web" }), pod("relabeled", { app: "other" }, "rs-uid"), pod("foreign", { app: "web" }, "someone-else"), pod("stranger", { app: "db" })];
    const fake = new FakeClient([{ resource: Resources.replicaSets, objects: [owner] }, { resource: Resources.pods, objects: pods }]);
    const claimed = await claimObjects(pods, { client: fake, owner, ownerResource: Resources.replicaSets, resource: Resources.pods, matches: (p) => p.metadata.labels?.app === "web" });
    expect(claimed.map((p) => p.metadata.name)).toEqual(["owned", "orphan"]);
    expect(controllerOf(claimed[1]!)?.uid).toBe("rs-uid");
    const byName = Object.fromEntries(fake.objects(Resources.pods).map((p) => [p.metadata.name, p]));
    expect(byName.relabeled!.metadata.ownerReferences).toEqual([]);
    expect(byName.foreign!.metadata.ownerReferences![0]!.uid).toBe("someone-else");
    expect(fake.writes().map((a) => `${a.verb} ${a.name}`)).toEqual(["patch orphan", "patch relabeled"]);
  });

  it("adopts nothing once the owner is being deleted (judged from a fresh read)", async () => {
    const cached = rs();
    const fake = new FakeClient([{ resource: Resources.replicaSets, objects: [rs({ deletionTimestamp: "2026-01-01T00:00:00Z" })] }, { resource: Resources.pods, objects: [pod("orphan", { app: "web" })] }]);
    await expect(claimObjects([pod("orphan", { app: "web" })], { client: fake, owner: cached, ownerResource: Resources.replicaSets, resource: Resources.pods, matches: () => true })).rejects.toThrow("has just been deleted");
    expect(fake.writes()).toEqual([]);
  });
});
