/**
 * The HTTP endpoint every control-plane component serves on its own address (kube-scheduler's
 * :10259, kube-controller-manager's :10257): /healthz /livez /readyz as upstream answers them
 * ("ok", or 500 with the failing check), /metrics in Prometheus text (prom-client), and the
 * kubemu control endpoints /kubemu/status and /kubemu/faults.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { Registry, collectDefaultMetrics } from "prom-client";
import { silentLogger } from "../logger.js";
import { handleControlRequest, type ProcessStatus } from "../wire/control.js";
import type { FaultInjector } from "../wire/faults.js";

/** A guard's answer: undefined lets the request through. */
export type GuardAnswer = { code: number; body: string } | undefined;

/** Runs the guard (if any), then `go` when it lets the request through or `refuse` with its answer. */
function guarded(guard: ComponentServerOptions["guard"], req: IncomingMessage, refuse: (r: { code: number; body: string }) => void, go: () => void): void {
  if (!guard) return go();
  const answer = guard(req);
  if (!(answer instanceof Promise)) return answer ? refuse(answer) : go();
  answer.then(
    (r) => (r ? refuse(r) : go()),
    (e: unknown) => refuse({ code: 500, body: `internal error: ${e instanceof Error ? e.message : String(e)}` }),
  );
}

/** A named health check: undefined when healthy, else why not. */
export type HealthCheck = () => string | undefined;

export interface ComponentServerOptions {
  host: string;
  port: number;
  /** Checks for /healthz and /livez (the process works). */
  liveness?: Record<string, HealthCheck>;
  /** Extra checks for /readyz (the process can do its job, e.g. informers synced). */
  readiness?: Record<string, HealthCheck>;
  status: () => ProcessStatus;
  faults: FaultInjector;
  /** More paths the component serves (the kubelet's /metrics/resource), by exact path; a key ending in "/" serves every path under it. */
  routes?: Record<string, (req: IncomingMessage, res: ServerResponse) => void>;
  /** Connection upgrades (the kubelet's /exec/...), by path prefix; others are refused with 404. */
  upgrades?: Record<string, (req: IncomingMessage, socket: Duplex, head: Buffer) => void>;
  /**
   * Serve HTTPS with this certificate; with `ca`, clients are asked for a certificate (checked
   * against it, but a request without one still arrives, for `guard` to answer).
   */
  tls?: { cert: string; key: string; ca?: string };
  /**
   * Decides every request and upgrade first (the kubelet's authentication and authorization of
   * :10250): undefined lets it through, else the refusal to answer with. It may answer later (a
   * SubjectAccessReview to the API server); the request waits, unread, until it does.
   */
  guard?: (req: IncomingMessage) => GuardAnswer | Promise<GuardAnswer>;
  /** Metrics to serve; default metrics (process, GC, event loop) are added to it. */
  registry?: Registry;
  logger?: Logger;
}

export interface ComponentServer {
  readonly url: string;
  readonly registry: Registry;
  close(): Promise<void>;
}

/** Upstream's healthz text: "ok", or one line per check "[+]name ok" / "[-]name failed: reason". */
function healthAnswer(checks: Record<string, HealthCheck>, verbose: boolean): { code: number; body: string } {
  const lines: string[] = [];
  let failed = false;
  for (const [name, check] of Object.entries(checks)) {
    let why: string | undefined;
    try {
      why = check();
    } catch (e) {
      why = e instanceof Error ? e.message : String(e);
    }
    if (why === undefined) lines.push(`[+]${name} ok`);
    else {
      failed = true;
      lines.push(`[-]${name} failed: ${why}`);
    }
  }
  if (failed) return { code: 500, body: `${lines.join("\n")}\nhealthz check failed\n` };
  return { code: 200, body: verbose ? `${lines.join("\n")}\nhealthz check passed\n` : "ok" };
}

export async function startComponentServer(o: ComponentServerOptions): Promise<ComponentServer> {
  const log = o.logger ?? silentLogger;
  const registry = o.registry ?? new Registry();
  collectDefaultMetrics({ register: registry });
  const live = { ping: () => undefined, ...(o.liveness ?? {}) } as Record<string, HealthCheck>;
  const ready = { ...live, ...(o.readiness ?? {}) };
  const onRequest = (req: IncomingMessage, res: ServerResponse) =>
    guarded(
      o.guard,
      req,
      (refusal) => {
        if (!res.headersSent && !res.destroyed) res.writeHead(refusal.code, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(refusal.body) }).end(refusal.body);
      },
      () => serve(req, res),
    );
  const serve = (req: IncomingMessage, res: ServerResponse) => {
    if (handleControlRequest(req, res, { faults: o.faults, status: o.status, logger: log })) return;
    const url = new URL(req.url ?? "/", "http://component");
    const send = (code: number, body: string, type = "text/plain; charset=utf-8") => {
      res.writeHead(code, { "content-type": type, "x-content-type-options": "nosniff", "content-length": Buffer.byteLength(body) }).end(body);
    };
    const verbose = url.searchParams.has("verbose");
    switch (url.pathname) {
      case "/healthz":
      case "/livez": {
        const a = healthAnswer(live, verbose);
        return send(a.code, a.body);
      }
      case "/readyz": {
        const a = healthAnswer(ready, verbose);
        return send(a.code, a.body);
      }
      case "/metrics":
        registry.metrics().then(
          (text) => send(200, text, registry.contentType),
          (e: unknown) => send(500, `metrics failed: ${e instanceof Error ? e.message : String(e)}\n`),
        );
        return;
      default: {
        const route = o.routes?.[url.pathname] ?? Object.entries(o.routes ?? {}).find(([p]) => p.endsWith("/") && url.pathname.startsWith(p))?.[1];
        if (route) return route(req, res);
        return send(404, "404 page not found\n");
      }
    }
  };
  const server: Server = o.tls
    ? (createHttpsServer({ cert: o.tls.cert, key: o.tls.key, ...(o.tls.ca ? { ca: o.tls.ca, requestCert: true, rejectUnauthorized: false } : {}) }, onRequest) as unknown as Server)
    : createServer(onRequest);
  const reasons: Record<number, string> = { 401: "Unauthorized", 403: "Forbidden", 500: "Internal Server Error" };
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A socket that fails while the guard is still deciding must not crash the process.
    const ignore = () => undefined;
    socket.on("error", ignore);
    guarded(
      o.guard,
      req,
      (refusal) => {
        if (!socket.destroyed) socket.end(`HTTP/1.1 ${refusal.code} ${reasons[refusal.code] ?? "Forbidden"}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(refusal.body)}\r\nconnection: close\r\n\r\n${refusal.body}`);
      },
      () => {
        socket.off("error", ignore);
        if (!socket.destroyed) upgrade(req, socket, head);
      },
    );
  });
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? "/", "http://component").pathname;
    const handler = Object.entries(o.upgrades ?? {}).find(([p]) => path.startsWith(p))?.[1];
    if (handler) return handler(req, socket, head);
    socket.end("HTTP/1.1 404 Not Found\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 19\r\nconnection: close\r\n\r\n404 page not found\n");
  };
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    url: `${o.tls ? "https" : "http"}://${o.host}:${o.port}`,
    registry,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
