/**
 * `kubemu up` with the built-in table, end to end: real etcd members, API servers and
 * apiserver-lb on DESIGN.md's fixed addresses, HTTPS with the generated PKI, and the real
 * kubectl through the merged kubeconfig. Skipped (with the reason) when those addresses are
 * taken, e.g. by a cluster the developer is running.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { probeBind } from "../src/ports.js";
import { apiservers, etcdMembers, ports } from "../src/components.js";
import { cleanupStateDirs, cliMain, ensureBuilt, newStateDir, recorded, rememberPids, repo, alive, type RunResult } from "./helpers.js";

const needed = [
  ...etcdMembers.flatMap((m) => [ports.etcdClient, ports.etcdPeer, ports.etcdControl].map((port) => ({ ip: m.ip, port }))),
  ...apiservers.map((a) => ({ ip: a.ip, port: ports.apiserver })),
];
const built = ["packages/etcd-raft/dist/server/main.js", "packages/apiserver/dist/main.js", "packages/scheduler/dist/main.js", "packages/controller-manager/dist/main.js"].every((f) => existsSync(join(repo, f)));

let stateDir = "";
let userKubeconfig = "";
let busy: string | undefined;

function kubemu(args: string[]): Promise<RunResult> {
  return run(process.execPath, [cliMain, "--state-dir", stateDir, ...args], 120_000);
}
function kubectl(args: string[]): Promise<RunResult> {
  return run("kubectl", ["--cache-dir", join(stateDir, "kubectl-cache"), ...args], 30_000);
}
function run(bin: string, args: string[], timeout: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(bin, args, { cwd: repo, timeout, env: { ...process.env, KUBECONFIG: userKubeconfig } }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : -1;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end();
  });
}
async function ok(r: Promise<RunResult>): Promise<string> {
  const res = await r;
  if (res.code !== 0) throw new Error(`exit ${res.code}: ${res.stderr}${res.stdout}`);
  return res.stdout;
}

beforeAll(async () => {
  ensureBuilt();
  for (const { ip, port } of needed) {
    const problem = await probeBind(ip, port);
    if (problem !== undefined) {
      busy = `${ip}:${port} is in use (${problem}); is a kubemu cluster running? (\`kubemu down\`)`;
      return;
    }
  }
  stateDir = newStateDir();
  userKubeconfig = join(stateDir, "home-kube", "config");
}, 120_000);

afterAll(async () => {
  if (stateDir !== "") {
    rememberPids(stateDir);
    await kubemu(["down", "--grace", "2"]);
    for (const p of recorded(stateDir)) if (alive(p)) process.kill(p.pid!, "SIGKILL");
  }
  cleanupStateDirs();
}, 60_000);

describe.skipIf(!built)("kubemu up with the built-in table", () => {
  it("serves HTTPS with a generated CA; kubectl works through the merged kubeconfig; anonymous is refused", async (ctx) => {
    if (busy) ctx.skip(busy);
    const out = await ok(kubemu(["up", "--nodes", "1", "--wait", "20"]));
    rememberPids(stateDir);
    const server = /API server \(via apiserver-lb\): (https:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    expect(server, out).toBeDefined();
    for (const f of ["ca.crt", "ca.key", "apiserver.crt", "apiserver.key", "admin.crt", "admin.key"]) expect(existsSync(join(stateDir, "pki", f))).toBe(true);

    const merged = parse(readFileSync(userKubeconfig, "utf8")) as { clusters: { cluster: Record<string, string> }[]; users: { user: Record<string, string> }[] };
    expect(merged.clusters[0]!.cluster).toMatchObject({ server, "certificate-authority-data": Buffer.from(readFileSync(join(stateDir, "pki", "ca.crt"))).toString("base64") });
    expect(Object.keys(merged.users[0]!.user).sort()).toEqual(["client-certificate-data", "client-key-data"]);

    expect(await ok(kubectl(["get", "ns", "-o", "name"]))).toContain("namespace/kube-system");
    expect(await ok(kubectl(["create", "configmap", "up-e2e", "--from-literal=k=v"]))).toBe("configmap/up-e2e created\n");

    const anon = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(`${server}/api/v1/namespaces/default/configmaps`, { ca: readFileSync(join(stateDir, "pki", "ca.crt")) }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    expect(anon).toBe(403);

    // SIGKILL apiserver-0 in the middle of a kubectl loop: apiserver-lb keeps every command working.
    let failures = 0;
    for (let i = 0; i < 12; i++) {
      if (i === 3) await ok(kubemu(["kill", "apiserver-0"]));
      if ((await kubectl(["get", "configmap", "up-e2e", "-o", "name"])).code !== 0) failures++;
    }
    expect(failures).toBe(0);
    await ok(kubemu(["start", "apiserver-0"]));

    // The schedulers reach the apiservers over TLS with their own certificate: one leads, the
    // Lease names it, kubectl get cs says Healthy, and a pod on a Node object gets bound.
    for (const f of ["scheduler.crt", "scheduler.key"]) expect(existsSync(join(stateDir, "pki", f))).toBe(true);
    let holder = "";
    for (let i = 0; i < 50 && !holder; i++) {
      holder = (await kubectl(["get", "lease", "-n", "kube-system", "kube-scheduler", "-o", "jsonpath={.spec.holderIdentity}"])).stdout;
      if (!holder) await new Promise((r) => setTimeout(r, 200));
    }
    expect(holder).toMatch(/^scheduler-[01]_[0-9a-z]{4}$/);
    expect(await ok(kubectl(["get", "cs", "scheduler", "--no-headers"]))).toMatch(/^scheduler\s+Healthy\s+ok/);
    const node = { apiVersion: "v1", kind: "Node", metadata: { name: "up-e2e-node" }, status: { allocatable: { cpu: "2", memory: "4Gi", pods: "110" }, capacity: { cpu: "2", memory: "4Gi", pods: "110" }, conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "" }] } };
    writeFileSync(join(stateDir, "up-e2e-node.json"), JSON.stringify(node));
    await ok(kubectl(["apply", "-f", join(stateDir, "up-e2e-node.json")]));
    await ok(kubectl(["run", "up-e2e-pod", "--image=nginx"]));
    let bound = "";
    for (let i = 0; i < 50 && !bound; i++) {
      bound = (await kubectl(["get", "pod", "up-e2e-pod", "-o", "jsonpath={.spec.nodeName}"])).stdout;
      if (!bound) await new Promise((r) => setTimeout(r, 200));
    }
    // Once the kubelet is built, `up` also registers node "kubemu", which the pod may land on.
    expect(["up-e2e-node", "kubemu"]).toContain(bound);

    // The controller-managers: one leads over TLS with its own certificate, and a Deployment gets
    // its ReplicaSet and pods.
    let cmHolder = "";
    for (let i = 0; i < 50 && !cmHolder; i++) {
      cmHolder = (await kubectl(["get", "lease", "-n", "kube-system", "kube-controller-manager", "-o", "jsonpath={.spec.holderIdentity}"])).stdout;
      if (!cmHolder) await new Promise((r) => setTimeout(r, 200));
    }
    expect(cmHolder).toMatch(/^controller-manager-[01]_[0-9a-z]{4}$/);
    expect(await ok(kubectl(["get", "cs", "controller-manager", "--no-headers"]))).toMatch(/^controller-manager\s+Healthy\s+ok/);
    // The Deployment's pods run for real on node "kubemu" (the kubelet runs the catalog's nginx), so
    // keep them off the Node object above, which no kubelet serves.
    await ok(kubectl(["cordon", "up-e2e-node"]));
    await ok(kubectl(["create", "deployment", "up-e2e-web", "--image=nginx", "--replicas=2"]));
    let pods: string[] = [];
    for (let i = 0; i < 100 && pods.length < 2; i++) {
      pods = (await kubectl(["get", "pods", "-l", "app=up-e2e-web", "-o", "name"])).stdout.split("\n").filter(Boolean);
      if (pods.length < 2) await new Promise((r) => setTimeout(r, 200));
    }
    expect(pods).toHaveLength(2);
    expect(pods.every((p) => /^pod\/up-e2e-web-[bcdfghjklmnpqrstvwxz2456789]+-[a-z0-9]{5}$/.test(p))).toBe(true);
    // With real pods: the rollout completes, and a new image rolls out as kubectl rollout status sees it.
    expect(await ok(kubectl(["rollout", "status", "deployment/up-e2e-web", "--timeout=90s"]))).toContain('deployment "up-e2e-web" successfully rolled out');
    await ok(kubectl(["set", "image", "deployment/up-e2e-web", "nginx=nginx:alpine"]));
    expect(await ok(kubectl(["rollout", "status", "deployment/up-e2e-web", "--timeout=90s"]))).toContain('deployment "up-e2e-web" successfully rolled out');
    const running = (await ok(kubectl(["get", "pods", "-l", "app=up-e2e-web", "-o", "jsonpath={range .items[*]}{.spec.containers[0].image} {.status.phase}{\"\\n\"}{end}"]))).trim().split("\n");
    expect(running.filter((l) => l === "nginx:alpine Running")).toHaveLength(2);
  }, 180_000);

  it("keeps the CA across down/up, so kubeconfigs merged earlier stay valid", async (ctx) => {
    if (busy) ctx.skip(busy);
    const ca = readFileSync(join(stateDir, "pki", "ca.crt"), "utf8");
    await ok(kubemu(["down", "--grace", "2"]));
    await ok(kubemu(["up", "--nodes", "1", "--wait", "20", "--no-merge-kubeconfig"]));
    rememberPids(stateDir);
    expect(readFileSync(join(stateDir, "pki", "ca.crt"), "utf8")).toBe(ca);
    expect(await ok(kubectl(["get", "configmap", "up-e2e", "-o", "jsonpath={.data.k}"]))).toBe("v");
  }, 180_000);

  it("serves plain HTTP with --insecure-http", async (ctx) => {
    if (busy) ctx.skip(busy);
    await ok(kubemu(["down", "--grace", "2"]));
    const res = await kubemu(["up", "--nodes", "1", "--wait", "20", "--insecure-http"]);
    rememberPids(stateDir);
    expect(res.code, res.stderr).toBe(0);
    const out = res.stdout;
    expect(res.stderr).toContain("--insecure-http is for tests only");
    expect(out).toMatch(/API server \(via apiserver-lb\): http:\/\/127\.0\.0\.1:\d+/);
    const config = parse(readFileSync(join(stateDir, "kubeconfig"), "utf8")) as { users: { user: Record<string, string> }[] };
    expect(config.users[0]!.user).toEqual({});
    expect(await ok(kubectl(["--kubeconfig", join(stateDir, "kubeconfig"), "get", "configmap", "up-e2e", "-o", "name"]))).toBe("configmap/up-e2e\n");
  }, 180_000);
});
