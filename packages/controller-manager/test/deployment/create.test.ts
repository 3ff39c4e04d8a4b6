import { describe, expect, it } from "vitest";
import { Indexer, Resources, standardIndexers, type KubeObject } from "@kubemu/common";
import { computeHash } from "../../src/controller/hash.js";
import { deploymentForPod, deploymentsForReplicaSet, resolveControllerRef } from "../../src/controllers/deployment/controller.js";
import type { PodObject, ReplicaSet } from "../../src/controllers/deployment/types.js";
import { deployment, World } from "./world.js";

describe("a new Deployment", () => {
  it("gets a ReplicaSet <name>-<pod-template-hash> with the hash in labels and selector, upstream's annotations, an owner reference and a ScalingReplicaSet event", async () => {
    const w = new World();
    const d = deployment("web", { replicas: 3, annotations: { "kubernetes.io/change-cause": "kubectl create deployment web --image=nginx:1.0" } });
    await w.add(Resources.deployments, d);
    await w.sync();

    const hash = computeHash(d.spec.template);
    const rss = w.replicaSets();
    expect(rss.map((r) => r.metadata.name)).toEqual([`web-${hash}`]);
    const rs = rss[0]!;
    expect(rs.metadata.labels).toEqual({ app: "web", "pod-template-hash": hash });
    expect(rs.spec.selector).toEqual({ matchLabels: { app: "web", "pod-template-hash": hash } });
    expect(rs.spec.template?.metadata?.labels).toEqual({ app: "web", "pod-template-hash": hash });
    expect(rs.spec.replicas).toBe(3);
    expect(rs.metadata.ownerReferences).toEqual([{ apiVersion: "apps/v1", kind: "Deployment", name: "web", uid: "uid-web", controller: true, blockOwnerDeletion: true }]);
    expect(rs.metadata.annotations).toEqual({
      "deployment.kubernetes.io/revision": "1",
      "deployment.kubernetes.io/desired-replicas": "3",
      "deployment.kubernetes.io/max-replicas": "4",
      "kubernetes.io/change-cause": "kubectl create deployment web --image=nginx:1.0",
    });
    expect(w.events()).toEqual([`Normal ScalingReplicaSet Scaled up replica set web-${hash} from 0 to 3`]);

    const after = w.deployment();
    expect(after.metadata.annotations?.["deployment.kubernetes.io/revision"]).toBe("1");
    expect(after.status?.conditions?.find((c) => c.type === "Progressing")).toMatchObject({ status: "True", reason: "NewReplicaSetCreated", message: `Created new replica set "web-${hash}"` });
  });

  it("reports Available and NewReplicaSetAvailable once the ReplicaSet's pods are available, with upstream's counts", async () => {
    const w = new World();
    await w.add(Resources.deployments, deployment("web", { replicas: 3 }));
    await w.sync();
    await w.settle((rs) => (rs.spec.replicas ?? 0) - 1);
    await w.sync();
    let st = w.deployment().status!;
    expect(st).toMatchObject({ observedGeneration: 1, replicas: 3, updatedReplicas: 3, readyReplicas: 2, availableReplicas: 2, unavailableReplicas: 1 });
    // 3 - floor(25% of 3) = 3 may be unavailable 0: two available is not the minimum.
    expect(st.conditions?.find((c) => c.type === "Available")).toMatchObject({ status: "False", reason: "MinimumReplicasUnavailable", message: "Deployment does not have minimum availability." });
    expect(st.conditions?.find((c) => c.type === "Progressing")).toMatchObject({ status: "True", reason: "ReplicaSetUpdated", message: `ReplicaSet "${w.replicaSets()[0]!.metadata.name}" is progressing.` });

    await w.settle();
    await w.sync();
    st = w.deployment().status!;
    expect(st).toMatchObject({ replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 });
    expect(st.unavailableReplicas).toBeUndefined();
    const conds = Object.fromEntries((st.conditions ?? []).map((c) => [c.type, c]));
    expect(conds.Available).toMatchObject({ status: "True", reason: "MinimumReplicasAvailable", message: "Deployment has minimum availability." });
    expect(conds.Progressing).toMatchObject({ status: "True", reason: "NewReplicaSetAvailable", message: `ReplicaSet "${w.replicaSets()[0]!.metadata.name}" has successfully progressed.` });
  });

  it("does nothing but record SelectingAll for an empty selector", async () => {
    const w = new World();
    const d = deployment("web");
    d.spec.selector = {};
    await w.add(Resources.deployments, d);
    await w.sync();
    expect(w.replicaSets()).toEqual([]);
    expect(w.events()).toEqual(["Warning SelectingAll This deployment is selecting all pods. A non-empty selector is required."]);
    expect(w.deployment().status?.observedGeneration).toBe(1);
  });

  it("adopts a matching orphan ReplicaSet and leaves one owned by another controller alone", async () => {
    const w = new World();
    const d = deployment("web");
    await w.add(Resources.deployments, d);
    const hash = computeHash(d.spec.template);
    const orphan: ReplicaSet = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: `web-${hash}`, namespace: "default", labels: { app: "web", "pod-template-hash": hash } },
      spec: { replicas: 3, selector: { matchLabels: { app: "web", "pod-template-hash": hash } }, template: { ...structuredClone(d.spec.template), metadata: { labels: { app: "web", "pod-template-hash": hash } } } },
    };
    const foreign: ReplicaSet = { ...structuredClone(orphan), metadata: { ...structuredClone(orphan.metadata), name: "other", ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: "x", uid: "uid-x", controller: true }] } };
    await w.add(Resources.replicaSets, orphan);
    await w.add(Resources.replicaSets, foreign);
    // The first sync adopts it and brings its annotations up to date, then (as upstream) trips on its own stale copy; the retry goes on.
    expect(String(await w.syncQuietly())).toContain("the object has been modified");
    await w.sync();
    const byName = Object.fromEntries(w.replicaSets().map((r) => [r.metadata.name, r]));
    expect(byName[`web-${hash}`]!.metadata.ownerReferences?.[0]).toMatchObject({ kind: "Deployment", name: "web", uid: "uid-web", controller: true });
    expect(byName.other!.metadata.ownerReferences?.[0]?.uid).toBe("uid-x");
    // The adopted one is the new ReplicaSet: no second one was made.
    expect(w.replicaSets()).toHaveLength(2);
    expect(w.deployment().status?.conditions?.find((c) => c.type === "Progressing")).toMatchObject({ reason: "FoundNewReplicaSet", message: `Found new replica set "web-${hash}"` });
  });

  it("a Deployment being deleted only gets its status", async () => {
    const w = new World();
    const d = deployment("web");
    d.metadata.deletionTimestamp = "2026-03-01T10:00:00Z";
    await w.add(Resources.deployments, d);
    await w.sync();
    expect(w.replicaSets()).toEqual([]);
    expect(w.deployment().status).toMatchObject({ observedGeneration: 1 });
  });
});

describe("the new ReplicaSet follows the Deployment", () => {
  it("minReadySeconds is copied onto the new ReplicaSet, also when changed later (no rollout for it)", async () => {
    const w = new World();
    await w.add(Resources.deployments, deployment("web", { minReadySeconds: 5 }));
    await w.sync();
    expect(w.replicaSets()[0]!.spec.minReadySeconds).toBe(5);
    await w.edit("web", (d) => (d.spec.minReadySeconds = 10));
    await w.converge();
    expect(w.replicaSets().map((rs) => rs.spec.minReadySeconds)).toEqual([10]);
  });

  it("an owned ReplicaSet whose labels stop matching is released (its owner reference removed)", async () => {
    const w = new World();
    await w.add(Resources.deployments, deployment("web"));
    await w.converge();
    const rs = w.replicaSets()[0]!;
    await w.client.update(Resources.replicaSets, { ...rs, metadata: { ...rs.metadata, labels: { app: "elsewhere" } } });
    await w.syncQuietly();
    const released = w.replicaSets().find((r) => r.metadata.name === rs.metadata.name)!;
    expect(released.metadata.ownerReferences ?? []).toEqual([]);
    // Its name is the one a new ReplicaSet would get: once the cache shows it released, that is a collision, and the retry hashes with collisionCount 1.
    await w.syncQuietly();
    expect(w.deployment().status?.collisionCount).toBe(1);
    await w.sync();
    expect(w.replicaSets()).toHaveLength(2);
    expect(w.replicaSets()[1]!.metadata.name).toBe(`web-${computeHash(deployment("web").spec.template, 1)}`);
  });
});

describe("event handler lookups", () => {
  const ix = <T extends KubeObject>(objs: T[]) => {
    const i = new Indexer<T>(standardIndexers as never);
    for (const o of objs) i.set(o);
    return i;
  };
  const d = deployment("web");
  const rs: ReplicaSet = { metadata: { name: "web-abc", namespace: "default", uid: "uid-rs", labels: { app: "web", "pod-template-hash": "abc" }, ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: "web", uid: "uid-web", controller: true }] }, spec: { selector: {} } };

  it("a controller reference resolves only to the Deployment with that name and uid", () => {
    const ds = ix([d]);
    expect(resolveControllerRef(ds, "default", { apiVersion: "apps/v1", kind: "Deployment", name: "web", uid: "uid-web" })?.metadata.name).toBe("web");
    expect(resolveControllerRef(ds, "default", { apiVersion: "apps/v1", kind: "Deployment", name: "web", uid: "uid-old" })).toBeUndefined();
    expect(resolveControllerRef(ds, "default", { apiVersion: "apps/v1", kind: "StatefulSet", name: "web", uid: "uid-web" })).toBeUndefined();
  });

  it("an orphan ReplicaSet maps to the Deployments whose non-empty selector matches it", () => {
    const empty = deployment("all");
    empty.spec.selector = {};
    const ds = ix([d, empty, deployment("db")]);
    const orphan = { ...rs, metadata: { ...rs.metadata, ownerReferences: undefined } };
    expect(deploymentsForReplicaSet(ds, orphan).map((x) => x.metadata.name)).toEqual(["web"]);
    expect(deploymentsForReplicaSet(ds, { ...orphan, metadata: { ...orphan.metadata, labels: {} } })).toEqual([]);
  });

  it("a pod maps through its ReplicaSet to the Deployment", () => {
    const pod = { metadata: { name: "p", namespace: "default", ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-abc", uid: "uid-rs", controller: true }] }, spec: { containers: [] } } as PodObject;
    expect(deploymentForPod(ix([d]), ix([rs]), pod)?.metadata.name).toBe("web");
    expect(deploymentForPod(ix([d]), ix([{ ...rs, metadata: { ...rs.metadata, uid: "other" } }]), pod)).toBeUndefined();
  });
});
