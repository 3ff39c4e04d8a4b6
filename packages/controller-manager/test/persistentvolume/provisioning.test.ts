/**
 * Dynamic provisioning from the controller's side (upstream's provision_test.go cases, external
 * provisioners): the claim is handed to its class's provisioner with annotations and an event,
 * WaitForFirstConsumer waits for the scheduler's selected-node, the provisioner's PV is bound,
 * the default class is assigned to claims made without one.
 */
import { describe, expect, it } from "vitest";
import { Resources } from "@kubemu/common";
import { externalProvisioningMessage } from "../../src/controllers/persistentvolume/provision.js";
import type { ClaimObject } from "../../src/controllers/persistentvolume/types.js";
import { Fixture, NS, claim, pod, pv, storageClass } from "./fixture.js";

const LOCAL_PATH = "rancher.io/local-path";
const EXTERNAL = `Normal ExternalProvisioning ${externalProvisioningMessage(LOCAL_PATH)}`;

/** What an external provisioner writes: a PV pre-bound to the claim (with its uid), Bound, provisioned-by. */
function provisionedFor(c: ClaimObject) {
  return pv(`pvc-${c.metadata.uid}`, {
    cls: c.spec.storageClassName!,
    size: c.spec.resources!.requests!["storage"] as string,
    policy: "Delete",
    phase: "Bound",
    annotations: { "pv.kubernetes.io/provisioned-by": LOCAL_PATH },
    claimRef: { kind: "PersistentVolumeClaim", namespace: NS, name: c.metadata.name!, uid: c.metadata.uid!, apiVersion: "v1" },
  });
}

describe("PV controller: dynamic provisioning", () => {
  it("hands an Immediate claim to an external provisioner: both annotations, ExternalProvisioning in upstream's words", async () => {
    const f = new Fixture({ classes: [storageClass("standard")], claims: [claim("data", { cls: "standard" })] });
    await f.round();
    const c = f.claim("data");
    expect(c.metadata.annotations).toEqual({ "volume.beta.kubernetes.io/storage-provisioner": LOCAL_PATH, "volume.kubernetes.io/storage-provisioner": LOCAL_PATH });
    expect(c.status?.phase).toBe("Pending");
    expect(f.events()).toEqual([EXTERNAL]);
    expect(externalProvisioningMessage(LOCAL_PATH)).toBe(
      "Waiting for a volume to be created either by the external provisioner 'rancher.io/local-path' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.",
    );
    // The next sync writes nothing more, and says it again (the events aggregate).
    f.fake.clearActions();
    await f.round();
    expect(f.fake.writes()).toEqual([]);
    expect(f.events()).toEqual([EXTERNAL, EXTERNAL]);
  });

  it("binds the provisioner's PV to the claim", async () => {
    const f = new Fixture({ classes: [storageClass("standard")], claims: [claim("data", { cls: "standard", size: "2Gi" })] });
    await f.settle();
    await f.fake.create(Resources.persistentVolumes, provisionedFor(f.claim("data")));
    await f.settle();
    const c = f.claim("data");
    expect(c.spec.volumeName).toBe("pvc-uid-data");
    expect(c.status).toEqual({ phase: "Bound", accessModes: ["ReadWriteOnce"], capacity: { storage: "2Gi" } });
    expect(c.metadata.annotations?.["pv.kubernetes.io/bind-completed"]).toBe("yes");
    // The provisioner's PV had no bound-by-controller; pre-bound to the claim, it gets none.
    expect(f.volume("pvc-uid-data").metadata.annotations).toEqual({ "pv.kubernetes.io/provisioned-by": LOCAL_PATH });
  });

  it("reports a class that does not exist and an in-tree provisioner it has no plugin for", async () => {
    const f = new Fixture({ classes: [storageClass("local", { provisioner: "kubernetes.io/no-provisioner" })], claims: [claim("a", { cls: "fast" }), claim("b", { cls: "local" })] });
    await f.round();
    expect(f.eventsFor(`${NS}/a`)).toEqual(['Warning ProvisioningFailed storageclass.storage.k8s.io "fast" not found']);
    expect(f.eventsFor(`${NS}/b`)).toEqual(["Warning ProvisioningFailed no volume plugin matched name: kubernetes.io/no-provisioner"]);
    expect(f.claim("a").metadata.annotations).toBeUndefined();
  });

  it("uses an existing PV of the class before provisioning", async () => {
    const f = new Fixture({ classes: [storageClass("standard")], volumes: [pv("pre", { cls: "standard", size: "5Gi" })], claims: [claim("data", { cls: "standard" })] });
    await f.settle();
    expect(f.claim("data").spec.volumeName).toBe("pre");
    expect(f.events()).toEqual([]);
  });

  it("WaitForFirstConsumer: no binding and WaitForFirstConsumer until a pod uses the claim, then WaitForPodScheduled naming it", async () => {
    const f = new Fixture({ classes: [storageClass("local-path", { mode: "WaitForFirstConsumer" })], volumes: [pv("fits", { cls: "local-path" })], claims: [claim("data", { cls: "local-path" })] });
    await f.settle();
    expect(f.claim("data").spec.volumeName).toBeUndefined();
    expect(f.claim("data").metadata.annotations).toBeUndefined();
    expect(f.events()).toEqual(["Normal WaitForFirstConsumer waiting for first consumer to be created before binding"]);
    await f.fake.create(Resources.pods, pod("web-0", "data"));
    await f.round();
    expect(f.events().at(-1)).toBe("Normal WaitForPodScheduled waiting for pod web-0 to be scheduled");
    await f.fake.create(Resources.pods, pod("web-1", "data"));
    // A finished pod and one already on a node do not count.
    await f.fake.create(Resources.pods, pod("done", "data", { phase: "Succeeded" }));
    await f.fake.create(Resources.pods, pod("placed", "data", { nodeName: "kubemu" }));
    await f.round();
    expect(f.events().at(-1)).toBe("Normal WaitForPodScheduled waiting for pods web-0,web-1 to be scheduled");
  });

  it("WaitForFirstConsumer: the scheduler's selected-node hands the claim to the provisioner; its PV on that node is bound", async () => {
    const f = new Fixture({ classes: [storageClass("local-path", { mode: "WaitForFirstConsumer" })], claims: [claim("data", { cls: "local-path" })] });
    await f.settle();
    const c = f.claim("data");
    // The scheduler's PreBind.
    await f.fake.update(Resources.persistentVolumeClaims, { ...c, metadata: { ...c.metadata, annotations: { "volume.kubernetes.io/selected-node": "kubemu-m02" } } });
    await f.settle();
    expect(f.claim("data").metadata.annotations).toEqual({
      "volume.kubernetes.io/selected-node": "kubemu-m02",
      "volume.beta.kubernetes.io/storage-provisioner": LOCAL_PATH,
      "volume.kubernetes.io/storage-provisioner": LOCAL_PATH,
    });
    expect(f.events().at(-1)).toBe(EXTERNAL);
    await f.fake.create(Resources.persistentVolumes, provisionedFor(f.claim("data")));
    await f.settle();
    expect(f.claim("data").status?.phase).toBe("Bound");
    expect(f.claim("data").spec.volumeName).toBe("pvc-uid-data");
  });

  it("WaitForFirstConsumer: a PV the scheduler chose (claimRef + bound-by-controller) is bound", async () => {
    const f = new Fixture({ classes: [storageClass("local", { mode: "WaitForFirstConsumer", provisioner: "kubernetes.io/no-provisioner" })], volumes: [pv("local-1", { cls: "local" })], claims: [claim("data", { cls: "local" })] });
    await f.settle();
    const v = f.volume("local-1");
    await f.fake.update(Resources.persistentVolumes, { ...v, metadata: { ...v.metadata, annotations: { "pv.kubernetes.io/bound-by-controller": "yes" } }, spec: { ...v.spec, claimRef: { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace: NS, name: "data", uid: "uid-data" } } });
    await f.settle();
    expect(f.claim("data").spec.volumeName).toBe("local-1");
    expect(f.claim("data").status?.phase).toBe("Bound");
    expect(f.volume("local-1").status?.phase).toBe("Bound");
  });

  it("gives a claim made without a class the default class once one exists, then provisions it", async () => {
    const f = new Fixture({ claims: [claim("data", { cls: null })] });
    await f.settle();
    expect(f.claim("data").spec.storageClassName).toBeUndefined();
    expect(f.events()).toEqual(["Normal FailedBinding no persistent volumes available for this claim and no storage class is set"]);
    await f.fake.create(Resources.storageClasses, storageClass("standard", { isDefault: true }));
    await f.settle();
    expect(f.claim("data").spec.storageClassName).toBe("standard");
    expect(f.claim("data").metadata.annotations?.["volume.kubernetes.io/storage-provisioner"]).toBe(LOCAL_PATH);
    // A claim with the explicit "" class never gets one.
    await f.fake.create(Resources.persistentVolumeClaims, claim("none", { cls: "" }));
    await f.settle();
    expect(f.claim("none").spec.storageClassName).toBe("");
  });

  it("fails the sync of a claim whose class has no volumeBindingMode (the API server always sets one)", async () => {
    const sc = storageClass("odd");
    delete (sc as { volumeBindingMode?: string }).volumeBindingMode;
    const f = new Fixture({ classes: [sc], claims: [claim("data", { cls: "odd" })] });
    await expect(f.round()).rejects.toThrow('VolumeBindingMode not set for StorageClass "odd"');
  });
});
