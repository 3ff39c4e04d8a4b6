/**
 * The volume controllers end to end (persistentvolume-binder-controller, pvc-protection,
 * pv-protection) with a scheduler and the real kubectl:
 *
 * - Kubernetes in Action ch. 6: an administrator's hostPath PV (mongodb-pv), a claim with
 *   storageClassName "" bound to it (`kubectl get pv` / `get pvc`: STATUS Bound, CLAIM
 *   default/mongodb-pvc, ACCESS MODES RWO,ROX), a pod using the claim; `kubectl delete pvc` while
 *   the pod runs leaves the claim Terminating until the pod is deleted; then the PV is Released
 *   (Retain) and a new claim is not given it. Pre-provisioned PVs applied as a List bind claims of
 *   their size; deleting one claim runs the recycler pod on its PV (Recycle), which is then
 *   Available again; a claim naming a class that does not exist gets ProvisioningFailed.
 * - A WaitForFirstConsumer class (the default, provisioner rancher.io/local-path): the claim
 *   waits (WaitForFirstConsumer event) until a pod using it is scheduled; the scheduler's
 *   selected-node, the controller's storage-provisioner annotations and ExternalProvisioning
 *   event, then a fake provisioner written here (it watches for those annotations and creates a
 *   PV with nodeAffinity to the selected node, as local-path-provisioner does; it deletes Released
 *   PVs it made) — the claim ends Bound and the pod on that node. Deleting pod and claim releases
 *   the PV and the provisioner removes it.
 *
 * There is no kubelet yet: the test marks pods Running itself and force-deletes them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Resources, type KubeObject } from "@kubemu/common";
import { ManagerHarness, eventually } from "./harness.js";

const h = new ManagerHarness({ etcd: "127.1.82", api: "127.1.83", scheduler: "127.1.84", manager: "127.1.85" }, { schedulers: 1, controllers: "persistentvolume-binder-controller,pvc-protection,pv-protection" });
let provisioner: { stop(): Promise<void> } | undefined;

type Obj = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

/** kubectl's table as rows keyed by the header's column names (cells cut at the header's column starts). */
function table(out: string): Record<string, string>[] {
  const [header, ...lines] = out.split("\n").filter((l) => l.trim() !== "");
  // "No resources found" goes to stderr: no header, no rows.
  if (header === undefined) return [];
  const cols = [...header.matchAll(/\S+(?: \S+)*/g)].map((m) => ({ name: m[0], at: m.index }));
  return lines.map((line) => Object.fromEntries(cols.map((c, i) => [c.name, line.slice(c.at, i + 1 < cols.length ? cols[i + 1]!.at : undefined).trim()])));
}

async function rowOf(kind: string, name: string): Promise<Record<string, string> | undefined> {
  return table(await h.kubectl.ok(["get", kind])).find((r) => r.NAME === name);
}

async function eventsOf(name: string): Promise<string[]> {
  const list = await h.client.list<Obj & { reason?: string; message?: string; involvedObject?: { name?: string }; source?: { component?: string } }>(Resources.events, { namespace: "default" });
  return list.items.filter((e) => e.involvedObject?.name === name).map((e) => `${e.source?.component} ${e.reason} ${e.message}`);
}

const MONGODB_PV = `apiVersion: v1
kind: PersistentVolume
metadata:
  name: mongodb-pv
spec:
  capacity:
    storage: 1Gi
  accessModes:
    - ReadWriteOnce
    - ReadOnlyMany
  persistentVolumeReclaimPolicy: Retain
  hostPath:
    path: /tmp/mongodb
`;

const MONGODB_PVC = `apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: mongodb-pvc
spec:
  resources:
    requests:
      storage: 1Gi
  accessModes:
  - ReadWriteOnce
  storageClassName: ""
`;

const MONGODB_POD = `apiVersion: v1
kind: Pod
metadata:
  name: mongodb
spec:
  containers:
  - image: mongo
    name: mongodb
    volumeMounts:
    - name: mongodb-data
      mountPath: /data/db
    ports:
    - containerPort: 27017
      protocol: TCP
  volumes:
  - name: mongodb-data
    persistentVolumeClaim:
      claimName: mongodb-pvc
`;

const HOSTPATH_PVS = `kind: List
apiVersion: v1
items:
${["a", "b", "c"]
  .map(
    (x) => `- apiVersion: v1
  kind: PersistentVolume
  metadata:
    name: pv-${x}
  spec:
    capacity:
      storage: 1Mi
    accessModes:
      - ReadWriteOnce
    persistentVolumeReclaimPolicy: Recycle
    hostPath:
      path: /tmp/pv-${x}`,
  )
  .join("\n")}
`;

const claimYaml = (name: string, size: string, cls?: string) => `apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: ${name}
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: ${size}
${cls !== undefined ? `  storageClassName: "${cls}"\n` : ""}`;

const LOCAL_PATH_CLASS = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local-path
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: rancher.io/local-path
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Delete
`;

const VOLUME_POD = `apiVersion: v1
kind: Pod
metadata:
  name: volume-test
spec:
  containers:
  - name: volume-test
    image: nginx:stable-alpine
    volumeMounts:
    - name: volv
      mountPath: /data
  volumes:
  - name: volv
    persistentVolumeClaim:
      claimName: local-path-pvc
`;

/**
 * A stand-in for local-path-provisioner (sig-storage-lib-external-provisioner's protocol): claims
 * annotated for rancher.io/local-path with a selected node get a PV pre-bound to them on that
 * node; Released PVs it made (reclaim Delete) are deleted — storage first, then the PV object.
 */
function fakeProvisioner(): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const claims = (await h.client.list<Obj>(Resources.persistentVolumeClaims, {})).items;
        const volumes = (await h.client.list<Obj>(Resources.persistentVolumes, {})).items;
        for (const c of claims) {
          const a = c.metadata.annotations ?? {};
          const node = a["volume.kubernetes.io/selected-node"];
          const name = `pvc-${c.metadata.uid}`;
          if (a["volume.kubernetes.io/storage-provisioner"] !== "rancher.io/local-path" || !node || c.spec?.volumeName || c.metadata.deletionTimestamp || volumes.some((v) => v.metadata.name === name)) continue;
          const spec = c.spec as { accessModes: string[]; resources: { requests: { storage: string } }; storageClassName: string };
          await h.client.create(Resources.persistentVolumes, {
            apiVersion: "v1",
            kind: "PersistentVolume",
            metadata: { name, annotations: { "pv.kubernetes.io/provisioned-by": "rancher.io/local-path", "local.path.provisioner/selected-node": node } },
            spec: {
              capacity: { storage: spec.resources.requests.storage },
              accessModes: spec.accessModes,
              persistentVolumeReclaimPolicy: "Delete",
              storageClassName: spec.storageClassName,
              volumeMode: "Filesystem",
              claimRef: { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace: c.metadata.namespace, name: c.metadata.name, uid: c.metadata.uid, resourceVersion: c.metadata.resourceVersion },
              hostPath: { path: `/opt/local-path-provisioner/${name}_${c.metadata.namespace}_${c.metadata.name}`, type: "DirectoryOrCreate" },
              nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [node] }] }] } },
            },
          });
        }
        for (const v of volumes) {
          const spec = v.spec as { persistentVolumeReclaimPolicy?: string };
          if (v.metadata.annotations?.["pv.kubernetes.io/provisioned-by"] === "rancher.io/local-path" && v.status?.phase === "Released" && spec.persistentVolumeReclaimPolicy === "Delete" && !v.metadata.deletionTimestamp) {
            await h.client.delete(Resources.persistentVolumes, undefined, v.metadata.name!);
          }
        }
      } catch {
        // A write that raced the controllers: looked at again on the next pass.
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

beforeAll(async () => {
  await h.start();
  await h.createNode("kubemu");
  await h.createNode("kubemu-m02");
}, 90_000);

afterAll(async () => {
  await provisioner?.stop();
  await h.stop();
}, 30_000);

describe("volume controllers with kubectl", () => {
  it("binds the KIA mongodb-pv to mongodb-pvc; deleting the claim a pod uses leaves it Terminating until the pod goes; then Released (Retain)", async () => {
    await h.kubectl.ok(["apply", "-f", "-"], { input: MONGODB_PV });
    const available = await eventually(() => rowOf("pv", "mongodb-pv"), (r) => r?.STATUS === "Available", "mongodb-pv Available", 30_000);
    expect(available).toMatchObject({ CAPACITY: "1Gi", "ACCESS MODES": "RWO,ROX", "RECLAIM POLICY": "Retain", CLAIM: "", STORAGECLASS: "" });
    expect((await h.client.get<Obj>(Resources.persistentVolumes, undefined, "mongodb-pv")).metadata.finalizers).toEqual(["kubernetes.io/pv-protection"]);

    await h.kubectl.ok(["apply", "-f", "-"], { input: MONGODB_PVC });
    const claimRow = await eventually(() => rowOf("pvc", "mongodb-pvc"), (r) => r?.STATUS === "Bound", "mongodb-pvc Bound", 30_000);
    expect(claimRow).toMatchObject({ VOLUME: "mongodb-pv", CAPACITY: "1Gi", "ACCESS MODES": "RWO,ROX", STORAGECLASS: "" });
    expect(await eventually(() => rowOf("pv", "mongodb-pv"), (r) => r?.STATUS === "Bound", "mongodb-pv Bound", 30_000)).toMatchObject({ CLAIM: "default/mongodb-pvc" });
    const claim = await h.client.get<Obj>(Resources.persistentVolumeClaims, "default", "mongodb-pvc");
    expect(claim.metadata.annotations).toMatchObject({ "pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes" });
    expect(claim.metadata.finalizers).toEqual(["kubernetes.io/pvc-protection"]);

    // The pod: the scheduler places it (the claim is bound), the test plays its kubelet.
    await h.kubectl.ok(["apply", "-f", "-"], { input: MONGODB_POD });
    await eventually(() => h.client.get<Obj>(Resources.pods, "default", "mongodb"), (p) => !!p.spec?.nodeName, "mongodb scheduled", 30_000);
    await h.markRunningReady("default", "mongodb");

    expect(await h.kubectl.ok(["delete", "pvc", "mongodb-pvc", "--wait=false"])).toContain('persistentvolumeclaim "mongodb-pvc" deleted');
    await eventually(() => rowOf("pvc", "mongodb-pvc"), (r) => r?.STATUS === "Terminating", "mongodb-pvc Terminating", 30_000);
    // Still held while the pod runs.
    await new Promise((r) => setTimeout(r, 2000));
    expect((await rowOf("pvc", "mongodb-pvc"))?.STATUS).toBe("Terminating");
    expect((await rowOf("pv", "mongodb-pv"))?.STATUS).toBe("Bound");

    await h.kubectl.ok(["delete", "pod", "mongodb", "--grace-period=0", "--force"]);
    await eventually(() => rowOf("pvc", "mongodb-pvc"), (r) => r === undefined, "mongodb-pvc gone", 30_000);
    const released = await eventually(() => rowOf("pv", "mongodb-pv"), (r) => r?.STATUS === "Released", "mongodb-pv Released", 30_000);
    expect(released).toMatchObject({ CLAIM: "default/mongodb-pvc", "RECLAIM POLICY": "Retain" });

    // A new claim of the same name does not get the released volume back.
    await h.kubectl.ok(["apply", "-f", "-"], { input: MONGODB_PVC });
    await new Promise((r) => setTimeout(r, 2000));
    expect((await rowOf("pvc", "mongodb-pvc"))?.STATUS).toBe("Pending");
    expect(await eventsOf("mongodb-pvc")).toContain("persistentvolume-controller FailedBinding no persistent volumes available for this claim and no storage class is set");
    await h.kubectl.ok(["delete", "pvc", "mongodb-pvc"]);
  }, 120_000);

  it("binds claims to pre-provisioned PVs applied as a List, recycles one whose claim goes (Recycle), and reports a class that does not exist", async () => {
    await h.kubectl.ok(["apply", "-f", "-"], { input: HOSTPATH_PVS });
    await eventually(async () => table(await h.kubectl.ok(["get", "pv"])).filter((r) => r.NAME?.startsWith("pv-") && r.STATUS === "Available").length, (n) => n === 3, "pv-a, pv-b, pv-c Available", 30_000);
    await h.kubectl.ok(["apply", "-f", "-"], { input: [claimYaml("data-kubia-0", "1Mi", ""), claimYaml("data-kubia-1", "1Mi", "")].join("---\n") });
    const rows = await eventually(async () => table(await h.kubectl.ok(["get", "pvc"])).filter((r) => r.NAME?.startsWith("data-kubia-")), (r) => r.length === 2 && r.every((x) => x.STATUS === "Bound"), "both claims Bound", 30_000);
    expect(new Set(rows.map((r) => r.VOLUME)).size).toBe(2);
    for (const r of rows) expect(r).toMatchObject({ CAPACITY: "1Mi", "ACCESS MODES": "RWO" });
    const pvs = table(await h.kubectl.ok(["get", "pv"])).filter((r) => r.NAME?.startsWith("pv-"));
    expect(pvs.filter((r) => r.STATUS === "Bound").map((r) => r.CLAIM).sort()).toEqual(["default/data-kubia-0", "default/data-kubia-1"]);

    // Recycle: deleting a claim scrubs its PV with a recycler pod (the test plays its kubelet), then it is Available again.
    const recycled = rows.find((r) => r.NAME === "data-kubia-0")!.VOLUME!;
    await h.kubectl.ok(["delete", "pvc", "data-kubia-0"]);
    const recycler = await eventually(() => h.client.get<Obj>(Resources.pods, "default", `recycler-for-${recycled}`).catch(() => undefined), (p) => !!p?.spec?.nodeName, "the recycler pod scheduled", 30_000);
    expect((recycler!.spec!.volumes as unknown[])[0]).toEqual({ name: "vol", hostPath: { path: `/tmp/${recycled}`, type: "" } });
    await h.markFinished("default", `recycler-for-${recycled}`, 0, recycler!.spec!.nodeName as string);
    expect(await eventually(() => rowOf("pv", recycled), (r) => r?.STATUS === "Available", "the recycled PV Available", 30_000)).toMatchObject({ CLAIM: "" });
    await eventually(() => h.client.get<Obj>(Resources.pods, "default", `recycler-for-${recycled}`).then(() => true, () => false), (exists) => !exists, "the recycler pod deleted", 30_000);
    expect(await eventsOf(recycled)).toContain("persistentvolume-controller VolumeRecycled Volume recycled");

    await h.kubectl.ok(["apply", "-f", "-"], { input: claimYaml("replica-pvc1", "1G", "fast") });
    await eventually(() => eventsOf("replica-pvc1"), (e) => e.includes('persistentvolume-controller ProvisioningFailed storageclass.storage.k8s.io "fast" not found'), "ProvisioningFailed for class fast", 30_000);
    expect((await rowOf("pvc", "replica-pvc1"))?.STATUS).toBe("Pending");
  }, 90_000);

  it("WaitForFirstConsumer: the claim waits for its pod; the scheduler's node, the provisioner's PV on it, Bound; deleting frees the PV and the provisioner removes it", async () => {
    provisioner = fakeProvisioner();
    await h.kubectl.ok(["apply", "-f", "-"], { input: LOCAL_PATH_CLASS });
    // Defaulted: volumeBindingMode kept, the default class given to a claim that names none.
    expect(table(await h.kubectl.ok(["get", "storageclass"]))[0]).toMatchObject({ NAME: "local-path (default)", PROVISIONER: "rancher.io/local-path", RECLAIMPOLICY: "Delete", VOLUMEBINDINGMODE: "WaitForFirstConsumer" });
    await h.kubectl.ok(["apply", "-f", "-"], { input: claimYaml("local-path-pvc", "128Mi") });
    expect((await h.client.get<Obj>(Resources.persistentVolumeClaims, "default", "local-path-pvc")).spec?.storageClassName).toBe("local-path");
    await eventually(() => h.kubectl.ok(["describe", "pvc", "local-path-pvc"]), (o) => /WaitForFirstConsumer\s+.*persistentvolume-controller\s+waiting for first consumer to be created before binding/.test(o), "describe pvc shows WaitForFirstConsumer", 30_000);
    expect((await rowOf("pvc", "local-path-pvc"))?.STATUS).toBe("Pending");

    await h.kubectl.ok(["apply", "-f", "-"], { input: VOLUME_POD });
    const pod = await eventually(() => h.client.get<Obj>(Resources.pods, "default", "volume-test"), (p) => !!p.spec?.nodeName, "volume-test scheduled", 30_000);
    const node = pod.spec!.nodeName as string;
    const bound = await eventually(() => rowOf("pvc", "local-path-pvc"), (r) => r?.STATUS === "Bound", "local-path-pvc Bound", 40_000);
    const claim = await h.client.get<Obj>(Resources.persistentVolumeClaims, "default", "local-path-pvc");
    expect(bound).toMatchObject({ VOLUME: `pvc-${claim.metadata.uid}`, CAPACITY: "128Mi", "ACCESS MODES": "RWO", STORAGECLASS: "local-path" });
    expect(claim.metadata.annotations).toMatchObject({
      "volume.kubernetes.io/selected-node": node,
      "volume.kubernetes.io/storage-provisioner": "rancher.io/local-path",
      "volume.beta.kubernetes.io/storage-provisioner": "rancher.io/local-path",
      "pv.kubernetes.io/bind-completed": "yes",
    });
    const pv = await h.client.get<Obj>(Resources.persistentVolumes, undefined, `pvc-${claim.metadata.uid}`);
    expect(JSON.stringify(pv.spec?.nodeAffinity)).toContain(node);
    expect(await eventually(() => rowOf("pv", `pvc-${claim.metadata.uid}`), (r) => r?.STATUS === "Bound", "PV Bound", 30_000)).toMatchObject({ CLAIM: "default/local-path-pvc", "RECLAIM POLICY": "Delete", STORAGECLASS: "local-path" });
    expect(await eventsOf("local-path-pvc")).toContain(
      "persistentvolume-controller ExternalProvisioning Waiting for a volume to be created either by the external provisioner 'rancher.io/local-path' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.",
    );

    await h.kubectl.ok(["delete", "pod", "volume-test", "--grace-period=0", "--force"]);
    await h.kubectl.ok(["delete", "pvc", "local-path-pvc"]);
    await eventually(() => rowOf("pv", `pvc-${claim.metadata.uid}`), (r) => r === undefined, "the provisioned PV deleted after Released", 30_000);
  }, 120_000);
});
