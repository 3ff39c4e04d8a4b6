/**
 * The controller's API access over REST, as client-go gives it: JSON requests with the pod's
 * service-account token (re-read per request) or none (--apiserver-host without a kubeconfig), and
 * list+watch informers that relist on 410 Gone and re-watch from the last resourceVersion.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { ClientConfig } from "../local-path/api.js";
import type { Meta } from "./types.js";

export class KubeError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}
export const isNotFound = (e: unknown) => e instanceof KubeError && e.code === 404;
export const isConflict = (e: unknown) => e instanceof KubeError && e.code === 409;

export class KubeClient {
  constructor(
    private readonly cfg: ClientConfig,
    private readonly userAgent: string,
  ) {}

  get server(): string {
    return this.cfg.server;
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>("GET", path);
  }
  post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>("POST", path, body);
  }
  put<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>("PUT", path, body);
  }
  patch<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>("PATCH", path, body, "application/merge-patch+json");
  }

  private open(method: string, path: string, body: string | undefined, contentType: string, onResponse: (res: IncomingMessage) => void): ReturnType<typeof httpRequest> {
    const url = new URL(path, this.cfg.server);
    const token = this.cfg.token?.();
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    const req = send(
      url,
      {
        method,
        ...(this.cfg.ca ? { ca: this.cfg.ca } : {}),
        ...(this.cfg.cert && this.cfg.key ? { cert: this.cfg.cert, key: this.cfg.key } : {}),
        headers: { accept: "application/json", "user-agent": this.userAgent, ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { "content-type": contentType } : {}) },
      },
      onResponse,
    );
    if (body !== undefined) req.write(body);
    req.end();
    return req;
  }

  private call<T>(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const req = this.open(method, path, body === undefined ? undefined : JSON.stringify(body), contentType, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
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
          reject(new KubeError(code, message));
        });
      });
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: timeout`)));
      req.on("error", reject);
    });
  }

  /** A watch stream: one callback per event line; resolves when the server ends the stream. */
  watch(path: string, onEvent: (ev: { type: string; object: unknown }) => void, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const req = this.open("GET", path, undefined, "", (res) => {
        if ((res.statusCode ?? 0) >= 300) {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => reject(new KubeError(res.statusCode ?? 0, Buffer.concat(chunks).toString("utf8").slice(0, 300))));
          return;
        }
        let buf = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            let ev: { type: string; object: unknown };
            try {
              ev = JSON.parse(line) as { type: string; object: unknown };
            } catch {
              req.destroy(new Error(`undecodable watch event: ${line.slice(0, 100)}`));
              return;
            }
            try {
              onEvent(ev);
            } catch (e) {
              // A handler that throws ends this watch; the informer relists.
              req.destroy(e as Error);
              return;
            }
          }
        });
        res.on("end", () => resolve());
        res.on("error", reject);
      });
      req.on("error", (e) => (signal.aborted ? resolve() : reject(e)));
      signal.addEventListener("abort", () => req.destroy(), { once: true });
    });
  }
}

export type Change<T> = { type: "add"; obj: T } | { type: "update"; obj: T; old: T } | { type: "delete"; obj: T };

/**
 * A cache of one resource kept by list+watch. `onChange` sees adds, updates (resourceVersion
 * changed) and deletes, relists included; `synced` resolves after the first list.
 */
export class Informer<T extends { metadata: Meta }> {
  readonly items = new Map<string, T>();
  readonly synced: Promise<void>;
  private markSynced!: () => void;

  constructor(
    private readonly client: KubeClient,
    /** The collection path, e.g. /apis/networking.k8s.io/v1/ingresses; may carry a ?fieldSelector=. */
    private readonly path: string,
    private readonly onChange: (c: Change<T>) => void,
    private readonly log: (msg: string) => void,
  ) {
    this.synced = new Promise((r) => (this.markSynced = r));
  }

  private key(o: T): string {
    return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
  }

  async run(signal: AbortSignal): Promise<void> {
    const sep = this.path.includes("?") ? "&" : "?";
    while (!signal.aborted) {
      try {
        const list = await this.client.get<{ metadata: { resourceVersion?: string }; items: T[] }>(this.path);
        this.replace(list.items);
        this.markSynced();
        let rv = list.metadata.resourceVersion ?? "";
        let gone = false;
        while (!signal.aborted && !gone) {
          await this.client.watch(`${this.path}${sep}watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(rv)}`, (ev) => {
            const obj = ev.object as T & { code?: number; kind?: string };
            if (ev.type === "ERROR") {
              gone = true;
              return;
            }
            if (obj.metadata?.resourceVersion) rv = obj.metadata.resourceVersion;
            if (ev.type === "BOOKMARK") return;
            this.apply(ev.type, obj);
          }, signal);
        }
      } catch (e) {
        if (signal.aborted) return;
        this.log(`Failed to watch ${this.path}: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private apply(type: string, obj: T): void {
    const k = this.key(obj);
    const old = this.items.get(k);
    if (type === "DELETED") {
      this.items.delete(k);
      this.onChange({ type: "delete", obj });
    } else {
      this.items.set(k, obj);
      if (!old) this.onChange({ type: "add", obj });
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.onChange({ type: "update", obj, old });
    }
  }

  private replace(items: T[]): void {
    const seen = new Set<string>();
    for (const o of items) {
      seen.add(this.key(o));
      this.apply("MODIFIED", o);
    }
    for (const [k, o] of [...this.items]) if (!seen.has(k)) this.apply("DELETED", o);
  }
}
