/**
 * The data plane: HTTP and HTTPS listeners that take each request through the routing table and
 * proxy it to an endpoint pod's IP directly (ingress-nginx's Lua balancer: round robin over the
 * upstream's endpoints, the next endpoint on a connect error, up to 3 tries), with nginx's error
 * pages ("404 Not Found" from the default backend, 503 for an upstream without endpoints, 502/504),
 * no Server header (more_clear_headers Server), HTTPS offering h2 and http/1.1 by ALPN as nginx's
 * `listen 443 ssl http2`, and an access log line per request in
 * ingress-nginx's `upstreaminfo` format on stdout.
 */
import { randomBytes, randomInt } from "node:crypto";
import { Agent, request as httpRequest, createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import type { SecureContext } from "node:tls";
import { route, type Decision, type RequestInfo } from "./match.js";
import { DEFAULT_UPSTREAM, type Endpoint, type RoutingTable, type Upstream } from "./routing.js";
import { accessLogLine, type AccessLogFields } from "./access-log.js";
import { stickyPick } from "./affinity.js";

const REASONS: Record<number, string> = {
  308: "Permanent Redirect",
  400: "Bad Request",
  404: "Not Found",
  413: "Request Entity Too Large",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Temporarily Unavailable",
  504: "Gateway Time-out",
};

/** nginx's built-in error page with server_tokens off. */
export function errorPage(code: number): string {
  const t = `${code} ${REASONS[code] ?? ""}`;
  return `<html>\r\n<head><title>${t}</title></head>\r\n<body>\r\n<center><h1>${t}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host"]);
/** nginx does not pass these from the upstream's response (and clears Server). */
const HIDDEN_RESPONSE = new Set(["connection", "keep-alive", "transfer-encoding", "server", "date", "x-pad"]);
/** client_max_body_size 1m. */
const MAX_BODY = 1024 * 1024;
const PROXY_TRIES = 3;
const TOO_LARGE = "request body too large";
const CONNECT_TIMEOUT_MS = 5000;
const READ_TIMEOUT_MS = 60_000;

export interface DataPlaneConfig {
  /** hsts (the ConfigMap's; minikube sets "false"). */
  hsts: boolean;
  hstsMaxAge: string;
  hstsIncludeSubdomains: boolean;
}

/** Round robin per upstream, starting at a random endpoint (state survives table rebuilds). */
export class RoundRobin {
  private readonly next = new Map<string, number>();
  constructor(private readonly random: (n: number) => number) {}
  pick(u: Upstream): Endpoint {
    let i = this.next.get(u.name);
    if (i === undefined) i = this.random(u.endpoints.length) - 1;
    const ep = u.endpoints[i % u.endpoints.length]!;
    this.next.set(u.name, (i + 1) % u.endpoints.length);
    return ep;
  }
}

function parseCookies(header: string | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) {
      const k = part.slice(0, eq).trim();
      if (!m.has(k)) m.set(k, part.slice(eq + 1).trim());
    }
  }
  return m;
}

export class DataPlane {
  table: RoutingTable | undefined;
  config: DataPlaneConfig = { hsts: true, hstsMaxAge: "31536000", hstsIncludeSubdomains: true };
  private readonly rr: RoundRobin;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  /** Lua's math.random(n). */
  readonly random = (n: number) => randomInt(1, n + 1);

  /** sourceAddress: the pod IP, which endpoints see connections from (as from the controller pod). */
  constructor(
    private readonly out: (line: string) => void,
    private readonly sourceAddress?: string,
  ) {
    this.rr = new RoundRobin(this.random);
  }

  httpServer(): HttpServer {
    return this.configure(createServer((req, res) => this.serve(req, res, "http", 80)));
  }

  /** HTTPS with h2 and http/1.1 by ALPN; SNI picks the context. */
  httpsServer(defaultContext: { cert: string; key: string }, sni: (servername: string) => SecureContext | undefined): Http2SecureServer {
    const s = createSecureServer({ ...defaultContext, allowHTTP1: true, SNICallback: (name, cb) => cb(null, sni(name)) }, (req, res) => this.serve(req, res, "https", 443));
    s.setTimeout(75_000);
    return s;
  }

  private configure(s: HttpServer): HttpServer {
    // keepalive_timeout 75s, without the Keep-Alive response header Node would add.
    s.keepAliveTimeout = 0;
    s.on("connection", (sock: import("node:net").Socket) => sock.setTimeout(75_000, () => sock.destroy()));
    return s;
  }

  /** A request that fails in here costs that request only (500, or the connection), never the process. */
  private serve(req: Req, res: Res, scheme: "http" | "https", port: number): void {
    this.handle(req, res, scheme, port).catch((e: Error) => {
      process.stderr.write(`request ${req.method} ${req.url} failed: ${e.message}\n`);
      if (res.headersSent) abort(res);
      else this.page(res, { remoteAddr: "-", request: "", status: 0, bodyBytesSent: 0, referer: undefined, userAgent: undefined, requestLength: 0, requestTime: 0, upstreamName: "", alternativeName: "", upstreamAddr: [], upstreamResponseLength: [], upstreamResponseTime: [], upstreamStatus: [], reqId: "" }, 500, {});
    });
  }

  private async handle(req: Req, res: Res, scheme: "http" | "https", port: number): Promise<void> {
    const start = performance.now();
    const reqId = randomBytes(16).toString("hex");
    const host = req.headers.host ?? (req.headers[":authority"] as string | undefined) ?? req.socket.localAddress ?? "";
    const cookies = parseCookies(req.headers.cookie);
    const info: RequestInfo = {
      host,
      url: req.url ?? "/",
      scheme,
      header: (n) => {
        const v = req.headers[n.toLowerCase()];
        return Array.isArray(v) ? v.join(", ") : v;
      },
      cookie: (n) => cookies.get(n),
    };
    const log: AccessLogFields = {
      remoteAddr: req.socket.remoteAddress ?? "-",
      request: `${req.method} ${req.url} HTTP/${req.httpVersion}`,
      status: 0,
      bodyBytesSent: 0,
      referer: info.header("referer"),
      userAgent: info.header("user-agent"),
      requestLength: requestLength(req),
      requestTime: 0,
      upstreamName: "",
      alternativeName: "",
      upstreamAddr: [],
      upstreamResponseLength: [],
      upstreamResponseTime: [],
      upstreamStatus: [],
      reqId,
    };
    let logIt = true;
    res.on("finish", () => {
      log.requestTime = (performance.now() - start) / 1000;
      if (logIt) this.out(accessLogLine(log));
    });
    const body = await readBody(req).catch((e: Error) => e);
    if (body instanceof Error) {
      if (body.message === TOO_LARGE) return this.page(res, log, 413, {});
      // The client went away before its body arrived: nginx's 499, nothing to answer.
      log.status = 499;
      abort(res);
      this.out(accessLogLine({ ...log, requestTime: (performance.now() - start) / 1000 }));
      logIt = false;
      return;
    }
    log.requestLength += body.length;
    if (!this.table) return this.page(res, log, 503, {});
    const d = route(this.table, info, this.random);
    if (d.loc) log.upstreamName = d.loc.backend;
    logIt = d.loc?.accessLog ?? false;
    const hsts: Record<string, string> =
      scheme === "https" && this.config.hsts && d.server.certificate ? { "Strict-Transport-Security": `max-age=${this.config.hstsMaxAge}${this.config.hstsIncludeSubdomains ? "; includeSubDomains" : ""}` } : {};
    switch (d.kind) {
      case "redirect":
        return this.page(res, log, 308, { Location: d.location, ...hsts });
      case "default-backend":
        // The default backend is nginx's internal server on 127.0.0.1:8181 answering 404.
        log.upstreamName = DEFAULT_UPSTREAM;
        log.upstreamAddr.push("127.0.0.1:8181");
        log.upstreamResponseLength.push(String(Buffer.byteLength(errorPage(404))));
        log.upstreamResponseTime.push("0.000");
        log.upstreamStatus.push("404");
        return this.page(res, log, 404, hsts);
      case "unavailable":
        return this.page(res, log, 503, hsts);
      case "proxy":
        log.alternativeName = d.alternative;
        return this.proxy(req, res, body, d, info, port, log, hsts);
    }
  }

  private page(res: Res, log: AccessLogFields, code: number, headers: Record<string, string>): void {
    const page = errorPage(code);
    log.status = code;
    log.bodyBytesSent = Buffer.byteLength(page);
    writeHead(res, code, REASONS[code], { "Content-Type": "text/html", "Content-Length": String(Buffer.byteLength(page)), Connection: "keep-alive", ...headers });
    res.end(page);
  }

  private async proxy(req: Req, res: Res, body: Buffer, d: Extract<Decision, { kind: "proxy" }>, info: RequestInfo, port: number, log: AccessLogFields, extra: Record<string, string>): Promise<void> {
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k) && !k.startsWith("x-forwarded-") && !k.startsWith(":")) headers[k] = v;
    const remote = req.socket.remoteAddress ?? "";
    Object.assign(headers, {
      host: info.host,
      "x-request-id": log.reqId,
      "x-real-ip": remote,
      "x-forwarded-for": remote,
      "x-forwarded-host": info.host,
      "x-forwarded-port": String(port),
      "x-forwarded-proto": info.scheme,
      "x-forwarded-scheme": info.scheme,
      "x-scheme": info.scheme,
    });
    const original = info.header("x-forwarded-for");
    if (original) headers["x-original-forwarded-for"] = original;
    if (body.length > 0 || req.headers["content-length"] !== undefined) headers["content-length"] = String(body.length);
    const tried = new Set<string>();
    // Cookie affinity picks the first endpoint (and may set the cookie); retries go round robin.
    let sticky: ReturnType<typeof stickyPick> | undefined;
    if (d.target.affinity) {
      sticky = stickyPick(d.target, { host: info.host, scheme: info.scheme, locationPath: d.loc.path, cookie: info.cookie }, Date.now(), this.random);
      if (sticky.setCookie) extra = { ...extra, "Set-Cookie": sticky.setCookie };
    }
    for (let attempt = 0; attempt < PROXY_TRIES && tried.size < d.target.endpoints.length; attempt++) {
      let ep = attempt === 0 && sticky ? sticky.endpoint : this.rr.pick(d.target);
      while (tried.has(`${ep.address}:${ep.port}`)) ep = this.rr.pick(d.target);
      tried.add(`${ep.address}:${ep.port}`);
      const outcome = await this.forward(req, res, body, ep, d.uri, headers, log, extra);
      if (outcome === "done") return;
      log.upstreamStatus.push(outcome === "timeout" ? "504" : "502");
      if (outcome === "timeout") return this.page(res, log, 504, extra);
    }
    this.page(res, log, 502, extra);
  }

  /** One try: "done" once a response was relayed, else why it failed before one came. */
  private forward(req: Req, res: Res, body: Buffer, ep: Endpoint, uri: string, headers: Record<string, string | string[]>, log: AccessLogFields, extra: Record<string, string>): Promise<"done" | "error" | "timeout"> {
    const t0 = performance.now();
    log.upstreamAddr.push(`${ep.address}:${ep.port}`);
    return new Promise((resolve) => {
      let settled = false;
      const finish = (o: "done" | "error" | "timeout") => {
        if (settled) return;
        settled = true;
        if (o !== "done") {
          log.upstreamResponseLength.push("0");
          log.upstreamResponseTime.push(((performance.now() - t0) / 1000).toFixed(3));
        }
        resolve(o);
      };
      const up = httpRequest({ host: ep.address, port: ep.port, method: req.method, path: uri, headers, agent: this.agent, ...(this.sourceAddress ? { localAddress: this.sourceAddress } : {}) }, (ures) => {
        settled = true;
        const status = ures.statusCode ?? 502;
        const out: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(ures.headers)) if (v !== undefined && !HIDDEN_RESPONSE.has(k)) out[k] = v;
        writeHead(res, status, ures.statusMessage, { ...out, ...extra });
        let n = 0;
        ures.on("data", (c: Buffer) => {
          n += c.length;
          (res as { write(c: Buffer): boolean }).write(c);
        });
        ures.on("end", () => {
          log.status = status;
          log.bodyBytesSent = n;
          log.upstreamStatus.push(String(status));
          log.upstreamResponseLength.push(String(n));
          log.upstreamResponseTime.push(((performance.now() - t0) / 1000).toFixed(3));
          res.end();
          resolve("done");
        });
        ures.on("error", () => {
          abort(res);
          resolve("done");
        });
      });
      const connectTimer = setTimeout(() => {
        if (settled) return;
        finish("timeout");
        up.destroy();
      }, CONNECT_TIMEOUT_MS);
      up.on("socket", (s) => {
        const connected = () => clearTimeout(connectTimer);
        if (s.connecting) s.once("connect", connected);
        else connected();
      });
      up.setTimeout(READ_TIMEOUT_MS, () => {
        if (settled) return;
        finish("timeout");
        up.destroy();
      });
      up.on("error", () => {
        clearTimeout(connectTimer);
        finish("error");
      });
      up.end(body.length > 0 ? body : undefined);
    });
  }
}

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

/** HTTP/2 has no reason phrase and no connection-specific headers. */
const H2_FORBIDDEN = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);
function writeHead(res: Res, code: number, reason: string | undefined, headers: Record<string, string | string[]>): void {
  if ("stream" in res) {
    const h2: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(headers)) if (!H2_FORBIDDEN.has(k.toLowerCase())) h2[k] = v;
    res.writeHead(code, h2);
  } else res.writeHead(code, reason, headers);
}

function abort(res: Res): void {
  if ("stream" in res) res.stream.destroy();
  else res.destroy();
}

function readBody(req: Req): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on("data", (c: Buffer) => {
      n += c.length;
      if (n > MAX_BODY) {
        req.removeAllListeners("data");
        req.resume();
        reject(new Error(TOO_LARGE));
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** $request_length without the body: request line and header block as received. */
function requestLength(req: Req): number {
  let n = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`.length + 2;
  for (let i = 0; i < req.rawHeaders.length; i += 2) n += req.rawHeaders[i]!.length + 2 + req.rawHeaders[i + 1]!.length + 2;
  return n;
}
