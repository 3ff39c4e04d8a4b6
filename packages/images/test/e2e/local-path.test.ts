/**
 * local-path-provisioner end to end: real etcd, API server, scheduler, controller-manager
 * (persistentvolume-binder, pvc-protection, pv-protection, serviceaccount, root-ca-cert-publisher)
 * and two kubelets; the provisioner program runs as a plain child process with --kubeconfig (the
 * test cluster serves plain HTTP without service-account tokens, so not as a pod). Its helper pods
 * run on the kubelets. Subnets: etcd 127.1.140.x, API 127.1.141.x, scheduler 127.1.142.x,
 * controller-manager 127.1.143.1, nodes 127.1.145.N, pods 127.249.N.0/24.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { eventually, KubeletHarness } from "../../../kubelet/test/e2e/harness.js";

const MANAGER_MAIN = fileURLToPath(new URL("../../../controller-manager/dist/main.js", import.meta.url));
const PROVISIONER = fileURLToPath(new URL("../../dist/programs/local-path-provisioner.js", import.meta.url));

const h = new KubeletHarness({ etcd: "127.1.140", api: "127.1.141", scheduler: "127.1.142" }, [
  { name: "lp-1", n: 1 },
  { name: "lp-2", n: 2 },
], { nodes: "127.1.145", pods: "127.249" });

const MANIFEST = `apiVersion: v1
kind: Namespace
metadata:
  name: local-path-storage
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: rancher.io/local-path
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 128Mi
---
apiVersion: v1
kind: Pod
metadata:
  name: writer
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: writer
    image: busybox
    command: ["sh", "-c", "echo hello from the volume > /data/hello.txt && sleep 3600"]
    volumeMounts:
    - name: data
      mountPath: /data
  volumes:
  - name: data
    persistentVolumeClaim:
      claimName: data
`;

const json = async (args: string[]) => JSON.parse(await h.kubectl.ok([...args, "-o", "json"])) as Record<string, any>;

beforeAll(async () => {
  for (const f of [MANAGER_MAIN, PROVISIONER]) if (!existsSync(f)) throw new Error(`${f} is missing: run "npx tsc -b" before these tests`);
  await h.start();
  const urls = h.cluster.apiservers.map((a) => a.url).join(",");
  h.cluster.spawn("controller-manager-0", [
    MANAGER_MAIN, "--name", "controller-manager-0", "--bind-address", "127.1.143.1", "--port", "10257", "--apiserver-urls", urls, "--profile", "fast", "--log-level", "info",
    "--controllers", "persistentvolume-binder-controller,pvc-protection,pv-protection,serviceaccount-controller,root-ca-certificate-publisher-controller",
  ]);
  await h.cluster.waitReady("http://127.1.143.1:10257");
  h.cluster.spawn("local-path-provisioner", [PROVISIONER, "--debug", "start", "--kubeconfig", await h.cluster.kubeconfig(0), "--namespace", "local-path-storage", "--helper-image", "docker.io/kindest/local-path-helper:v20230510-486859a6"]);
}, 90_000);

afterAll(async () => {
  await h.stop();
}, 30_000);

describe("local-path-provisioner", () => {
  it("provisions a default-class claim on the pod's node, the pod writes into it, and deleting pod and claim removes the directory and the PV", async () => {
    await h.kubectl.ok(["apply", "-f", "-"], { input: MANIFEST });
    const pod = await eventually(() => json(["get", "pod", "writer"]), (p) => p.status?.phase === "Running", "writer Running", 60_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${h.output("local-path-provisioner")}\n${h.output("controller-manager-0").slice(-3000)}`);
    });
    const node = pod.spec.nodeName as string;
    const pvc = await json(["get", "pvc", "data"]);
    expect(pvc.status.phase).toBe("Bound");
    expect(pvc.spec.storageClassName).toBe("standard");
    const pvName = `pvc-${pvc.metadata.uid}`;
    expect(pvc.spec.volumeName).toBe(pvName);

    const pv = await json(["get", "pv", pvName]);
    expect(pv.metadata.annotations["pv.kubernetes.io/provisioned-by"]).toBe("rancher.io/local-path");
    expect(pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0]).toEqual({ key: "kubernetes.io/hostname", operator: "In", values: [node] });
    expect(pv.spec.persistentVolumeReclaimPolicy).toBe("Delete");
    expect(pv.spec.capacity.storage).toBe("128Mi");
    expect(pv.spec.claimRef).toMatchObject({ namespace: "default", name: "data", uid: pvc.metadata.uid });
    const path = `/var/local-path-provisioner/${pvName}_default_data`;
    expect(pv.spec.hostPath).toEqual({ path, type: "DirectoryOrCreate" });

    const dir = join(h.nodeDir(node), "root", path);
    const file = await eventually(async () => (existsSync(join(dir, "hello.txt")) ? readFileSync(join(dir, "hello.txt"), "utf8") : ""), (s) => s !== "", "file in the volume", 30_000);
    expect(file).toBe("hello from the volume\n");

    const events = await h.kubectl.ok(["get", "events", "--field-selector", "involvedObject.name=data"]);
    expect(events).toContain(`Successfully provisioned volume ${pvName}`);
    expect(events).toContain('External provisioner is provisioning volume for claim "default/data"');

    await h.kubectl.ok(["delete", "pod", "writer", "--wait=false"]);
    await h.kubectl.ok(["delete", "pvc", "data", "--wait=false"]);
    await eventually(async () => (await h.kubectl.run(["get", "pv", pvName])).code, (c) => c !== 0, "PV deleted", 60_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${h.output("local-path-provisioner")}`);
    });
    expect(existsSync(dir)).toBe(false);
    const helpers = await h.kubectl.ok(["get", "pods", "-n", "local-path-storage", "-o", "name"]);
    expect(helpers.trim()).toBe("");
  }, 180_000);
});
