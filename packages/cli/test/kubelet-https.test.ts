/**
 * The kubelet's :10250 over HTTPS with the certificates `up` makes (cli's ensureClusterPki): the
 * API server reaches it with its kubelet client certificate (--kubelet-client-*), so kubectl
 * logs, exec and attach work; a client without a certificate gets 401 and a node's own
 * certificate 403 from the streaming and log endpoints; health is on the plain :10248.
 * Subnets: etcd 127.1.203.x, API 127.1.204.x, scheduler and manager 127.1.208.x, node 127.1.207.2, pods 127.234.2.0/24.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "@kubemu/common";
import { ensureClusterPki, pkiPaths } from "../src/pki.js";
import { nodeCertPaths, nodeServingCertPaths } from "../src/node-certs.js";
import { eventually, kubeletHarnessForFile } from "../../kubelet/test/e2e/harness.js";

const NODE_IP = "127.1.207.2";
const pkiDir = join(mkdtempSync(join(tmpdir(), "kubemu-kubelet-https-")), "pki");
const pki = pkiPaths(pkiDir);
const serving = nodeServingCertPaths(pkiDir, "kubemu");
// Made before the harness starts (hooks run in the order they are registered).
beforeAll(async () => {
  await ensureClusterPki(pkiDir, new Date(), silentLogger, [{ name: "kubemu", ip: NODE_IP }]);
}, 30_000);

const h = kubeletHarnessForFile(
  { etcd: "127.1.203", api: "127.1.204", scheduler: "127.1.208" },
  [{ name: "kubemu", n: 2, readyPort: 10248, args: ["--tls-cert-file", serving.cert, "--tls-private-key-file", serving.key, "--client-ca-file", pki.caCert, "--healthz-port", "10248"] }],
  { nodes: "127.1.207", pods: "127.234" },
  ["--kubelet-client-certificate", pki.apiserverKubeletClientCert, "--kubelet-client-key", pki.apiserverKubeletClientKey, "--kubelet-certificate-authority", pki.caCert],
);

function kubeletGet(path: string, client?: { cert: string; key: string }): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const creds = client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {};
    const req = request({ host: NODE_IP, port: 10250, path, ca: readFileSync(pki.caCert), agent: false, ...creds }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ code: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the kubelet over HTTPS", () => {
  it("serves kubectl logs, exec and attach through the API server's kubelet client certificate", async () => {
    await h.kubectl.ok(["apply", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "secure" },
        spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: "busybox", stdin: true, command: ["sh", "-c", "echo started; cat"] }] },
      }),
    });
    await eventually(() => h.kubectl.run(["get", "pod", "secure", "-o", "jsonpath={.status.phase}"]), (r) => r.stdout === "Running", "secure Running");
    expect(await eventually(() => h.kubectl.run(["logs", "secure"]), (r) => r.stdout === "started\n", "the log")).toMatchObject({ code: 0 });
    expect(await h.kubectl.ok(["exec", "secure", "--", "hostname"])).toBe("secure\n");
    // cat echoes what the attached session types.
    const child = spawn("kubectl", ["--cache-dir", h.kubectl.cacheDir, "attach", "secure", "-i", "-q"], { env: { ...process.env, KUBECONFIG: h.kubectl.kubeconfig }, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.stdin.write("through attach\n");
    try {
      await eventually(async () => out, (o) => o.includes("through attach\n"), "attached output");
    } finally {
      child.kill("SIGKILL");
    }
  }, 90_000);

  it("answers 401 without a client certificate and 403 to a node's own certificate; health stays on :10248", async () => {
    const paths = ["/containerLogs/default/secure/c", "/exec/default/secure/c?command=true", "/attach/default/secure/c?stdout=true", "/portForward/default/secure", "/metrics/resource"];
    for (const p of paths) expect(await kubeletGet(p), p).toEqual({ code: 401, body: "Unauthorized" });
    const node = nodeCertPaths(pkiDir, "kubemu");
    expect(await kubeletGet("/containerLogs/default/secure/c", node)).toEqual({ code: 403, body: "Forbidden (user=system:node:kubemu, verb=get, resource=nodes, subresource=proxy)" });
    const ok = await kubeletGet("/containerLogs/default/secure/c", { cert: pki.apiserverKubeletClientCert, key: pki.apiserverKubeletClientKey });
    expect(ok).toEqual({ code: 200, body: "started\nthrough attach\n" });
    const health = await fetch(`http://${NODE_IP}:10248/healthz`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe("ok");
  }, 60_000);
});
