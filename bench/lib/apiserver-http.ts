/**
 * A minimal Kubernetes REST client for the apiserver benchmark: node `http` with a keep-alive
 * Agent, JSON bodies, and a streaming watch that parses the apiserver's newline-delimited JSON
 * events. Non-2xx answers throw ApiError carrying the Status. An https:// base URL takes a CA and
 * a client certificate, or a bearer token (the identity the server authorizes).
 */
import { Agent, request as httpRequest, type IncomingMessage, type RequestOptions } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

/** A non-2xx answer (or a transport failure, code 0). */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** A pod with one container, labelled; the body every create sends. */
export function podBody(name: string, labels: Record<string, string> = {}, namespace = "default"): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels: { app: "bench", ...labels } },
    spec: { containers: [{ name: "main", image: "registry.k8s.io/pause:3.10", resources: { requests: { cpu: "10m", memory: "16Mi" } } }] },
  };
}

export interface KubeObject {
  metadata: { name: string; resourceVersion?: string; annotations?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

/** Credentials of an https:// client (PEM text). */
export interface KubeHttpCredentials {
  ca: string;
  cert?: string;
  key?: string;
  /** Sent as `Authorization: Bearer <token>` (a service account token). */
  bearer?: string;
}

export class KubeHttp {
  readonly agent: Agent;
  private readonly base: URL;
  private readonly request: (o: RequestOptions, cb: (res: IncomingMessage) => void) => ReturnType<typeof httpRequest>;
  private readonly authHeader: Record<string, string>;

  constructor(baseUrl: string, maxSockets: number, creds?: KubeHttpCredentials) {
    this.base = new URL(baseUrl);
    if (this.base.protocol === "https:") {
      if (!creds) throw new Error(`${baseUrl}: https needs a CA (and a client certificate or token)`);
      this.agent = new HttpsAgent({ keepAlive: true, maxSockets, ca: creds.ca, ...(creds.cert ? { cert: creds.cert, key: creds.key } : {}) });
      this.request = httpsRequest;
    } else {
      this.agent = new Agent({ keepAlive: true, maxSockets });
      this.request = httpRequest;
    }
    this.authHeader = creds?.bearer ? { authorization: `Bearer ${creds.bearer}` } : {};
  }

  /**
   * One request; resolves to the parsed JSON body of a 2xx answer, its size in bytes, and the
   * performance.now() at which its last byte arrived (before parsing).
   */
  call<T = unknown>(method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<{ obj: T; bytes: number; lastByteAt: number }> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = this.request(
        {
          host: this.base.hostname,
          port: this.base.port,
          method,
          path,
          agent: this.agent,
          headers: {
            accept: "application/json",
            ...this.authHeader,
            ...(payload ? { "content-type": "application/json", "content-length": payload.length } : {}),
          },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", (e) => reject(new ApiError(0, e.message)));
          res.on("end", () => {
            const lastByteAt = performance.now();
            const buf = Buffer.concat(chunks);
            const code = res.statusCode ?? 0;
            if (code < 200 || code >= 300) {
              let msg = buf.toString("utf8", 0, 300);
              try {
                msg = (JSON.parse(buf.toString()) as { message?: string }).message ?? msg;
              } catch {
                /* not JSON: keep the raw text */
              }
              reject(new ApiError(code, `${method} ${path}: ${code} ${msg}`));
              return;
            }
            try {
              resolve({ obj: JSON.parse(buf.toString()) as T, bytes: buf.length, lastByteAt });
            } catch (e) {
              reject(new ApiError(code, `${method} ${path}: bad JSON (${(e as Error).message})`));
            }
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out after ${timeoutMs} ms`)));
      req.on("error", (e) => reject(e instanceof ApiError ? e : new ApiError(0, e.message)));
      req.end(payload);
    });
  }

  /**
   * Opens a watch (`?watch=1&resourceVersion=rv...`) on its own connection and calls onEvent
   * for every event line. Resolves once the response headers arrived; the returned function ends it.
   */
  watch(path: string, onEvent: (type: string, obj: KubeObject) => void): Promise<() => void> {
    return new Promise((resolve, reject) => {
      const req = this.request({ host: this.base.hostname, port: this.base.port, method: "GET", path, agent: this.agent, headers: { accept: "application/json", ...this.authHeader } }, (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new ApiError(res.statusCode ?? 0, `watch ${path}: ${res.statusCode}`));
          return;
        }
        let pending = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          pending += chunk;
          let nl: number;
          while ((nl = pending.indexOf("\n")) >= 0) {
            const line = pending.slice(0, nl).trim();
            pending = pending.slice(nl + 1);
            if (line === "") continue;
            const ev = JSON.parse(line) as { type: string; object: KubeObject };
            onEvent(ev.type, ev.object);
          }
        });
        res.on("error", () => undefined);
        resolve(() => req.destroy());
      });
      req.on("error", (e) => reject(new ApiError(0, e.message)));
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
