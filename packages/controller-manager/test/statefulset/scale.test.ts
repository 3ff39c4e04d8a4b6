/**
 * StatefulSet scaling against the fake API: OrderedReady creates one pod at a time and waits for
 * it to be Running and Ready, Parallel creates them all, scale-down goes from the highest ordinal
 * one at a time, failed pods are replaced, terminating pods are waited for.
 */
import { describe, expect, it } from "vitest";
import { Resources } from "@kubemu/common";
import type { PodObject } from "../../src/controllers/statefulset/types.js";
import { Fixture, NS, newSet } from "./fixture.js";

describe("StatefulSet OrderedReady", () => {
  it("creates web-0 with its claim first, and web-1 only once web-0 is Running and Ready", async () => {
    const f = Fixture.of(newSet());
    await f.sync();
    expect(f.podNames()).toEqual(["web-0"]);
    expect(f.claims().map((c) => c.metadata.name)).toEqual(["www-web-0"]);
    expect(f.events()).toEqual(["Normal SuccessfulCreate create Claim www-web-0 Pod web-0 in StatefulSet web success", "Normal SuccessfulCreate create Pod web-0 in StatefulSet web successful"]);
    // The claim is created before the pod.
    const creates = f.writes("create").map((a) => `${a.resource}/${a.name}`);
    expect(creates.indexOf("persistentvolumeclaims/www-web-0")).toBeLessThan(creates.indexOf("pods/web-0"));

    // Pending: nothing more.
    await f.sync();
    await f.sync();
    expect(f.podNames()).toEqual(["web-0"]);

    // Running but not Ready: still waiting.
    await f.phase("web-0", "Running", false);
    await f.sync();
    expect(f.podNames()).toEqual(["web-0"]);

    await f.ready("web-0");
    await f.sync();
    expect(f.podNames()).toEqual(["web-0", "web-1"]);
    await f.ready("web-1");
    await f.sync();
    await f.ready("web-2");
    await f.sync();
    expect(f.podNames()).toEqual(["web-0", "web-1", "web-2"]);
    expect(f.claims().map((c) => c.metadata.name)).toEqual(["www-web-0", "www-web-1", "www-web-2"]);
    const st = f.set().status!;
    expect(st).toMatchObject({ replicas: 3, readyReplicas: 3, availableReplicas: 3, currentReplicas: 3, updatedReplicas: 3, observedGeneration: 1, collisionCount: 0 });
    expect(st.currentRevision).toBe(st.updateRevision);
  });

  it("gives each pod its identity: name, labels, hostname, subdomain, claim volume, controller reference", async () => {
    const f = Fixture.of(newSet());
    await f.sync();
    const pod = f.pod("web-0");
    const rev = f.revisions()[0]!;
    expect(pod.metadata.labels).toEqual({ app: "nginx", "statefulset.kubernetes.io/pod-name": "web-0", "apps.kubernetes.io/pod-index": "0", "controller-revision-hash": rev.metadata.name });
    expect(pod.metadata.generateName).toBe("web-");
    expect(pod.spec!.hostname).toBe("web-0");
    expect(pod.spec!.subdomain).toBe("nginx");
    expect(pod.spec!.volumes).toEqual([{ name: "www", persistentVolumeClaim: { claimName: "www-web-0" } }]);
    expect(pod.metadata.ownerReferences).toEqual([{ apiVersion: "apps/v1", kind: "StatefulSet", name: "web", uid: "uid-web", controller: true, blockOwnerDeletion: true }]);
    const claim = f.claims()[0]!;
    expect(claim.metadata.labels).toEqual({ app: "nginx" });
    expect(claim.metadata.ownerReferences).toBeUndefined();
    expect(claim.spec).toEqual({ accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } });
  });

  it("numbers pods from spec.ordinals.start", async () => {
    const f = Fixture.of(newSet({ replicas: 2, spec: { ordinals: { start: 5 } } }));
    await f.syncUntilStable();
    expect(f.podNames()).toEqual(["web-5", "web-6"]);
    expect(f.pod("web-5").metadata.labels!["apps.kubernetes.io/pod-index"]).toBe("5");
    expect(f.claims().map((c) => c.metadata.name)).toEqual(["www-web-5", "www-web-6"]);
  });

  it("scales down from the highest ordinal, one pod at a time, and keeps the claims", async () => {
    const f = Fixture.of(newSet());
    await f.syncUntilStable();
    await f.editSpec((s) => (s.replicas = 1));
    f.clearEvents();
    f.fake.clearActions();
    await f.sync();
    expect(f.writes("delete", "pods").map((a) => a.name)).toEqual(["web-2"]);
    expect(f.events()).toEqual(["Normal SuccessfulDelete delete Pod web-2 in StatefulSet web successful"]);
    await f.sync();
    expect(f.writes("delete", "pods").map((a) => a.name)).toEqual(["web-2", "web-1"]);
    await f.sync();
    expect(f.podNames()).toEqual(["web-0"]);
    expect(f.claims().map((c) => c.metadata.name)).toEqual(["www-web-0", "www-web-1", "www-web-2"]);
    expect(f.set().status).toMatchObject({ replicas: 1, readyReplicas: 1 });
  });

  it("waits for a terminating pod before deleting the next one", async () => {
    const f = Fixture.of(newSet());
    await f.syncUntilStable();
    await f.terminating("web-2");
    await f.editSpec((s) => (s.replicas = 1));
    f.fake.clearActions();
    await f.sync();
    await f.sync();
    expect(f.writes("delete", "pods")).toEqual([]);
    await f.fake.delete(Resources.pods, NS, "web-2");
    await f.sync();
    expect(f.writes("delete", "pods").map((a) => a.name)).toEqual(["web-2", "web-1"]);
  });

  it("does not scale up past an unhealthy pod, nor down while a lower pod is unhealthy", async () => {
    const f = Fixture.of(newSet());
    await f.syncUntilStable();
    await f.phase("web-0", "Running", false);
    await f.editSpec((s) => (s.replicas = 4));
    await f.sync();
    expect(f.podNames()).toEqual(["web-0", "web-1", "web-2"]);
    await f.editSpec((s) => (s.replicas = 2));
    f.fake.clearActions();
    await f.sync();
    expect(f.writes("delete", "pods")).toEqual([]);
    await f.ready("web-0");
    await f.sync();
    expect(f.writes("delete", "pods").map((a) => a.name)).toEqual(["web-2"]);
  });

  it("deletes a failed pod and makes it again once it is gone", async () => {
    const f = Fixture.of(newSet());
    await f.syncUntilStable();
    await f.phase("web-1", "Failed");
    f.clearEvents();
    await f.sync();
    expect(f.podNames()).toEqual(["web-0", "web-2"]);
    expect(f.events()).toEqual(["Normal SuccessfulDelete delete Pod web-1 in StatefulSet web successful"]);
    await f.sync();
    expect(f.podNames()).toEqual(["web-0", "web-1", "web-2"]);
    expect(f.writes("create", "pods").filter((a) => a.name === "web-1")).toHaveLength(2);
    expect(f.events()).toContain("Normal SuccessfulCreate create Pod web-1 in StatefulSet web successful");
    // The claim was kept and reused, not created again.
    expect(f.events().filter((e) => e.includes("create Claim"))).toEqual([]);
  });

  it("only records status for a set being deleted", async () => {
    const set = newSet();
    set.metadata.deletionTimestamp = "2026-01-01T00:05:00Z";
    const f = Fixture.of(set);
    await f.sync();
    expect(f.podNames()).toEqual([]);
    expect(f.writes("create", "pods")).toEqual([]);
  });

  it("records FailedCreate in upstream's words when the API refuses the pod", async () => {
    const f = Fixture.of(newSet({ claims: false }));
    f.fake.failOn("create", "pods", new Error('pods "web-0" is forbidden: exceeded quota'));
    await f.sync().catch(() => undefined);
    expect(f.events()).toEqual(['Warning FailedCreate create Pod web-0 in StatefulSet web failed error: pods "web-0" is forbidden: exceeded quota']);
  });

  it("adopts an orphan pod whose name and labels make it the set's, and leaves another set's pod alone", async () => {
    const orphan = { apiVersion: "v1", kind: "Pod", metadata: { name: "web-0", namespace: NS, uid: "uid-orphan", labels: { app: "nginx" } }, spec: { containers: [{ name: "nginx", image: "x" }] }, status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] } } as PodObject;
    const stranger = { apiVersion: "v1", kind: "Pod", metadata: { name: "other-0", namespace: NS, uid: "uid-other", labels: { app: "nginx" } }, spec: { containers: [{ name: "c", image: "x" }] }, status: { phase: "Running" } } as PodObject;
    const f = Fixture.of(newSet({ replicas: 1, claims: false }), { pods: [orphan, stranger] });
    await f.sync();
    const adopt = f.writes("patch", "pods");
    expect(adopt.map((a) => a.name)).toEqual(["web-0"]);
    expect(adopt[0]!.patch).toEqual({ metadata: { ownerReferences: [{ apiVersion: "apps/v1", kind: "StatefulSet", name: "web", uid: "uid-web", controller: true, blockOwnerDeletion: true }], uid: "uid-orphan" } });
    expect(f.pod("other-0").metadata.ownerReferences).toBeUndefined();
  });
});

describe("StatefulSet Parallel", () => {
  it("creates every pod and claim in one sync, without waiting for readiness", async () => {
    const f = Fixture.of(newSet({ spec: { podManagementPolicy: "Parallel" } }));
    await f.sync();
    expect(f.podNames()).toEqual(["web-0", "web-1", "web-2"]);
    expect(f.claims().map((c) => c.metadata.name)).toEqual(["www-web-0", "www-web-1", "www-web-2"]);
  });

  it("deletes every condemned pod at once on scale-down", async () => {
    const f = Fixture.of(newSet({ replicas: 4, spec: { podManagementPolicy: "Parallel" } }));
    await f.syncUntilStable();
    await f.editSpec((s) => (s.replicas = 1));
    f.fake.clearActions();
    await f.sync();
    expect(f.writes("delete", "pods").map((a) => a.name).sort()).toEqual(["web-1", "web-2", "web-3"]);
  });
});

describe("StatefulSet minReadySeconds", () => {
  it("waits until a Ready pod has been Ready for minReadySeconds, and asks to be synced again", async () => {
    const f = Fixture.of(newSet({ replicas: 2, claims: false, spec: { minReadySeconds: 10 } }));
    await f.sync();
    await f.ready("web-0");
    await f.sync();
    expect(f.podNames()).toEqual(["web-0"]);
    expect(f.requeues.at(-1)).toEqual({ key: "default/web", ms: 10_000 });
    expect(f.set().status).toMatchObject({ readyReplicas: 1, availableReplicas: 0 });
    f.clock.advance(9_000);
    await f.sync();
    expect(f.podNames()).toEqual(["web-0"]);
    f.clock.advance(2_000);
    await f.sync();
    expect(f.podNames()).toEqual(["web-0", "web-1"]);
    expect(f.set().status).toMatchObject({ readyReplicas: 1, availableReplicas: 1 });
  });
});

describe("StatefulSet pod shape", () => {
  it("leaves out subdomain without a serviceName and volumes without claims", async () => {
    const set = newSet({ replicas: 1, claims: false });
    set.spec.serviceName = "";
    set.spec.template.spec!.containers[0]!.volumeMounts = undefined;
    const f = Fixture.of(set);
    await f.sync();
    const spec = f.pod("web-0").spec!;
    expect(spec.hostname).toBe("web-0");
    expect("subdomain" in spec).toBe(false);
    expect("volumes" in spec).toBe(false);
  });
});
