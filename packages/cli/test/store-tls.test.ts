/**
 * The store and the control endpoints of an `up` cluster take no unauthenticated caller. The
 * built-in table (`clusterTable` with the PKI `up` makes) is moved onto this file's addresses
 * (127.1.241–127.1.246, pods 127.238.N) and run with `kubemu up --spec`, so the real launcher
 * starts it, waits for it and drives it:
 * - the store's client and peer ports are TLS with client certificates from the store's own CA:
 *   plain ws://, wss:// without a certificate and wss:// with a cluster-CA certificate (a
 *   kubelet's or user's kind) can neither write nor read; the API servers (their
 *   apiserver-etcd-client certificate) and `kubemu etcd` (the launcher's) can;
 * - every process's /kubemu/* answers 401 (http, no or a wrong bearer token) or refuses (the API
 *   servers' https:// without the admin certificate); `kubemu status`, `partition` and `heal`
 *   still work with the launcher's token and certificate, and the partition really bites.
 * kube-proxy is left "not built" by up and started once the kubernetes Service carries
 * service.kubernetes.io/service-proxy-name: none, as in sweep.test.ts (it must not take
 * 127.96.0.1:443 from another test's cluster).
 */
import { existsSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger, issueCertificate, WireClient } from "@kubemu/common";
import { EtcdClient } from "@kubemu/etcd-raft";
import { clusterTable } from "../src/components.js";
import { apiserverCertRequest, ensureClusterPki, type PkiPaths } from "../src/pki.js";
import type { ProcessSpec } from "../src/spec.js";
import { alive, cleanupStateDirs, ensureBuilt, newStateDir, recorded, rememberPids, repo, runKubemu, type RunResult } from "./helpers.js";

const CLUSTER = "storetls";
const remap: [RegExp, string][] = [
  [/127\.0\.10\./g, "127.1.241."],
  [/127\.0\.20\./g, "127.1.242."],
  [/127\.0\.0\.1\b/g, "127.1.243.1"],
  [/127\.0\.30\./g, "127.1.244."],
  [/127\.0\.40\./g, "127.1.245."],
  [/127\.0\.100\./g, "127.1.246."],
  [/127\.244\./g, "127.238."],
];
const LB = { ip: "127.1.243.1", port: 6443, control: 6444 };
const API_IPS = ["127.1.242.1", "127.1.242.2"];
const ETCD_IPS = ["127.1.241.1", "127.1.241.2", "127.1.241.3"];
const built = ["etcd-raft/dist/server/main.js", "apiserver/dist/main.js", "scheduler/dist/main.js", "controller-manager/dist/main.js", "kubelet/dist/main.js", "kube-proxy/dist/main.js", "cli/dist/apiserver-lb/main.js"].every((f) => existsSync(join(repo, "packages", f)));

let stateDir = "";
let paths: PkiPaths;
const read = (f: string) => readFileSync(f, "utf8");
const moved = (s: string) => remap.reduce((acc, [from, to]) => acc.replace(from, to), s);
const movedSpec = (p: ProcessSpec): ProcessSpec => ({
  ...p,
  args: p.args.map(moved),
  addresses: Object.fromEntries(Object.entries(p.addresses).map(([k, v]) => [k, moved(v)])),
  controlUrl: moved(p.controlUrl),
});

async function ok(r: Promise<RunResult>): Promise<string> {
  const res = await r;
  if (res.code !== 0) throw new Error(`exit ${res.code}: ${res.stderr}${res.stdout}`);
  return res.stdout;
}

function admin(method: string, path: string, body?: unknown, type = "application/json"): Promise<{ code: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: LB.ip, port: LB.port, path, method, headers: { "content-type": type }, ca: read(paths.caCert), cert: read(paths.adminCert), key: read(paths.adminKey), timeout: 10_000 },
      (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => resolve({ code: res.statusCode ?? 0, text }));
      },
    );
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** An HTTPS control request without a client certificate (status 0: refused in the handshake). */
function httpsNoCert(url: string, method: string, body?: string): Promise<number> {
  return new Promise((resolve) => {
    const req = httpsRequest(url, { method, ca: read(paths.caCert), timeout: 3000, headers: { "content-type": "application/json" } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve(0));
    req.end(body);
  });
}

const clients: EtcdClient[] = [];
function store(endpoints: string[], tls?: { ca?: string; cert?: string; key?: string }): EtcdClient {
  const c = new EtcdClient({ endpoints, name: "intruder", requestTimeoutMs: 2000, ...(tls ? { tls } : {}) });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  if (!built) return;
  ensureBuilt();
  stateDir = newStateDir();
  const log = createLogger({ component: "store-tls-test", level: "error" });
  paths = await ensureClusterPki(join(stateDir, "pki"), new Date(), log, [CLUSTER], ETCD_IPS);
  const ca = { cert: read(paths.caCert), key: read(paths.caKey) };
  const serving = await issueCertificate(ca, { ...apiserverCertRequest, use: { kind: "server", dnsNames: ["localhost", "kubernetes"], ips: [LB.ip, ...API_IPS] } }, new Date());
  writeFileSync(paths.apiserverKey, serving.key, { mode: 0o600 });
  writeFileSync(paths.apiserverCert, serving.cert);
  const kubeProxyBin = join(stateDir, "kube-proxy-main.js");
  const specs = clusterTable({ cluster: CLUSTER, nodeCount: 1, apiserverLbPort: LB.port, apiserverLbControlPort: LB.control, pki: paths })
    .map((p) => (p.component === "kube-proxy" ? { ...p, bin: kubeProxyBin } : p))
    .map(movedSpec);
  const file = join(stateDir, "store-tls-spec.json");
  writeFileSync(file, JSON.stringify(specs, null, 2));
  const res = await runKubemu(stateDir, ["--cluster", CLUSTER, "up", "--spec", file, "--wait", "40"], 180_000);
  rememberPids(stateDir);
  if (res.code !== 0) throw new Error(`up failed (${res.code}): ${res.stderr}${res.stdout}`);
  const patched = await admin("PATCH", "/api/v1/namespaces/default/services/kubernetes", { metadata: { labels: { "service.kubernetes.io/service-proxy-name": "none" } } }, "application/merge-patch+json");
  if (patched.code !== 200) throw new Error(`labelling the kubernetes Service answered ${patched.code}: ${patched.text}`);
  symlinkSync(join(repo, "packages/kube-proxy/dist/main.js"), kubeProxyBin);
  const started = await runKubemu(stateDir, ["--cluster", CLUSTER, "start", `kube-proxy-${CLUSTER}`, "--wait", "40"], 120_000);
  rememberPids(stateDir);
  if (started.code !== 0) throw new Error(`starting kube-proxy failed (${started.code}): ${started.stderr}${started.stdout}`);
}, 240_000);

afterAll(async () => {
  for (const c of clients) await c.close();
  if (stateDir !== "") {
    rememberPids(stateDir);
    await runKubemu(stateDir, ["--cluster", CLUSTER, "down", "--grace", "2"], 60_000);
    for (const p of recorded(stateDir)) if (alive(p)) process.kill(p.pid!, "SIGKILL");
  }
  cleanupStateDirs();
}, 90_000);

describe.skipIf(!built)("an up cluster's store and control endpoints refuse unauthenticated callers", () => {
  it("the API servers and `kubemu etcd` reach the store over TLS with their certificates", async () => {
    expect((await admin("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "made-by-admin" } })).code).toBe(201);
    const out = await ok(runKubemu(stateDir, ["--cluster", CLUSTER, "etcd", "get", "/registry/namespaces/made-by-admin", "--keys-only"], 60_000));
    expect(out.trim()).toBe("/registry/namespaces/made-by-admin");
    const members = await ok(runKubemu(stateDir, ["--cluster", CLUSTER, "etcd", "member", "list"], 60_000));
    for (const ip of ETCD_IPS) expect(members).toContain(`wss://${ip}:2380, wss://${ip}:2379`);
  }, 60_000);

  it("a direct store write or read without the store's client certificate fails: ws://, wss:// without one, wss:// with a cluster-CA one", async () => {
    const wss = ETCD_IPS.map((ip) => `wss://${ip}:2379`);
    const attempts: [string, EtcdClient][] = [
      ["ws://", store(ETCD_IPS.map((ip) => `ws://${ip}:2379`))],
      ["wss:// without a certificate", store(wss, { ca: read(paths.etcdCaCert) })],
      ["wss:// with the admin's cluster-CA certificate", store(wss, { ca: read(paths.etcdCaCert), cert: read(paths.adminCert), key: read(paths.adminKey) })],
      ["wss:// with a kubelet's certificate", store(wss, { ca: read(paths.etcdCaCert), cert: read(join(stateDir, "pki", `kubelet-${CLUSTER}.crt`)), key: read(join(stateDir, "pki", `kubelet-${CLUSTER}.key`)) })],
    ];
    for (const [what, c] of attempts) {
      await expect(c.put("/registry/namespaces/evil", "x"), what).rejects.toThrow();
      await expect(c.get("/registry/namespaces/default"), what).rejects.toThrow();
    }
    // The peer port: no raft messages from a connection without a peer certificate.
    for (const url of [`ws://${ETCD_IPS[0]}:2380`, `wss://${ETCD_IPS[0]}:2380`]) {
      const wire = new WireClient({ name: "etcd-9", endpoints: [url], tls: { ca: read(paths.etcdCaCert) }, connectTimeoutMs: 1000, requestTimeoutMs: 2000, maxRedirects: 0 });
      wire.on("connectError", () => {});
      await expect(wire.request("raft.messages", { to: 1, msgs: [] }, { timeoutMs: 2000 }), url).rejects.toThrow();
      await wire.close();
    }
    const out = await ok(runKubemu(stateDir, ["--cluster", CLUSTER, "etcd", "get", "/registry/namespaces/evil"], 60_000));
    expect(out).toBe("");
  }, 90_000);

  it("PUT /kubemu/faults without the launcher's credentials is refused by every process", async () => {
    // cluster.json records each process's control URL too.
    const procs = (recorded(stateDir) as (ReturnType<typeof recorded>[number] & { controlUrl: string })[]).filter((p) => p.pid !== null && alive(p));
    expect(procs).toHaveLength(12);
    const body = JSON.stringify({ rules: [{ peer: "*", action: "drop" }] });
    const failures: string[] = [];
    for (const p of procs) {
      const url = `${p.controlUrl}/kubemu/faults`;
      if (url.startsWith("https://")) {
        for (const method of ["PUT", "DELETE", "GET"]) {
          const code = await httpsNoCert(url, method, method === "PUT" ? body : undefined);
          if (code >= 200 && code < 300) failures.push(`${p.name} ${method} https without a certificate: ${code}`);
        }
        continue;
      }
      const unauthenticated: Record<string, string>[] = [{}, { authorization: "Bearer not-the-token" }];
      for (const headers of unauthenticated) {
        for (const method of ["PUT", "DELETE", "GET"]) {
          const res = await fetch(url, { method, headers: { "content-type": "application/json", ...headers }, ...(method === "PUT" ? { body } : {}), signal: AbortSignal.timeout(3000) });
          if (res.status !== 401) failures.push(`${p.name} ${method} ${JSON.stringify(headers)}: ${res.status}`);
        }
        const status = await fetch(`${p.controlUrl}/kubemu/status`, { headers, signal: AbortSignal.timeout(3000) });
        if (status.status !== 401) failures.push(`${p.name} GET /kubemu/status ${JSON.stringify(headers)}: ${status.status}`);
      }
    }
    expect(failures).toEqual([]);
    // Health stays public, as upstream's.
    expect((await fetch(`http://${ETCD_IPS[0]}:2381/health`)).status).toBe(200);
    expect((await fetch(`http://127.1.244.1:10259/healthz`)).status).toBe(200);
  }, 90_000);

  it("the launcher's status, partition and heal still work, and the partition bites", async () => {
    const status = await ok(runKubemu(stateDir, ["--cluster", CLUSTER, "status"], 60_000));
    for (const n of ["etcd-0", "etcd-1", "etcd-2", "apiserver-0", "scheduler-0", "controller-manager-0", `kubelet-${CLUSTER}`, `kube-proxy-${CLUSTER}`, "apiserver-lb"]) expect(status).toMatch(new RegExp(`${n}\\s.*running`));
    const cut = await ok(runKubemu(stateDir, ["--cluster", CLUSTER, "partition", "etcd-0", "--from", "etcd-1", "etcd-2"], 60_000));
    expect(cut).toContain("etcd-0: dropping all traffic with etcd-1, etcd-2");
    // etcd-0, cut off, loses its leader (its /health turns 503), while the others keep one.
    let health = 200;
    for (let i = 0; i < 100 && health === 200; i++) {
      await new Promise((r) => setTimeout(r, 200));
      health = (await fetch(`http://${ETCD_IPS[0]}:2381/health`)).status;
    }
    expect(health).toBe(503);
    const healed = await ok(runKubemu(stateDir, ["--cluster", CLUSTER, "heal"], 60_000));
    for (const n of ["etcd-0", "kube-proxy-" + CLUSTER, "apiserver-lb", "apiserver-0"]) expect(healed).toContain(`${n}: fault rules cleared`);
    for (let i = 0; i < 100 && health !== 200; i++) {
      await new Promise((r) => setTimeout(r, 200));
      health = (await fetch(`http://${ETCD_IPS[0]}:2381/health`)).status;
    }
    expect(health).toBe(200);
  }, 120_000);
});
