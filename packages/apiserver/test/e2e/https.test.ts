/** kubemu-apiserver over HTTPS with the cluster PKI (a CA, a serving and a client certificate): kubectl verifies it, the server authenticates kubectl. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createCertificateAuthority, issueCertificate, type KeyPair } from "@kubemu/common";
import { Kubectl } from "./kubectl-run.js";

const MAIN = fileURLToPath(new URL("../../dist/main.js", import.meta.url));
const IP = "127.0.147.1";
let dir = "";
let proc: ChildProcess | undefined;
let exited: Promise<void> | undefined;
let exitCode: number | null = null;
let k: Kubectl;
let cert = "";
let ca: KeyPair;
let admin: KeyPair;

/** GET over HTTPS with no client certificate. */
function anonGet(path: string): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`https://${IP}:6443${path}`, { ca: cert }, (m) => {
      let body = "";
      m.on("data", (d: Buffer) => (body += d.toString()));
      m.on("end", () => resolve({ code: m.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** A kubeconfig trusting the test CA and presenting user's certificate. */
function kubeconfig(user: KeyPair): string {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const creds = `{client-certificate-data: ${b64(user.cert)}, client-key-data: ${b64(user.key)}}`;
  return `apiVersion: v1\nkind: Config\nclusters:\n- cluster: {server: "https://${IP}:6443", certificate-authority-data: ${b64(cert)}}\n  name: tls\ncontexts:\n- context: {cluster: tls, user: tls}\n  name: tls\ncurrent-context: tls\nusers:\n- name: tls\n  user: ${creds}\n`;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kubemu-https-"));
  const now = new Date();
  ca = await createCertificateAuthority("kubemu-ca", now, 1);
  const serving = await issueCertificate(ca, { commonName: "kube-apiserver", use: { kind: "server", dnsNames: ["localhost"], ips: [IP] }, validDays: 1 }, now);
  admin = await issueCertificate(ca, { commonName: "kubernetes-admin", organizations: ["system:masters"], use: { kind: "client" }, validDays: 1 }, now);
  cert = ca.cert;
  await writeFile(join(dir, "tls.crt"), serving.cert);
  await writeFile(join(dir, "tls.key"), serving.key);
  await writeFile(join(dir, "ca.crt"), ca.cert);
  proc = spawn(process.execPath, [MAIN, "--name", "apiserver-tls", "--storage", "memory", "--bind-address", IP, "--port", "6443", "--log-level", "warn", "--tls-cert-file", join(dir, "tls.crt"), "--tls-private-key-file", join(dir, "tls.key"), "--client-ca-file", join(dir, "ca.crt"), "--insecure-port", "6080", "--component-status", ""], { stdio: "ignore" });
  exited = new Promise((r) =>
    proc!.on("exit", (code) => {
      exitCode = code;
      r();
    }),
  );
  await writeFile(join(dir, "kubeconfig"), kubeconfig(admin));
  k = new Kubectl(join(dir, "kubeconfig"), join(dir, "cache"));
  for (let i = 0; i < 100; i++) {
    if ((await k.run(["get", "--raw", "/readyz"], { input: "" })).code === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
}, 30_000);

afterAll(async () => {
  if (proc?.pid !== undefined && proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid, "SIGKILL");
  await exited;
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("HTTPS", { timeout: 30_000 }, () => {
  it("kubectl verifies the server certificate and works as over HTTP", async () => {
    expect(await k.ok(["get", "ns", "-o", "name"])).toContain("namespace/default");
    expect(await k.ok(["create", "configmap", "tls", "--from-literal=a=b"])).toBe("configmap/tls created\n");
  });

  it("kubectl auth whoami / can-i answer from the client certificate", async () => {
    expect(await k.ok(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}"])).toBe('kubernetes-admin ["system:masters","system:authenticated"]');
    expect(await k.ok(["auth", "can-i", "create", "pods"])).toBe("yes\n");
  });

  it("kubectl create token: the service account token authenticates until the account is deleted (then 401 within the 10 s token cache)", async () => {
    await k.ok(["create", "serviceaccount", "robot"]);
    const token = (await k.ok(["create", "token", "robot"])).trim();
    // kubectl refuses a token beside a client certificate in one user; use a user with only the token.
    await writeFile(join(dir, "kubeconfig-robot"), kubeconfig(admin).replace(/user: \{client-certificate-data: [^}]*\}/, `user: {token: ${token}}`));
    const robot = new Kubectl(join(dir, "kubeconfig-robot"), join(dir, "cache-robot"));
    expect(await robot.ok(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"])).toBe("system:serviceaccount:default:robot");
    // RBAC: a service account may read nothing until bound to a role.
    expect((await robot.run(["get", "configmap", "tls", "-o", "name"], { input: "" })).stderr).toContain('configmaps "tls" is forbidden: User "system:serviceaccount:default:robot" cannot get resource "configmaps"');
    await k.ok(["create", "rolebinding", "robot-view", "--clusterrole=view", "--serviceaccount=default:robot"]);
    for (let i = 0; i < 50 && (await robot.run(["get", "configmap", "tls", "-o", "name"], { input: "" })).code !== 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await robot.ok(["get", "configmap", "tls", "-o", "name"])).toBe("configmap/tls\n");
    expect((await k.run(["create", "token", "robot", "--duration", "1m"], { input: "" })).stderr).toContain("may not specify a duration less than 10 minutes");
    await k.ok(["delete", "serviceaccount", "robot"]);
    // Token results are cached 10 s (upstream's token cache): revoked within that, not at once.
    let r = await robot.run(["get", "configmaps"], { input: "" });
    for (let i = 0; i < 60 && r.code === 0; i++) {
      await new Promise((res) => setTimeout(res, 250));
      r = await robot.run(["get", "configmaps"], { input: "" });
    }
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Unauthorized|must be logged in/);
  }, 60_000);

  it("--insecure-port serves the public probes over plain HTTP and nothing else (credentials.test.ts has the rest)", async () => {
    expect((await fetch(`http://${IP}:6080/readyz`)).status).toBe(200);
    expect((await fetch(`http://${IP}:6080/api/v1/namespaces/default/configmaps/tls`)).status).toBe(403);
  });

  it("with no credential the user is system:anonymous: health and version only, 403 otherwise", async () => {
    // (kubectl itself prompts for a user name when a kubeconfig has no credential, so plain requests.)
    expect(await anonGet("/readyz")).toEqual({ code: 200, body: "ok" });
    expect((await anonGet("/version")).code).toBe(200);
    expect(JSON.parse((await anonGet("/api")).body)).toMatchObject({ code: 403, message: 'forbidden: User "system:anonymous" cannot get path "/api"' });
    expect(JSON.parse((await anonGet("/api/v1/nodes?watch=true")).body)).toMatchObject({ code: 403, message: 'nodes is forbidden: User "system:anonymous" cannot watch resource "nodes" in API group "" at the cluster scope' });
    const res = await anonGet("/api/v1/namespaces/default/configmaps/tls");
    expect(res.code).toBe(403);
    expect(JSON.parse(res.body)).toMatchObject({
      kind: "Status",
      reason: "Forbidden",
      message: 'configmaps "tls" is forbidden: User "system:anonymous" cannot get resource "configmaps" in API group "" in the namespace "default"',
      details: { name: "tls", kind: "configmaps" },
    });
  });

  it("a client certificate from another CA is 401 Unauthorized", async () => {
    const now = new Date();
    const other = await createCertificateAuthority("not-the-cluster-ca", now, 1);
    const stranger = await issueCertificate(other, { commonName: "kubernetes-admin", organizations: ["system:masters"], use: { kind: "client" }, validDays: 1 }, now);
    await writeFile(join(dir, "kubeconfig-stranger"), kubeconfig(stranger));
    const r = await new Kubectl(join(dir, "kubeconfig-stranger"), join(dir, "cache-stranger")).run(["get", "ns"], { input: "" });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Unauthorized|must be logged in/);
  });

  it("a kubeconfig without the CA is refused by kubectl", async () => {
    const bad = join(dir, "kubeconfig-noca");
    await writeFile(bad, `apiVersion: v1\nkind: Config\nclusters:\n- cluster: {server: "https://${IP}:6443"}\n  name: t\ncontexts:\n- context: {cluster: t, user: t}\n  name: t\ncurrent-context: t\nusers:\n- name: t\n  user: {token: x}\n`);
    const r = await new Kubectl(bad, join(dir, "cache2")).run(["get", "ns"], { input: "" });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/certificate/);
  });

  it("SIGTERM stops it gracefully with exit code 0", async () => {
    const t0 = Date.now();
    proc!.kill("SIGTERM");
    await exited;
    expect(exitCode).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});
