/**
 * The ephemeral volume controller (upstream's ephemeral controller_test.go cases): the claim
 * `<pod>-<volume>` from the template, owned by the pod; an existing claim the pod owns is kept;
 * one it does not own is refused with FailedBinding; pods being deleted are skipped.
 */
import { describe, expect, it } from "vitest";
import { Resources } from "@kubemu/common";
import type { PodObject } from "../../src/controller/pod-control.js";
import { enqueuePod } from "../../src/controllers/ephemeral/index.js";
import { EphemeralVolumeSync } from "../../src/controllers/ephemeral/sync.js";
import type { ClaimObject } from "../../src/controllers/persistentvolume/types.js";
import { FakeClient, FakeRecorder } from "../fake-client.js";
import { NS, claim, liveLister } from "./fixture.js";

const template = { metadata: { labels: { type: "scratch" }, annotations: { note: "x" } }, spec: { accessModes: ["ReadWriteOnce"], storageClassName: "local-path", resources: { requests: { storage: "1Gi" } } } };

function appPod(o: { deleting?: boolean } = {}): PodObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "app", namespace: NS, uid: "uid-app", ...(o.deleting ? { deletionTimestamp: "2026-01-01T00:05:00Z" } : {}) },
    spec: { containers: [{ name: "c", image: "busybox" }], volumes: [{ name: "cache", emptyDir: {} }, { name: "scratch", ephemeral: { volumeClaimTemplate: template } }] },
  } as PodObject;
}

function fixture(pods: PodObject[], claims: ClaimObject[] = []) {
  const fake = new FakeClient([
    { resource: Resources.pods, objects: pods },
    { resource: Resources.persistentVolumeClaims, objects: claims },
  ]);
  const recorder = new FakeRecorder();
  const sync = new EphemeralVolumeSync({ client: fake, pods: liveLister<PodObject>(fake, Resources.pods), claims: liveLister<ClaimObject>(fake, Resources.persistentVolumeClaims), recorder });
  return { fake, recorder, sync };
}

describe("ephemeral volume controller", () => {
  it("creates <pod>-<volume> from the template, owned by the pod, once", async () => {
    const { fake, sync } = fixture([appPod()]);
    await sync.sync(`${NS}/app`);
    await sync.sync(`${NS}/app`);
    const created = fake.objects<ClaimObject>(Resources.persistentVolumeClaims);
    expect(created).toHaveLength(1);
    expect(created[0]!.metadata).toMatchObject({
      name: "app-scratch",
      namespace: NS,
      labels: { type: "scratch" },
      annotations: { note: "x" },
      ownerReferences: [{ apiVersion: "v1", kind: "Pod", name: "app", uid: "uid-app", controller: true, blockOwnerDeletion: true }],
    });
    expect(created[0]!.spec).toEqual(template.spec);
    expect(fake.writes().filter((a) => a.verb === "create")).toHaveLength(1);
  });

  it("refuses a claim of that name the pod does not own, with FailedBinding", async () => {
    const { recorder, sync } = fixture([appPod()], [claim("app-scratch")]);
    await expect(sync.sync(`${NS}/app`)).rejects.toThrow("pod default/app, ephemeral volume scratch: PVC default/app-scratch was not created for pod default/app (pod is not owner)");
    expect(recorder.lines()).toEqual(["Warning FailedBinding ephemeral volume scratch: PVC default/app-scratch was not created for pod default/app (pod is not owner)"]);
  });

  it("skips a pod being deleted, and queues only pods with an ephemeral volume", async () => {
    const { fake, sync } = fixture([appPod({ deleting: true })]);
    await sync.sync(`${NS}/app`);
    expect(fake.writes()).toEqual([]);
    const queued: string[] = [];
    enqueuePod(appPod(), { add: (k) => queued.push(k) });
    enqueuePod(appPod({ deleting: true }), { add: (k) => queued.push(k) });
    enqueuePod({ ...appPod(), spec: { containers: [], volumes: [{ name: "cache", emptyDir: {} }] } } as PodObject, { add: (k) => queued.push(k) });
    expect(queued).toEqual([`${NS}/app`]);
  });
});
