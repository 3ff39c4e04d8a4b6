/** Writing responses: JSON (gzip when the client accepts it), Status errors, and bodies kubectl expects. */
import type { IncomingMessage, ServerResponse } from "node:http";
import { gzip, gzipSync } from "node:zlib";
import { toStatus, type Status } from "@kubemu/common";

/** Responses smaller than this are not worth compressing (upstream uses 128 KiB; smaller helps here). */
const GZIP_MIN_BYTES = 1024;
const ASYNC_GZIP_BYTES = 64 * 1024;

export function acceptsGzip(req: IncomingMessage): boolean {
  const ae = req.headers["accept-encoding"];
  return typeof ae === "string" && /\bgzip\b/.test(ae);
}

/** Sends bytes with a content type, gzip-encoding them when asked and worthwhile. */
export function sendBytes(req: IncomingMessage, res: ServerResponse, code: number, contentType: string, body: Buffer, extra: Record<string, string> = {}): void {
  const headers: Record<string, string | number> = { "content-type": contentType, "cache-control": "no-cache, private", ...extra };
  if (acceptsGzip(req) && body.length >= GZIP_MIN_BYTES) {
    const send = (gz: Buffer) => {
      headers["content-encoding"] = "gzip";
      headers["content-length"] = gz.length;
      res.writeHead(code, headers).end(req.method === "HEAD" ? undefined : gz);
    };
    // Large bodies (big lists) compress on the thread pool so other requests keep flowing.
    if (body.length < ASYNC_GZIP_BYTES) send(gzipSync(body));
    else
      gzip(body, { level: 4 }, (err, gz) => {
        if (err) {
          headers["content-length"] = body.length;
          res.writeHead(code, headers).end(body);
        } else send(gz);
      });
    return;
  }
  headers["content-length"] = body.length;
  res.writeHead(code, headers).end(req.method === "HEAD" ? undefined : body);
}

/** Upstream pretty-prints for ?pretty=true and for curl, wget and browsers (what people read). */
export function wantsPretty(req: IncomingMessage): boolean {
  const q = (req.url ?? "").indexOf("?");
  if (q !== -1) {
    const pretty = new URLSearchParams((req.url ?? "").slice(q + 1)).get("pretty");
    if (pretty !== null) return pretty === "true" || pretty === "1" || pretty === "";
  }
  const ua = req.headers["user-agent"] ?? "";
  return /curl|Wget/.test(ua) || ua.startsWith("Mozilla/");
}

export function sendJson(req: IncomingMessage, res: ServerResponse, code: number, obj: unknown, contentType = "application/json"): void {
  const text = wantsPretty(req) ? JSON.stringify(obj, null, 2) + "\n" : JSON.stringify(obj);
  sendBytes(req, res, code, contentType, Buffer.from(text));
}

/** Sends any error as a Kubernetes Status with its code. */
/** The error Status each response answered with (audit records its message and reason). */
const sentStatuses = new WeakMap<ServerResponse, Status>();

/** The Status sendError answered res with, if it did. */
export function errorStatusOf(res: ServerResponse): Status | undefined {
  return sentStatuses.get(res);
}

export function sendError(req: IncomingMessage, res: ServerResponse, e: unknown): Status {
  const status = toStatus(e);
  sentStatuses.set(res, status);
  if (res.headersSent) {
    res.destroy();
    return status;
  }
  const extra: Record<string, string> = {};
  if (status.details?.retryAfterSeconds !== undefined) extra["retry-after"] = String(status.details.retryAfterSeconds);
  sendBytes(req, res, status.code, "application/json", Buffer.from(JSON.stringify(status)), extra);
  return status;
}
