/** kubemu-apiserver over HTTPS (a generated CA-marked self-signed certificate) with the real kubectl verifying it. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import selfsigned from "selfsigned";
import { Kubectl } from "./kubectl-run.js";

const MAIN = fileURLToPath(new URL("../../dist/main.js", import.meta.url));
const IP = "127.0.147.1";
let dir = "";
let proc: ChildProcess | undefined;
let exited: Promise<void> | undefined;
let exitCode: number | null = null;
let k: Kubectl;
let cert = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kubemu-https-"));
  const pems = selfsigned.generate([{ name: "commonName", value: "kubemu-apiserver" }], {
    keySize: 2048,
    days: 1,
    algorithm: "sha256",
    clientCertificate: true,
    clientCertificateCN: "kubemu-admin",
    extensions: [
      { name: "basicConstraints", cA: true },
      { name: "keyUsage", keyCertSign: true, digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: [{ type: 7, ip: IP }] },
    ],
  });
  cert = pems.cert;
  await writeFile(join(dir, "tls.crt"), pems.cert);
  await writeFile(join(dir, "tls.key"), pems.private);
  proc = spawn(process.execPath, [MAIN, "--name", "apiserver-tls", "--storage", "memory", "--bind-address", IP, "--port", "6443", "--log-level", "warn", "--tls-cert-file", join(dir, "tls.crt"), "--tls-private-key-file", join(dir, "tls.key"), "--client-ca-file", join(dir, "tls.crt"), "--insecure-port", "6080", "--component-status", ""], { stdio: "ignore" });
  exited = new Promise((r) =>
    proc!.on("exit", (code) => {
      exitCode = code;
      r();
    }),
  );
  const ca = Buffer.from(cert).toString("base64");
  const p = pems as unknown as { clientcert: string; clientprivate: string };
  // With no credential over HTTPS kubectl prompts for a username; real clusters give a client certificate.
  const user = `{client-certificate-data: ${Buffer.from(p.clientcert).toString("base64")}, client-key-data: ${Buffer.from(p.clientprivate).toString("base64")}}`;
  await writeFile(
    join(dir, "kubeconfig"),
    `apiVersion: v1\nkind: Config\nclusters:\n- cluster: {server: "https://${IP}:6443", certificate-authority-data: ${ca}}\n  name: tls\ncontexts:\n- context: {cluster: tls, user: tls}\n  name: tls\ncurrent-context: tls\nusers:\n- name: tls\n  user: ${user}\n`,
  );
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

  it("serves plain HTTP beside HTTPS on --insecure-port (components, launcher)", async () => {
    expect((await fetch(`http://${IP}:6080/readyz`)).status).toBe(200);
    const cm = (await (await fetch(`http://${IP}:6080/api/v1/namespaces/default/configmaps/tls`)).json()) as { data: Record<string, string> };
    expect(cm.data).toEqual({ a: "b" });
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
