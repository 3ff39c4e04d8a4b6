import { describe, expect, it } from "vitest";
import { Resources, newNotFound, type Lister } from "@kubemu/common";
import { computeHash } from "../../src/controller/hash.js";
import type { ReplicaSet } from "../../src/controllers/deployment/types.js";
import { deployment, World } from "./world.js";

const revisionOf = (rs: ReplicaSet) => rs.metadata.annotations?.["deployment.kubernetes.io/revision"];
const imageOf = (rs: ReplicaSet) => rs.spec.template?.spec?.containers[0]?.image;

async function rollOut(w: World, image: string, changeCause?: string): Promise<void> {
  await w.edit("web", (d) => {
    d.spec.template.spec!.containers[0]!.image = image;
    if (changeCause) d.metadata.annotations = { ...(d.metadata.annotations ?? {}), "kubernetes.io/change-cause": changeCause };
  });
  await w.converge();
}

describe("revision history", () => {
  it("keeps revisionHistoryLimit old ReplicaSets and deletes the lowest revisions", async () => {
    const w = new World();
    await w.add(Resources.deployments, deployment("web", { replicas: 2, revisionHistoryLimit: 2 }));
    await w.converge();
    for (let v = 2; v <= 6; v++) {
      w.clock.advance(1000);
      await rollOut(w, `nginx:${v}.0`);
    }
    const rss = w.replicaSets();
    expect(rss.map(imageOf)).toEqual(["nginx:4.0", "nginx:5.0", "nginx:6.0"]);
    expect(rss.map(revisionOf)).toEqual(["4", "5", "6"]);
    expect(rss.map((rs) => rs.spec.replicas)).toEqual([0, 0, 2]);
    expect(w.deployment().metadata.annotations?.["deployment.kubernetes.io/revision"]).toBe("6");
  });

  it("never deletes an old ReplicaSet that still has pods", async () => {
    const w = new World();
    await w.add(Resources.deployments, deployment("web", { replicas: 1, revisionHistoryLimit: 0 }));
    await w.converge();
    await w.edit("web", (d) => (d.spec.template.spec!.containers[0]!.image = "nginx:2.0"));
    // The old ReplicaSet's pods linger in its status.
    for (let i = 0; i < 6; i++) {
      await w.syncQuietly();
      await w.settle();
      const old = w.replicaSets().find((rs) => imageOf(rs) === "nginx:1.0");
      if (old) await w.client.updateStatus(Resources.replicaSets, { ...old, status: { ...old.status, replicas: 1 } });
    }
    expect(w.replicaSets().map(imageOf)).toContain("nginx:1.0");
    const old = w.replicaSets().find((rs) => imageOf(rs) === "nginx:1.0")!;
    await w.client.updateStatus(Resources.replicaSets, { ...old, status: { replicas: 0, observedGeneration: old.metadata.generation ?? 0 } });
    // One sync sees the rollout complete, the next cleans up.
    await w.sync();
    await w.sync();
    expect(w.replicaSets().map(imageOf)).toEqual(["nginx:2.0"]);
  });

  it("the Deployment's annotations (change-cause) are copied to the new ReplicaSet, also when annotated after the rollout", async () => {
    const w = new World();
    await w.add(Resources.deployments, deployment("web", { replicas: 1 }));
    await w.converge();
    await rollOut(w, "nginx:2.0", "kubectl set image deployment/web app=nginx:2.0");
    const fresh = w.replicaSets().find((rs) => imageOf(rs) === "nginx:2.0")!;
    expect(fresh.metadata.annotations?.["kubernetes.io/change-cause"]).toBe("kubectl set image deployment/web app=nginx:2.0");
    await w.edit("web", (d) => (d.metadata.annotations = { ...d.metadata.annotations, "kubernetes.io/change-cause": "image updated to 2.0" }));
    await w.converge();
    expect(w.replicaSets().find((rs) => imageOf(rs) === "nginx:2.0")!.metadata.annotations?.["kubernetes.io/change-cause"]).toBe("image updated to 2.0");
    expect(w.replicaSets().find((rs) => imageOf(rs) === "nginx:1.0")!.metadata.annotations?.["kubernetes.io/change-cause"]).toBeUndefined();
  });

  it("going back to an old template (kubectl rollout undo) makes that ReplicaSet new again with the next revision and records the old one in revision-history", async () => {
    const w = new World();
    await w.add(Resources.deployments, deployment("web", { replicas: 2 }));
    await w.converge();
    await rollOut(w, "nginx:2.0");
    await rollOut(w, "nginx:3.0");
    await rollOut(w, "nginx:1.0");
    const rss = w.replicaSets();
    expect(rss).toHaveLength(3);
    const first = rss.find((rs) => imageOf(rs) === "nginx:1.0")!;
    expect(revisionOf(first)).toBe("4");
    expect(first.metadata.annotations?.["deployment.kubernetes.io/revision-history"]).toBe("1");
    expect(first.spec.replicas).toBe(2);
    await rollOut(w, "nginx:2.0");
    expect(w.replicaSets().find((rs) => imageOf(rs) === "nginx:2.0")!.metadata.annotations).toMatchObject({ "deployment.kubernetes.io/revision": "5", "deployment.kubernetes.io/revision-history": "2" });
    await rollOut(w, "nginx:1.0");
    expect(w.replicaSets().find((rs) => imageOf(rs) === "nginx:1.0")!.metadata.annotations).toMatchObject({ "deployment.kubernetes.io/revision": "6", "deployment.kubernetes.io/revision-history": "1,4" });
  });
});

describe("rollback by annotation (apps/v1beta1's rollbackTo)", () => {
  it("copies the revision's template and annotations back and records DeploymentRollback", async () => {
    const w = new World();
    await w.add(Resources.deployments, deployment("web", { replicas: 1, annotations: { "kubernetes.io/change-cause": "first" } }));
    await w.converge();
    await rollOut(w, "nginx:2.0", "second");
    await w.edit("web", (d) => (d.metadata.annotations = { ...d.metadata.annotations, "deprecated.deployment.rollback.to": "1" }));
    await w.sync();
    const d = w.deployment();
    expect(d.spec.template.spec?.containers[0]?.image).toBe("nginx:1.0");
    expect(d.spec.template.metadata?.labels).toEqual({ app: "web" });
    expect(d.metadata.annotations?.["deprecated.deployment.rollback.to"]).toBeUndefined();
    expect(d.metadata.annotations?.["kubernetes.io/change-cause"]).toBe("first");
    expect(w.events()).toContain('Normal DeploymentRollback Rolled back deployment "web" to revision 1');
    await w.converge();
    expect(revisionOf(w.replicaSets().find((rs) => imageOf(rs) === "nginx:1.0")!)).toBe("3");
  });

  it("an unknown revision is a DeploymentRollbackRevisionNotFound warning and the annotation is cleared", async () => {
    const w = new World();
    await w.add(Resources.deployments, deployment("web", { replicas: 1, annotations: { "deprecated.deployment.rollback.to": "9" } }));
    await w.sync();
    expect(w.events()).toContain("Warning DeploymentRollbackRevisionNotFound Unable to find the revision to rollback to.");
    expect(w.deployment().metadata.annotations?.["deprecated.deployment.rollback.to"]).toBeUndefined();
  });
});

describe("hash collisions", () => {
  it("a name taken by another template bumps status.collisionCount; the next sync uses the new hash", async () => {
    const w = new World();
    const d = deployment("web");
    await w.add(Resources.deployments, d);
    const hash = computeHash(d.spec.template);
    // Someone else's ReplicaSet already has our name, with another template.
    await w.add(Resources.replicaSets, {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: `web-${hash}`, namespace: "default", labels: { other: "x" }, ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: "x", uid: "uid-x", controller: true }] },
      spec: { replicas: 1, selector: { matchLabels: { other: "x" } }, template: { metadata: { labels: { other: "x" } }, spec: { containers: [{ name: "c", image: "busybox" }] } } },
    } as ReplicaSet);
    const err = await w.syncQuietly();
    expect(String(err)).toContain("already exists");
    expect(w.deployment().status?.collisionCount).toBe(1);
    await w.sync();
    const second = computeHash(d.spec.template, 1);
    expect(second).not.toBe(hash);
    expect(w.replicaSets().map((rs) => rs.metadata.name).sort()).toEqual([`web-${hash}`, `web-${second}`].sort());
  });

  it("its own ReplicaSet, created by an earlier sync the ReplicaSet cache has not caught up with, is no collision", async () => {
    const w = new World();
    await w.add(Resources.deployments, deployment("web"));
    await w.sync();
    const rs = w.replicaSets()[0]!;
    // The claim's list misses it, so the create answers AlreadyExists; the lister's get has it, owned by us with our template.
    const stale: Lister<ReplicaSet> = { get: () => rs, list: () => [], byIndex: () => [], getByKey: () => rs, keys: () => [], size: () => 0 };
    await w.sync("default/web", { replicaSets: stale });
    expect(w.replicaSets()).toHaveLength(1);
    expect(w.deployment().status?.collisionCount).toBeUndefined();
    expect(w.client.writes().filter((a) => a.verb === "create" && a.resource === "replicasets")).toHaveLength(2);
  });

  it("a create that fails otherwise is a ReplicaSetCreateError condition and warning event", async () => {
    const w = new World();
    await w.add(Resources.deployments, deployment("web"));
    w.client.failOn("create", "replicasets", newNotFound({ group: "", resource: "namespaces" }, "default"));
    await w.syncQuietly();
    const name = `web-${computeHash(deployment("web").spec.template)}`;
    const msg = `Failed to create new replica set "${name}": namespaces "default" not found`;
    expect(w.events()).toEqual([`Warning ReplicaSetCreateError ${msg}`]);
    expect(w.deployment().status?.conditions?.find((c) => c.type === "Progressing")).toMatchObject({ status: "False", reason: "ReplicaSetCreateError", message: msg });
  });
});
