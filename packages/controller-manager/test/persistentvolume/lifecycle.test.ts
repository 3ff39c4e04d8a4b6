/**
 * PV and claim phases over their lives (upstream's recycle_test/delete_test/binder_test sets 3-5):
 * Pending → Available → Bound → Released, reclaim Retain / Delete / Recycle / unknown, claims
 * that lose their PV, and the controller's cache ignoring versions older than its own writes.
 */
import { describe, expect, it } from "vitest";
import { Resources } from "@kubemu/common";
import { VersionedCache } from "../../src/controllers/persistentvolume/versioned-cache.js";
import type { VolumeObject } from "../../src/controllers/persistentvolume/types.js";
import { Fixture, NS, claim, pv } from "./fixture.js";

const bound = (name: string, o: Parameters<typeof pv>[1] = {}) => pv(name, { ...o, phase: "Bound", claimRef: { kind: "PersistentVolumeClaim", namespace: NS, name: "c", uid: "uid-c", apiVersion: "v1" } });

describe("PV controller: phases and reclaim", () => {
  it("makes a new PV Available, Bound with its claim, Released with its claimRef kept once the claim is deleted (Retain)", async () => {
    const f = new Fixture({ volumes: [pv("pv1", { phase: "Pending" })] });
    await f.settle();
    expect(f.volume("pv1").status?.phase).toBe("Available");
    await f.fake.create(Resources.persistentVolumeClaims, claim("c"));
    await f.settle();
    expect(f.volume("pv1").status?.phase).toBe("Bound");
    await f.deleteClaim("c");
    await f.settle();
    const v = f.volume("pv1");
    expect(v.status?.phase).toBe("Released");
    expect(v.spec.claimRef?.name).toBe("c");
    expect(f.events()).toEqual([]);
    // A new claim of the same name does not get the released PV back.
    await f.fake.create(Resources.persistentVolumeClaims, { ...claim("c"), metadata: { ...claim("c").metadata, uid: "uid-c2" } });
    await f.settle();
    expect(f.claim("c").spec.volumeName).toBeUndefined();
    expect(f.volume("pv1").status?.phase).toBe("Released");
  });

  it("makes a Released PV whose claimRef an administrator removed Available again", async () => {
    const f = new Fixture({ volumes: [bound("pv1")] });
    await f.settle();
    expect(f.volume("pv1").status?.phase).toBe("Released");
    const v = f.volume("pv1");
    delete v.spec.claimRef;
    await f.fake.update(Resources.persistentVolumes, v);
    await f.settle();
    expect(f.volume("pv1").status?.phase).toBe("Available");
  });

  it("Delete: leaves a PV of an external provisioner Released, for the provisioner to delete", async () => {
    const f = new Fixture({ volumes: [bound("pvc-1", { policy: "Delete", annotations: { "pv.kubernetes.io/provisioned-by": "rancher.io/local-path" } })] });
    await f.settle();
    expect(f.volume("pvc-1").status?.phase).toBe("Released");
    expect(f.fake.writes().filter((a) => a.verb === "delete")).toEqual([]);
  });

  it("Delete: deletes a hostPath PV under /tmp (it waits for the pv-protection controller), once", async () => {
    const f = new Fixture({ volumes: [bound("tmp-pv", { policy: "Delete", source: { hostPath: { path: "/tmp/data" } } })] });
    await f.settle();
    expect(f.volume("tmp-pv").metadata.deletionTimestamp).toBeDefined();
    expect(f.volume("tmp-pv").status?.phase).toBe("Released");
    expect(f.fake.writes().filter((a) => a.verb === "delete").map((a) => a.name)).toEqual(["tmp-pv"]);
  });

  it.each([
    ["a hostPath PV outside /tmp", { hostPath: { path: "/data/db" } }, "host_path deleter only supports /tmp/.+ but received provided /data/db"],
    ["an nfs PV", { nfs: { server: "172.17.0.2", path: "/tmp" } }, 'error getting deleter volume plugin for volume "pv1": no deletable volume plugin matched'],
    ["a gcePersistentDisk PV", { gcePersistentDisk: { pdName: "mongodb", fsType: "ext4" } }, 'error getting deleter volume plugin for volume "pv1": no volume plugin matched'],
  ])("Delete: marks %s Failed with VolumeFailedDelete, once", async (_what, source, message) => {
    const f = new Fixture({ volumes: [bound("pv1", { policy: "Delete", source })] });
    await f.settle();
    const v = f.volume("pv1");
    expect(v.status).toEqual({ phase: "Failed", message });
    expect(f.events()).toEqual([`Warning VolumeFailedDelete ${message}`]);
    // Tried again at every sync, without a new event while it stays Failed.
    await f.round();
    expect(f.events()).toHaveLength(1);
  });

  it("Delete: does nothing for a CSI volume (its driver deletes it)", async () => {
    const f = new Fixture({ volumes: [bound("csi", { policy: "Delete", source: { csi: { driver: "hostpath.csi.k8s.io", volumeHandle: "v1" } } })] });
    await f.settle();
    expect(f.volume("csi").status?.phase).toBe("Released");
  });

  it("Recycle and an unknown policy end Failed with upstream's events", async () => {
    const f = new Fixture({ volumes: [bound("rec", { policy: "Recycle" }), bound("odd", { policy: "Shred" })] });
    await f.settle();
    expect(f.volume("rec").status).toEqual({ phase: "Failed", message: "No recycler plugin found for the volume!" });
    expect(f.volume("odd").status).toEqual({ phase: "Failed", message: "Volume has unrecognized PersistentVolumeReclaimPolicy" });
    expect(f.events().sort()).toEqual(["Warning VolumeFailedRecycle No recycler plugin found for the volume!", "Warning VolumeUnknownReclaimPolicy Volume has unrecognized PersistentVolumeReclaimPolicy"]);
  });

  it("does not release a PV whose claim is only missing from the cache: asks the API first", async () => {
    const f = new Fixture({ volumes: [bound("pv1")] });
    await f.fake.create(Resources.persistentVolumeClaims, { ...claim("c", { volumeName: "pv1" }), metadata: { ...claim("c").metadata, annotations: { "pv.kubernetes.io/bind-completed": "yes" } } });
    // The claim is not in the controller's cache (never synced) — the PV's sync must look further.
    await f.sync.volumeWork("pv1");
    expect(f.volume("pv1").status?.phase).toBe("Bound");
  });

  it("marks a bound claim Lost when its PV is deleted, with ClaimLost", async () => {
    const f = new Fixture({ volumes: [pv("pv1")], claims: [claim("c")] });
    await f.settle();
    await f.deleteVolume("pv1");
    await f.settle();
    expect(f.claim("c").status).toEqual({ phase: "Lost" });
    expect(f.events()).toEqual(["Warning ClaimLost Bound claim has lost its PersistentVolume. Data on the volume is lost!"]);
  });

  it("marks a claim ClaimMisbound when its PV names another claim", async () => {
    const f = new Fixture({ volumes: [pv("pv1")], claims: [claim("c")] });
    await f.settle();
    const v = f.volume("pv1");
    v.spec.claimRef = { ...v.spec.claimRef!, name: "intruder", uid: "uid-intruder" };
    await f.fake.update(Resources.persistentVolumes, v);
    await f.settle();
    expect(f.claim("c").status?.phase).toBe("Lost");
    expect(f.events()).toEqual(["Warning ClaimMisbound Two claims are bound to the same volume, this one is bound incorrectly"]);
  });

  it("unbinds a PV it bound to a claim that ended up with another PV; a user's pre-binding keeps its claimRef", async () => {
    const f = new Fixture({ volumes: [pv("chosen"), pv("mine", { annotations: { "pv.kubernetes.io/bound-by-controller": "yes" } }), pv("users", { claimRef: { namespace: NS, name: "c" } })] });
    await f.fake.create(Resources.persistentVolumeClaims, { ...claim("c", { volumeName: "chosen" }) });
    await f.settle();
    expect(f.claim("c").spec.volumeName).toBe("chosen");
    // Make "mine" point at the claim as a half-finished controller binding would.
    const mine = f.volume("mine");
    mine.spec.claimRef = { namespace: NS, name: "c", uid: "uid-c" };
    await f.fake.update(Resources.persistentVolumes, mine);
    const users = f.volume("users");
    users.spec.claimRef = { namespace: NS, name: "c", uid: "uid-c" };
    await f.fake.update(Resources.persistentVolumes, users);
    await f.settle();
    expect(f.volume("mine").spec.claimRef).toBeUndefined();
    expect(f.volume("mine").metadata.annotations).toBeUndefined();
    expect(f.volume("mine").status?.phase).toBe("Available");
    expect(f.volume("users").spec.claimRef).toEqual({ namespace: NS, name: "c" });
    expect(f.volume("users").status?.phase).toBe("Available");
  });

  it("releases a provisioned PV (Delete) whose claim was bound to another PV", async () => {
    const f = new Fixture({ volumes: [pv("static")] });
    await f.fake.create(Resources.persistentVolumeClaims, claim("c", { volumeName: "static" }));
    await f.settle();
    await f.fake.create(Resources.persistentVolumes, bound("pvc-extra", { policy: "Delete", annotations: { "pv.kubernetes.io/provisioned-by": "rancher.io/local-path" } }));
    await f.settle();
    expect(f.volume("pvc-extra").status?.phase).toBe("Released");
  });
});

describe("VersionedCache", () => {
  it("keeps the newest version: an older one is refused, the same one passes (resyncs)", () => {
    const cache = new VersionedCache<VolumeObject>();
    const at = (rv: string) => ({ ...pv("a"), metadata: { ...pv("a").metadata, resourceVersion: rv } });
    expect(cache.store(at("10"))).toBe(true);
    expect(cache.store(at("9"))).toBe(false);
    expect(cache.get("a")?.metadata.resourceVersion).toBe("10");
    expect(cache.store(at("10"))).toBe(true);
    expect(cache.store(at("11"))).toBe(true);
    expect(cache.get("a")?.metadata.resourceVersion).toBe("11");
  });
});
