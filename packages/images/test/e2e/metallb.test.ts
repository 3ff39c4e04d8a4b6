/**
 * metallb end to end, the seed's LoadBalancer sequence (seeds/000: `expose --type=LoadBalancer`,
 * `<pending>`, the `config` ConfigMap applied, EXTERNAL-IP from the pool, IPAllocated and
 * nodeAssigned events, curl IP:port, then the announcing node dies and another announces).
 * Real etcd, API server, scheduler, controller-manager (every controller), two kubelets and two
 * kube-proxies; metallb-controller and one metallb-speaker per node run as plain child processes
 * with --kubeconfig (the test cluster serves plain HTTP without service-account tokens, so not as
 * pods), and "the node dies" kills its kubelet, kube-proxy and speaker together.
 * Subnets: etcd 127.1.170.x, API 127.1.171.x, scheduler/controller-managers 127.1.172.x, nodes
 * 127.1.173.N, pods 127.231.N.0/24, pool 127.240.1.100, the Service's ClusterIP 127.96.231.170.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { eventually, KubeletHarness } from "../../../kubelet/test/e2e/harness.js";
import type { Proc } from "../../../apiserver/test/e2e/cluster.js";

const MANAGER_MAIN = fileURLToPath(new URL("../../../controller-manager/dist/main.js", import.meta.url));
const PROXY_MAIN = fileURLToPath(new URL("../../../kube-proxy/dist/main.js", import.meta.url));
const CONTROLLER = fileURLToPath(new URL("../../dist/programs/metallb-controller.js", import.meta.url));
const SPEAKER = fileURLToPath(new URL("../../dist/programs/metallb-speaker.js", import.meta.url));

const NODES = [
  { name: "mlb-1", n: 1 },
  { name: "mlb-2", n: 2 },
];
const h = new KubeletHarness({ etcd: "127.1.170", api: "127.1.171", scheduler: "127.1.172" }, NODES, { nodes: "127.1.173", pods: "127.231" });
const nodeIp = (n: number) => `127.1.173.${n}`;
const LB_IP = "127.240.1.100";

// What minikube's `addons enable metallb` writes when no range was entered: `- -`, which MetalLB refuses.
const UNCONFIGURED = `apiVersion: v1
kind: Namespace
metadata:
  name: metallb-system
---
apiVersion: v1
kind: ConfigMap
metadata:
  namespace: metallb-system
  name: config
data:
  config: |
    address-pools:
    - name: default
      protocol: layer2
      addresses:
      - -
`;

const POOL = `apiVersion: v1
kind: ConfigMap
metadata:
  namespace: metallb-system
  name: config
data:
  config: |
    address-pools:
    - name: default
      protocol: layer2
      addresses:
      - ${LB_IP}-${LB_IP}
`;

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    app.kubernetes.io/name: load-balancer-example
  name: hello-world
spec:
  replicas: 5
  selector:
    matchLabels:
      app.kubernetes.io/name: load-balancer-example
  template:
    metadata:
      labels:
        app.kubernetes.io/name: load-balancer-example
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - image: gcr.io/google-samples/hello-app:2.0
        name: hello-world
        ports:
        - containerPort: 8080
`;

const nodeProcs = new Map<string, Proc[]>();

function startNodeAgents(node: { name: string; n: number }, kubeconfig: string, urls: string): void {
  nodeProcs.set(node.name, [
    h.cluster.spawn(`kube-proxy-${node.name}`, [PROXY_MAIN, "--name", `kube-proxy-${node.name}`, "--node-name", node.name, "--node-ip", nodeIp(node.n), "--apiserver-urls", urls, "--log-level", "info"]),
    h.cluster.spawn(`speaker-${node.name}`, [SPEAKER, "--port=7472", "--config=config", "--node-name", node.name, "--host", nodeIp(node.n), "--kubeconfig", kubeconfig, "--namespace", "metallb-system"]),
  ]);
}

const curl = async (url: string) => {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return await r.text();
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
};

const diagnostics = () => ["metallb-controller", ...NODES.map((n) => `speaker-${n.name}`), ...NODES.map((n) => `kube-proxy-${n.name}`)].map((p) => `--- ${p}\n${h.output(p).slice(-2500)}`).join("\n");

beforeAll(async () => {
  for (const f of [MANAGER_MAIN, PROXY_MAIN, CONTROLLER, SPEAKER]) if (!existsSync(f)) throw new Error(`${f} is missing: run "npx tsc -b" before these tests`);
  await h.start();
  const urls = h.cluster.apiservers.map((a) => a.url).join(",");
  // Deployments, ReplicaSets, Endpoints/EndpointSlices and node lifecycle (the dead node's pods go not ready).
  h.cluster.spawn("controller-manager-1", [
    MANAGER_MAIN, "--name", "controller-manager-1", "--bind-address", "127.1.172.3", "--port", "10257", "--apiserver-urls", urls, "--profile", "fast", "--log-level", "warn", "--leader-elect", "false", "--controllers", "*",
  ]);
  await h.cluster.waitReady("http://127.1.172.3:10257");
  // This cluster's `kubernetes` Service (127.96.0.1) must not be proxied here: a real cluster on this host may hold it.
  await h.kubectl.ok(["label", "service", "kubernetes", "service.kubernetes.io/service-proxy-name=none"]);
  const kubeconfig = await h.cluster.kubeconfig(0);
  h.cluster.spawn("metallb-controller", [CONTROLLER, "--port=7472", "--config=config", "--kubeconfig", kubeconfig, "--namespace", "metallb-system"]);
  for (const n of NODES) startNodeAgents(n, kubeconfig, urls);
}, 120_000);

afterAll(async () => {
  await h.stop();
}, 30_000);

describe("metallb (seed 000's LoadBalancer sequence)", () => {
  it("pending until the pool is configured, then an address from it, events, traffic, and a new announcer when that node dies", async () => {
    await h.kubectl.ok(["apply", "-f", "-"], { input: UNCONFIGURED });
    await h.kubectl.ok(["apply", "-f", "-"], { input: DEPLOYMENT });
    await h.kubectl.ok(["expose", "deployment", "hello-world", "--type=LoadBalancer", "--name=my-service", "--cluster-ip=127.96.231.170"]);
    await eventually(() => h.kubectl.ok(["get", "endpoints", "my-service", "-o", "jsonpath={.subsets[*].addresses[*].ip}"]), (s) => s.split(" ").filter(Boolean).length === 5, "5 ready endpoints", 90_000);

    // The controller has read the config and refused it: the Service stays pending.
    await eventually(async () => h.output("metallb-controller"), (s) => s.includes("config (re)load failed"), "the controller refusing `- -`", 30_000);
    const pending = await h.kubectl.ok(["get", "services", "my-service"]);
    expect(pending).toMatch(/^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\n/);
    expect(pending).toMatch(/my-service\s+LoadBalancer\s+127\.96\.231\.170\s+<pending>\s+8080:\d+\/TCP/);

    await h.kubectl.ok(["apply", "-f", "-"], { input: POOL });
    const got = await eventually(() => h.kubectl.ok(["get", "services", "my-service"]), (s) => s.includes(LB_IP), "EXTERNAL-IP from the pool", 40_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${diagnostics()}`);
    });
    expect(got).toMatch(new RegExp(`my-service\\s+LoadBalancer\\s+127\\.96\\.231\\.170\\s+${LB_IP.replace(/\./g, "\\.")}\\s+8080:\\d+/TCP`));

    const described = await eventually(() => h.kubectl.ok(["describe", "services", "my-service"]), (s) => s.includes("nodeAssigned"), "nodeAssigned event", 40_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${diagnostics()}`);
    });
    expect(described).toMatch(new RegExp(`LoadBalancer Ingress:\\s+${LB_IP.replace(/\./g, "\\.")}`));
    expect(described).toMatch(/Normal\s+IPAllocated\s+\S+\s+metallb-controller\s+Assigned IP "127\.240\.1\.100"/);
    const first = /Normal\s+nodeAssigned\s+.*metallb-speaker\s+announcing from node "(mlb-\d)"/.exec(described)?.[1];
    expect(first).toBeDefined();
    // Only one speaker announces.
    const other = NODES.find((n) => n.name !== first)!;
    expect(described).not.toContain(`announcing from node "${other.name}"`);
    const metrics = await curl(`http://${nodeIp(NODES.find((n) => n.name === first)!.n)}:7472/metrics`);
    expect(metrics).toContain(`metallb_speaker_announced{ip="${LB_IP}",node="${first}",protocol="layer2",service="default/my-service"} 1`);

    // Both nodes run hello-world pods (so either can announce), and each further change of the
    // Endpoints makes the winner say it again: one event, counted (`(x2 over ...)`, as in the seed).
    const podNodes = await h.kubectl.ok(["get", "pods", "-l", "app.kubernetes.io/name=load-balancer-example", "-o", "jsonpath={.items[*].spec.nodeName}"]);
    expect(new Set(podNodes.split(" ").filter(Boolean))).toEqual(new Set(NODES.map((n) => n.name)));
    await h.kubectl.ok(["scale", "deployment", "hello-world", "--replicas=6"]);
    const counted = await eventually(() => h.kubectl.ok(["describe", "services", "my-service"]), (s) => /nodeAssigned\s+\S+ \(x\d+ over \S+\)/.test(s), "nodeAssigned counted again", 40_000);
    expect(counted).toMatch(new RegExp(`Normal\\s+nodeAssigned\\s+\\S+ \\(x\\d+ over \\S+\\)\\s+metallb-speaker\\s+announcing from node "${first}"`));
    if (process.env.METALLB_E2E_PRINT) console.log(counted);

    const hello = await eventually(() => curl(`http://${LB_IP}:8080/`), (s) => s.includes("Hello, world!"), "curl the load-balancer IP", 30_000);
    expect(hello).toMatch(/Hello, world!\nVersion: 2\.0\.0\nHostname: hello-world-/);

    // The announcing node dies (its kubelet with its containers, its kube-proxy, its speaker).
    await h.killKubelet(first!);
    for (const p of nodeProcs.get(first!)!) await h.cluster.kill(p.name);
    const moved = await eventually(() => h.kubectl.ok(["describe", "services", "my-service"]), (s) => s.includes(`announcing from node "${other.name}"`), "a new announcer", 60_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${diagnostics()}`);
    });
    expect(moved).toMatch(new RegExp(`Normal\\s+nodeAssigned\\s+.*metallb-speaker\\s+announcing from node "${other.name}"`));
    const after = await eventually(() => curl(`http://${LB_IP}:8080/`), (s) => s.includes("Hello, world!"), "curl after the node died", 30_000);
    expect(after).toContain("Version: 2.0.0");
  }, 300_000);
});
