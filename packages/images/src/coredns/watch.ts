/**
 * The kubernetes plugin's informers: list then watch Services, EndpointSlices, Namespaces (and Pods
 * for `pods verified`) over the API server's HTTP watch (one JSON event per line), feeding the
 * ClusterModel. A closed watch resumes from the last resourceVersion; 410 Gone (or any list
 * failure) lists again after a second. `synced` turns true once every first list has landed
 * (the ready plugin waits for it).
 */
import { request as httpsRequest } from "node:https";
import { request as httpRequest, type IncomingMessage } from "node:http";
import type { ClientConfig } from "../local-path/api.js";
import { ClusterModel, endpointSetFromApi, serviceFromApi, type ApiObject } from "./model.js";

interface Handlers {
  upsert: (o: ApiObject) => void;
  remove: (o: ApiObject) => void;
  key: (o: ApiObject) => string;
}

function get(cfg: ClientConfig, path: string, timeoutMs: number): Promise<IncomingMessage> {
  const url = new URL(path, cfg.server);
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  const token = cfg.token?.();
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: "GET",
        ...(cfg.ca ? { ca: cfg.ca } : {}),
        ...(cfg.cert && cfg.key ? { cert: cfg.cert, key: cfg.key } : {}),
        headers: { accept: "application/json", "user-agent": "coredns/1.11.3", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        timeout: timeoutMs,
      },
      resolve,
    );
    req.on("timeout", () => req.destroy(new Error(`Get "${url.href}": context deadline exceeded`)));
    req.on("error", reject);
    req.end();
  });
}

async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** One resource's list+watch loop (client-go's Reflector, reduced). */
class Reflector {
  private readonly known = new Map<string, ApiObject>();
  private stopped = false;
  private current: IncomingMessage | undefined;
  synced = false;

  constructor(
    private readonly cfg: ClientConfig,
    private readonly path: string,
    /** client-go's name of the type ("*v1.Service"), for the log lines. */
    private readonly kind: string,
    private readonly h: Handlers,
    private readonly log: (line: string) => void,
  ) {}

  run(): void {
    void this.loop();
  }

  private async loop(): Promise<void> {
    let rv: string | undefined;
    while (!this.stopped) {
      try {
        if (rv === undefined) rv = await this.list();
        rv = await this.watch(rv);
      } catch (e) {
        if (this.stopped) return;
        this.log(`[ERROR] plugin/kubernetes: pkg/mod/k8s.io/client-go@v0.29.3/tools/cache/reflector.go:229: Failed to watch ${this.kind}: ${(e as Error).message}`);
        rv = undefined;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private async list(): Promise<string> {
    const url = new URL(`${this.path}?limit=500&resourceVersion=0`, this.cfg.server).href;
    const res = await get(this.cfg, `${this.path}?limit=500&resourceVersion=0`, 30_000).catch((e: NodeJS.ErrnoException) => {
      throw new Error(`failed to list ${this.kind}: Get "${url}": ${e.code === "ECONNREFUSED" ? `dial tcp ${new URL(url).host}: connect: connection refused` : e.message}`);
    });
    const text = await readAll(res);
    if (res.statusCode !== 200) throw new Error(`failed to list ${this.kind}: ${statusMessage(text, res.statusCode)}`);
    const list = JSON.parse(text) as { metadata?: { resourceVersion?: string }; items?: ApiObject[] };
    const seen = new Set<string>();
    for (const o of list.items ?? []) {
      const k = this.h.key(o);
      seen.add(k);
      this.known.set(k, o);
      this.h.upsert(o);
    }
    for (const [k, o] of this.known) {
      if (seen.has(k)) continue;
      this.known.delete(k);
      this.h.remove(o);
    }
    this.synced = true;
    return list.metadata?.resourceVersion ?? "0";
  }

  /** Watches from rv until the stream ends; returns the last resourceVersion seen, or undefined to list again. */
  private async watch(rv: string): Promise<string | undefined> {
    const sep = this.path.includes("?") ? "&" : "?";
    const res = await get(this.cfg, `${this.path}${sep}watch=1&allowWatchBookmarks=true&timeoutSeconds=${300 + Math.floor(Math.random() * 300)}&resourceVersion=${rv}`, 0);
    if (res.statusCode === 410) return undefined;
    if (res.statusCode !== 200) throw new Error(`watch ${this.path}: ${res.statusCode} ${(await readAll(res)).slice(0, 200)}`);
    this.current = res;
    let last: string | undefined = rv;
    let buf = "";
    for await (const chunk of res) {
      buf += (chunk as Buffer).toString("utf8");
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const ev = JSON.parse(line) as { type: string; object: ApiObject & { code?: number; metadata?: { resourceVersion?: string } } };
        if (ev.type === "ERROR") return ev.object.code === 410 ? undefined : last;
        const objRv = ev.object.metadata?.resourceVersion;
        if (objRv) last = objRv;
        if (ev.type === "BOOKMARK") continue;
        const k = this.h.key(ev.object);
        if (ev.type === "DELETED") {
          this.known.delete(k);
          this.h.remove(ev.object);
        } else {
          this.known.set(k, ev.object);
          this.h.upsert(ev.object);
        }
      }
    }
    return last;
  }

  stop(): void {
    this.stopped = true;
    this.current?.destroy();
  }
}

function statusMessage(text: string, code: number | undefined): string {
  try {
    return (JSON.parse(text) as { message?: string }).message ?? `${code}`;
  } catch {
    return `${code} ${text.slice(0, 200)}`;
  }
}

const objKey = (o: ApiObject) => `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;

/** Starts the informers feeding `model`; `namespaces` limits services/slices to those namespaces' paths is not needed: all are watched. */
export function startInformers(cfg: ClientConfig, model: ClusterModel, opts: { pods: boolean; log: (line: string) => void }): { synced: () => boolean; stop: () => void } {
  const reflectors = [
    new Reflector(cfg, "/api/v1/services", "*v1.Service", { key: objKey, upsert: (o) => model.upsertService(serviceFromApi(o)), remove: (o) => model.deleteService(o.metadata?.namespace ?? "", o.metadata?.name ?? "") }, opts.log),
    new Reflector(
      cfg,
      "/apis/discovery.k8s.io/v1/endpointslices",
      "*v1.EndpointSlice",
      {
        key: objKey,
        upsert: (o) => {
          const e = endpointSetFromApi(o);
          if (e) model.upsertEndpoints(e);
          else model.deleteEndpoints(objKey(o));
        },
        remove: (o) => model.deleteEndpoints(objKey(o)),
      },
      opts.log,
    ),
    new Reflector(cfg, "/api/v1/namespaces", "*v1.Namespace", { key: objKey, upsert: (o) => model.addNamespace(o.metadata?.name ?? ""), remove: (o) => model.deleteNamespace(o.metadata?.name ?? "") }, opts.log),
  ];
  if (opts.pods) {
    reflectors.push(
      new Reflector(
        cfg,
        "/api/v1/pods",
        "*v1.Pod",
        {
          key: objKey,
          upsert: (o) => model.setPod(o.metadata?.namespace ?? "", o.metadata?.name ?? "", (o.status as { podIP?: string } | undefined)?.podIP),
          remove: (o) => model.setPod(o.metadata?.namespace ?? "", o.metadata?.name ?? "", undefined),
        },
        opts.log,
      ),
    );
  }
  for (const r of reflectors) r.run();
  return { synced: () => reflectors.every((r) => r.synced), stop: () => reflectors.forEach((r) => r.stop()) };
}
