/**
 * The labels minikube and kubeadm put on a cluster's nodes once their kubelets registered — what
 * `minikube start` does with `kubectl label nodes` and kubeadm's mark-control-plane phase, as the
 * admin: `minikube.k8s.io/{name,primary,updated_at,version}` on every node, and on the first node
 * `node-role.kubernetes.io/control-plane` and `node.kubernetes.io/exclude-from-external-load-balancers`.
 * A kubelet may not set these itself (NodeRestriction forbids kubernetes.io / k8s.io labels
 * outside the kubelet's own set), so the launcher does.
 */
import { request as httpsRequest } from "node:https";
import { request as httpRequest } from "node:http";
import type { KubeconfigCredentials } from "../kubeconfig.js";

const KUBEMU_VERSION = "v0.1.0";

/** minikube's updated_at label value: local time as Go's "2006_01_02T15_04_05_0700" layout prints it. */
export function minikubeTimestamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}_${p(d.getMonth() + 1)}_${p(d.getDate())}T${p(d.getHours())}_${p(d.getMinutes())}_${p(d.getSeconds())}_0700`;
}

/** The labels of one node: index 0 is the control plane (minikube's primary). */
export function minikubeNodeLabels(cluster: string, index: number, nowMs: number): Record<string, string> {
  return {
    "minikube.k8s.io/name": cluster,
    "minikube.k8s.io/primary": String(index === 0),
    "minikube.k8s.io/updated_at": minikubeTimestamp(nowMs),
    "minikube.k8s.io/version": KUBEMU_VERSION,
    ...(index === 0 ? { "node-role.kubernetes.io/control-plane": "", "node.kubernetes.io/exclude-from-external-load-balancers": "" } : {}),
  };
}

function mergePatch(server: string, creds: KubeconfigCredentials | undefined, path: string, body: unknown): Promise<{ code: number; text: string }> {
  const url = new URL(path, server);
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: "PATCH", headers: { "content-type": "application/merge-patch+json", accept: "application/json" }, timeout: 10_000, ...(creds ? { ca: creds.caCert, cert: creds.clientCert, key: creds.clientKey } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ code: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

/** Labels each node (retried until it has registered or timeoutMs passed); returns the nodes that could not be labelled, with why. */
export async function labelNodes(server: string, creds: KubeconfigCredentials | undefined, cluster: string, nodes: { name: string; index: number }[], nowMs: number, timeoutMs = 30_000): Promise<string[]> {
  const failed: string[] = [];
  const deadline = Date.now() + timeoutMs;
  for (const n of nodes) {
    const body = { metadata: { labels: minikubeNodeLabels(cluster, n.index, nowMs) } };
    for (;;) {
      const res = await mergePatch(server, creds, `/api/v1/nodes/${encodeURIComponent(n.name)}`, body).catch((e: Error) => ({ code: 0, text: e.message }));
      if (res.code >= 200 && res.code < 300) break;
      if (Date.now() > deadline || res.code === 400 || res.code === 422) {
        failed.push(`node/${n.name}: ${res.code} ${res.text.slice(0, 200)}`);
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return failed;
}
