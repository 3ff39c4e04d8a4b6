/**
 * port-forward (WebSocket tunnel and plain SPDY) and SPDY exec when the API server reaches the
 * kubelet over HTTPS with its kubelet client certificate (the certificates `up` makes): the
 * upgraded TLS connection carries the SPDY byte stream as the plain one does.
 * Subnets: etcd 127.1.193.x, API 127.1.194.x, scheduler and manager 127.1.198.x, node 127.1.197.3, kubectl's listener 127.1.196.2, pods 127.233.3.0/24.
 */
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "@kubemu/common";
import { ensureClusterPki, pkiPaths } from "../src/pki.js";
import { nodeServingCertPaths } from "../src/node-certs.js";
import { eventually, kubeletHarnessForFile } from "../../kubelet/test/e2e/harness.js";

const NODE_IP = "127.1.197.3";
const LOCAL = "127.1.196.2";
const pkiDir = join(mkdtempSync(join(tmpdir(), "kubemu-kubelet-https-pf-")), "pki");
const pki = pkiPaths(pkiDir);
const serving = nodeServingCertPaths(pkiDir, "kubemu");
beforeAll(async () => {
  await ensureClusterPki(pkiDir, new Date(), silentLogger, [{ name: "kubemu", ip: NODE_IP }]);
}, 30_000);

const h = kubeletHarnessForFile(
  { etcd: "127.1.193", api: "127.1.194", scheduler: "127.1.198" },
  [{ name: "kubemu", n: 3, readyPort: 10248, args: ["--tls-cert-file", serving.cert, "--tls-private-key-file", serving.key, "--client-ca-file", pki.caCert, "--healthz-port", "10248"] }],
  { nodes: "127.1.197", pods: "127.233" },
  ["--kubelet-client-certificate", pki.apiserverKubeletClientCert, "--kubelet-client-key", pki.apiserverKubeletClientKey, "--kubelet-certificate-authority", pki.caCert],
);

const pids: number[] = [];
afterAll(() => {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Exited already.
    }
  }
});

const get = (port: number) =>
  new Promise<string>((resolve, reject) => {
    const req = request({ host: LOCAL, port, path: "/", agent: false }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve(body));
    });
    req.on("error", reject);
    req.end();
  });

describe("port-forward and SPDY exec through an HTTPS kubelet", () => {
  it("forwards over the WebSocket tunnel and plain SPDY; exec over SPDY", async () => {
    await h.kubectl.ok(["run", "web", "--image=nginx", "--port=80"]);
    await eventually(() => h.kubectl.run(["get", "pod", "web", "-o", "jsonpath={.status.phase}"]), (r) => r.stdout === "Running", "web Running", 40_000);
    for (const env of [{}, { KUBECTL_PORT_FORWARD_WEBSOCKETS: "false" }]) {
      const child = spawn("kubectl", ["--cache-dir", h.kubectl.cacheDir, "port-forward", "--address", LOCAL, "pod/web", ":80"], { env: { ...process.env, KUBECONFIG: h.kubectl.kubeconfig, ...env }, stdio: ["ignore", "pipe", "pipe"] });
      pids.push(child.pid!);
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      const port = Number((await eventually(async () => /Forwarding from [\d.]+:(\d+) -> 80/.exec(out), (m) => m !== null || child.exitCode !== null, "Forwarding from", 30_000))?.[1]);
      expect(port, out).toBeGreaterThan(0);
      expect(await get(port)).toContain("Welcome to nginx!");
      child.kill("SIGKILL");
    }
    const logs = h.output("kubelet-kubemu");
    expect(logs).toContain('"transport":"SPDY/3.1+portforward.k8s.io"');
    expect(logs).toContain('"transport":"SPDY/3.1"');
    const r = await h.kubectl.run(["exec", "web", "--", "sh", "-c", "hostname; exit 4"], { env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: "false" } });
    expect(r).toMatchObject({ code: 4, stdout: "web\n" });
    expect(r.stderr).toContain("command terminated with exit code 4");
  }, 90_000);
});
