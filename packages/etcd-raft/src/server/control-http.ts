/**
 * The member's HTTP control listener: GET /health (200 when a leader is known, else 503),
 * GET /metrics (Prometheus text), and the shared /kubemu/status and /kubemu/faults endpoints.
 */
import { createServer, type Server } from "node:http";
import { handleControlRequest, type ControlOptions, type Logger } from "@kubemu/common";
import type { Registry } from "prom-client";

export interface ControlHttpOptions extends ControlOptions {
  host: string;
  port: number;
  registry: Registry;
  health: () => { healthy: boolean; reason: string };
  log: Logger;
}

export interface ControlHttp {
  url: string;
  close(): Promise<void>;
}

export async function startControlHttp(o: ControlHttpOptions): Promise<ControlHttp> {
  const server: Server = createServer((req, res) => {
    if (handleControlRequest(req, res, o)) return;
    const path = (req.url ?? "/").split("?")[0];
    const send = (code: number, type: string, body: string) => res.writeHead(code, { "content-type": type }).end(body);
    if (req.method !== "GET") return send(405, "text/plain", "method not allowed\n");
    if (path === "/health") {
      const h = o.health();
      return send(h.healthy ? 200 : 503, "application/json", JSON.stringify({ health: String(h.healthy), reason: h.reason }));
    }
    if (path === "/metrics") {
      o.registry.metrics().then(
        (text) => send(200, o.registry.contentType, text),
        (e: unknown) => send(500, "text/plain", `metrics failed: ${e instanceof Error ? e.message : String(e)}\n`),
      );
      return;
    }
    send(404, "text/plain", "not found (try /health, /metrics, /kubemu/status, /kubemu/faults)\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address();
  if (addr === null || typeof addr === "string") throw new Error("control listener has no TCP address");
  return {
    url: `http://${addr.address}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
