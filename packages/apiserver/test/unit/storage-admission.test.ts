/**
 * Storage admission and defaults (upstream's DefaultStorageClass and StorageObjectInUseProtection
 * plugins, SetDefaults_StorageClass), the claim update that assigns a class retroactively, and
 * `kubectl get pv/pvc` reading Terminating for objects being deleted.
 */
import { describe, expect, it } from "vitest";
import { persistentVolumeClaimPrinter, persistentVolumePrinter } from "../../src/tables/core.js";
import { failure, newStore } from "./helpers.js";

const pvc = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  metadata: { name },
  spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, ...spec },
});
const pv = (name: string) => ({
  apiVersion: "v1",
  kind: "PersistentVolume",
  metadata: { name },
  spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], hostPath: { path: "/tmp/data" } },
});
const sc = (name: string, isDefault = false) => ({
  apiVersion: "storage.k8s.io/v1",
  kind: "StorageClass",
  metadata: { name, ...(isDefault ? { annotations: { "storageclass.kubernetes.io/is-default-class": "true" } } : {}) },
  provisioner: "rancher.io/local-path",
});
type Claim = { metadata: { finalizers?: string[]; deletionTimestamp?: string; creationTimestamp?: string }; spec: { storageClassName?: string } };

describe("storage admission", () => {
  it("defaults a StorageClass's reclaimPolicy to Delete and volumeBindingMode to Immediate", async () => {
    const { store, def } = await newStore();
    const created = await store.create(def("storage.k8s.io", "storageclasses"), undefined, sc("standard"));
    expect(created.reclaimPolicy).toBe("Delete");
    expect(created.volumeBindingMode).toBe("Immediate");
    const kept = await store.create(def("storage.k8s.io", "storageclasses"), undefined, { ...sc("local"), reclaimPolicy: "Retain", volumeBindingMode: "WaitForFirstConsumer" });
    expect([kept.reclaimPolicy, kept.volumeBindingMode]).toEqual(["Retain", "WaitForFirstConsumer"]);
  });

  it("gives a claim without a class the default class; an explicit \"\" and a named class are kept", async () => {
    const { store, def, clock } = await newStore();
    const claims = def("", "persistentvolumeclaims");
    const classes = def("storage.k8s.io", "storageclasses");
    const none = (await store.create(claims, "default", pvc("before-default"))) as unknown as Claim;
    expect(none.spec.storageClassName).toBeUndefined();
    await store.create(classes, undefined, sc("standard", true));
    clock.advance(2000);
    // Of two defaults the newest wins.
    await store.create(classes, undefined, sc("zz-newest", true));
    await store.create(classes, undefined, sc("fast"));
    expect(((await store.create(claims, "default", pvc("a"))) as unknown as Claim).spec.storageClassName).toBe("zz-newest");
    expect(((await store.create(claims, "default", pvc("b", { storageClassName: "" }))) as unknown as Claim).spec.storageClassName).toBe("");
    expect(((await store.create(claims, "default", pvc("c", { storageClassName: "fast" }))) as unknown as Claim).spec.storageClassName).toBe("fast");
    const beta = (await store.create(claims, "default", { ...pvc("d"), metadata: { name: "d", annotations: { "volume.beta.kubernetes.io/storage-class": "fast" } } })) as unknown as Claim;
    expect(beta.spec.storageClassName).toBeUndefined();
  });

  it("adds kubernetes.io/pvc-protection and kubernetes.io/pv-protection on create only", async () => {
    const { store, def } = await newStore();
    const claims = def("", "persistentvolumeclaims");
    const volumes = def("", "persistentvolumes");
    const claim = (await store.create(claims, "default", pvc("data"))) as unknown as Claim;
    expect(claim.metadata.finalizers).toEqual(["kubernetes.io/pvc-protection"]);
    const volume = (await store.create(volumes, undefined, pv("pv1"))) as unknown as Claim;
    expect(volume.metadata.finalizers).toEqual(["kubernetes.io/pv-protection"]);
    // Removing it (as the protection controller does) is not undone by the update.
    const { object } = await store.patch(claims, "default", "data", "merge", { metadata: { finalizers: null } });
    expect(object.metadata.finalizers).toBeUndefined();
    // Deleting a protected claim leaves it Terminating.
    await store.create(claims, "default", pvc("used"));
    const { deleted, object: dying } = await store.delete(claims, "default", "used", {});
    expect(deleted).toBe(false);
    expect(dying.metadata.deletionTimestamp).toBeDefined();
  });

  it("lets a claim created without a class be given one later, but never changes a class", async () => {
    const { store, def } = await newStore();
    const claims = def("", "persistentvolumeclaims");
    await store.create(claims, "default", pvc("late"));
    const { object } = await store.patch(claims, "default", "late", "merge", { spec: { storageClassName: "standard" } });
    expect((object as unknown as Claim).spec.storageClassName).toBe("standard");
    const err = await failure(store.patch(claims, "default", "late", "merge", { spec: { storageClassName: "fast" } }));
    expect(err.status.code).toBe(422);
    await store.create(claims, "default", pvc("none", { storageClassName: "" }));
    expect((await failure(store.patch(claims, "default", "none", "merge", { spec: { storageClassName: "standard" } }))).status.code).toBe(422);
  });

  it("prints Terminating for a PV or claim being deleted", () => {
    const now = new Date("2026-01-01T00:10:00Z");
    const meta = { name: "x", creationTimestamp: "2026-01-01T00:00:00Z", deletionTimestamp: "2026-01-01T00:09:00Z" };
    const claimRow = persistentVolumeClaimPrinter.row({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { ...meta, namespace: "default" }, spec: { volumeName: "pv1" }, status: { phase: "Bound" } }, { now });
    expect(claimRow[1]).toBe("Terminating");
    const pvRow = persistentVolumePrinter.row({ apiVersion: "v1", kind: "PersistentVolume", metadata: meta, spec: {}, status: { phase: "Bound" } }, { now });
    expect(pvRow[4]).toBe("Terminating");
  });
});
