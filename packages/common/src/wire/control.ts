/**
 * The control endpoint every kubemu process serves so the launcher and chaos tests can inspect it
 * and switch fault rules at run time:
 *   GET    /kubemu/faults  → { rules }
 *   PUT    /kubemu/faults  { rules } → replaces the rules, answers { rules }
 *   DELETE /kubemu/faults  → clears all rules (heal), answers { rules: [] }
 *   GET    /kubemu/status  → { name, pid, role?, term?, ... } from the process's status callback
 *
 * Authentication: in a cluster the launcher starts (`up`), every process but the API servers gets
 * KUBEMU_CONTROL_TOKEN_FILE, the path of `<state>/pki/control-token` (a random secret the launcher
 * made, mode 0600; pods never see the state dir). Then each /kubemu/* request must carry
 * `Authorization: Bearer <that token>`, or it is answered 401 and nothing changes; an unreadable
 * file refuses every request. Without the variable (tests, benches) the endpoints stay open.
 * Health and metrics paths are the host server's and stay public, as upstream's.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
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
  /**
   * Where the bearer token the requests must carry is read from (once); default: the
   * KUBEMU_CONTROL_TOKEN_FILE environment variable; undefined/empty: no authentication.
   */
  tokenFile?: string | undefined;
}

/** The environment variable naming the control token file (set by the launcher). */
export const CONTROL_TOKEN_FILE_ENV = "KUBEMU_CONTROL_TOKEN_FILE";

/** Token file path → SHA-256 of its trimmed text, or null when it cannot be read (then nothing is allowed). */
const tokenDigests = new Map<string, Buffer | null>();

function tokenDigest(file: string, log: Logger): Buffer | null {
  let digest = tokenDigests.get(file);
  if (digest !== undefined) return digest;
  try {
    const text = readFileSync(file, "utf8").trim();
    digest = text === "" ? null : createHash("sha256").update(text).digest();
  } catch (e) {
    digest = null;
    log.error({ err: e instanceof Error ? e.message : String(e), file }, "cannot read the control token file; refusing every /kubemu/* request");
  }
  tokenDigests.set(file, digest);
  return digest;
}

/** Whether the request carries the control token (always true when no token file is configured). */
function authorized(req: IncomingMessage, opts: ControlOptions): boolean {
  const file = "tokenFile" in opts ? opts.tokenFile : process.env[CONTROL_TOKEN_FILE_ENV];
  if (file === undefined || file === "") return true;
  const want = tokenDigest(file, opts.logger ?? silentLogger);
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
  if (want === null || !m) return false;
  // Digests have one length, so the comparison takes the same time whatever was sent.
  return timingSafeEqual(createHash("sha256").update(m[1]!).digest(), want);
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
  if (!authorized(req, opts)) {
    req.resume();
    (opts.logger ?? silentLogger).warn({ path, method: req.method, remote: req.socket.remoteAddress }, "control request without the control token refused");
    sendJson(res, 401, newStatus("Unauthorized", "Unauthorized"));
    return true;
  }
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
