/**
 * Kubelets on their own node identities against --authorization-mode=Node,RBAC and
 * NodeRestriction (a TLS cluster, tls-cluster.ts): a node reads the secrets of its own pods and
 * no others, cannot touch another node, and its pods still run with secret and configMap volumes
 * (per-object watches) that follow updates.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Kubectl } from "../../../apiserver/test/e2e/kubectl-run.js";
import { eventually } from "./harness.js";
import { TlsCluster } from "./tls-cluster.js";

const c = new TlsCluster({ etcd: "127.1.210", api: "127.1.211", manager: "127.1.212", nodes: "127.1.213", pods: "127.235" }, ["kubemu", "kubemu-m02"]);
let asKubemu: Kubectl;

beforeAll(async () => {
  await c.start();
  asKubemu = await c.kubectlAsNode("kubemu");
}, 90_000);
afterAll(async () => {
  await c.stop();
}, 30_000);

const reader = (name: string, node: string, secret: string, configMap?: string) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "default" },
  spec: {
    nodeName: node,
    terminationGracePeriodSeconds: 1,
    containers: [
      {
        name: "c",
        image: "busybox",
        command: ["sh", "-c", `while true; do echo "secret=$(cat /s/k) env=$FROM_SECRET${configMap ? " cm=$(cat /cm/k)" : ""}"; sleep 1; done`],
        env: [{ name: "FROM_SECRET", valueFrom: { secretKeyRef: { name: secret, key: "k" } } }],
        volumeMounts: [{ name: "s", mountPath: "/s" }, ...(configMap ? [{ name: "cm", mountPath: "/cm" }] : [])],
      },
    ],
    volumes: [{ name: "s", secret: { secretName: secret } }, ...(configMap ? [{ name: "cm", configMap: { name: configMap } }] : [])],
  },
});

describe("Node authorizer and NodeRestriction with real kubelets", () => {
  it("kubelets register on their own identities (the launcher's labels are not theirs to set)", async () => {
    const nodes = await eventually(() => c.admin.ok(["get", "nodes"]), (o) => /kubemu\s+Ready/.test(o) && /kubemu-m02\s+Ready/.test(o), "both nodes Ready", 40_000);
    expect(nodes).toMatch(/kubemu-m02\s+Ready\s+<none>/);
  }, 60_000);

  it("pods with secret and configMap volumes run on each node; a configMap update reaches the files", async () => {
    await c.admin.ok(["create", "secret", "generic", "mine", "--from-literal=k=kubemu-secret"]);
    await c.admin.ok(["create", "secret", "generic", "theirs", "--from-literal=k=m02-secret"]);
    await c.admin.ok(["create", "configmap", "cfg", "--from-literal=k=one"]);
    await c.admin.ok(["apply", "-f", "-"], { input: JSON.stringify({ apiVersion: "v1", kind: "List", items: [reader("on-kubemu", "kubemu", "mine", "cfg"), reader("on-m02", "kubemu-m02", "theirs")] }) });
    await eventually(() => c.admin.ok(["get", "pods"]), (o) => /on-kubemu\s+1\/1\s+Running/.test(o) && /on-m02\s+1\/1\s+Running/.test(o), "both pods Running", 60_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${c.output("kubelet-kubemu").slice(-4000)}`);
    });
    await eventually(() => c.admin.ok(["logs", "on-kubemu", "--tail", "1"]), (o) => o.includes("secret=kubemu-secret env=kubemu-secret cm=one"), "the secret and configMap in the container", 30_000);
    await eventually(() => c.admin.ok(["logs", "on-m02", "--tail", "1"]), (o) => o.includes("secret=m02-secret env=m02-secret"), "the other node's pod reads its secret", 30_000);
    await c.admin.ok(["patch", "configmap", "cfg", "--type", "merge", "-p", '{"data":{"k":"two"}}']);
    await eventually(() => c.admin.ok(["logs", "on-kubemu", "--tail", "1"]), (o) => o.includes("cm=two"), "the configMap update in the volume", 40_000);
  }, 150_000);

  it("a node reads its own pod's secret (200) and not another node's pod's secret (403, upstream's words)", async () => {
    expect(await asKubemu.ok(["get", "secret", "mine", "-o", "jsonpath={.data.k}"])).toBe(Buffer.from("kubemu-secret").toString("base64"));
    const other = await asKubemu.run(["get", "secret", "theirs"]);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain(
      `Error from server (Forbidden): secrets "theirs" is forbidden: User "system:node:kubemu" cannot get resource "secrets" in API group "" in the namespace "default": no relationship found between node 'kubemu' and this object`,
    );
    const all = await asKubemu.run(["get", "secrets"]);
    expect(all.stderr).toContain('secrets is forbidden: User "system:node:kubemu" cannot list resource "secrets" in API group "" in the namespace "default": No Object name found');
    const nodes = await asKubemu.run(["get", "nodes"]);
    expect(nodes.stderr).toContain("node 'kubemu' cannot read all nodes, only its own Node object");
    // The same decisions through impersonation and an access review (kubectl auth can-i --as).
    const canI = (what: string) => c.admin.run(["auth", "can-i", "get", what, "--as", "system:node:kubemu", "--as-group", "system:nodes"]);
    expect((await canI("secret/mine")).stdout.trim()).toBe("yes");
    expect((await canI("secret/theirs")).stdout.trim()).toBe("no - no relationship found between node 'kubemu' and this object");
  }, 60_000);

  it("a claim's volume: the pod mounts it; the node may get its claim and PV, not another's", async () => {
    const pv = (name: string, claim: string) => ({ apiVersion: "v1", kind: "PersistentVolume", metadata: { name }, spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], storageClassName: "", hostPath: { path: `/data/${name}`, type: "DirectoryOrCreate" }, claimRef: { namespace: "default", name: claim } } });
    const pvc = (name: string, volume: string) => ({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name, namespace: "default" }, spec: { accessModes: ["ReadWriteOnce"], storageClassName: "", volumeName: volume, resources: { requests: { storage: "1Gi" } } } });
    const writer = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "writer", namespace: "default" },
      spec: { nodeName: "kubemu", terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: "busybox", command: ["sh", "-c", "echo kept > /data/f; while true; do cat /data/f; sleep 1; done"], volumeMounts: [{ name: "d", mountPath: "/data" }] }], volumes: [{ name: "d", persistentVolumeClaim: { claimName: "data" } }] },
    };
    await c.admin.ok(["apply", "-f", "-"], { input: JSON.stringify({ apiVersion: "v1", kind: "List", items: [pv("pv-data", "data"), pvc("data", "pv-data"), pv("pv-other", "other"), pvc("other", "pv-other"), writer] }) });
    await eventually(() => c.admin.ok(["get", "pvc"]), (o) => /data\s+Bound\s+pv-data/.test(o) && /other\s+Bound\s+pv-other/.test(o), "both claims Bound", 40_000);
    await eventually(() => c.admin.ok(["logs", "writer", "--tail", "1"]).catch(() => ""), (o) => o.includes("kept"), "the pod writes into its claim's volume", 40_000);
    expect(await asKubemu.ok(["get", "pvc", "data", "-o", "jsonpath={.spec.volumeName}"])).toBe("pv-data");
    expect(await asKubemu.ok(["get", "pv", "pv-data", "-o", "jsonpath={.spec.claimRef.name}"])).toBe("data");
    expect((await asKubemu.run(["get", "pv", "pv-other"])).stderr).toContain(`persistentvolumes "pv-other" is forbidden: User "system:node:kubemu" cannot get resource "persistentvolumes" in API group "" at the cluster scope: no relationship found between node 'kubemu' and this object`);
    expect((await asKubemu.run(["get", "pv"])).stderr).toContain("can only get individual resources of this type");
  }, 120_000);

  it("NodeRestriction: not another node, not restricted labels on its own", async () => {
    // kubectl label reads the node first: the Node authorizer refuses that read.
    const label = await asKubemu.run(["label", "node", "kubemu-m02", "foo=bar"]);
    expect(label.stderr).toContain(`nodes "kubemu-m02" is forbidden: User "system:node:kubemu" cannot get resource "nodes" in API group "" at the cluster scope: node 'kubemu' cannot read 'kubemu-m02', only its own Node object`);
    // A write with no read first (PUT) is authorized (nodes may update nodes) and then refused by NodeRestriction.
    const theirs = JSON.parse(await c.admin.ok(["get", "node", "kubemu-m02", "-o", "json"])) as { metadata: { labels: Record<string, string> } };
    theirs.metadata.labels.foo = "bar";
    const put = await asKubemu.run(["replace", "--raw", "/api/v1/nodes/kubemu-m02", "-f", "-"], { input: JSON.stringify(theirs) });
    expect(put.stderr).toContain('nodes "kubemu-m02" is forbidden: node "kubemu" is not allowed to modify node "kubemu-m02"');
    const restricted = await asKubemu.run(["label", "node", "kubemu", "node-restriction.kubernetes.io/pci=true"]);
    expect(restricted.stderr).toContain('nodes "kubemu" is forbidden: is not allowed to modify labels: node-restriction.kubernetes.io/pci');
    expect(await asKubemu.ok(["label", "node", "kubemu", "example.com/team=a"])).toContain("node/kubemu labeled");
    // Tokens: for its own pod's service account, bound to that pod; not bound to the other node's pod.
    const uid = (pod: string) => c.admin.ok(["get", "pod", pod, "-o", "jsonpath={.metadata.uid}"]);
    expect(await asKubemu.ok(["create", "token", "default", "--bound-object-kind", "Pod", "--bound-object-name", "on-kubemu", "--bound-object-uid", await uid("on-kubemu")])).toMatch(/^ey/);
    const foreign = await asKubemu.run(["create", "token", "default", "--bound-object-kind", "Pod", "--bound-object-name", "on-m02", "--bound-object-uid", await uid("on-m02")]);
    expect(foreign.stderr).toContain('serviceaccounts "default" is forbidden: node requested token bound to a pod scheduled on a different node');
    const unbound = await asKubemu.run(["create", "token", "default"]);
    expect(unbound.stderr).toContain('serviceaccounts "default" is forbidden: node requested token not bound to a pod');
    // The other node's pod: not its status, not an eviction (both authorized for nodes, refused by NodeRestriction).
    const m02Pod = await c.admin.ok(["get", "pod", "on-m02", "-o", "json"]);
    const status = await asKubemu.run(["replace", "--raw", "/api/v1/namespaces/default/pods/on-m02/status", "-f", "-"], { input: m02Pod });
    expect(status.stderr).toContain('pods "on-m02" is forbidden: node "kubemu" can only update pod status for pods with spec.nodeName set to itself');
    const eviction = { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: "on-m02", namespace: "default" } };
    const evict = await asKubemu.run(["create", "--raw", "/api/v1/namespaces/default/pods/on-m02/eviction", "-f", "-"], { input: JSON.stringify(eviction) });
    expect(evict.stderr).toContain('pods "on-m02" is forbidden: node kubemu can only evict pods with spec.nodeName set to itself');
    const deletePod = await asKubemu.run(["delete", "pod", "on-m02", "--wait=false"]);
    expect(deletePod.stderr).toContain('pods "on-m02" is forbidden: node "kubemu" can only delete pods with spec.nodeName set to itself');
  }, 60_000);
});
