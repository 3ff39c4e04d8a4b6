/**
 * The API server's HTTP front: routing of /version, health, metrics, discovery, OpenAPI, the
 * kubemu control endpoints, the internal wire API and the REST resources. Every failure is
 * answered with a Status; nothing a client sends can take the process down.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Duplex } from "node:stream";
import type { AddressInfo } from "node:net";
import { FaultInjector, handleControlRequest, toStatus, type ProcessStatus, type Status } from "@kubemu/common";
import { OPENAPI_V2_PROTOBUF, openApiV2Document, openApiV2Protobuf, openApiV3Document, openApiV3Index, unknownFields, type SerializedDocument } from "../openapi/index.js";
import { decodeProtobufBody } from "../protobuf/index.js";
import type { ServerContext } from "../rest/context.js";
import type { ResourceApi } from "../rest/resource-api.js";
import { methodNotAllowed, notFoundPath } from "../rest/errors.js";
import { parseRequestPath, type RequestInfo } from "./request-info.js";
import { errorStatusOf, sendBytes, sendError, sendJson } from "./respond.js";
import { decodeObjectBody, readBody } from "./body.js";
import { aggregatedDiscovery, apiGroup, apiGroupList, apiResourceList, apiVersions, wantsAggregated } from "./discovery.js";
import { ApiMetrics } from "./metrics.js";
import { ANONYMOUS, authenticate, type TokenAuthenticator, type UserInfo } from "./authn.js";
import { CachedTokenAuthenticator } from "./token-cache.js";
import { answerReview, isReview } from "./reviews.js";
import { requestAttributes } from "../auth/attributes.js";
import { AUTHENTICATED, forbiddenError } from "../auth/authorizer.js";
import { distinctHeaders, impersonate } from "../auth/impersonation.js";
import type { Authorization } from "../auth/authorization.js";
import type { WireUsers } from "../auth/wire-authorization.js";
import type { ServiceAccountTokens } from "../serviceaccount/index.js";
import { handleResource } from "../handlers/resource.js";
import type { Auditor } from "../audit/auditor.js";
import { audited, sourceIp } from "../audit/event.js";
import { handlePodLog } from "../handlers/pod-log.js";
import { proxyPodUpgrade, refuseWithoutUpgrade } from "../handlers/pod-upgrade.js";
import { kubeletClient, type KubeletClient, type KubeletClientTls } from "../handlers/kubelet-client.js";

export const SERVER_VERSION = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.4-kubemu",
  gitCommit: "kubemu",
  gitTreeState: "clean",
  buildDate: "2025-01-01T00:00:00Z",
  goVersion: "node",
  compiler: "tsc",
  platform: `${process.platform}/${process.arch === "x64" ? "amd64" : process.arch}`,
};

/** Where the internal wire API is attached (see ApiServer). */
export const WIRE_PATH = "/kubemu/wire";

export interface HttpFrontOptions {
  ctx: ServerContext;
  /** The verbs on declared resources (shared with the internal wire API). */
  api: ResourceApi;
  name: string;
  faults: FaultInjector;
  metrics: ApiMetrics;
  /** Readiness: false until bootstrap finished and while the store is unreachable. */
  ready: () => boolean;
  status: () => ProcessStatus | Promise<ProcessStatus>;
  /** Serve HTTPS with these PEMs (ca: verify client certificates when presented). */
  tls?: { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer };
  /**
   * With tls: also serve plain HTTP on this port of the same address, for unauthenticated probes
   * only: GET /healthz, /livez, /readyz and /version (upstream's public paths); anything else is 403.
   */
  insecurePort?: number;
  /** Service account tokens: bearer authentication and POST serviceaccounts/<name>/token. */
  tokens?: ServiceAccountTokens;
  /** Who may do what (RBAC); every request is judged after authentication. */
  authorization: Authorization;
  /** Where wire connections' users are kept for the per-request checks of the wire API. */
  wireUsers: WireUsers;
  /** Audit events of every request (--audit-log-path); none when unset. */
  auditor?: Auditor;
  /** The client certificate kubelets are reached with (HTTPS); without it, plain HTTP. */
  kubeletClientTls?: KubeletClientTls;
}

export class HttpFront {
  /** The main listener (HTTPS when TLS is configured). */
  readonly server: Server;
  /** Plain-HTTP listener beside an HTTPS one that answers only the public probes (PROBE_PATHS). */
  readonly insecureServer: Server | undefined;
  private readonly v3Docs = new Map<string, SerializedDocument>();
  private readonly kubelet: KubeletClient;
  private readonly tokenAuth: TokenAuthenticator | undefined;

  constructor(private readonly o: HttpFrontOptions) {
    this.kubelet = kubeletClient(o.kubeletClientTls);
    this.tokenAuth = o.tokens && new CachedTokenAuthenticator(o.tokens, o.ctx.clock);
    o.ctx.registry.onChange(() => this.v3Docs.clear()); // CRDs change the served group versions
    const handler = (probeOnly: boolean) => (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res, probeOnly).catch((e) => {
        o.ctx.log.error({ err: e instanceof Error ? (e.stack ?? e.message) : String(e) }, "request handler failed");
        sendError(req, res, e);
      });
    };
    const onRequest = handler(false);
    const common = { requestTimeout: 0, keepAliveTimeout: 65_000 };
    // An https.Server emits the same request/upgrade events; the wire server attaches to either.
    this.server = o.tls
      ? (createHttpsServer(
          { ...common, cert: o.tls.cert, key: o.tls.key, ...(o.tls.ca ? { ca: o.tls.ca, requestCert: true, rejectUnauthorized: false } : {}) },
          onRequest,
        ) as unknown as Server)
      : createServer(common, onRequest);
    this.insecureServer = o.tls && o.insecurePort !== undefined ? createServer(common, handler(true)) : undefined;
    for (const server of this.servers()) {
      // Upgrades other than the wire API (exec/attach/port-forward until the kubelet serves them)
      // get a Status instead of a socket left hanging. The probe port upgrades nothing.
      const probeOnly = server === this.insecureServer;
      server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.upgrade(req, socket, head, probeOnly));
      server.on("clientError", (_e, socket) => {
        if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
        else socket.destroy();
      });
    }
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, probeOnly: boolean): Promise<void> {
    const url = new URL(req.url ?? "/", "http://apiserver");
    const audit = this.auditUpgrade(req, url);
    let status: Status;
    try {
      if (probeOnly) {
        audit.who.authenticated = ANONYMOUS;
        throw probePortForbidden(req.method ?? "GET", url);
      }
      const user = await this.identify(req, audit.who);
      audit.who.user = user;
      // A wire connection carries many requests, each authorized on its own (auth/wire-authorization.ts);
      // opening one only takes an authenticated user.
      if (!user.groups.includes(AUTHENTICATED)) throw forbiddenError(user, requestAttributes(req.method ?? "GET", url.pathname, parseRequestPath(url.pathname), url.searchParams), "");
      if (url.pathname === WIRE_PATH && this.wireUpgrade) {
        this.o.wireUsers.set(req, user);
        audit.done(101);
        return this.wireUpgrade(req, socket, head);
      }
      const info = parseRequestPath(url.pathname);
      if (info.kind === "resource" && info.group === "" && info.resource === "pods" && (info.subresource === "exec" || info.subresource === "attach" || info.subresource === "portforward") && info.namespace !== undefined && info.name !== undefined) {
        // Upstream authorizes the WebSocket GET as create on pods/exec (pods/attach, pods/portforward), as the SPDY POST.
        this.o.authorization.check(user, requestAttributes("POST", url.pathname, info, url.searchParams));
        const { namespace, name, subresource } = info;
        await this.o.authorization.runAs(user, () => proxyPodUpgrade(req, socket, head, this.o.api, namespace, name, subresource, this.kubelet));
        audit.done(101);
        return;
      }
      status = toStatus(notFoundPath());
    } catch (e) {
      status = toStatus(e);
    }
    audit.done(status.code, status);
    const body = JSON.stringify(status);
    socket.end(`HTTP/1.1 ${status.code} ${STATUS_CODES[status.code] ?? ""}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  }

  /**
   * The user a request acts as: authenticated, then impersonated when it asks to be (each
   * impersonation authorized for the authenticated user).
   */
  private async identify(req: IncomingMessage, who?: { authenticated?: UserInfo }): Promise<UserInfo> {
    const user = await authenticate(req, this.tokenAuth);
    if (who) who.authenticated = user;
    const authz = this.o.authorization;
    if (!authz.canDecideNow(user)) await authz.waitForSync();
    return impersonate(distinctHeaders(req.headersDistinct), user, authz.authorizer);
  }

  /**
   * The audit event of an upgrade (exec, attach, port-forward, a wire connection): 101 once the
   * connection is handed over, else the Status it was refused with. exec/attach/portforward are
   * audited as creates of the subresource, as upstream authorizes them.
   */
  private auditUpgrade(req: IncomingMessage, url: URL): { who: { authenticated?: UserInfo; user?: UserInfo }; done(code: number, status?: Status): void } {
    const who: { authenticated?: UserInfo; user?: UserInfo } = {};
    const auditor = this.o.auditor;
    if (!auditor) return { who, done: () => undefined };
    const rec = auditor.begin();
    const info = parseRequestPath(url.pathname);
    const asCreate = info.kind === "resource" && info.subresource !== undefined;
    let written = false;
    return {
      who,
      done: (code, status) => {
        if (written) return;
        written = true;
        if (who.authenticated) rec.user = who.authenticated;
        if (who.user) rec.impersonatedUser = who.user;
        if (status) rec.status = { message: status.message, reason: status.reason };
        auditor.complete(
          rec,
          {
            requestURI: req.url ?? "/",
            attrs: requestAttributes(asCreate ? "POST" : (req.method ?? "GET"), url.pathname, info, url.searchParams),
            ...(info.kind === "resource" ? { apiVersion: info.version } : {}),
            sourceIPs: sourceIp(req.socket.remoteAddress),
            ...(req.headers["user-agent"] ? { userAgent: req.headers["user-agent"] } : {}),
          },
          code,
        );
      },
    };
  }

  /** Starts the audit event of an HTTP request; it is written when the response is done (watches: when they end). */
  private auditRequest(req: IncomingMessage, res: ServerResponse, url: URL, info: RequestInfo): { authenticated?: UserInfo; user?: UserInfo } {
    const who: { authenticated?: UserInfo; user?: UserInfo } = {};
    const auditor = this.o.auditor;
    if (!auditor || !audited(url.pathname)) return who;
    const rec = auditor.begin();
    res.setHeader("Audit-Id", rec.id);
    res.once("close", () => {
      if (who.authenticated) rec.user = who.authenticated;
      if (who.user) rec.impersonatedUser = who.user;
      const status = errorStatusOf(res);
      if (status) rec.status = { message: status.message, reason: status.reason };
      const attrs = requestAttributes(req.method ?? "GET", url.pathname, info, url.searchParams);
      auditor.complete(
        rec,
        {
          requestURI: req.url ?? "/",
          attrs,
          ...(info.kind === "resource" ? { apiVersion: info.version } : {}),
          sourceIPs: sourceIp(req.socket.remoteAddress),
          ...(req.headers["user-agent"] ? { userAgent: req.headers["user-agent"] } : {}),
        },
        res.writableFinished ? res.statusCode : status?.code ?? res.statusCode,
      );
    });
    return who;
  }

  /** Upgrades to the internal wire API, once authenticated and authorized, go here. */
  wireUpgrade: ((req: IncomingMessage, socket: Duplex, head: Buffer) => void) | undefined;

  /** Every listener. */
  servers(): Server[] {
    return this.insecureServer ? [this.server, this.insecureServer] : [this.server];
  }

  /** Listens on host:port (and the insecure port when configured); returns the main address. */
  async listen(host: string, port: number): Promise<AddressInfo> {
    const bind = (server: Server, p: number) =>
      new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(p, host, () => {
          server.off("error", reject);
          resolve();
        });
      });
    await bind(this.server, port);
    if (this.insecureServer) await bind(this.insecureServer, this.o.insecurePort!);
    return this.server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.servers().map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse, probeOnly: boolean): Promise<void> {
    const start = process.hrtime.bigint();
    const url = new URL(req.url ?? "/", "http://apiserver");
    const path = url.pathname;
    const info = parseRequestPath(path);
    const who = this.auditRequest(req, res, url, info);
    let user: UserInfo;
    try {
      if (probeOnly) {
        // No credential can be checked here, so nothing but the public probes is answered, for
        // anyone, whatever RBAC grants system:anonymous.
        who.authenticated = ANONYMOUS;
        if (!isProbe(req.method ?? "GET", path)) throw probePortForbidden(req.method ?? "GET", url);
        user = ANONYMOUS;
      } else user = await this.identify(req, who);
      who.user = user;
      const authz = this.o.authorization;
      if (!authz.canDecideNow(user)) await authz.waitForSync();
      authz.check(user, requestAttributes(req.method ?? "GET", path, info, url.searchParams));
    } catch (e) {
      sendError(req, res, e);
      return;
    }
    if (handleControlRequest(req, res, { faults: this.o.faults, status: this.o.status, logger: this.o.ctx.log })) return;
    const labels = { verb: (req.method ?? "GET").toUpperCase(), group: "", version: "", resource: "", subresource: "" };
    let code = 200;
    try {
      const verb = await this.o.authorization.runAs(user, () => this.route(req, res, url, path, info, labels, user));
      if (verb) labels.verb = verb.toUpperCase();
      code = res.statusCode;
    } catch (e) {
      const status = sendError(req, res, e);
      code = status.code;
      if (status.code >= 500) this.o.ctx.log.warn({ path, method: req.method, status: status.message }, "request failed");
    } finally {
      this.o.metrics.requests.inc({ ...labels, code: String(code) });
      if (labels.verb !== "WATCH") this.o.metrics.latency.observe(labels, Number(process.hrtime.bigint() - start) / 1e9);
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL, path: string, info: RequestInfo, labels: Record<string, string>, user: UserInfo): Promise<string | undefined> {
    const method = req.method ?? "GET";
    const isRead = method === "GET" || method === "HEAD";
    switch (path) {
      case "/version":
      case "/version/":
        if (!isRead) throw notFoundPath();
        sendJson(req, res, 200, SERVER_VERSION);
        return;
      case "/healthz":
      case "/livez":
        res.writeHead(200, { "content-type": "text/plain; charset=utf-8" }).end("ok");
        return;
      case "/readyz":
        if (this.o.ready()) res.writeHead(200, { "content-type": "text/plain; charset=utf-8" }).end("ok");
        else res.writeHead(503, { "content-type": "text/plain; charset=utf-8" }).end("[-]kubemu-ready failed: not ready\nreadyz check failed");
        return;
      case "/metrics": {
        const body = await this.o.metrics.registry.metrics();
        sendBytes(req, res, 200, this.o.metrics.registry.contentType, Buffer.from(body));
        return;
      }
      case "/openapi/v2":
        // kubectl's client-side validation reads the protobuf form (see openapi/v2-protobuf.ts).
        if (/protobuf/.test(req.headers.accept ?? "") && !/json/.test(req.headers.accept ?? "")) {
          const doc = openApiV2Document(this.o.ctx.registry.resources);
          sendBytes(req, res, 200, OPENAPI_V2_PROTOBUF, openApiV2Protobuf(doc), { etag: doc.etag });
          return;
        }
        this.sendDocument(req, res, openApiV2Document(this.o.ctx.registry.resources));
        return;
      case "/openapi/v3":
      case "/openapi/v3/":
        this.sendDocument(req, res, openApiV3Index(this.o.ctx.registry.resources));
        return;
      case "/":
        sendJson(req, res, 200, { paths: rootPaths(this.o.ctx.registry.groupVersions()) });
        return;
    }
    if (path.startsWith("/healthz/") || path.startsWith("/livez/") || path.startsWith("/readyz/")) {
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8" }).end("ok");
      return;
    }
    if (path.startsWith("/openapi/v3/")) {
      const gv = path.slice("/openapi/v3/".length);
      let doc = this.v3Docs.get(gv);
      if (!doc) {
        const groupVersion = gv.startsWith("api/") ? gv.slice(4) : gv.startsWith("apis/") ? gv.slice(5) : undefined;
        doc = groupVersion ? openApiV3Document(groupVersion, this.o.ctx.registry.resources) : undefined;
        if (!doc) throw notFoundPath();
        this.v3Docs.set(gv, doc);
      }
      this.sendDocument(req, res, doc);
      return;
    }
    const registry = this.o.ctx.registry;
    switch (info.kind) {
      case "other":
        throw notFoundPath();
      case "apiVersions":
        if (!isRead) throw notFoundPath();
        return this.discovery(req, res, aggregatedDiscovery(registry, true), apiVersions(req.headers.host ?? "127.0.0.1:6443"));
      case "apiGroups":
        if (!isRead) throw notFoundPath();
        return this.discovery(req, res, aggregatedDiscovery(registry, false), apiGroupList(registry));
      case "apiGroup": {
        const doc = apiGroup(registry, info.group);
        if (!doc || !isRead) throw notFoundPath();
        sendJson(req, res, 200, doc);
        return;
      }
      case "resourceList": {
        const doc = apiResourceList(registry, info.group, info.version);
        if (!doc || !isRead) throw notFoundPath();
        sendJson(req, res, 200, doc);
        return;
      }
      case "resource": {
        labels.group = info.group;
        labels.version = info.version;
        labels.resource = info.resource;
        labels.subresource = info.subresource ?? "";
        if (info.group === "" && info.resource === "serviceaccounts" && info.subresource === "token" && info.namespace !== undefined && info.name !== undefined) {
          if (req.method !== "POST") throw methodNotAllowed();
          if (!this.o.tokens) throw notFoundPath();
          const body = decodeObjectBody(await readBody(req), req.headers["content-type"], decodeProtobufBody);
          sendJson(req, res, 201, await this.o.tokens.request(info.namespace, info.name, body));
          return "create";
        }
        if (info.group === "" && info.resource === "pods" && info.subresource === "log" && info.namespace !== undefined && info.name !== undefined) {
          return handlePodLog(req, res, this.o.api, info.namespace, info.name, url.searchParams, this.kubelet);
        }
        if (info.group === "" && info.resource === "pods" && (info.subresource === "exec" || info.subresource === "attach" || info.subresource === "portforward") && info.namespace !== undefined && info.name !== undefined) {
          return refuseWithoutUpgrade(this.o.api, info.namespace, info.name);
        }
        if (isReview(info)) {
          const body = req.method === "POST" ? decodeObjectBody(await readBody(req), req.headers["content-type"], decodeProtobufBody) : undefined;
          sendJson(req, res, 201, answerReview(info, req.method ?? "GET", body, user, new Date(this.o.ctx.clock.now()), this.o.authorization));
          return "create";
        }
        return handleResource(req, res, info, url, {
          ctx: this.o.ctx,
          api: this.o.api,
          protobuf: (bytes) => decodeProtobufBody(bytes),
          unknownFields: (def, obj) => (def.unknownFields ? def.unknownFields(obj) : unknownFields({ group: def.group, version: def.version, kind: def.kind }, obj)),
          onWatchEnd: (def, n) => this.o.metrics.watchEvents.inc({ group: def.group, version: def.version, kind: def.kind }, n),
        });
      }
    }
  }

  private discovery(req: IncomingMessage, res: ServerResponse, aggregated: unknown, legacy: unknown): undefined {
    const ct = wantsAggregated(req.headers.accept);
    if (ct) {
      const body = { ...(aggregated as Record<string, unknown>), apiVersion: ct.includes("v2beta1") ? "apidiscovery.k8s.io/v2beta1" : "apidiscovery.k8s.io/v2" };
      sendJson(req, res, 200, body, ct);
    } else sendJson(req, res, 200, legacy);
    return undefined;
  }

  private sendDocument(req: IncomingMessage, res: ServerResponse, doc: SerializedDocument): void {
    if (req.headers["if-none-match"] === doc.etag) {
      res.writeHead(304, { etag: doc.etag }).end();
      return;
    }
    sendBytes(req, res, 200, "application/json", doc.json, { etag: doc.etag });
  }
}

/** The root document's paths, sorted as upstream lists them: every group and group version. */
function rootPaths(gvs: readonly { group: string; version: string }[]): string[] {
  const named = gvs.filter((g) => g.group);
  const paths = new Set(["/api", "/api/v1", "/apis", "/apis/", "/healthz", "/livez", "/metrics", "/openapi/v2", "/openapi/v3", "/openapi/v3/", "/readyz", "/version"]);
  for (const g of named) paths.add(`/apis/${g.group}`).add(`/apis/${g.group}/${g.version}`);
  return [...paths].sort();
}

/** What the plain-HTTP probe port (--insecure-port beside TLS) answers: upstream's public paths. */
export const PROBE_PATHS: ReadonlySet<string> = new Set(["/healthz", "/livez", "/readyz", "/version", "/version/"]);

function isProbe(method: string, path: string): boolean {
  return (method === "GET" || method === "HEAD") && PROBE_PATHS.has(path);
}

/** The 403 of anything else on the probe port, in the words anonymous gets on the TLS port. */
function probePortForbidden(method: string, url: URL): Error {
  return forbiddenError(ANONYMOUS, requestAttributes(method, url.pathname, parseRequestPath(url.pathname), url.searchParams), "");
}
