/**
 * PV and claim phases over their lives (upstream's recycle_test/delete_test/binder_test sets 3-5):
 * Pending → Available → Bound → Released, reclaim Retain / Delete / Recycle / unknown, claims
 * that lose their PV, and the controller's cache ignoring versions older than its own writes.
 */
import { describe, expect, it } from "vitest";
import { Resources, type KubeObject } from "@kubemu/common";
import { VersionedCache } from "../../src/controllers/persistentvolume/versioned-cache.js";
import type { VolumeObject } from "../../src/controllers/persistentvolume/types.js";
import { Fixture, NS, claim, pod, pv } from "./fixture.js";

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

  it("an unknown policy ends Failed with VolumeUnknownReclaimPolicy", async () => {
    const f = new Fixture({ volumes: [bound("odd", { policy: "Shred" })] });
    await f.settle();
    expect(f.volume("odd").status).toEqual({ phase: "Failed", message: "Volume has unrecognized PersistentVolumeReclaimPolicy" });
    expect(f.events()).toEqual(["Warning VolumeUnknownReclaimPolicy Volume has unrecognized PersistentVolumeReclaimPolicy"]);
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

describe("PV controller: Recycle", () => {
  const recyclable = (name: string, source: Record<string, unknown> = { hostPath: { path: "/tmp/pv-a" } }) =>
    bound(name, { policy: "Recycle", source, annotations: { "pv.kubernetes.io/bound-by-controller": "yes" } });
  const recyclerPod = (f: Fixture, name: string) => f.fake.objects(Resources.pods).find((p) => p.metadata.name === `recycler-for-${name}`) as (KubeObject & { spec: Record<string, unknown> }) | undefined;

  /** Plays the kubelet finishing the recycler pod, lets the operation see it, and waits for it to end. */
  async function finishRecycler(f: Fixture, name: string, phase: "Succeeded" | "Failed", message?: string): Promise<void> {
    const pod = recyclerPod(f, name)!;
    await f.fake.updateStatus(Resources.pods, { ...pod, status: { phase, ...(message ? { message } : {}) } });
    await f.clock.advanceAsync(200, 50);
    await f.sync.operationsIdle();
  }

  it("scrubs a released hostPath PV with upstream's recycler pod, then makes it Available (VolumeRecycled)", async () => {
    const f = new Fixture({ volumes: [recyclable("pv-a", { hostPath: { path: "/tmp/pv-a" } })] });
    await f.settle();
    expect(f.volume("pv-a").status?.phase).toBe("Released");
    const pod = recyclerPod(f, "pv-a")!;
    expect(pod.metadata.namespace).toBe("default");
    expect(pod.spec).toEqual({
      activeDeadlineSeconds: 60,
      restartPolicy: "Never",
      volumes: [{ name: "vol", hostPath: { path: "/tmp/pv-a" } }],
      containers: [
        {
          name: "pv-recycler",
          image: "registry.k8s.io/build-image/debian-base:bookworm-v1.0.4",
          command: ["/bin/sh"],
          args: ["-c", 'test -e /scrub && find /scrub -mindepth 1 -delete && test -z "$(ls -A /scrub)" || exit 1'],
          volumeMounts: [{ name: "vol", mountPath: "/scrub" }],
        },
      ],
    });
    // Another sync while the pod runs starts nothing new.
    await f.round();
    expect(f.fake.writes().filter((a) => a.verb === "create" && a.resource === "pods")).toHaveLength(1);
    await finishRecycler(f, "pv-a", "Succeeded");
    expect(recyclerPod(f, "pv-a")).toBeUndefined();
    const v = f.volume("pv-a");
    expect(v.spec.claimRef).toBeUndefined();
    expect(v.status?.phase).toBe("Available");
    expect(f.events()).toEqual(["Normal VolumeRecycled Volume recycled"]);
  });

  it("gives an nfs PV 300 s and 30 s more per Gi", async () => {
    const f = new Fixture({ volumes: [{ ...recyclable("pv0003", { nfs: { server: "172.17.0.2", path: "/tmp" } }), spec: { ...recyclable("pv0003", { nfs: { server: "172.17.0.2", path: "/tmp" } }).spec, capacity: { storage: "20Gi" } } }] });
    await f.settle();
    expect(recyclerPod(f, "pv0003")!.spec).toMatchObject({ activeDeadlineSeconds: 600, volumes: [{ name: "vol", nfs: { server: "172.17.0.2", path: "/tmp" } }] });
  });

  it("marks the PV Failed when the recycler pod fails, and tries again later", async () => {
    const f = new Fixture({ volumes: [recyclable("pv-a")] });
    await f.settle();
    await finishRecycler(f, "pv-a", "Failed", "Pod was active on the node longer than the specified deadline");
    expect(f.volume("pv-a").status).toEqual({ phase: "Failed", message: "Recycle failed: failed to recycle volume: Pod was active on the node longer than the specified deadline" });
    expect(f.events()).toEqual(["Warning VolumeFailedRecycle Recycle failed: failed to recycle volume: Pod was active on the node longer than the specified deadline"]);
    await f.round();
    expect(recyclerPod(f, "pv-a")?.status).toBeUndefined();
  });

  it("has no recycler for other volume types, and does not scrub a volume pods still use", async () => {
    const gce = new Fixture({ volumes: [recyclable("gce", { gcePersistentDisk: { pdName: "pv-a", fsType: "nfs4" } })] });
    await gce.settle();
    await gce.sync.operationsIdle();
    expect(gce.volume("gce").status).toEqual({ phase: "Failed", message: "No recycler plugin found for the volume!" });
    expect(gce.events()).toEqual(["Warning VolumeFailedRecycle No recycler plugin found for the volume!"]);
    // The claim is gone but a pod still names it.
    const f = new Fixture({ volumes: [recyclable("used")], pods: [pod("stuck", "c", { nodeName: "kubemu", phase: "Running" })] });
    await f.settle();
    await f.sync.operationsIdle();
    // Said again at every sync while the pod stays (the events aggregate).
    expect(new Set(f.eventsFor("used"))).toEqual(new Set(["Normal VolumeFailedRecycle Volume is used by pods: default/stuck"]));
    expect(recyclerPod(f, "used")).toBeUndefined();
    expect(f.volume("used").status?.phase).toBe("Released");
  });
});
