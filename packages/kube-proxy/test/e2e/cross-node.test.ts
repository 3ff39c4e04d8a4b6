/**
 * Compose mode's cross-node path, in local mode: a TLS cluster as `up` makes it (one kubemu-etcd
 * 127.4.2.1, an API server on HTTPS 127.4.3.1:6443 with its own --service-cluster-ip-range
 * 127.96.214.0/24, a controller-manager for service accounts and EndpointSlices 127.4.4.1, kubelets
 * for nodes `node-a` 127.4.5.1 and `node-b` 127.4.5.2 with serving certificates, pods
 * 127.210.N.0/24) and one kube-proxy, node-b's, with --cross-node-via-kubelet and the
 * system:kube-proxy certificate. A pod on node-a serves a 10 MB file; node-b's kube-proxy serves its
 * ClusterIP through node-a's kubelet (/portForward, authorized by a SubjectAccessReview for
 * nodes/proxy under kubemu:kube-proxy-node-proxy): the bytes arrive intact, node-a's kubelet logs the
 * review it asked for, kube-proxy counts the tunnel. A certificate without the role gets the
 * kubelet's 403. Throughput through the kubelet path and straight to the pod IP is printed.
 * Every process is killed by pid in afterAll. Run `npx tsc -b` first.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { createCertificateAuthority, issueCertificate, type KeyPair } from "@kubemu/common";
import { E2eCluster } from "../../../apiserver/test/e2e/cluster.js";
import { Kubectl } from "../../../apiserver/test/e2e/kubectl-run.js";
import { eventually } from "../../../kubelet/test/e2e/harness.js";

const main = (rel: string) => fileURLToPath(new URL(`../../../${rel}`, import.meta.url));
const ETCD = main("etcd-raft/dist/server/main.js");
const APISERVER = main("apiserver/dist/main.js");
const MANAGER = main("controller-manager/dist/main.js");
const KUBELET = main("kubelet/dist/main.js");
const PROXY = main("kube-proxy/dist/main.js");

const ETCD_IP = "127.4.2.1";
const API_IP = "127.4.3.1";
const MANAGER_IP = "127.4.4.1";
const NODES = [
  { name: "node-a", ip: "127.4.5.1", pods: "127.210.1.0/24" },
  { name: "node-b", ip: "127.4.5.2", pods: "127.210.2.0/24" },
];
const API_URL = `https://${API_IP}:6443`;
const SERVICE_RANGE = "127.96.214.0/24";
const SIZE = 10 * 1024 * 1024;

const cluster = new E2eCluster("unused", "unused", 0);
let ca: KeyPair;
let admin: Kubectl;

async function pem(name: string, pair: KeyPair): Promise<{ cert: string; key: string }> {
  const cert = join(cluster.root, `${name}.crt`);
  const key = join(cluster.root, `${name}.key`);
  await writeFile(cert, pair.cert);
  await writeFile(key, pair.key, { mode: 0o600 });
  return { cert, key };
}

const clientCert = (commonName: string, organizations: string[] = []) => issueCertificate(ca, { commonName, organizations, use: { kind: "client" }, validDays: 1 }, new Date());

async function clientFlags(name: string, commonName: string, organizations: string[] = []): Promise<string[]> {
  const files = await pem(name, await clientCert(commonName, organizations));
  return ["--apiserver-urls", API_URL, "--ca-file", join(cluster.root, "ca.crt"), "--client-cert-file", files.cert, "--client-key-file", files.key];
}

const output = (name: string) => cluster.procs.filter((p) => p.name === name).map((p) => p.output.join("")).join("\n");
const dump = () => cluster.procs.map((p) => `--- ${p.name}\n${p.output.join("").slice(-2500)}`).join("\n");

beforeAll(async () => {
  for (const f of [ETCD, APISERVER, MANAGER, KUBELET, PROXY]) if (!existsSync(f)) throw new Error(`${f} is missing: run "npx tsc -b" first`);
  await cluster.start(); // makes the root dir; no store or API server of its own (count 0)
  const now = new Date();
  ca = await createCertificateAuthority("kubemu-ca", now, 1);
  const caFile = join(cluster.root, "ca.crt");
  await writeFile(caFile, ca.cert);
  cluster.spawn("etcd-0", [ETCD, "--name", "etcd-0", "--data-dir", join(cluster.root, "etcd-0"), "--listen-client-urls", `ws://${ETCD_IP}:2379`, "--listen-peer-urls", `ws://${ETCD_IP}:2380`, "--control-url", `http://${ETCD_IP}:2381`, "--initial-cluster", `etcd-0=ws://${ETCD_IP}:2380`, "--log-level", "warn"]);
  const serving = await pem("apiserver", await issueCertificate(ca, { commonName: "kube-apiserver", use: { kind: "server", dnsNames: ["kubernetes"], ips: [API_IP] }, validDays: 1 }, now));
  cluster.spawn("apiserver-0", [
    APISERVER, "--name", "apiserver-0", "--bind-address", API_IP, "--port", "6443", "--insecure-port", "8080", "--etcd-servers", `ws://${ETCD_IP}:2379`, "--log-level", "warn",
    "--tls-cert-file", serving.cert, "--tls-private-key-file", serving.key, "--client-ca-file", caFile, "--component-status", "", "--service-cluster-ip-range", SERVICE_RANGE,
  ]);
  await cluster.waitReady(`http://${API_IP}:8080`, 40_000);
  const adminFiles = await pem("admin", await clientCert("kubernetes-admin", ["system:masters"]));
  const kubeconfig = join(cluster.root, "kubeconfig");
  await writeFile(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters:\n- cluster: {server: "${API_URL}", certificate-authority: ${caFile}}\n  name: e2e\ncontexts:\n- context: {cluster: e2e, user: admin}\n  name: e2e\ncurrent-context: e2e\nusers:\n- name: admin\n  user: {client-certificate: ${adminFiles.cert}, client-key: ${adminFiles.key}}\n`,
  );
  admin = new Kubectl(kubeconfig, join(cluster.root, "kubectl-cache"));
  cluster.spawn("controller-manager-0", [
    MANAGER, "--name", "controller-manager-0", "--bind-address", MANAGER_IP, "--port", "10257", "--profile", "fast", "--log-level", "warn",
    ...(await clientFlags("controller-manager", "system:kube-controller-manager")),
    "--controllers", "serviceaccount-controller,root-ca-certificate-publisher-controller,endpointslice-controller", "--root-ca-file", caFile,
  ]);
  for (const n of NODES) {
    const servingCert = await pem(`kubelet-${n.name}-serving`, await issueCertificate(ca, { commonName: n.name, use: { kind: "server", dnsNames: [n.name], ips: [n.ip] }, validDays: 1 }, now));
    cluster.spawn(`kubelet-${n.name}`, [
      KUBELET, "--name", `kubelet-${n.name}`, "--node-name", n.name, "--node-ip", n.ip, "--pod-cidr", n.pods,
      "--state-dir", cluster.root, "--profile", "fast", "--log-level", "info", "--capacity-cpu", "4", "--capacity-memory", "8Gi",
      "--tls-cert-file", servingCert.cert, "--tls-private-key-file", servingCert.key, "--client-ca-file", caFile,
      ...(await clientFlags(`kubelet-${n.name}`, `system:node:${n.name}`, ["system:nodes"])),
    ]);
  }
  cluster.spawn("kube-proxy-node-b", [PROXY, "--name", "kube-proxy-node-b", "--node-name", "node-b", "--node-ip", NODES[1]!.ip, "--log-level", "info", "--cross-node-via-kubelet", ...(await clientFlags("kube-proxy", "system:kube-proxy"))]);
  await Promise.all([cluster.waitReady(`http://${MANAGER_IP}:10257`, 40_000), ...NODES.map((n) => cluster.waitReady(`http://${n.ip}:10248`, 40_000))]);
}, 120_000);

afterAll(async () => {
  await cluster.stop();
}, 30_000);

/** GET over plain HTTP: status, body bytes and the time it took. */
function get(host: string, port: number, path: string): Promise<{ status: number; body: Buffer; ms: number }> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, agent: false, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), ms: performance.now() - start }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("kube-proxy --cross-node-via-kubelet", { timeout: 150_000 }, () => {
  let clusterIP = "";
  let podIP = "";

  it("a ClusterIP on node-b reaches a pod on node-a through node-a's kubelet", async () => {
    await admin.ok(["apply", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [
          {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: "web-a", namespace: "default", labels: { app: "web-a" } },
            spec: {
              nodeName: "node-a",
              terminationGracePeriodSeconds: 1,
              volumes: [{ name: "html", emptyDir: {} }],
              containers: [
                { name: "nginx", image: "nginx", ports: [{ containerPort: 80 }], volumeMounts: [{ name: "html", mountPath: "/usr/share/nginx/html" }] },
                { name: "fill", image: "busybox", command: ["sh", "-c", `echo hello from node-a > /data/index.html; head -c ${SIZE} /dev/urandom > /data/big.tmp && mv /data/big.tmp /data/big; while true; do sleep 3600; done`], volumeMounts: [{ name: "html", mountPath: "/data" }] },
              ],
            },
          },
          { apiVersion: "v1", kind: "Service", metadata: { name: "web-a", namespace: "default" }, spec: { selector: { app: "web-a" }, ports: [{ name: "http", port: 80, targetPort: 80 }] } },
        ],
      }),
    });
    await eventually(() => admin.run(["get", "pod", "web-a", "-o", "jsonpath={.status.phase}"]), (r) => r.stdout === "Running", "web-a Running", 60_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${dump()}`);
    });
    clusterIP = (await admin.ok(["get", "svc", "web-a", "-o", "jsonpath={.spec.clusterIP}"])).trim();
    podIP = (await admin.ok(["get", "pod", "web-a", "-o", "jsonpath={.status.podIP}"])).trim();
    expect(clusterIP).toMatch(/^127\.96\.214\./);
    expect(podIP).toMatch(/^127\.210\.1\./);
    const slice = await eventually(() => admin.run(["get", "endpointslices", "-l", "kubernetes.io/service-name=web-a", "-o", "jsonpath={.items[0].endpoints[0].nodeName} {.items[0].endpoints[0].targetRef.name}"]), (r) => r.stdout === "node-a web-a", "the slice names node-a's pod", 30_000);
    expect(slice.stdout).toBe("node-a web-a");
    const page = await eventually(() => get(clusterIP, 80, "/").catch((e: Error) => ({ status: 0, body: Buffer.from(e.message), ms: 0 })), (r) => r.status === 200, "GET / on the ClusterIP", 30_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${output("kube-proxy-node-b").slice(-3000)}\n${output("kubelet-node-a").slice(-3000)}`);
    });
    expect(page.body.toString()).toBe("hello from node-a\n");
    // The kubelet asked the API server whether system:kube-proxy may use nodes/proxy, and was told yes.
    // (The kubelet's log reaches this process a moment after the request it belongs to.)
    await eventually(async () => output("kubelet-node-a"), (o) => /"user":"system:kube-proxy","verb":"get","subresource":"proxy","allowed":true[^\n]*SubjectAccessReview answered/.test(o), "the kubelet's review of system:kube-proxy", 5000);
    const metrics = await (await fetch(`http://${NODES[1]!.ip}:10249/metrics`)).text();
    expect(metrics).toMatch(/kubemu_kubeproxy_kubelet_tunnels_total\{node="node-a",result="opened"\} [1-9]/);
  });

  it("10 MB through the kubelet path arrive intact (throughput beside the direct path)", async () => {
    const direct = await eventually(() => get(podIP, 80, "/big"), (r) => r.status === 200 && r.body.length === SIZE, "the 10 MB file written", 30_000);
    const viaKubelet = await get(clusterIP, 80, "/big");
    expect(viaKubelet.status).toBe(200);
    expect(viaKubelet.body.length).toBe(SIZE);
    expect(sha(viaKubelet.body)).toBe(sha(direct.body));
    // Best of 5 each, interleaved, so a busy moment of the shared machine does not decide the ratio.
    const best = { direct: Infinity, viaKubelet: Infinity };
    for (let i = 0; i < 5; i++) {
      best.direct = Math.min(best.direct, (await get(podIP, 80, "/big")).ms);
      const r = await get(clusterIP, 80, "/big");
      expect(sha(r.body)).toBe(sha(direct.body));
      best.viaKubelet = Math.min(best.viaKubelet, r.ms);
    }
    const mbps = (ms: number) => (SIZE / 1024 / 1024 / (ms / 1000)).toFixed(0);
    console.log(`10 MB, best of 5: direct to the pod ${best.direct.toFixed(0)} ms (${mbps(best.direct)} MiB/s), ClusterIP through node-a's kubelet ${best.viaKubelet.toFixed(0)} ms (${mbps(best.viaKubelet)} MiB/s), ratio ${(best.direct / best.viaKubelet).toFixed(2)}x`);
  });

  it("a certificate from the cluster CA without nodes/proxy gets the kubelet's 403 (and the API servers' identity is served)", async () => {
    const dial = async (commonName: string, organizations: string[] = []) => {
      const c = await clientCert(commonName, organizations);
      return new Promise<{ status: number; body: string }>((resolve, reject) => {
        const ws = new WebSocket(`wss://${NODES[0]!.ip}:10250/portForward/default/web-a?port=80`, ["v4.channel.k8s.io"], { ca: ca.cert, cert: c.cert, key: c.key });
        ws.on("unexpected-response", (_req, res) => {
          let body = "";
          res.on("data", (d: Buffer) => (body += d.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        ws.on("open", () => {
          ws.terminate();
          resolve({ status: 101, body: "" });
        });
        ws.on("error", (e) => (e.message.startsWith("Unexpected server response") ? undefined : reject(e)));
      });
    };
    expect(await dial("jane", ["dev"])).toEqual({ status: 403, body: "Forbidden (user=jane, verb=get, resource=nodes, subresource=proxy)" });
    await eventually(async () => output("kubelet-node-a"), (o) => /"user":"jane","verb":"get","subresource":"proxy","allowed":false/.test(o), "the kubelet's review of jane", 5000);
    expect((await dial("kube-apiserver-kubelet-client", ["system:masters"])).status).toBe(101);
    // Granting the role makes the same user pass once the denial's 30 s cache has gone: a fresh user shows the grant at once.
    await admin.ok(["create", "clusterrolebinding", "bob-node-proxy", "--clusterrole", "kubemu:kube-proxy-node-proxy", "--user", "bob"]);
    expect((await dial("bob")).status).toBe(101);
  });
});
