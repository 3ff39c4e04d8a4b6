/**
 * A small API client: in cluster, the pod's service account token and ca.crt and the API server at
 * KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT (as client-go's rest.InClusterConfig), or a kubeconfig. The token
 * is re-read on every request because the kubelet refreshes the projected file.
 */
import { request as httpsRequest } from "node:https";
import { request as httpRequest } from "node:http";
import { parse as parseYaml } from "yaml";
import { readFileSync } from "node:fs";

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export class ApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Where and how to reach the API server. */
export interface ClientConfig {
  server: string;
  ca?: string;
  cert?: string;
  key?: string;
  /** Read before each request (the kubelet rotates the projected token file). */
  token?: () => string;
}

/** client-go's rest.InClusterConfig: KUBERNETES_SERVICE_HOST/PORT, the token and ca.crt files. */
export function inClusterConfig(saDir = SERVICE_ACCOUNT_DIR): ClientConfig {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new Error("unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined");
  return { server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`, ca: readFileSync(`${saDir}/ca.crt`, "utf8"), token: () => readFileSync(`${saDir}/token`, "utf8").trim() };
}

/** The current context of a kubeconfig file (for running out of cluster, as upstream's --kubeconfig). */
export function kubeconfigConfig(file: string): ClientConfig {
  const kc = parseYaml(readFileSync(file, "utf8")) as {
    "current-context"?: string;
    contexts?: { name: string; context: { cluster: string; user: string } }[];
    clusters?: { name: string; cluster: { server: string; "certificate-authority-data"?: string } }[];
    users?: { name: string; user?: { token?: string; "client-certificate-data"?: string; "client-key-data"?: string } }[];
  };
  const ctx = kc.contexts?.find((c) => c.name === kc["current-context"]) ?? kc.contexts?.[0];
  const cluster = kc.clusters?.find((c) => c.name === ctx?.context.cluster)?.cluster;
  if (!cluster) throw new Error(`${file}: no cluster for the current context`);
  const user = kc.users?.find((u) => u.name === ctx?.context.user)?.user ?? {};
  const b64 = (s: string | undefined) => (s ? Buffer.from(s, "base64").toString("utf8") : undefined);
  const cfg: ClientConfig = { server: cluster.server };
  const ca = b64(cluster["certificate-authority-data"]);
  const cert = b64(user["client-certificate-data"]);
  const key = b64(user["client-key-data"]);
  if (ca) cfg.ca = ca;
  if (cert) cfg.cert = cert;
  if (key) cfg.key = key;
  if (user.token) cfg.token = () => user.token!;
  return cfg;
}

export class ApiServerClient {
  constructor(private readonly cfg: ClientConfig) {}

  get<T>(path: string): Promise<T> {
    return this.call<T>("GET", path);
  }
  post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>("POST", path, body);
  }
  delete<T>(path: string): Promise<T> {
    return this.call<T>("DELETE", path);
  }
  put<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>("PUT", path, body);
  }
  /** A JSON merge patch (RFC 7386). */
  patch<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>("PATCH", path, body, "application/merge-patch+json");
  }

  private call<T>(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<T> {
    const token = this.cfg.token?.();
    const url = new URL(path, this.cfg.server);
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = send(
        url,
        {
          method,
          ...(this.cfg.ca ? { ca: this.cfg.ca } : {}),
          ...(this.cfg.cert && this.cfg.key ? { cert: this.cfg.cert, key: this.cfg.key } : {}),
          headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), accept: "application/json", "user-agent": "local-path-provisioner/v0.0.30", ...(payload ? { "content-type": contentType } : {}) },
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            const code = res.statusCode ?? 0;
            if (code >= 200 && code < 300) return resolve((text ? JSON.parse(text) : {}) as T);
            let message = text;
            try {
              message = (JSON.parse(text) as { message?: string }).message ?? text;
            } catch {
              // not a Status: keep the body
            }
            reject(new ApiError(code, message));
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timeout`)));
      req.on("error", reject);
      if (payload) req.write(payload);
      req.end();
    });
  }
}

export const isNotFound = (e: unknown) => e instanceof ApiError && e.code === 404;
export const isAlreadyExists = (e: unknown) => e instanceof ApiError && e.code === 409;
/** 409 on an update: the object changed since it was read. */
export const isConflict = (e: unknown) => e instanceof ApiError && e.code === 409;
