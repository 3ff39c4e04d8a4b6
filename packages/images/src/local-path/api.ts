/**
 * A small in-cluster API client: the pod's service account token and ca.crt, and the API server at
 * KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT (as client-go's rest.InClusterConfig). The token
 * is re-read on every request because the kubelet refreshes the projected file.
 */
import { request } from "node:https";
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

export class InClusterClient {
  private readonly ca: string;
  constructor(
    private readonly host: string,
    private readonly port: string,
    private readonly saDir = SERVICE_ACCOUNT_DIR,
  ) {
    this.ca = readFileSync(`${saDir}/ca.crt`, "utf8");
  }

  static fromEnv(saDir = SERVICE_ACCOUNT_DIR): InClusterClient {
    const host = process.env.KUBERNETES_SERVICE_HOST;
    const port = process.env.KUBERNETES_SERVICE_PORT;
    if (!host || !port) throw new Error("unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined");
    return new InClusterClient(host, port, saDir);
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>("GET", path);
  }
  post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>("POST", path, body);
  }
  delete<T>(path: string): Promise<T> {
    return this.call<T>("DELETE", path);
  }

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const token = readFileSync(`${this.saDir}/token`, "utf8").trim();
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = request(
        {
          host: this.host,
          port: Number(this.port),
          method,
          path,
          ca: this.ca,
          headers: { authorization: `Bearer ${token}`, accept: "application/json", "user-agent": "local-path-provisioner/v0.0.30", ...(payload ? { "content-type": "application/json" } : {}) },
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
