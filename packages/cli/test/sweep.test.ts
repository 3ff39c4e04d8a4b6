/**
 * The sweep: no port of an `up` cluster takes an unauthenticated write. The built-in table
 * (`clusterTable`, HTTPS with the PKI `up` makes) is moved onto this file's own addresses
 * (127.1.230–127.1.236, pods 127.237.N) and run with `kubemu up --spec`, so the real launcher
 * starts it and waits for it over TLS while other clusters use the defaults. Every TCP port any of
 * its processes listens on (from /proc/net/tcp and the processes' socket inodes) then gets a
 * POST of a Namespace and of a Pod, over plain HTTP and over TLS without a client certificate;
 * none may succeed, and the admin finds neither object afterwards.
 *
 * kube-proxy's ClusterIP listeners (127.96.x.y) are shared by every cluster on the host, and this
 * one must not take the `kubernetes` Service's address from another test's cluster: its spec
 * names an entry script that does not exist yet, so `up` leaves it "not built"; once the Service
 * carries upstream's `service.kubernetes.io/service-proxy-name: none` label (no proxy serves it)
 * the script is linked in and `kubemu start` starts it.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger, issueCertificate } from "@kubemu/common";
import { clusterTable } from "../src/components.js";
import { apiserverCertRequest, ensureClusterPki } from "../src/pki.js";
import type { ProcessSpec } from "../src/spec.js";
import { alive, cleanupStateDirs, ensureBuilt, newStateDir, recorded, rememberPids, repo, runKubemu, type RunResult } from "./helpers.js";

const CLUSTER = "sweep";
/** The defaults' subnets → this file's (session table: security-2 owns 127.1.230–239, pods 127.237.N). */
const remap: [RegExp, string][] = [
  [/127\.0\.10\./g, "127.1.230."],
  [/127\.0\.20\./g, "127.1.231."],
  [/127\.0\.0\.1\b/g, "127.1.232.1"],
  [/127\.0\.30\./g, "127.1.233."],
  [/127\.0\.40\./g, "127.1.234."],
  [/127\.0\.100\./g, "127.1.235."],
  [/127\.244\./g, "127.237."],
];
const LB = { ip: "127.1.232.1", port: 6443, control: 6444 };
const API_IPS = ["127.1.231.1", "127.1.231.2"];
const built = ["etcd-raft/dist/server/main.js", "apiserver/dist/main.js", "scheduler/dist/main.js", "controller-manager/dist/main.js", "kubelet/dist/main.js", "kube-proxy/dist/main.js", "cli/dist/apiserver-lb/main.js"].every((f) => existsSync(join(repo, "packages", f)));

let stateDir = "";
let pki: ReturnType<typeof readPki> | undefined;
/** 3 etcd, 2 apiservers, apiserver-lb, 2 schedulers, 2 controller-managers, 1 kubelet, 1 kube-proxy. */
let startedNames: string[] = [];

function moved(s: string): string {
  return remap.reduce((acc, [from, to]) => acc.replace(from, to), s);
}

function movedSpec(p: ProcessSpec): ProcessSpec {
  return {
    ...p,
    args: p.args.map(moved),
    addresses: Object.fromEntries(Object.entries(p.addresses).map(([k, v]) => [k, moved(v)])),
    controlUrl: moved(p.controlUrl),
  };
}

function readPki(dir: string) {
  return { ca: readFileSync(join(dir, "ca.crt"), "utf8"), cert: readFileSync(join(dir, "admin.crt"), "utf8"), key: readFileSync(join(dir, "admin.key"), "utf8") };
}

interface Outcome {
  code: number;
  body: string;
}

/** One request; a refused, reset or silent connection is code 0. */
function post(scheme: "http" | "https", host: string, port: number, path: string, body: unknown, admin = false): Promise<Outcome> {
  const payload = JSON.stringify(body);
  const request = scheme === "https" ? httpsRequest : httpRequest;
  const tls = scheme === "https" ? (admin && pki ? { ca: pki.ca, cert: pki.cert, key: pki.key } : { rejectUnauthorized: false }) : {};
  return new Promise((resolve) => {
    const req = request({ host, port, path, method: "POST", headers: { "content-type": "application/json" }, timeout: 3000, ...tls }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ code: res.statusCode ?? 0, body: text.slice(0, 300) }));
      res.on("error", () => resolve({ code: res.statusCode ?? 0, body: text.slice(0, 300) }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e) => resolve({ code: 0, body: e.message }));
    req.end(payload);
  });
}

function adminPatch(path: string, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: LB.ip, port: LB.port, path, method: "PATCH", headers: { "content-type": "application/merge-patch+json" }, ca: pki!.ca, cert: pki!.cert, key: pki!.key, timeout: 10_000 },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

function adminGet(path: string): Promise<{ items: { metadata: { name: string } }[] }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: LB.ip, port: LB.port, path, ca: pki!.ca, cert: pki!.cert, key: pki!.key, timeout: 10_000 }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => {
        try {
          resolve(JSON.parse(text) as { items: { metadata: { name: string } }[] });
        } catch (e) {
          reject(new Error(`${path}: ${res.statusCode} ${text.slice(0, 200)} (${String(e)})`));
        }
      });
    });
    req.on("error", reject);
    req.end();
  });
}

/** Listening TCP sockets (IPv4 and IPv6) by inode: "ip:port". */
function listeningSockets(): Map<string, { host: string; port: number }> {
  const out = new Map<string, { host: string; port: number }>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== "0A") continue; // 0A: LISTEN
      const [hexIp, hexPort] = f[1]!.split(":");
      const port = parseInt(hexPort!, 16);
      let host: string;
      if (hexIp!.length === 8) host = [3, 2, 1, 0].map((i) => parseInt(hexIp!.slice(i * 2, i * 2 + 2), 16)).join(".");
      else host = hexIp === "00000000000000000000000000000000" ? "::" : hexIp === "00000000000000000000000001000000" ? "::1" : `ipv6:${hexIp}`;
      out.set(f[9]!, { host, port });
    }
  }
  return out;
}

/** The socket inodes a process holds open. */
function socketInodes(pid: number): string[] {
  const dir = `/proc/${pid}/fd`;
  const inodes: string[] = [];
  for (const fd of readdirSync(dir)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(join(dir, fd)));
      if (m) inodes.push(m[1]!);
    } catch {
      /* closed meanwhile */
    }
  }
  return inodes;
}

async function ok(r: Promise<RunResult>): Promise<string> {
  const res = await r;
  if (res.code !== 0) throw new Error(`exit ${res.code}: ${res.stderr}${res.stdout}`);
  return res.stdout;
}

beforeAll(async () => {
  if (!built) return;
  ensureBuilt();
  stateDir = newStateDir();
  const pkiDir = join(stateDir, "pki");
  const log = createLogger({ component: "sweep-test", level: "error" });
  // The store's serving and peer certificates must name this file's etcd addresses too.
  const paths = await ensureClusterPki(pkiDir, new Date(), log, [CLUSTER], ["127.1.230.1", "127.1.230.2", "127.1.230.3"]);
  // The serving certificate must name this file's addresses, not the defaults.
  const ca = { cert: readFileSync(paths.caCert, "utf8"), key: readFileSync(paths.caKey, "utf8") };
  const serving = await issueCertificate(ca, { ...apiserverCertRequest, use: { kind: "server", dnsNames: ["localhost", "kubernetes"], ips: [LB.ip, ...API_IPS] } }, new Date());
  writeFileSync(paths.apiserverKey, serving.key, { mode: 0o600 });
  writeFileSync(paths.apiserverCert, serving.cert);
  pki = readPki(pkiDir);
  const kubeProxyBin = join(stateDir, "kube-proxy-main.js");
  const specs = clusterTable({ cluster: CLUSTER, nodeCount: 1, apiserverLbPort: LB.port, apiserverLbControlPort: LB.control, pki: paths, logsDir: join(stateDir, "logs") })
    .map((p) => (p.component === "kube-proxy" ? { ...p, bin: kubeProxyBin } : p))
    .map(movedSpec);
  startedNames = specs.map((p) => p.name).sort();
  const file = join(stateDir, "sweep-spec.json");
  writeFileSync(file, JSON.stringify(specs, null, 2));
  const res = await runKubemu(stateDir, ["--cluster", CLUSTER, "up", "--spec", file, "--wait", "40"], 180_000);
  rememberPids(stateDir);
  if (res.code !== 0) throw new Error(`up failed (${res.code}): ${res.stderr}${res.stdout}`);
  const patched = await adminPatch("/api/v1/namespaces/default/services/kubernetes", { metadata: { labels: { "service.kubernetes.io/service-proxy-name": "none" } } });
  if (patched !== 200) throw new Error(`labelling the kubernetes Service answered ${patched}`);
  symlinkSync(join(repo, "packages/kube-proxy/dist/main.js"), kubeProxyBin);
  const started = await runKubemu(stateDir, ["--cluster", CLUSTER, "start", `kube-proxy-${CLUSTER}`, "--wait", "40"], 120_000);
  rememberPids(stateDir);
  if (started.code !== 0) throw new Error(`starting kube-proxy failed (${started.code}): ${started.stderr}${started.stdout}`);
}, 240_000);

afterAll(async () => {
  if (stateDir !== "") {
    rememberPids(stateDir);
    await runKubemu(stateDir, ["--cluster", CLUSTER, "down", "--grace", "2"], 60_000);
    for (const p of recorded(stateDir)) if (alive(p)) process.kill(p.pid!, "SIGKILL");
  }
  cleanupStateDirs();
}, 90_000);

describe.skipIf(!built)("every port of an up cluster refuses unauthenticated writes", () => {
  it("the launcher reached every process (the API servers over TLS with the admin certificate)", async () => {
    const out = await ok(runKubemu(stateDir, ["--cluster", CLUSTER, "status"], 60_000));
    for (const a of ["apiserver-0", "apiserver-1"]) expect(out).toMatch(new RegExp(`${a}\\s.*running`));
    expect(out).not.toMatch(/8080/);
    // Fault rules travel the same way: DELETE /kubemu/faults on the API servers' HTTPS port.
    const healed = await ok(runKubemu(stateDir, ["--cluster", CLUSTER, "heal"], 60_000));
    for (const a of ["apiserver-0", "apiserver-1"]) expect(healed).toContain(`${a}: fault rules cleared`);
  }, 60_000);

  it("POSTs of a Namespace and a Pod, plain and over TLS without a certificate, are refused on every listening port", async () => {
    const sockets = listeningSockets();
    const procs = recorded(stateDir).filter((p) => p.pid !== null && alive(p));
    expect(procs.map((p) => p.name).sort()).toEqual(startedNames);
    const targets = new Map<string, { host: string; port: number; process: string }>();
    for (const p of procs) {
      for (const inode of socketInodes(p.pid!)) {
        const s = sockets.get(inode);
        if (s) targets.set(`${s.host}:${s.port}`, { ...s, process: p.name });
      }
    }
    const ports = [...targets.keys()].sort();
    // Every process listens somewhere, all on loopback, and the API servers on 6443 only.
    expect(new Set([...targets.values()].map((t) => t.process)).size).toBe(procs.length);
    for (const t of targets.values()) expect(t.host, `${t.process} ${t.host}:${t.port}`).toMatch(/^127\.|^::1$/);
    for (const ip of API_IPS) expect(ports.filter((p) => p.startsWith(`${ip}:`))).toEqual([`${ip}:6443`]);
    expect(ports).toContain(`${LB.ip}:${LB.port}`);

    const failures: string[] = [];
    for (const [where, t] of targets) {
      const host = t.host === "::" ? "::1" : t.host;
      const tag = `${t.port}-${host.replace(/[^0-9a-z]/g, "-")}`;
      for (const scheme of ["http", "https"] as const) {
        const ns = await post(scheme, host, t.port, "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: `sweep-${scheme}-${tag}` } });
        const pod = await post(scheme, host, t.port, "/api/v1/namespaces/default/pods", { apiVersion: "v1", kind: "Pod", metadata: { name: `sweep-${scheme}-${tag}` }, spec: { containers: [{ name: "c", image: "nginx" }] } });
        for (const [what, r] of [["namespace", ns], ["pod", pod]] as const) {
          if (r.code >= 200 && r.code < 300) failures.push(`${t.process} ${where} ${scheme} ${what}: ${r.code} ${r.body}`);
        }
      }
    }
    expect(failures).toEqual([]);

    // Nothing was written; the admin's certificate can write (the check above means something).
    const namespaces = (await adminGet("/api/v1/namespaces")).items.map((n) => n.metadata.name);
    expect(namespaces.filter((n) => n.startsWith("sweep-"))).toEqual([]);
    const pods = (await adminGet("/api/v1/namespaces/default/pods")).items.map((n) => n.metadata.name);
    expect(pods.filter((n) => n.startsWith("sweep-"))).toEqual([]);
    expect((await post("https", LB.ip, LB.port, "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "admin-made" } }, true)).code).toBe(201);
  }, 120_000);

  it("the API servers' audit logs show who did what: the refused anonymous writes, the admin's, the components' own", async () => {
    type Event = { verb: string; requestURI: string; user: { username: string }; userAgent?: string; responseStatus: { code: number }; objectRef?: { resource?: string; name?: string } };
    const read = () =>
      ["apiserver-0", "apiserver-1"].flatMap((a) => {
        const f = join(stateDir, "logs", `${a}.audit.log`);
        return existsSync(f) ? readFileSync(f, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Event) : [];
      });
    let events = read();
    // Lines are flushed as the stream writes them: give the last requests a moment.
    for (let i = 0; i < 50 && !events.some((e) => e.objectRef?.name === "admin-made"); i++) {
      await new Promise((r) => setTimeout(r, 100));
      events = read();
    }
    const anonymousWrites = events.filter((e) => e.user.username === "system:anonymous" && e.verb === "create");
    expect(anonymousWrites.length).toBeGreaterThan(0);
    expect(anonymousWrites.every((e) => e.responseStatus.code === 403)).toBe(true);
    expect(events.find((e) => e.verb === "create" && e.requestURI === "/api/v1/namespaces" && e.user.username === "kubernetes-admin" && e.responseStatus.code === 201)).toBeDefined();
    // The components write over the wire API as themselves; their process name is the user agent.
    const leaseWrites = events.filter((e) => e.objectRef?.resource === "leases" && (e.verb === "update" || e.verb === "create"));
    expect(leaseWrites.some((e) => e.user.username === "system:kube-scheduler" && /^scheduler-[01]$/.test(e.userAgent ?? ""))).toBe(true);
    expect(leaseWrites.some((e) => e.user.username === "system:node:sweep" && e.userAgent === "kubelet-sweep")).toBe(true);
    // The launcher's control requests are on record too (its admin certificate, GET /kubemu/status).
    expect(events.some((e) => e.requestURI === "/kubemu/status" && e.user.username === "kubernetes-admin")).toBe(true);
  }, 60_000);
});
