/**
 * A tiny HTTP server that answers what real kubectl needs for `explain`, `create <generator>` and
 * `apply`: /version, legacy discovery, the OpenAPI documents under test, and POSTs (protobuf or
 * JSON bodies, decoded and echoed back as 201). Test-only; listens on 127.0.0.1 port 0.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { toStatus } from "@kubemu/common";
import { defaultResources, openApiV2Document, openApiV3Document, openApiV3Index, type OpenApiResource } from "../../src/openapi/index.js";
import { decodeProtobufBody, isProtobufContentType } from "../../src/protobuf/index.js";

/**
 * The real kubectl of a given minor (`kubectl.1.32`), found beside the `kubectl` dispatcher on PATH;
 * undefined when it is not installed.
 */
export function kubectlBinary(minor: number): string | undefined {
  try {
    const dispatcher = realpathSync(execFileSync("sh", ["-c", "command -v kubectl"], { encoding: "utf8" }).trim());
    const candidate = path.join(path.dirname(dispatcher), `kubectl.1.${minor}`);
    return existsSync(candidate) ? candidate : undefined;
  } catch {
    return undefined;
  }
}

export interface RecordedRequest {
  method: string;
  url: string;
  contentType: string | undefined;
  body: Buffer;
  /** The decoded object for POST/PUT bodies. */
  decoded?: unknown;
}

const SINGULAR_SHORT: Record<string, [string, string[]]> = {
  pods: ["pod", ["po"]],
  services: ["service", ["svc"]],
  deployments: ["deployment", ["deploy"]],
  configmaps: ["configmap", ["cm"]],
  namespaces: ["namespace", ["ns"]],
};

function resourceList(gv: string, resources: readonly OpenApiResource[]): unknown {
  const mine = resources.filter((r) => (r.group ? `${r.group}/${r.version}` : r.version) === gv);
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: gv,
    resources: mine.map((r) => {
      const [singular, shortNames] = SINGULAR_SHORT[r.plural] ?? [r.kind.toLowerCase(), []];
      return { name: r.plural, singularName: singular, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs ?? ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"], shortNames };
    }),
  };
}

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  /** Objects created through this server, by item URL path; GET returns them, PATCH leaves them as they are. */
  readonly objects = new Map<string, Record<string, unknown>>();
  private readonly server: http.Server;
  private readonly dir = mkdtempSync(path.join(os.tmpdir(), "kubemu-openapi-"));
  url = "";

  constructor(private readonly resources: readonly OpenApiResource[] = defaultResources) {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => this.handle(req, Buffer.concat(chunks), res));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    writeFileSync(
      this.kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: ${this.url}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    namespace: default\nusers:\n- name: u\n  user: {}\ncurrent-context: c\n`,
    );
    return this;
  }

  get kubeconfig(): string {
    return path.join(this.dir, "kubeconfig");
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Runs a kubectl binary against this server; resolves with its output whatever the exit code. */
  kubectl(binary: string, args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = execFile(
        binary,
        ["--kubeconfig", this.kubeconfig, "--cache-dir", path.join(this.dir, "cache"), ...args],
        { timeout: 60_000, killSignal: "SIGKILL", env: { ...process.env, KUBECONFIG: this.kubeconfig } },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      if (stdin !== undefined) child.stdin?.end(stdin);
    });
  }

  private handle(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): void {
    const url = new URL(req.url ?? "/", this.url);
    const rec: RecordedRequest = { method: req.method ?? "GET", url: url.pathname + url.search, contentType: req.headers["content-type"], body };
    this.requests.push(rec);
    const json = (code: number, obj: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(code, { "Content-Type": "application/json", ...headers });
      res.end(typeof obj === "string" || Buffer.isBuffer(obj) ? obj : JSON.stringify(obj));
    };
    const p = url.pathname;
    try {
      if (p === "/version") return json(200, { major: "1", minor: "32", gitVersion: "v1.32.0-kubemu", platform: "linux/amd64" });
      if (p === "/api") return json(200, { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: url.host }] });
      if (p === "/apis") {
        const groups = [...new Set(this.resources.filter((r) => r.group).map((r) => `${r.group}/${r.version}`))].map((gv) => {
          const [name, version] = gv.split("/") as [string, string];
          return { name, versions: [{ groupVersion: gv, version }], preferredVersion: { groupVersion: gv, version } };
        });
        return json(200, { kind: "APIGroupList", apiVersion: "v1", groups });
      }
      if (p === "/api/v1") return json(200, resourceList("v1", this.resources));
      const gvMatch = /^\/apis\/([^/]+)\/([^/]+)$/.exec(p);
      if (gvMatch) return json(200, resourceList(`${gvMatch[1]}/${gvMatch[2]}`, this.resources));
      if (p === "/openapi/v3") return json(200, openApiV3Index(this.resources).json);
      if (p.startsWith("/openapi/v3/")) {
        const doc = openApiV3Document(p.slice("/openapi/v3/".length), this.resources);
        if (!doc) return json(404, { kind: "Status", apiVersion: "v1", status: "Failure", code: 404, reason: "NotFound", message: "not found" });
        return json(200, doc.json, { ETag: doc.etag, "Cache-Control": "public, immutable" });
      }
      if (p === "/openapi/v2") {
        if (!(req.headers.accept ?? "").includes("json")) return json(406, { kind: "Status", apiVersion: "v1", status: "Failure", code: 406, reason: "NotAcceptable", message: "only JSON" });
        return json(200, openApiV2Document(this.resources).json);
      }
      if (req.method === "POST" || req.method === "PUT") {
        rec.decoded = isProtobufContentType(rec.contentType) ? decodeProtobufBody(body) : JSON.parse(body.toString("utf8"));
        const obj = rec.decoded as { metadata?: Record<string, unknown> };
        const stored = { ...obj, metadata: { ...obj.metadata, uid: "00000000-0000-0000-0000-000000000001", resourceVersion: "1", creationTimestamp: "2026-01-01T00:00:00Z" } };
        const itemPath = req.method === "POST" ? `${p}/${String(obj.metadata?.name)}` : p;
        if (!url.searchParams.has("dryRun")) this.objects.set(itemPath, stored);
        return json(req.method === "POST" ? 201 : 200, stored);
      }
      const existing = this.objects.get(p);
      if (existing && (req.method === "GET" || req.method === "PATCH")) {
        if (req.method === "PATCH") rec.decoded = JSON.parse(body.toString("utf8"));
        return json(200, existing);
      }
      if (req.method === "GET") return json(404, { kind: "Status", apiVersion: "v1", status: "Failure", code: 404, reason: "NotFound", message: `${p} not found`, details: {} });
      return json(405, { kind: "Status", apiVersion: "v1", status: "Failure", code: 405, reason: "MethodNotAllowed", message: "not here" });
    } catch (e) {
      const status = toStatus(e);
      return json(status.code, status);
    }
  }
}
