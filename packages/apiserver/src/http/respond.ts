/** Writing responses: JSON (gzip when the client accepts it), Status errors, and bodies kubectl expects. */
import type { IncomingMessage, ServerResponse } from "node:http";
import { gzipSync } from "node:zlib";
import { toStatus, type Status } from "@kubemu/common";

/** Responses smaller than this are not worth compressing (upstream uses 128 KiB; smaller helps here). */
const GZIP_MIN_BYTES = 1024;

export function acceptsGzip(req: IncomingMessage): boolean {
  const ae = req.headers["accept-encoding"];
  return typeof ae === "string" && /\bgzip\b/.test(ae);
}

/** Sends bytes with a content type, gzip-encoding them when asked and worthwhile. */
export function sendBytes(req: IncomingMessage, res: ServerResponse, code: number, contentType: string, body: Buffer, extra: Record<string, string> = {}): void {
  const headers: Record<string, string | number> = { "content-type": contentType, "cache-control": "no-cache, private", ...extra };
  if (acceptsGzip(req) && body.length >= GZIP_MIN_BYTES) {
    const gz = gzipSync(body);
    headers["content-encoding"] = "gzip";
    headers["content-length"] = gz.length;
    res.writeHead(code, headers).end(req.method === "HEAD" ? undefined : gz);
    return;
  }
  headers["content-length"] = body.length;
  res.writeHead(code, headers).end(req.method === "HEAD" ? undefined : body);
}

export function sendJson(req: IncomingMessage, res: ServerResponse, code: number, obj: unknown, contentType = "application/json"): void {
  sendBytes(req, res, code, contentType, Buffer.from(JSON.stringify(obj)));
}

/** Sends any error as a Kubernetes Status with its code. */
export function sendError(req: IncomingMessage, res: ServerResponse, e: unknown): Status {
  const status = toStatus(e);
  if (res.headersSent) {
    res.destroy();
    return status;
  }
  const extra: Record<string, string> = {};
  if (status.details?.retryAfterSeconds !== undefined) extra["retry-after"] = String(status.details.retryAfterSeconds);
  sendBytes(req, res, status.code, "application/json", Buffer.from(JSON.stringify(status)), extra);
  return status;
}

/** A success Status (DELETE of an object that is gone, eviction, binding). */
export function successStatus(details?: Record<string, unknown>): Record<string, unknown> {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", ...(details ? { details } : {}) };
}
