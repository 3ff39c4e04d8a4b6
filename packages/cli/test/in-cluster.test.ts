/**
 * In-cluster config from a pod, over TLS as `up` runs it: a store (127.1.220.x), one API server
 * on HTTPS (127.1.221.1:6443, serving certificate from up's request in src/pki.ts: the
 * `kubernetes` Service's names and 127.96.0.1, plus this cluster's own `kubernetes` ClusterIP
 * 127.96.220.1 from its --service-cluster-ip-range 127.96.220.0/24), a controller-manager (serviceaccount + root
 * CA publisher controllers), a kubelet and a kube-proxy on node 127.1.223.1 (pods 127.236.1.0/24),
 * each with its own client certificate. A pod runs a node script with
 * @kubernetes/client-node's loadFromCluster(): KUBERNETES_SERVICE_HOST=127.96.220.1:443 reaches
 * the API server through kube-proxy (the `kubernetes` EndpointSlice the API server writes), the
 * kube-api-access token authenticates it as system:serviceaccount:default:default, ca.crt
 * verifies the server. Listing pods is 403 in upstream's words until the seed's
 * permissive-binding, then 200; deleting the ServiceAccount makes the token 401. The local-path
 * provisioner's pod from `up`'s addon provisions a claim the same way.
 *
 * kube-proxy binds 127.96.220.1:443 on the shared host, an address of this test's own, so a
 * user's cluster (127.96.0.1) and other test clusters do not collide with it.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCertificateAuthority, issueCertificate, type KeyPair } from "@kubemu/common";
import { E2eCluster } from "../../apiserver/test/e2e/cluster.js";
import { Kubectl } from "../../apiserver/test/e2e/kubectl-run.js";
import { eventually } from "../../kubelet/test/e2e/harness.js";
import { localPathStorage } from "../src/addons/local-path-storage.js";
import { apiserverCertRequest } from "../src/pki.js";

const main = (rel: string) => fileURLToPath(new URL(`../../${rel}`, import.meta.url));
const APISERVER = main("apiserver/dist/main.js");
const MANAGER = main("controller-manager/dist/main.js");
const KUBELET = main("kubelet/dist/main.js");
const PROXY = main("kube-proxy/dist/main.js");
const SCRIPT = fileURLToPath(new URL("./fixtures/in-cluster-list-pods.mjs", import.meta.url));

const ETCD = "127.1.220";
const API_IP = "127.1.221.1";
const MANAGER_IP = "127.1.222.1";
const NODE_IP = "127.1.223.1";
const NODE = "sa-node";
const API_URL = `https://${API_IP}:6443`;
const SERVICE_RANGE = "127.96.220.0/24";
const KUBERNETES_IP = "127.96.220.1";

const cluster = new E2eCluster(ETCD, "127.1.221", 0);
let ca: KeyPair;
let admin: Kubectl;

async function pem(name: string, pair: KeyPair): Promise<{ cert: string; key: string }> {
  const cert = join(cluster.root, `${name}.crt`);
  const key = join(cluster.root, `${name}.key`);
  await writeFile(cert, pair.cert);
  await writeFile(key, pair.key, { mode: 0o600 });
  return { cert, key };
}

async function clientFlags(name: string, commonName: string, organizations: string[] = []): Promise<string[]> {
  const files = await pem(name, await issueCertificate(ca, { commonName, organizations, use: { kind: "client" }, validDays: 1 }, new Date()));
  return ["--apiserver-urls", API_URL, "--ca-file", join(cluster.root, "ca.crt"), "--client-cert-file", files.cert, "--client-key-file", files.key];
}

/** The lines a pod's container wrote (CRI log content, restart 0). */
function podLog(pod: string, container = "c", namespace = "default"): string[] {
  const dir = join(cluster.root, "nodes", NODE, "pods");
  const podDir = existsSync(dir) ? readdirSync(dir).find((d) => d.startsWith(`${namespace}_${pod}_`)) : undefined;
  const file = podDir ? join(dir, podDir, container, "0.log") : "";
  if (!file || !existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split(" ").slice(3).join(" "));
}

const dump = () => cluster.procs.map((p) => `--- ${p.name}\n${p.output.join("").slice(-3000)}`).join("\n");

beforeAll(async () => {
  await cluster.start(); // the store; the API server needs TLS flags
  const now = new Date();
  ca = await createCertificateAuthority("kubemu-ca", now, 1);
  await writeFile(join(cluster.root, "ca.crt"), ca.cert);
  // up's serving certificate request (src/pki.ts), plus this test's API server address.
  const use = apiserverCertRequest.use as { kind: "server"; dnsNames: string[]; ips: string[] };
  expect(use.dnsNames).toEqual(expect.arrayContaining(["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"]));
  expect(use.ips).toContain("127.96.0.1");
  const serving = await pem("apiserver", await issueCertificate(ca, { ...apiserverCertRequest, use: { ...use, ips: [...use.ips, API_IP, KUBERNETES_IP] }, validDays: 1 }, now));
  cluster.spawn("apiserver-0", [
    APISERVER, "--name", "apiserver-0", "--bind-address", API_IP, "--port", "6443", "--insecure-port", "8080",
    "--etcd-servers", [1, 2, 3].map((i) => `ws://${ETCD}.${i}:2379`).join(","), "--log-level", "warn",
    "--tls-cert-file", serving.cert, "--tls-private-key-file", serving.key, "--client-ca-file", join(cluster.root, "ca.crt"), "--component-status", "", "--service-cluster-ip-range", SERVICE_RANGE,
  ]);
  await cluster.waitReady(`http://${API_IP}:8080`, 40_000);
  const adminFiles = await pem("admin", await issueCertificate(ca, { commonName: "kubernetes-admin", organizations: ["system:masters"], use: { kind: "client" }, validDays: 1 }, now));
  const kubeconfig = join(cluster.root, "kubeconfig");
  await writeFile(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters:\n- cluster: {server: "${API_URL}", certificate-authority: ${join(cluster.root, "ca.crt")}}\n  name: e2e\ncontexts:\n- context: {cluster: e2e, user: admin}\n  name: e2e\ncurrent-context: e2e\nusers:\n- name: admin\n  user: {client-certificate: ${adminFiles.cert}, client-key: ${adminFiles.key}}\n`,
  );
  admin = new Kubectl(kubeconfig, join(cluster.root, "kubectl-cache"));

  cluster.spawn("controller-manager-0", [
    MANAGER, "--name", "controller-manager-0", "--bind-address", MANAGER_IP, "--port", "10257", "--profile", "fast", "--log-level", "warn",
    ...(await clientFlags("controller-manager", "system:kube-controller-manager")),
    "--controllers", "serviceaccount-controller,root-ca-certificate-publisher-controller,persistentvolume-binder-controller", "--root-ca-file", join(cluster.root, "ca.crt"),
  ]);
  cluster.spawn(`kubelet-${NODE}`, [
    KUBELET, "--name", `kubelet-${NODE}`, "--node-name", NODE, "--node-ip", NODE_IP, "--pod-cidr", "127.236.1.0/24",
    "--state-dir", cluster.root, "--profile", "fast", "--log-level", "info", "--capacity-cpu", "4", "--capacity-memory", "8Gi",
    ...(await clientFlags(`kubelet-${NODE}`, `system:node:${NODE}`, ["system:nodes"])),
  ]);
  cluster.spawn(`kube-proxy-${NODE}`, [PROXY, "--name", `kube-proxy-${NODE}`, "--node-name", NODE, "--node-ip", NODE_IP, "--log-level", "info", ...(await clientFlags("kube-proxy", "system:kube-proxy"))]);
  await Promise.all([cluster.waitReady(`http://${MANAGER_IP}:10257`, 40_000), cluster.waitReady(`http://${NODE_IP}:10250`, 40_000)]);
}, 120_000);

afterAll(async () => {
  await cluster.stop();
}, 30_000);

describe("in-cluster config from a pod", { timeout: 150_000 }, () => {
  it("the kubernetes Service's EndpointSlice names the API server and kube-proxy serves its ClusterIP:443", async () => {
    const slice = await eventually(
      async () => (await admin.run(["get", "endpointslice", "kubernetes", "-o", "jsonpath={.endpoints[*].addresses[*]} {.ports[*].port}"])).stdout,
      (s) => s === `${API_IP} 6443`,
      "the kubernetes EndpointSlice",
    );
    expect(slice).toBe(`${API_IP} 6443`);
    const status = await eventually(
      async () => {
        try {
          return (await (await fetch(`http://${NODE_IP}:10256/kubemu/status`, { signal: AbortSignal.timeout(1000) })).json()) as { bound?: string[]; waiting?: string[] };
        } catch {
          return {};
        }
      },
      (s) => (s.bound ?? []).some((b) => b.includes(`${KUBERNETES_IP}:443`)) || (s.waiting ?? []).some((b) => b.includes(`${KUBERNETES_IP}:443`)),
      `kube-proxy's listener for ${KUBERNETES_IP}:443`,
    );
    expect(status.waiting ?? [], `${KUBERNETES_IP}:443 is held by another cluster's kube-proxy on this machine`).not.toContainEqual(expect.stringContaining(`${KUBERNETES_IP}:443`));
  });

  it("loadFromCluster lists pods: 403 in upstream's words, 200 after the permissive binding, 401 once the ServiceAccount is deleted", async () => {
    await eventually(async () => (await admin.run(["get", "sa", "default", "-o", "name"])).stdout, (s) => s.trim() === "serviceaccount/default", "the default ServiceAccount");
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "lister", namespace: "default" },
      spec: { nodeName: NODE, restartPolicy: "Never", terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: "ubuntu", command: ["node", SCRIPT] }] },
    };
    expect(await admin.ok(["apply", "-f", "-"], { input: JSON.stringify(pod) })).toBe("pod/lister created\n");
    const created = JSON.parse(await admin.ok(["get", "pod", "lister", "-o", "json"])) as { spec: { serviceAccountName: string; volumes: { name: string }[]; containers: { volumeMounts: { name: string; mountPath: string; readOnly: boolean }[] }[] } };
    expect(created.spec.serviceAccountName).toBe("default");
    const volume = created.spec.volumes.find((v) => v.name.startsWith("kube-api-access-"))!;
    expect(created.spec.containers[0]!.volumeMounts).toEqual([{ name: volume.name, mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true }]);

    const forbidden = 'pods is forbidden: User "system:serviceaccount:default:default" cannot list resource "pods" in API group "" in the namespace "default"';
    const first = await eventually(async () => podLog("lister"), (l) => l.some((x) => x.startsWith("403 ") || x.startsWith("401 ") || x.startsWith("error")), `the pod's first answer\n${dump()}`, 60_000);
    expect(first[0]).toBe(`server https://${KUBERNETES_IP}:443 namespace default`);
    expect(first.find((x) => !x.startsWith("server"))).toBe(`403 ${forbidden}`);

    expect(await admin.ok(["create", "clusterrolebinding", "permissive-binding", "--clusterrole=cluster-admin", "--group=system:serviceaccounts"])).toBe("clusterrolebinding.rbac.authorization.k8s.io/permissive-binding created\n");
    const allowed = await eventually(async () => podLog("lister"), (l) => l.some((x) => x.startsWith("200 ")), "200 after the binding", 40_000);
    expect(allowed.find((x) => x.startsWith("200 "))).toBe("200 1 pods");

    // A deleted account's tokens stop authenticating (the controller makes a new `default`: another uid).
    expect(await admin.ok(["delete", "sa", "default"])).toBe('serviceaccount "default" deleted\n');
    const seen = allowed.length;
    const after = await eventually(async () => podLog("lister").slice(seen), (l) => l.some((x) => x.startsWith("401 ")), "401 after the ServiceAccount is deleted", 40_000);
    expect(after.find((x) => x.startsWith("401 "))).toBe("401 Unauthorized");
  });

  it("the seed's curl from a pod: the mounted ca.crt verifies the server, the token and namespace files make the request", async () => {
    // Seed 001's sequence (tutum/curl), with the address from KUBERNETES_SERVICE_HOST (no cluster DNS here).
    const script = [
      "SA=/var/run/secrets/kubernetes.io/serviceaccount",
      "ls $SA",
      "TOKEN=$(cat $SA/token)",
      "NS=$(cat $SA/namespace)",
      'curl -s -o /dev/null -w "code %{http_code}\\n" --cacert $SA/ca.crt -H "Authorization: Bearer $TOKEN" https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/$NS/pods',
      'curl -s -o /dev/null -w "anonymous %{http_code}\\n" --cacert $SA/ca.crt https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/$NS/pods',
    ].join("; ");
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "curl", namespace: "default" }, spec: { nodeName: NODE, restartPolicy: "Never", containers: [{ name: "c", image: "tutum/curl", command: ["sh", "-c", script] }] } };
    await admin.ok(["apply", "-f", "-"], { input: JSON.stringify(pod) });
    const lines = await eventually(async () => podLog("curl"), (l) => l.some((x) => x.startsWith("anonymous ")), `the curl pod's output\n${dump()}`, 60_000);
    expect(lines.slice(0, 3)).toEqual(["ca.crt", "namespace", "token"]);
    // The permissive binding of the test above is in place; anonymous is refused (system:anonymous may not list pods).
    expect(lines).toContain("code 200");
    expect(lines).toContain("anonymous 403");
  });

  it("the local-path provisioner from up's addon (no API address or token volume of its own) provisions a claim in-cluster", async () => {
    const addon = localPathStorage();
    const objects = addon.filter((a) => a.object.kind !== "Deployment").map((a) => a.object);
    expect(await admin.ok(["apply", "-f", "-"], { input: JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }) })).toContain("storageclass.storage.k8s.io/standard created");
    // The Deployment's pod, placed on the node by hand (no scheduler or workload controllers here).
    const template = (addon.find((a) => a.object.kind === "Deployment")!.object.spec as { template: { metadata: object; spec: Record<string, unknown> } }).template;
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { ...template.metadata, name: "local-path-provisioner", namespace: "local-path-storage" }, spec: { ...template.spec, nodeName: NODE } };
    await eventually(async () => (await admin.run(["get", "sa", "default", "-n", "local-path-storage", "-o", "name"])).stdout.trim(), (s) => s !== "", "local-path-storage's default ServiceAccount");
    expect(await admin.ok(["apply", "-f", "-"], { input: JSON.stringify(pod) })).toBe("pod/local-path-provisioner created\n");
    // A claim as the scheduler leaves it for WaitForFirstConsumer: its node chosen.
    const claim = {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "data", namespace: "default", annotations: { "volume.kubernetes.io/selected-node": NODE } },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "64Mi" } } },
    };
    await admin.ok(["apply", "-f", "-"], { input: JSON.stringify(claim) });
    const phase = await eventually(
      async () => (await admin.run(["get", "pvc", "data", "-o", "jsonpath={.status.phase} {.spec.volumeName}"])).stdout,
      (s) => s.startsWith("Bound "),
      `the claim Bound to a provisioned volume\n${podLog("local-path-provisioner", "local-path-provisioner", "local-path-storage").slice(-20).join("\n")}\n${dump()}`,
      60_000,
    );
    const pv = phase.split(" ")[1]!;
    expect(pv).toMatch(/^pvc-/);
    expect(await admin.ok(["get", "pv", pv, "-o", "jsonpath={.metadata.annotations.pv\\.kubernetes\\.io/provisioned-by}"])).toBe("rancher.io/local-path");
  });
});
