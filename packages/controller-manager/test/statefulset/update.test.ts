/**
 * StatefulSet updates and history against the fake API: RollingUpdate from the highest ordinal
 * down, one pod at a time, stopping at the partition; OnDelete; ControllerRevisions with their
 * numbers, rollback renumbering, history limit and name collisions.
 */
import { describe, expect, it } from "vitest";
import { Resources } from "@kubemu/common";
import { goJson, hashControllerRevision, type RevisionObject } from "../../src/controller/history.js";
import { REVISION_LABEL } from "../../src/controllers/statefulset/types.js";
import { Fixture, NS, newSet } from "./fixture.js";

const image = (f: Fixture, name: string) => f.pod(name).spec!.containers[0]!.image;
const setImage = (f: Fixture, img: string) => f.editSpec((s) => (s.template.spec!.containers[0]!.image = img));

/** Syncs, completing each deletion as a kubelet would (the fake deletes at once) and readying new pods. */
async function roll(f: Fixture, rounds = 12): Promise<string[]> {
  const order: string[] = [];
  for (let i = 0; i < rounds; i++) {
    const before = f.fake.writes().length;
    await f.sync();
    for (const a of f.fake.writes().slice(before)) if (a.verb === "delete" && a.resource === "pods") order.push(a.name!);
    for (const p of f.pods()) if (p.status?.phase === "Pending") await f.ready(p.metadata.name!);
  }
  return order;
}

describe("StatefulSet RollingUpdate", () => {
  it("replaces pods from the highest ordinal down, one at a time, each after the one above is Ready", async () => {
    const f = Fixture.of(newSet());
    await f.syncUntilStable();
    const rev1 = f.set().status!.currentRevision!;
    await setImage(f, "registry.k8s.io/nginx-slim:0.24");
    await f.sync();
    // Only web-2 goes first; nothing else until its replacement is Ready.
    expect(f.podNames()).toEqual(["web-0", "web-1"]);
    const rev2 = f.set().status!.updateRevision!;
    expect(rev2).not.toBe(rev1);
    // updatedReplicas 0 is left out, as the API serialises it (omitempty).
    expect(f.set().status).toMatchObject({ currentRevision: rev1, updateRevision: rev2, currentReplicas: 2 });
    expect(f.set().status!.updatedReplicas).toBeUndefined();
    await f.sync();
    expect(f.podNames()).toEqual(["web-0", "web-1", "web-2"]);
    expect(image(f, "web-2")).toBe("registry.k8s.io/nginx-slim:0.24");
    expect(f.pod("web-2").metadata.labels![REVISION_LABEL]).toBe(rev2);
    await f.sync();
    expect(f.podNames()).toHaveLength(3); // web-2 Pending: web-1 waits
    const order = await roll(f);
    expect(order).toEqual(["web-1", "web-0"]);
    for (const n of ["web-0", "web-1", "web-2"]) expect(image(f, n)).toBe("registry.k8s.io/nginx-slim:0.24");
    expect(f.set().status).toMatchObject({ currentRevision: rev2, updateRevision: rev2, currentReplicas: 3, updatedReplicas: 3, readyReplicas: 3 });
    expect(f.revisions().map((r) => [r.metadata.name, r.revision])).toEqual([
      [rev1, 1],
      [rev2, 2],
    ]);
  });

  it("updates only the ordinals at or above the partition; pods below come back at the current revision", async () => {
    const f = Fixture.of(newSet());
    await f.syncUntilStable();
    await f.editSpec((s) => (s.updateStrategy = { type: "RollingUpdate", rollingUpdate: { partition: 3 } }));
    await setImage(f, "registry.k8s.io/nginx-slim:0.21");
    expect(await roll(f, 4)).toEqual([]);
    // A pod below the partition deleted by hand comes back at the old template.
    await f.fake.delete(Resources.pods, NS, "web-2");
    await roll(f, 3);
    expect(image(f, "web-2")).toBe("registry.k8s.io/nginx-slim:0.8");

    await f.editSpec((s) => (s.updateStrategy = { type: "RollingUpdate", rollingUpdate: { partition: 2 } }));
    expect(await roll(f)).toEqual(["web-2"]);
    expect(image(f, "web-2")).toBe("registry.k8s.io/nginx-slim:0.21");
    expect(f.set().status).toMatchObject({ updatedReplicas: 1, currentReplicas: 2 });
    await f.fake.delete(Resources.pods, NS, "web-1");
    await roll(f, 3);
    expect(image(f, "web-1")).toBe("registry.k8s.io/nginx-slim:0.8");

    await f.editSpec((s) => (s.updateStrategy = { type: "RollingUpdate", rollingUpdate: { partition: 0 } }));
    expect(await roll(f)).toEqual(["web-1", "web-0"]);
    for (const n of ["web-0", "web-1", "web-2"]) expect(image(f, n)).toBe("registry.k8s.io/nginx-slim:0.21");
  });

  it("with maxUnavailable 2 replaces two pods at once", async () => {
    const f = Fixture.of(newSet({ replicas: 4, claims: false }));
    await f.syncUntilStable();
    await f.editSpec((s) => (s.updateStrategy = { type: "RollingUpdate", rollingUpdate: { partition: 0, maxUnavailable: 2 } }));
    await setImage(f, "nginx:2");
    f.fake.clearActions();
    await f.sync();
    expect(f.writes("delete", "pods").map((a) => a.name)).toEqual(["web-3", "web-2"]);
  });
});

describe("StatefulSet OnDelete", () => {
  it("leaves running pods alone and makes a deleted pod at the new revision", async () => {
    const f = Fixture.of(newSet({ spec: { updateStrategy: { type: "OnDelete" } } }));
    await f.syncUntilStable();
    await setImage(f, "registry.k8s.io/nginx-slim:0.24");
    expect(await roll(f, 4)).toEqual([]);
    expect(f.set().status).toMatchObject({ currentReplicas: 3 });
    expect(f.set().status!.updatedReplicas).toBeUndefined();
    await f.fake.delete(Resources.pods, NS, "web-0");
    await roll(f, 3);
    expect(image(f, "web-0")).toBe("registry.k8s.io/nginx-slim:0.24");
    expect(image(f, "web-1")).toBe("registry.k8s.io/nginx-slim:0.8");
    expect(f.set().status).toMatchObject({ updatedReplicas: 1, currentReplicas: 2 });
  });
});

describe("StatefulSet ControllerRevisions", () => {
  it("records the template as upstream's patch, named <set>-<hash of the data>, owned by the set", async () => {
    const f = Fixture.of(newSet({ claims: false }));
    await f.sync();
    const [rev] = f.revisions();
    expect(rev!.revision).toBe(1);
    expect(rev!.data).toEqual({ spec: { template: { $patch: "replace", metadata: { creationTimestamp: null, labels: { app: "nginx" } }, spec: newSet().spec.template.spec } } });
    // Keys in Go's sorted order, so the API serves upstream's bytes.
    expect(JSON.stringify(rev!.data)).toBe(goJson(rev!.data));
    const hash = hashControllerRevision(rev!, 0);
    expect(rev!.metadata.name).toBe(`web-${hash}`);
    expect(rev!.metadata.labels).toEqual({ app: "nginx", "controller.kubernetes.io/hash": hash });
    expect(rev!.metadata.ownerReferences).toEqual([{ apiVersion: "apps/v1", kind: "StatefulSet", name: "web", uid: "uid-web", controller: true, blockOwnerDeletion: true }]);
    // More syncs make no more revisions.
    await f.sync();
    await f.sync();
    expect(f.revisions()).toHaveLength(1);
  });

  it("copies the set's annotations, so kubectl rollout history shows the change cause", async () => {
    const set = newSet({ claims: false });
    set.metadata.annotations = { "kubernetes.io/change-cause": "kubectl set image sts/web nginx=nginx:2" };
    const f = Fixture.of(set);
    await f.sync();
    expect(f.revisions()[0]!.metadata.annotations).toEqual({ "kubernetes.io/change-cause": "kubectl set image sts/web nginx=nginx:2" });
  });

  it("a rollback to an earlier template renumbers that revision instead of making a new one", async () => {
    const f = Fixture.of(newSet({ replicas: 1, claims: false }));
    await f.syncUntilStable();
    const first = f.revisions()[0]!.metadata.name;
    await setImage(f, "nginx:2");
    await roll(f, 4);
    await setImage(f, "registry.k8s.io/nginx-slim:0.8");
    await roll(f, 4);
    expect(f.revisions().map((r) => [r.metadata.name, r.revision])).toEqual([
      [f.revisions()[0]!.metadata.name, 2],
      [first, 3],
    ]);
    expect(f.set().status!.currentRevision).toBe(first);
  });

  it("keeps revisionHistoryLimit old revisions besides the live ones", async () => {
    const f = Fixture.of(newSet({ replicas: 1, claims: false, spec: { revisionHistoryLimit: 2 } }));
    await f.syncUntilStable();
    for (const v of ["1", "2", "3", "4"]) {
      await setImage(f, `nginx:${v}`);
      await roll(f, 4);
    }
    expect(f.revisions().map((r) => r.revision)).toEqual([3, 4, 5]);
  });

  it("on a name taken by other data counts a collision and names the revision anew", async () => {
    const set = newSet({ claims: false });
    const f0 = Fixture.of(set);
    await f0.sync();
    const wanted = f0.revisions()[0]!;
    // Another object already holds that name with different data.
    const squatter: RevisionObject = { apiVersion: "apps/v1", kind: "ControllerRevision", metadata: { name: wanted.metadata.name, namespace: NS, uid: "uid-squat", labels: { app: "other" } }, data: { spec: { template: { $patch: "replace" } } }, revision: 1 };
    const f = Fixture.of(newSet({ claims: false }), { revisions: [squatter] });
    await f.sync();
    const mine = f.revisions().find((r) => r.metadata.uid !== "uid-squat")!;
    expect(mine.metadata.name).toBe(`web-${hashControllerRevision(wanted, 1)}`);
    expect(f.set().status!.collisionCount).toBe(1);
    expect(f.pod("web-0").metadata.labels![REVISION_LABEL]).toBe(mine.metadata.name);
  });

  it("adopts an orphaned revision that matches the selector", async () => {
    const f0 = Fixture.of(newSet({ claims: false }));
    await f0.sync();
    const rev = f0.revisions()[0]!;
    const orphan = { ...rev, metadata: { ...rev.metadata, uid: "uid-rev", ownerReferences: undefined } };
    const f = Fixture.of(newSet({ claims: false }), { revisions: [orphan] });
    await f.sync();
    expect(f.writes("patch", "controllerrevisions").map((a) => a.patch)).toEqual([{ metadata: { ownerReferences: [{ apiVersion: "apps/v1", kind: "StatefulSet", name: "web", uid: "uid-web", controller: true, blockOwnerDeletion: true }], uid: "uid-rev" } }]);
    expect(f.writes("create", "controllerrevisions")).toEqual([]);
  });
});
