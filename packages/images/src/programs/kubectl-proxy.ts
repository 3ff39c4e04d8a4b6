/**
 * luksa/kubectl-proxy: runs the host's `kubectl proxy` on 127.0.0.1:8001 against the API server
 * with the pod's service account (KUBERNETES_SERVICE_HOST/PORT, the mounted token and ca.crt),
 * as the image's kubectl-proxy.sh does.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

const SA = "/var/run/secrets/kubernetes.io/serviceaccount";
const host = process.env.KUBERNETES_SERVICE_HOST;
const port = process.env.KUBERNETES_SERVICE_PORT;
let token = "";
try {
  token = readFileSync(`${SA}/token`, "utf8").trim();
} catch {
  process.stderr.write(`cat: can't open '${SA}/token': No such file or directory\n`);
}
const args = ["proxy", `--server=https://${host}:${port}`, `--certificate-authority=${SA}/ca.crt`, `--token=${token}`, "--accept-paths=^.*", ...process.argv.slice(2)];
const child = spawn("kubectl", args, { stdio: "inherit" });
child.on("error", (e) => {
  process.stderr.write(`kubectl: ${e.message}\n`);
  process.exit(127);
});
child.on("exit", (code) => process.exit(code ?? 1));
for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => child.kill(sig));
