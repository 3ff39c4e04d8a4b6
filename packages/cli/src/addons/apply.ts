/**
 * Creates addon objects through the API server as the admin (an object that already exists is
 * left as it is, like `kubectl create` run again); retried while the API is still coming up.
 */
import { request as httpsRequest } from "node:https";
import { request as httpRequest } from "node:http";
import type { KubeconfigCredentials } from "../kubeconfig.js";
import type { Addon } from "./local-path-storage.js";

function send(method: "GET" | "POST" | "PUT" | "DELETE", server: string, creds: KubeconfigCredentials | undefined, path: string, body?: unknown): Promise<{ code: number; text: string }> {
  const url = new URL(path, server);
  const payload = body === undefined ? "" : JSON.stringify(body);
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method, headers: { "content-type": "application/json", accept: "application/json" }, timeout: 10_000, ...(creds ? { ca: creds.caCert, cert: creds.clientCert, key: creds.clientKey } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ code: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(payload);
  });
}

/** Creates each addon in order; returns the ones that failed (kind/name: message). */
export async function applyAddons(server: string, creds: KubeconfigCredentials | undefined, addons: Addon[], timeoutMs = 30_000): Promise<string[]> {
  const failed: string[] = [];
  const deadline = Date.now() + timeoutMs;
  for (const a of addons) {
    const what = `${a.object.kind.toLowerCase()}/${a.object.metadata.name}`;
    for (;;) {
      const res = await send("POST", server, creds, a.path, a.object).catch((e: Error) => ({ code: 0, text: e.message }));
      if ((res.code >= 200 && res.code < 300) || res.code === 409) break;
      // 0/5xx: not up yet; 403/404: RBAC bootstrap or the resource's API not served yet.
      if (Date.now() > deadline || res.code === 400 || res.code === 422) {
        failed.push(`${what}: ${res.code} ${res.text.slice(0, 200)}`);
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return failed;
}

/**
 * Deletes each addon object, last first (`kubectl delete -f` of the manifest); one that is already
 * gone counts as deleted. Returns the ones that failed (kind/name: message).
 */
export async function deleteAddons(server: string, creds: KubeconfigCredentials | undefined, addons: Addon[]): Promise<string[]> {
  const failed: string[] = [];
  for (const a of [...addons].reverse()) {
    const res = await send("DELETE", server, creds, `${a.path}/${encodeURIComponent(a.object.metadata.name)}`).catch((e: Error) => ({ code: 0, text: e.message }));
    if ((res.code >= 200 && res.code < 300) || res.code === 404) continue;
    failed.push(`${a.object.kind.toLowerCase()}/${a.object.metadata.name}: ${res.code} ${res.text.slice(0, 200)}`);
  }
  return failed;
}

/**
 * Replaces each addon object with this version (`kubectl apply` of a changed manifest, for
 * `addons configure`): read for its resourceVersion, then PUT; created when missing. Returns the
 * ones that failed (kind/name: message).
 */
export async function replaceAddons(server: string, creds: KubeconfigCredentials | undefined, addons: Addon[]): Promise<string[]> {
  const failed: string[] = [];
  for (const a of addons) {
    const what = `${a.object.kind.toLowerCase()}/${a.object.metadata.name}`;
    const path = `${a.path}/${encodeURIComponent(a.object.metadata.name)}`;
    const fail = (e: Error) => ({ code: 0, text: e.message });
    const current = await send("GET", server, creds, path).catch(fail);
    let res: { code: number; text: string };
    if (current.code === 404) {
      res = await send("POST", server, creds, a.path, a.object).catch(fail);
    } else if (current.code === 200) {
      const rv = (JSON.parse(current.text) as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
      res = await send("PUT", server, creds, path, { ...a.object, metadata: { ...a.object.metadata, ...(rv ? { resourceVersion: rv } : {}) } }).catch(fail);
    } else {
      res = current;
    }
    if (res.code < 200 || res.code >= 300) failed.push(`${what}: ${res.code} ${res.text.slice(0, 200)}`);
  }
  return failed;
}
