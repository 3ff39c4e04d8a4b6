/**
 * kube-proxy's two HTTP ports. The healthz address (:10256) answers /healthz and /livez with
 * upstream's JSON and also serves kubemu's /kubemu/status and /kubemu/faults (it is the
 * process's control URL) and /metrics. The metrics address (:10249) answers /metrics and
 * /healthz ("ok") as upstream's metrics server does.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "pino";
import { handleControlRequest, type FaultInjector, type ProcessStatus } from "@kubemu/common";
import type { Registry } from "prom-client";
import type { HealthAnswer } from "./health.js";

export interface HttpServerOptions {
  host: string;
  port: number;
  log: Logger;
  registry: Registry;
  /** Present on the healthz address only. */
  health?: { healthz(): HealthAnswer; livez(): HealthAnswer; onAnswer(path: "healthz" | "livez", code: number): void };
  control?: { faults: FaultInjector; status: () => ProcessStatus };
}

export interface RunningHttpServer {
  readonly url: string;
  close(): Promise<void>;
}

function send(res: ServerResponse, code: number, body: string, type: string): void {
  res.writeHead(code, { "content-type": type, "x-content-type-options": "nosniff", "content-length": Buffer.byteLength(body) }).end(body);
}

export async function startHttpServer(o: HttpServerOptions): Promise<RunningHttpServer> {
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    if (o.control && handleControlRequest(req, res, { faults: o.control.faults, status: o.control.status, logger: o.log })) return;
    const path = new URL(req.url ?? "/", "http://kube-proxy").pathname;
    if ((path === "/healthz" || path === "/livez") && o.health) {
      const a = path === "/healthz" ? o.health.healthz() : o.health.livez();
      o.health.onAnswer(path === "/healthz" ? "healthz" : "livez", a.code);
      return send(res, a.code, a.body, "application/json");
    }
    if (path === "/healthz") return send(res, 200, "ok", "text/plain; charset=utf-8");
    if (path === "/metrics") {
      o.registry.metrics().then(
        (text) => send(res, 200, text, o.registry.contentType),
        (e: unknown) => send(res, 500, `metrics failed: ${e instanceof Error ? e.message : String(e)}\n`, "text/plain; charset=utf-8"),
      );
      return;
    }
    send(res, 404, "404 page not found\n", "text/plain; charset=utf-8");
  };
  const server: Server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    url: `http://${o.host}:${o.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
