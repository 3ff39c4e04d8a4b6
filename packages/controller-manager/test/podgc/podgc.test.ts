/**
 * The pod garbage collector over a FakeClient on a FakeClock: orphans of deleted nodes after the
 * quarantine (with a live read), terminated pods over the threshold (evicted, then oldest
 * first), unscheduled terminating pods, terminating pods on out-of-service nodes.
 */
import { describe, expect, it } from "vitest";
import { FakeClock, Resources, newServiceUnavailable, type Lister } from "@kubemu/common";
import type { PodObject } from "../../src/controllers/node-util/conditions.js";
import type { NodeObject } from "../../src/controllers/node-util/taints.js";
import { PodGC, byEvictionAndCreation } from "../../src/controllers/podgc/sync.js";
import { FakeClient } from "../fake-client.js";
import { T0, node, pod } from "../nodelifecycle/fixtures.js";

function setup(nodes: NodeObject[], pods: PodObject[], threshold = 12500) {
  const fake = new FakeClient([{ resource: Resources.nodes, objects: nodes }, { resource: Resources.pods, objects: pods }]);
  const clock = new FakeClock(T0);
  // The node lister may lag behind the API: tests can hide nodes from it.
  let hidden = new Set<string>();
  const gc = new PodGC({
    client: fake,
    listers: {
      get pods(): Lister<PodObject> {
        return fake.indexer<PodObject>(Resources.pods);
      },
      get nodes(): Lister<NodeObject> {
        const ix = fake.indexer<NodeObject>(Resources.nodes);
        for (const n of hidden) ix.delete(n);
        return ix;
      },
    },
    clock,
    options: { terminatedPodGCThreshold: threshold, gcPeriodMs: 2000, quarantineMs: 4000 },
  });
  return { fake, clock, gc, hide: (names: string[]) => (hidden = new Set(names)), names: () => fake.objects<PodObject>(Resources.pods).map((p) => p.metadata.name!).sort() };
}

function finished(name: string, phase: "Succeeded" | "Failed", createdSecondsAfterT0: number, evicted = false): PodObject {
  const p = pod(name, "a");
  p.metadata.creationTimestamp = new Date(T0 + createdSecondsAfterT0 * 1000).toISOString().replace(".000Z", "Z");
  (p as { status: unknown }).status = { phase, ...(evicted ? { reason: "Evicted", message: "The node was low on resource: memory." } : {}) };
  return p;
}

describe("pod GC", () => {
  it("force-deletes pods bound to a node that is gone, after the quarantine and a live read, marking them Failed with DeletionByPodGC", async () => {
    const s = setup([node("a")], [pod("web-1", "a"), pod("web-2", "gone")]);
    await s.gc.gc();
    expect(s.names()).toEqual(["web-1", "web-2"]);
    s.clock.advance(3999);
    await s.gc.gc();
    expect(s.names()).toEqual(["web-1", "web-2"]);
    s.clock.advance(1);
    await s.gc.gc();
    expect(s.names()).toEqual(["web-1"]);
    const patch = s.fake.writes().find((w) => w.verb === "patch")!;
    expect(patch).toMatchObject({ name: "web-2", subresource: "status" });
    expect(patch.patch).toEqual({ metadata: { uid: "uid-web-2" }, status: { phase: "Failed", conditions: [{ type: "DisruptionTarget", status: "True", reason: "DeletionByPodGC", message: "PodGC: node no longer exists", lastTransitionTime: "2026-01-01T00:00:04Z" }] } });
    expect(s.fake.writes().find((w) => w.verb === "delete")).toMatchObject({ name: "web-2", options: { gracePeriodSeconds: 0 } });
    expect(s.fake.actions.some((a) => a.verb === "get" && a.resource === "nodes" && a.name === "gone")).toBe(true);
  });

  it("a node missing only from a lagging informer is found by the live read and its pods stay", async () => {
    const s = setup([node("a"), node("b")], [pod("web", "b")]);
    s.hide(["b"]);
    await s.gc.gc();
    s.clock.advance(4000);
    await s.gc.gc();
    expect(s.names()).toEqual(["web"]);
  });

  it("an error reading the node leaves its pods for a later pass", async () => {
    const s = setup([], [pod("web", "gone")]);
    s.fake.failOn("get", "nodes", newServiceUnavailable("no API server"));
    await s.gc.gc();
    s.clock.advance(4000);
    await s.gc.gc();
    expect(s.names()).toEqual(["web"]);
  });

  it("terminated pods over the threshold go, evicted ones first, then the oldest; running pods never count", async () => {
    const pods = [finished("old-ok", "Succeeded", 1), finished("new-ok", "Succeeded", 50), finished("mid-fail", "Failed", 20), finished("evicted", "Failed", 90, true), pod("running", "a")];
    const s = setup([node("a")], pods, 2);
    await s.gc.gc();
    expect(s.names()).toEqual(["mid-fail", "new-ok", "running"]);
    // Already terminal: no phase patch, only the delete.
    expect(s.fake.writes().filter((w) => w.verb === "patch")).toEqual([]);
    expect(pods.slice(0, 4).sort(byEvictionAndCreation).map((p) => p.metadata.name)).toEqual(["evicted", "old-ok", "mid-fail", "new-ok"]);
  });

  it("a threshold of 0 disables the terminated pod collection", async () => {
    const s = setup([node("a")], [finished("done", "Succeeded", 1)], 0);
    await s.gc.gc();
    expect(s.names()).toEqual(["done"]);
  });

  it("deletes terminating pods that were never scheduled", async () => {
    const p = pod("pending", "");
    delete (p.spec as { nodeName?: string }).nodeName;
    p.metadata.deletionTimestamp = "2026-01-01T00:00:00Z";
    const s = setup([node("a")], [p, pod("bound", "a")]);
    await s.gc.gc();
    expect(s.names()).toEqual(["bound"]);
  });

  it("deletes terminating pods on a node that is not Ready and tainted out-of-service; not on a Ready one", async () => {
    const dying = pod("stuck", "down");
    dying.metadata.deletionTimestamp = "2026-01-01T00:00:00Z";
    const healthy = pod("leaving", "up");
    healthy.metadata.deletionTimestamp = "2026-01-01T00:00:00Z";
    const oos = { key: "node.kubernetes.io/out-of-service", value: "nodeshutdown", effect: "NoExecute" as const };
    const s = setup([node("down", { ready: "Unknown", taints: [oos] }), node("up", { taints: [oos] })], [dying, healthy, pod("running", "down")]);
    await s.gc.gc();
    expect(s.names()).toEqual(["leaving", "running"]);
  });
});
