/**
 * The control endpoint every kubemu process serves so the launcher and chaos tests can inspect it
 * and switch fault rules at run time:
 *   GET    /kubemu/faults  → { rules }
 *   PUT    /kubemu/faults  { rules } → replaces the rules, answers { rules }
 *   DELETE /kubemu/faults  → clears all rules (heal), answers { rules: [] }
 *   GET    /kubemu/status  → { name, pid, role?, term?, ... } from the process's status callback
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Logger } from "pino";
import { silentLogger } from "../logger.js";
import { newBadRequest, newRequestEntityTooLarge, newStatus, StatusError, toStatus } from "../status.js";
import type { FaultInjector } from "./faults.js";

/** What GET /kubemu/status answers. */
export interface ProcessStatus {
  name: string;
  pid: number;
  role?: string;
  term?: number;
  /** False while the process runs but cannot serve yet (the launcher waits for it); absent = ready. */
  ready?: boolean;
  [extra: string]: unknown;
}

export interface ControlOptions {
  faults: FaultInjector;
  status: () => ProcessStatus | Promise<ProcessStatus>;
  logger?: Logger;
}

const FAULTS_PATH = "/kubemu/faults";
const STATUS_PATH = "/kubemu/status";
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Serves the control endpoints from any node http server. Returns true if it took the request
 * (and will answer it), false for other paths so the host server can route them.
 */
export function handleControlRequest(req: IncomingMessage, res: ServerResponse, opts: ControlOptions): boolean {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const path = q === -1 ? url : url.slice(0, q);
  if (path !== FAULTS_PATH && path !== STATUS_PATH) return false;
  serve(path, req, res, opts).catch((e) => {
    (opts.logger ?? silentLogger).warn({ err: e instanceof Error ? e.message : String(e), path }, "control request failed");
    sendJson(res, toStatus(e).code, toStatus(e));
  });
  return true;
}

async function serve(path: string, req: IncomingMessage, res: ServerResponse, opts: ControlOptions): Promise<void> {
  const method = req.method ?? "GET";
  if (path === STATUS_PATH) {
    if (method !== "GET") return methodNotAllowed(res, method, "GET");
    return sendJson(res, 200, await opts.status());
  }
  switch (method) {
    case "GET":
      return sendJson(res, 200, { rules: opts.faults.rules });
    case "PUT": {
      const body = await readJson(req);
      if (typeof body !== "object" || body === null || Array.isArray(body) || !("rules" in body)) {
        throw newBadRequest('body must be a JSON object {"rules": [...]}');
      }
      const rules = opts.faults.setRules((body as { rules: unknown }).rules);
      (opts.logger ?? silentLogger).info({ rules }, "fault rules replaced");
      return sendJson(res, 200, { rules });
    }
    case "DELETE":
      opts.faults.clear();
      (opts.logger ?? silentLogger).info("fault rules cleared");
      return sendJson(res, 200, { rules: [] });
    default:
      return methodNotAllowed(res, method, "GET, PUT, DELETE");
  }
}

function methodNotAllowed(res: ServerResponse, method: string, allow: string): void {
  res.setHeader("allow", allow);
  sendJson(res, 405, newStatus("MethodNotAllowed", `method ${method} is not allowed here (allowed: ${allow})`));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw newRequestEntityTooLarge(`request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw newBadRequest(`body is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(text) }).end(text);
}

/** A running control server. */
export interface ControlServer {
  host: string;
  port: number;
  /** http://host:port */
  url: string;
  close(): Promise<void>;
}

/** Starts an HTTP server that serves only the control endpoints (404 Status for anything else). */
export async function startControlServer(opts: ControlOptions & { host: string; port: number }): Promise<ControlServer> {
  const server = createServer((req, res) => {
    if (handleControlRequest(req, res, opts)) return;
    sendJson(res, 404, newStatus("NotFound", `no such path ${req.url ?? ""} (try ${FAULTS_PATH} or ${STATUS_PATH})`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address();
  if (addr === null || typeof addr === "string") throw new StatusError(newStatus("InternalError", "control server has no TCP address"));
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    host: addr.address,
    port: addr.port,
    url: `http://${host}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
