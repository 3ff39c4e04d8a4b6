/**
 * Credentials that do not verify, and the plain-HTTP probe port beside TLS: one kubemu-apiserver
 * (memory storage) on 127.1.230.1. An expired certificate, one from another CA, a malformed or
 * forged bearer token and basic auth are each 401 with upstream's bare Status (no reason, no
 * detail of what failed); `--insecure-port` answers only /healthz /livez /readyz /version and
 * refuses every write, the wire API and the control endpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createCertificateAuthority, issueCertificate, type KeyPair } from "@kubemu/common";

const MAIN = fileURLToPath(new URL("../../dist/main.js", import.meta.url));
const IP = "127.1.230.1";
const TLS_PORT = 6443;
const PROBE_PORT = 6080;
const DAY = 86_400_000;

let dir = "";
let proc: ChildProcess | undefined;
let exited: Promise<void> | undefined;
let output = "";
let ca: KeyPair;
let admin: KeyPair;

interface Answer {
  code: number;
  body: string;
}

interface Call {
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
  client?: KeyPair;
}

function call(scheme: "http" | "https", port: number, path: string, c: Call = {}): Promise<Answer> {
  const payload = c.body === undefined ? undefined : JSON.stringify(c.body);
  const request = scheme === "https" ? httpsRequest : httpRequest;
  const tls = scheme === "https" ? { ca: ca.cert, ...(c.client ? { cert: c.client.cert, key: c.client.key } : {}) } : {};
  return new Promise((resolve, reject) => {
    const req = request(
      `${scheme}://${IP}:${port}${path}`,
      { method: c.method ?? "GET", headers: { ...(payload ? { "content-type": "application/json" } : {}), ...c.headers }, ...tls },
      (m) => {
        let body = "";
        m.on("data", (d: Buffer) => (body += d.toString()));
        m.on("end", () => resolve({ code: m.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

const namespace = (name: string) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
/** Upstream's 401 body: nothing about which check failed. */
const UNAUTHORIZED = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "Unauthorized", reason: "Unauthorized", code: 401 };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kubemu-credentials-"));
  const now = new Date();
  ca = await createCertificateAuthority("kubemu-ca", now, 1);
  const serving = await issueCertificate(ca, { commonName: "kube-apiserver", use: { kind: "server", dnsNames: ["localhost"], ips: [IP] }, validDays: 1 }, now);
  admin = await issueCertificate(ca, { commonName: "kubernetes-admin", organizations: ["system:masters"], use: { kind: "client" }, validDays: 1 }, now);
  await writeFile(join(dir, "tls.crt"), serving.cert);
  await writeFile(join(dir, "tls.key"), serving.key);
  await writeFile(join(dir, "ca.crt"), ca.cert);
  proc = spawn(
    process.execPath,
    [MAIN, "--name", "apiserver-credentials", "--storage", "memory", "--bind-address", IP, "--port", String(TLS_PORT), "--log-level", "warn",
      "--tls-cert-file", join(dir, "tls.crt"), "--tls-private-key-file", join(dir, "tls.key"), "--client-ca-file", join(dir, "ca.crt"),
      "--insecure-port", String(PROBE_PORT), "--component-status", "", "--audit-log-path", join(dir, "audit.log")],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  proc.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  exited = new Promise((r) => proc!.on("exit", () => r()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await call("https", TLS_PORT, "/readyz", { client: admin }).catch(() => undefined);
    if (r?.code === 200) break;
    if (Date.now() > deadline) throw new Error(`apiserver not ready:\n${output.slice(-2000)}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}, 40_000);

afterAll(async () => {
  if (proc?.pid !== undefined && proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid, "SIGKILL");
  await exited;
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("credentials that do not verify are 401 with no detail", () => {
  it("an expired client certificate", async () => {
    const longAgo = new Date(Date.now() - 10 * DAY);
    const expired = await issueCertificate(ca, { commonName: "kubernetes-admin", organizations: ["system:masters"], use: { kind: "client" }, validDays: 1 }, longAgo);
    const r = await call("https", TLS_PORT, "/api/v1/namespaces", { method: "POST", body: namespace("expired"), client: expired });
    expect(r.code).toBe(401);
    expect(JSON.parse(r.body)).toEqual(UNAUTHORIZED);
  });

  it("a client certificate from another CA", async () => {
    const other = await createCertificateAuthority("not-the-cluster-ca", new Date(), 1);
    const stranger = await issueCertificate(other, { commonName: "kubernetes-admin", organizations: ["system:masters"], use: { kind: "client" }, validDays: 1 }, new Date());
    const r = await call("https", TLS_PORT, "/api/v1/namespaces", { method: "POST", body: namespace("stranger"), client: stranger });
    expect(r.code).toBe(401);
    expect(JSON.parse(r.body)).toEqual(UNAUTHORIZED);
  });

  it("malformed and forged bearer tokens, basic auth", async () => {
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const forged = `${b64({ alg: "RS256", kid: "x" })}.${b64({ iss: "https://kubernetes.default.svc.cluster.local", sub: "system:serviceaccount:kube-system:default", exp: 4_102_444_800 })}.c2lnbmF0dXJl`;
    for (const authorization of ["Bearer not-a-jwt", `Bearer ${forged}`, "Bearer a.b.c", "Basic YWRtaW46YWRtaW4=", "Negotiate xyz"]) {
      const r = await call("https", TLS_PORT, "/api/v1/namespaces", { method: "POST", body: namespace("bearer"), headers: { authorization } });
      expect(r.code, authorization).toBe(401);
      expect(JSON.parse(r.body), authorization).toEqual(UNAUTHORIZED);
    }
  });

  it("none of those wrote anything; the admin's certificate does", async () => {
    const list = JSON.parse((await call("https", TLS_PORT, "/api/v1/namespaces", { client: admin })).body) as { items: { metadata: { name: string } }[] };
    expect(list.items.map((n) => n.metadata.name).filter((n) => ["expired", "stranger", "bearer"].includes(n))).toEqual([]);
    expect((await call("https", TLS_PORT, "/api/v1/namespaces", { method: "POST", body: namespace("admin-made"), client: admin })).code).toBe(201);
  });

  it("no credential is system:anonymous: a write is 403", async () => {
    const r = await call("https", TLS_PORT, "/api/v1/namespaces", { method: "POST", body: namespace("anonymous") });
    expect(r.code).toBe(403);
    expect(JSON.parse(r.body)).toMatchObject({ reason: "Forbidden", message: 'namespaces is forbidden: User "system:anonymous" cannot create resource "namespaces" in API group "" at the cluster scope' });
  });
});

describe("the plain-HTTP probe port (--insecure-port beside TLS)", () => {
  it("answers the public probes", async () => {
    expect(await call("http", PROBE_PORT, "/readyz")).toEqual({ code: 200, body: "ok" });
    expect(await call("http", PROBE_PORT, "/healthz")).toEqual({ code: 200, body: "ok" });
    expect(await call("http", PROBE_PORT, "/livez")).toEqual({ code: 200, body: "ok" });
    expect(JSON.parse((await call("http", PROBE_PORT, "/version")).body)).toMatchObject({ major: "1" });
  });

  it("refuses everything else: reads, writes, the control endpoint, the wire API", async () => {
    const write = await call("http", PROBE_PORT, "/api/v1/namespaces", { method: "POST", body: namespace("plain") });
    expect(write.code).toBe(403);
    expect(JSON.parse(write.body)).toMatchObject({ message: 'namespaces is forbidden: User "system:anonymous" cannot create resource "namespaces" in API group "" at the cluster scope' });
    expect((await call("http", PROBE_PORT, "/api/v1/namespaces/default/pods", { method: "POST", body: { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "nginx" }] } } })).code).toBe(403);
    expect((await call("http", PROBE_PORT, "/api/v1/namespaces/kube-system/secrets")).code).toBe(403);
    expect((await call("http", PROBE_PORT, "/api")).code).toBe(403);
    expect((await call("http", PROBE_PORT, "/kubemu/status")).code).toBe(403);
    expect((await call("http", PROBE_PORT, "/kubemu/faults", { method: "PUT", body: { rules: [] } })).code).toBe(403);
    expect((await call("http", PROBE_PORT, "/healthz", { method: "POST", body: {} })).code).toBe(403);
    const upgrade = await call("http", PROBE_PORT, "/kubemu/wire", { headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" } });
    expect(upgrade.code).toBe(403);
    const names = (JSON.parse((await call("https", TLS_PORT, "/api/v1/namespaces", { client: admin })).body) as { items: { metadata: { name: string } }[] }).items.map((n) => n.metadata.name);
    expect(names).not.toContain("plain");
  });
});

describe("the audit log (--audit-log-path) records each attempt and who made it", () => {
  it("401s with no user, anonymous 403s, the admin's 201; never a credential", async () => {
    type Event = { verb: string; requestURI: string; user: { username?: string }; sourceIPs: string[]; responseStatus: { code: number; reason?: string } };
    let events: Event[] = [];
    for (let i = 0; i < 50; i++) {
      const text = await readFile(join(dir, "audit.log"), "utf8").catch(() => "");
      events = text.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Event);
      if (events.some((e) => e.requestURI === "/kubemu/wire")) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const creates = events.filter((e) => e.verb === "create" && e.requestURI === "/api/v1/namespaces");
    const byCode = (code: number) => creates.filter((e) => e.responseStatus.code === code);
    // expired, foreign-CA, 5 bad Authorization headers: refused before anyone was authenticated.
    expect(byCode(401).length).toBe(7);
    expect(byCode(401).every((e) => e.user.username === undefined && e.responseStatus.reason === "Unauthorized")).toBe(true);
    expect(byCode(403).map((e) => e.user.username)).toEqual(["system:anonymous", "system:anonymous"]); // TLS without a certificate, the probe port
    expect(byCode(201).map((e) => e.user.username)).toEqual(["kubernetes-admin"]);
    expect(events.every((e) => e.sourceIPs[0] === "127.0.0.1")).toBe(true);
    expect(events.find((e) => e.requestURI === "/kubemu/wire")?.responseStatus.code).toBe(403);
    expect(events.some((e) => /^\/(readyz|healthz|livez|version)/.test(e.requestURI))).toBe(false);
    const raw = await readFile(join(dir, "audit.log"), "utf8");
    expect(raw).not.toMatch(/Bearer|Basic|BEGIN CERTIFICATE/);
  });
});
