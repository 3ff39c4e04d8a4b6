/**
 * The PVC and PV protection controllers (upstream's pvc_protection_controller_test.go and
 * pv_protection_controller_test.go cases): the finalizers stay while a pod uses the claim / the
 * PV is Bound, go once not, and come back on objects made without them; the pod events that
 * queue claims.
 */
import { describe, expect, it } from "vitest";
import { Resources } from "@kubemu/common";
import type { PodObject } from "../../src/controller/pod-control.js";
import { POD_PVC_INDEX, podPvcIndex } from "../../src/controller/pod-pvc-index.js";
import { enqueueClaimsOf } from "../../src/controllers/pvc-protection/index.js";
import { PvcProtectionSync } from "../../src/controllers/pvc-protection/sync.js";
import { PvProtectionSync } from "../../src/controllers/pv-protection/sync.js";
import type { ClaimObject, VolumeObject } from "../../src/controllers/persistentvolume/types.js";
import { FakeClient } from "../fake-client.js";
import { NS, claim, liveLister, pod, pv } from "./fixture.js";

const DELETED = "2026-01-01T00:05:00Z";
const deleting = <T extends ClaimObject | VolumeObject>(o: T): T => ({ ...o, metadata: { ...o.metadata, deletionTimestamp: DELETED } });

function pvcFixture(claims: ClaimObject[], pods: PodObject[], opts: { informerPods?: PodObject[] } = {}) {
  const fake = new FakeClient(
    [
      { resource: Resources.persistentVolumeClaims, objects: claims },
      { resource: Resources.pods, objects: pods },
    ],
    { lifecycle: true },
  );
  // The informer may lag the API: by default it holds what the API holds.
  const informerPods = opts.informerPods ? new FakeClient([{ resource: Resources.pods, objects: opts.informerPods }]) : fake;
  const sync = new PvcProtectionSync({ client: fake, claims: liveLister<ClaimObject>(fake, Resources.persistentVolumeClaims), pods: liveLister<PodObject>(informerPods, Resources.pods, { [POD_PVC_INDEX]: podPvcIndex }) });
  const has = (name: string) => fake.objects<ClaimObject>(Resources.persistentVolumeClaims).some((c) => c.metadata.name === name);
  return { fake, sync, has };
}

describe("PVC protection", () => {
  it("keeps a claim being deleted while a scheduled pod uses it, and lets it go once the pod is gone", async () => {
    const { fake, sync, has } = pvcFixture([deleting(claim("data"))], [pod("mongodb", "data", { nodeName: "kubemu", phase: "Running" })]);
    await sync.sync(`${NS}/data`);
    expect(has("data")).toBe(true);
    expect(fake.writes()).toEqual([]);
    await fake.delete(Resources.pods, NS, "mongodb");
    await sync.sync(`${NS}/data`);
    expect(has("data")).toBe(false);
    expect(fake.writes().map((a) => `${a.verb} ${a.resource}/${a.name}`)).toEqual(["delete pods/mongodb", "update persistentvolumeclaims/data"]);
  });

  it("counts a finished pod until it is deleted (as upstream), but not a pod no node runs", async () => {
    const done = pvcFixture([deleting(claim("data"))], [pod("job-x", "data", { nodeName: "kubemu", phase: "Succeeded" })]);
    await done.sync.sync(`${NS}/data`);
    expect(done.has("data")).toBe(true);
    const unscheduled = pvcFixture([deleting(claim("data"))], [pod("pending", "data")]);
    await unscheduled.sync.sync(`${NS}/data`);
    expect(unscheduled.has("data")).toBe(false);
  });

  it("asks the API when the informer has not seen the pod yet", async () => {
    const { sync, has } = pvcFixture([deleting(claim("data"))], [pod("new", "data", { nodeName: "kubemu" })], { informerPods: [] });
    await sync.sync(`${NS}/data`);
    expect(has("data")).toBe(true);
  });

  it("keeps other finalizers, and only acts on claims in its own namespace's pods", async () => {
    const c = deleting({ ...claim("data"), metadata: { ...claim("data").metadata, finalizers: ["kubernetes.io/pvc-protection", "example.com/keep"] } });
    const elsewhere = { ...pod("other", "data", { nodeName: "kubemu" }), metadata: { ...pod("other", "data").metadata, namespace: "prod" } };
    const { fake, sync } = pvcFixture([c], [elsewhere as PodObject]);
    await sync.sync(`${NS}/data`);
    expect(fake.objects<ClaimObject>(Resources.persistentVolumeClaims)[0]!.metadata.finalizers).toEqual(["example.com/keep"]);
  });

  it("ignores an ephemeral volume's claim once its pod is shut down, and one the pod does not own", async () => {
    const ephemeralPod = (grace?: number) =>
      ({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "app", namespace: NS, uid: "uid-app", ...(grace !== undefined ? { deletionTimestamp: DELETED, deletionGracePeriodSeconds: grace } : {}) },
        spec: { nodeName: "kubemu", containers: [{ name: "c", image: "busybox" }], volumes: [{ name: "scratch", ephemeral: { volumeClaimTemplate: { spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } } } }] },
        status: { phase: "Running" },
      }) as PodObject;
    const owned = deleting({ ...claim("app-scratch"), metadata: { ...claim("app-scratch").metadata, ownerReferences: [{ apiVersion: "v1", kind: "Pod", name: "app", uid: "uid-app", controller: true, blockOwnerDeletion: true }] } });
    const running = pvcFixture([owned], [ephemeralPod()]);
    await running.sync.sync(`${NS}/app-scratch`);
    expect(running.has("app-scratch")).toBe(true);
    const terminating = pvcFixture([owned], [ephemeralPod(30)]);
    await terminating.sync.sync(`${NS}/app-scratch`);
    expect(terminating.has("app-scratch")).toBe(true);
    const shutDown = pvcFixture([owned], [ephemeralPod(0)]);
    await shutDown.sync.sync(`${NS}/app-scratch`);
    expect(shutDown.has("app-scratch")).toBe(false);
    const notOwned = pvcFixture([deleting(claim("app-scratch"))], [ephemeralPod()]);
    await notOwned.sync.sync(`${NS}/app-scratch`);
    expect(notOwned.has("app-scratch")).toBe(false);
  });

  it("adds the finalizer to a live claim made without it", async () => {
    const bare = { ...claim("old"), metadata: { ...claim("old").metadata, finalizers: undefined } } as ClaimObject;
    const { fake, sync } = pvcFixture([bare], []);
    await sync.sync(`${NS}/old`);
    expect(fake.objects<ClaimObject>(Resources.persistentVolumeClaims)[0]!.metadata.finalizers).toEqual(["kubernetes.io/pvc-protection"]);
  });

  it("queues a pod's claims only when the pod can free them: deleted, finished or unscheduled", () => {
    const keys = (p: PodObject, deleted: boolean) => {
      const q: string[] = [];
      enqueueClaimsOf(p, deleted, { add: (k) => q.push(k) });
      return q;
    };
    expect(keys(pod("running", "data", { nodeName: "kubemu", phase: "Running" }), false)).toEqual([]);
    expect(keys(pod("running", "data", { nodeName: "kubemu", phase: "Running" }), true)).toEqual([`${NS}/data`]);
    expect(keys(pod("done", "data", { nodeName: "kubemu", phase: "Failed" }), false)).toEqual([`${NS}/data`]);
    expect(keys(pod("pending", "data"), false)).toEqual([`${NS}/data`]);
  });
});

describe("PV protection", () => {
  const pvFixture = (v: VolumeObject) => {
    const fake = new FakeClient([{ resource: Resources.persistentVolumes, objects: [v] }], { lifecycle: true });
    const sync = new PvProtectionSync({ client: fake, volumes: liveLister<VolumeObject>(fake, Resources.persistentVolumes) });
    return { fake, sync, has: () => fake.objects(Resources.persistentVolumes).length > 0 };
  };

  it("keeps a Bound PV being deleted; lets it go once it is Released, Available or Failed", async () => {
    const bound = pvFixture(deleting(pv("pv1", { phase: "Bound" })));
    await bound.sync.sync("pv1");
    expect(bound.has()).toBe(true);
    for (const phase of ["Released", "Available", "Failed"]) {
      const f = pvFixture(deleting(pv("pv1", { phase })));
      await f.sync.sync("pv1");
      expect(f.has()).toBe(false);
    }
  });

  it("adds the finalizer to a live PV made without it", async () => {
    const bare = { ...pv("pv1"), metadata: { ...pv("pv1").metadata, finalizers: undefined } } as VolumeObject;
    const { fake, sync } = pvFixture(bare);
    await sync.sync("pv1");
    expect(fake.objects(Resources.persistentVolumes)[0]!.metadata.finalizers).toEqual(["kubernetes.io/pv-protection"]);
  });
});
