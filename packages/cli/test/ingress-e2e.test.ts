/**
 * The ingress addon end to end over TLS, as `up` runs it (the ingress-nginx program is
 * packages/images'): a store, one HTTPS API server with RBAC and ServiceAccount admission,
 * scheduler, controller-manager, kubelet and kube-proxy with their own client certificates; the
 * addon's objects applied with kubectl as the admin; the controller a real pod of its Deployment
 * on the primary node, reaching the API in cluster as any pod does: its kube-api-access token and
 * KUBERNETES_SERVICE_HOST/PORT, this cluster's own `kubernetes` ClusterIP 127.96.232.1 (from its
 * --service-cluster-ip-range 127.96.232.0/24) that kube-proxy serves, so its RBAC is what
 * minikube's manifest grants. Seed 003's Ingress lab (and 001's hosts/TLS): kubetm pods behind
 * Services; curl through the controller's hostPort on the node IP and through the NodePort
 * kube-proxy serves: the shopping/customer/order paths, canary by weight (10 %) and by header,
 * HTTPS with a TLS Secret (`curl --resolve`), the 404 default backend, a broken Ingress that
 * routes nothing while the rest keep working; ADDRESS, Sync events and access-log lines.
 * kube-proxy proxies only `kubernetes` and the controller's Service (ClusterIP 127.96.232.80): every
 * other Service is labelled service.kubernetes.io/service-proxy-name=none, so this cluster binds
 * only addresses of its own range on the shared host.
 * Subnets: etcd 127.1.180.x, API 127.1.181.1, scheduler/controller-manager 127.1.182.x, node
 * 127.1.185.1, pods 127.232.1.0/24.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createCertificateAuthority, issueCertificate, type KeyPair } from "@kubemu/common";
import { E2eCluster } from "../../apiserver/test/e2e/cluster.js";
import { Kubectl } from "../../apiserver/test/e2e/kubectl-run.js";
import { eventually } from "../../kubelet/test/e2e/harness.js";
import { ingressNginx } from "../src/addons/ingress-nginx.js";
import { apiserverCertRequest } from "../src/pki.js";

const main = (rel: string) => fileURLToPath(new URL(`../../${rel}`, import.meta.url));
const APISERVER = main("apiserver/dist/main.js");
const SCHEDULER = main("scheduler/dist/main.js");
const MANAGER = main("controller-manager/dist/main.js");
const KUBELET = main("kubelet/dist/main.js");
const PROXY = main("kube-proxy/dist/main.js");
const PROGRAM = main("images/dist/programs/nginx-ingress-controller.js");
const run = promisify(execFile);

const ETCD = "127.1.180";
const API_IP = "127.1.181.1";
const API_URL = `https://${API_IP}:6443`;
const NODE = "ingress";
const NODE_IP = "127.1.185.1";
/** This cluster's Services (kube-proxy binds `kubernetes` and the controller's on the shared host). */
const SERVICE_RANGE = "127.96.232.0/24";
const KUBERNETES_IP = "127.96.232.1";

const cluster = new E2eCluster(ETCD, "127.1.181", 0);
let ca: KeyPair;
const h = {
  cluster,
  kubectl: undefined as unknown as Kubectl,
  output: (name: string) => cluster.procs.filter((p) => p.name === name).map((p) => p.output.join("")).join("\n---\n"),
};

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

const pod = (name: string, label: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels:
    category: ${label}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: container
    image: kubetm/app
---
apiVersion: v1
kind: Service
metadata:
  name: svc-${label}
  labels:
    service.kubernetes.io/service-proxy-name: none
spec:
  selector:
    category: ${label}
  ports:
  - port: 8080
`;

const LOADBALANCING = `${pod("pod-shopping", "shopping")}---
${pod("pod-customer", "customer")}---
${pod("pod-order", "order")}---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: service-loadbalancing
spec:
  ingressClassName: nginx
  rules:
  - http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: svc-shopping
            port:
              number: 8080
      - path: /customer
        pathType: Prefix
        backend:
          service:
            name: svc-customer
            port:
              number: 8080
      - path: /order
        pathType: Prefix
        backend:
          service:
            name: svc-order
            port:
              number: 8080
`;

const CANARY = `${pod("pod-v1", "v1")}---
${pod("pod-v2", "v2")}---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app
spec:
  rules:
  - host: www.app.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: svc-v1
            port:
              number: 8080
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: canary-v2
  annotations:
    nginx.ingress.kubernetes.io/canary: "true"
    nginx.ingress.kubernetes.io/canary-weight: "10"
spec:
  rules:
  - host: www.app.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: svc-v2
            port:
              number: 8080
`;

const HTTPS = `${pod("pod-https", "https")}---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: https
spec:
  tls:
  - hosts:
    - sslexample.com
    secretName: secret-https
  rules:
  - host: sslexample.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: svc-https
            port:
              number: 8080
`;

const BROKEN = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: broken
spec:
  tls:
  - hosts:
    - broken.com
    secretName: no-such-secret
  rules:
  - host: broken.com
    http:
      paths:
      - path: /api
        pathType: Prefix
        backend:
          service:
            name: no-such-service
            port:
              number: 80
`;

/** The real curl: exit code, headers and body (-i), stderr (-v's TLS lines). */
async function curl(args: string[]): Promise<{ out: string; err: string; code: number }> {
  try {
    const r = await run("curl", ["-sS", "-i", "--max-time", "5", ...args], { encoding: "utf8" });
    return { out: r.stdout, err: r.stderr, code: 0 };
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; code?: number };
    return { out: x.stdout ?? "", err: x.stderr ?? "", code: typeof x.code === "number" ? x.code : 1 };
  }
}
const body = (r: { out: string }) => r.out.split("\r\n\r\n").slice(1).join("\r\n\r\n");

let controllerPod = "";
const logs = () => h.kubectl.ok(["logs", "-n", "ingress-nginx", controllerPod]);
const diagnostics = async () => `${await logs().catch((e: Error) => e.message)}\n${h.output(`kubelet-${NODE}`).slice(-3000)}`;

beforeAll(async () => {
  for (const f of [APISERVER, SCHEDULER, MANAGER, KUBELET, PROXY, PROGRAM]) if (!existsSync(f)) throw new Error(`${f} is missing: run "npx tsc -b" before these tests`);
  await cluster.start(); // the store; the API server needs TLS flags
  const now = new Date();
  ca = await createCertificateAuthority("kubemu-ca", now, 1);
  await writeFile(join(cluster.root, "ca.crt"), ca.cert);
  // up's serving certificate request (src/pki.ts), plus this test's API server address.
  const use = apiserverCertRequest.use as { kind: "server"; dnsNames: string[]; ips: string[] };
  const serving = await pem("apiserver", await issueCertificate(ca, { ...apiserverCertRequest, use: { ...use, ips: [...use.ips, API_IP, KUBERNETES_IP] }, validDays: 1 }, now));
  cluster.spawn("apiserver-0", [
    APISERVER, "--name", "apiserver-0", "--bind-address", API_IP, "--port", "6443", "--insecure-port", "8080",
    "--etcd-servers", [1, 2, 3].map((i) => `ws://${ETCD}.${i}:2379`).join(","), "--log-level", "warn",
    "--tls-cert-file", serving.cert, "--tls-private-key-file", serving.key, "--client-ca-file", join(cluster.root, "ca.crt"), "--component-status", "",
    "--service-cluster-ip-range", SERVICE_RANGE,
  ]);
  await cluster.waitReady(`http://${API_IP}:8080`, 40_000);
  const adminFiles = await pem("admin", await issueCertificate(ca, { commonName: "kubernetes-admin", organizations: ["system:masters"], use: { kind: "client" }, validDays: 1 }, now));
  const kubeconfig = join(cluster.root, "kubeconfig");
  await writeFile(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters:\n- cluster: {server: "${API_URL}", certificate-authority: ${join(cluster.root, "ca.crt")}}\n  name: e2e\ncontexts:\n- context: {cluster: e2e, user: admin}\n  name: e2e\ncurrent-context: e2e\nusers:\n- name: admin\n  user: {client-certificate: ${adminFiles.cert}, client-key: ${adminFiles.key}}\n`,
  );
  h.kubectl = new Kubectl(kubeconfig, join(cluster.root, "kubectl-cache"));
  cluster.spawn("scheduler-0", [SCHEDULER, "--name", "scheduler-0", "--bind-address", "127.1.182.1", "--port", "10259", "--leader-elect", "false", "--log-level", "warn", ...(await clientFlags("scheduler", "system:kube-scheduler"))]);
  cluster.spawn("controller-manager-0", [
    MANAGER, "--name", "controller-manager-0", "--bind-address", "127.1.182.2", "--port", "10257", "--profile", "fast", "--log-level", "warn", "--leader-elect", "false",
    ...(await clientFlags("controller-manager", "system:kube-controller-manager")),
    "--controllers", "serviceaccount-controller,root-ca-certificate-publisher-controller,deployment-controller,replicaset-controller,endpointslice-controller", "--root-ca-file", join(cluster.root, "ca.crt"),
  ]);
  cluster.spawn(`kubelet-${NODE}`, [
    KUBELET, "--name", `kubelet-${NODE}`, "--node-name", NODE, "--node-ip", NODE_IP, "--pod-cidr", "127.232.1.0/24",
    "--state-dir", cluster.root, "--profile", "fast", "--log-level", "info", "--capacity-cpu", "4", "--capacity-memory", "8Gi",
    ...(await clientFlags(`kubelet-${NODE}`, `system:node:${NODE}`, ["system:nodes"])),
  ]);
  await Promise.all([cluster.waitReady("http://127.1.182.1:10259", 40_000), cluster.waitReady("http://127.1.182.2:10257", 40_000), cluster.waitReady(`http://${NODE_IP}:10250`, 40_000)]);
  // minikube labels its primary node (the kubelet may not: NodeRestriction); the addon's nodeSelector wants it.
  await h.kubectl.ok(["label", "node", NODE, "minikube.k8s.io/primary=true"]);
  cluster.spawn(`kube-proxy-${NODE}`, [PROXY, "--name", `kube-proxy-${NODE}`, "--node-name", NODE, "--node-ip", NODE_IP, "--log-level", "info", ...(await clientFlags("kube-proxy", "system:kube-proxy"))]);
  await eventually(async () => (await h.kubectl.run(["get", "sa", "default", "-o", "name"])).stdout, (s) => s.trim() === "serviceaccount/default", "the default ServiceAccount");
  // The addon as `kubemu addons enable ingress` creates it.
  const objects = ingressNginx().map((a) => a.object);
  const deploy = objects.find((o) => o.kind === "Deployment") as unknown as { spec: { template: { spec: { containers: { args: string[] }[] } } } };
  deploy.spec.template.spec.containers[0]!.args.push("--status-update-interval=5");
  const svc = objects.find((o) => o.kind === "Service") as unknown as { spec: { clusterIP?: string } };
  svc.spec.clusterIP = "127.96.232.80";
  await h.kubectl.ok(["apply", "-f", "-"], { input: JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }) });
  controllerPod = await eventually(
    () => h.kubectl.ok(["get", "pods", "-n", "ingress-nginx", "-o", "jsonpath={range .items[*]}{.metadata.name} {.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}"]),
    (s) => /^ingress-nginx-controller-\S+ True$/m.test(s),
    "the controller pod Ready",
    90_000,
  ).then((s) => s.trim().split(" ")[0]!).catch(async (e: Error) => {
    throw new Error(`${e.message}\n${await h.kubectl.run(["describe", "pods", "-n", "ingress-nginx"]).then((r) => r.stdout)}\n${h.output(`kubelet-${NODE}`).slice(-4000)}`);
  });
}, 180_000);

afterAll(async () => {
  await cluster.stop();
}, 30_000);

describe("ingress-nginx over TLS (seed 003's Ingress lab)", () => {
  it("the controller pod's in-cluster address is this cluster's `kubernetes` Service, not one the addon sets", async () => {
    const env = await h.kubectl.ok(["get", "pod", "-n", "ingress-nginx", controllerPod, "-o", "jsonpath={.spec.containers[0].env[*].name}"]);
    expect(env.split(" ")).not.toContain("KUBERNETES_SERVICE_HOST");
    const host = await h.kubectl.ok(["exec", "-n", "ingress-nginx", controllerPod, "--", "printenv", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"]);
    expect(host).toBe(`${KUBERNETES_IP}\n443\n`);
  }, 30_000);
  it("routes / /customer /order to their Services through the node's port 80; ADDRESS is the node IP; Sync events; upstreaminfo log lines", async () => {
    await h.kubectl.ok(["apply", "-f", "-"], { input: LOADBALANCING });
    const hit = async (path: string) => body(await curl([`http://${NODE_IP}${path}`]));
    for (const [path, podName] of [["/hostname", "pod-shopping"], ["/customer", "pod-customer"], ["/order", "pod-order"], ["/customer/x", "pod-customer"]] as const) {
      await eventually(() => hit(path), (b) => b === `Hostname : ${podName}\n`, `${path} → ${podName}`, 60_000).catch(async (e: Error) => {
        throw new Error(`${e.message}\n${await diagnostics()}`);
      });
    }
    // The seed's way in: the controller's NodePort on the node.
    const svcs = await h.kubectl.ok(["get", "service", "-n", "ingress-nginx", "ingress-nginx-controller"]);
    const m = /ingress-nginx-controller\s+NodePort\s+127\.96\.232\.80\s+<none>\s+80:(\d+)\/TCP,443:(\d+)\/TCP\s+/.exec(svcs);
    expect(m, svcs).not.toBeNull();
    await eventually(() => hit(`:${m![1]}/customer`), (b) => b === "Hostname : pod-customer\n", "NodePort /customer", 30_000).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${h.output("kube-proxy-ingress").slice(-3000)}`);
    });
    expect(body(await curl(["-k", `https://${NODE_IP}:${m![2]}/order`]))).toBe("Hostname : pod-order\n");
    const ing = await eventually(() => h.kubectl.ok(["get", "ingress", "service-loadbalancing"]), (s) => s.includes(NODE_IP), "ADDRESS", 40_000);
    expect(ing).toMatch(/^NAME\s+CLASS\s+HOSTS\s+ADDRESS\s+PORTS\s+AGE\n/);
    expect(ing).toMatch(new RegExp(`service-loadbalancing\\s+nginx\\s+\\*\\s+${NODE_IP.replace(/\./g, "\\.")}\\s+80\\s+`));
    const events = await eventually(() => h.kubectl.ok(["describe", "ingress", "service-loadbalancing"]), (s) => s.includes("Scheduled for sync"), "a Sync event");
    expect(events).toMatch(/Normal\s+Sync\s+.*nginx-ingress-controller\s+Scheduled for sync/);
    // $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name] $upstream_addr ...
    const lines = await logs();
    expect(lines).toMatch(/^127\.\d+\.\d+\.\d+ - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET \/customer HTTP\/1\.1" 200 24 "-" "curl\/[^"]+" \d+ \d+\.\d{3} \[default-svc-customer-8080\] \[\] 127\.232\.1\.\d+:8080 24 \d+\.\d{3} 200 [0-9a-f]{32}$/m);
  }, 120_000);

  it("a host without a rule for the path gets ingress-nginx's 404 page; a broken Ingress is 503 with the fake certificate while the rest keep routing", async () => {
    // The seed's Ingress has no host: every other host name lands on it too.
    expect(body(await curl(["-H", "Host: nobody.example.com", `http://${NODE_IP}/hostname`]))).toBe("Hostname : pod-shopping\n");
    await h.kubectl.ok(["apply", "-f", "-"], { input: BROKEN });
    const broken = await eventually(() => curl(["-H", "Host: broken.com", `http://${NODE_IP}/api/x`]), (x) => x.out.startsWith("HTTP/1.1 503"), "503 for the missing Service", 30_000);
    expect(body(broken)).toContain("<title>503 Service Temporarily Unavailable</title>");
    const r = await curl(["-H", "Host: broken.com", `http://${NODE_IP}/`]);
    expect(r.out).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
    expect(r.out).not.toMatch(/\r\nServer:/i);
    expect(body(r)).toBe("<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n");
    const tls = await curl(["-k", "-v", "--resolve", `broken.com:443:${NODE_IP}`, "https://broken.com/"]);
    expect(tls.err).toContain("CN=Kubernetes Ingress Controller Fake Certificate");
    expect(body(await curl([`http://${NODE_IP}/customer`]))).toBe("Hostname : pod-customer\n");
    expect(await logs()).toContain('Error getting SSL certificate "default/no-such-secret": local SSL certificate default/no-such-secret was not found. Using default certificate');
    expect(await logs()).toContain('Error obtaining Endpoints for Service "default/no-such-service": no object matching key "default/no-such-service" in local store');
  }, 60_000);

  it("canary by weight sends about 10 % to v2; by header Accept-Language: kr sends all of those to v2", async () => {
    await h.kubectl.ok(["apply", "-f", "-"], { input: CANARY });
    const hit = async (extra: string[] = []) => body(await curl([...extra, "-H", "Host: www.app.com", `http://${NODE_IP}/hostname`]));
    await eventually(() => hit(), (b) => b === "Hostname : pod-v1\n", "www.app.com → pod-v1", 60_000);
    await eventually(() => h.kubectl.ok(["get", "endpointslices", "-l", "kubernetes.io/service-name=svc-v2", "-o", "jsonpath={.items[*].endpoints[*].addresses[*]}"]), (s) => s !== "", "svc-v2 endpoints", 60_000);
    const counts = { v1: 0, v2: 0 };
    // One curl process for all 300 requests (--parallel off: sequential over one connection).
    const urls = Array.from({ length: 300 }, () => `http://${NODE_IP}/hostname`);
    const many = await run("curl", ["-s", "-H", "Host: www.app.com", ...urls], { encoding: "utf8", maxBuffer: 1 << 20 });
    for (const line of many.stdout.split("\n")) {
      if (line === "Hostname : pod-v1") counts.v1++;
      if (line === "Hostname : pod-v2") counts.v2++;
    }
    expect(counts.v1 + counts.v2).toBe(300);
    // 10 % of 300 = 30 (σ ≈ 5.2): well inside 8..60.
    expect(counts.v2).toBeGreaterThan(8);
    expect(counts.v2).toBeLessThan(60);

    await h.kubectl.ok(["annotate", "ingress", "canary-v2", "nginx.ingress.kubernetes.io/canary-weight-", "nginx.ingress.kubernetes.io/canary-by-header=Accept-Language", "nginx.ingress.kubernetes.io/canary-by-header-value=kr"]);
    // Until the rebuild (rate-limited, ~3 s) the 10 % weight still applies: wait for a run of kr → v2 that weight alone would not give.
    const krRun = async () => (await Promise.all(Array.from({ length: 8 }, () => hit(["-H", "Accept-Language: kr"])))).every((b) => b === "Hostname : pod-v2\n");
    await eventually(krRun, (all) => all, "Accept-Language: kr → v2", 30_000);
    for (let i = 0; i < 5; i++) {
      expect(await hit(["-H", "Accept-Language: kr"])).toBe("Hostname : pod-v2\n");
      expect(await hit(["-H", "Accept-Language: en"])).toBe("Hostname : pod-v1\n");
      expect(await hit()).toBe("Hostname : pod-v1\n");
    }
    expect(await logs()).toMatch(/"GET \/hostname HTTP\/1\.1" 200 \d+ "-" "curl\/[^"]+" \d+ \d+\.\d{3} \[default-svc-v1-8080\] \[default-svc-v2-8080\] 127\.232\.1\.\d+:8080 /);
  }, 150_000);

  it("HTTPS with a TLS Secret: curl --resolve gets the Secret's certificate by SNI, HTTP redirects with 308", async () => {
    const dir = h.cluster.root;
    await run("openssl", ["req", "-x509", "-nodes", "-days", "365", "-newkey", "rsa:2048", "-keyout", join(dir, "tls.key"), "-out", join(dir, "tls.crt"), "-subj", "/CN=sslexample.com", "-addext", "subjectAltName=DNS:sslexample.com"]);
    await h.kubectl.ok(["create", "secret", "tls", "secret-https", "--key", join(dir, "tls.key"), "--cert", join(dir, "tls.crt")]);
    await h.kubectl.ok(["apply", "-f", "-"], { input: HTTPS });
    const https = await eventually(
      () => curl(["-v", "--cacert", join(dir, "tls.crt"), "--resolve", `sslexample.com:443:${NODE_IP}`, "https://sslexample.com/hostname"]),
      (r) => body(r) === "Hostname : pod-https\n",
      "https://sslexample.com/hostname verified against the Secret's certificate",
      60_000,
    ).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${await diagnostics()}`);
    });
    expect(https.err).toContain("CN=sslexample.com");
    // nginx's `listen 443 ssl http2`: curl gets h2 by ALPN.
    expect(https.out).toMatch(/^HTTP\/2 200 ?\r\n/);
    expect(await logs()).toMatch(/"GET \/hostname HTTP\/2\.0" 200 \d+ "-" "curl\/[^"]+" \d+ \d+\.\d{3} \[default-svc-https-8080\] \[\] 127\.232\.1\.\d+:8080 /);
    const redirect = await curl(["--resolve", `sslexample.com:80:${NODE_IP}`, "http://sslexample.com/hostname"]);
    expect(redirect.out).toMatch(/^HTTP\/1\.1 308 Permanent Redirect\r\n/);
    expect(redirect.out).toContain("\r\nLocation: https://sslexample.com/hostname\r\n");
    // minikube's ConfigMap sets hsts "false": no Strict-Transport-Security.
    expect(https.out).not.toMatch(/strict-transport-security/i);
  }, 90_000);
});
