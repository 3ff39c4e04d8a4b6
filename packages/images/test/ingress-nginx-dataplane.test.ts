/**
 * ingress-nginx's data plane in process: HTTP and HTTPS listeners on loopback (127.232.200.x,
 * the ingress helper's range) in front of backends in the test: the headers the upstream sees,
 * the next endpoint after a refused connection, 502 when none answers, the upstreaminfo log line,
 * and the certificate the TLS handshake gets for each SNI name.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, request, type IncomingHttpHeaders, type Server } from "node:http";
import { connect, type PeerCertificate } from "node:tls";
import { connect as h2connect, type Http2SecureServer } from "node:http2";
import type { AddressInfo, Server as NetServer } from "node:net";
import { generate } from "selfsigned";
import { buildRoutingTable } from "../src/ingress-nginx/routing.js";
import { findServer } from "../src/ingress-nginx/match.js";
import { DataPlane } from "../src/ingress-nginx/server.js";
import { ContextCache, fakeCertificate } from "../src/ingress-nginx/certificates.js";
import type { EndpointSlice, Ingress, Secret, Service } from "../src/ingress-nginx/types.js";

const IP = "127.232.200.1";
const BACKEND = "127.232.200.2";
const DEAD = "127.232.200.3";
const CLIENT = "127.232.200.4";

const lines: string[] = [];
const plane = new DataPlane((l) => lines.push(l), IP);
let http: Server;
let https: Http2SecureServer;
let backend: Server;
let seen: { url: string; headers: IncomingHttpHeaders; remote: string }[] = [];

const listen = (s: NetServer, host: string, port = 0) => new Promise<number>((r) => s.listen(port, host, () => r((s.address() as AddressInfo).port)));

function get(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: IP, port, path, headers, localAddress: CLIENT }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

function peerCert(port: number, servername: string): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: IP, port, servername, rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate());
      s.end();
    });
    s.on("error", reject);
  });
}

let backendPort = 0;
let httpPort = 0;
let httpsPort = 0;

beforeAll(async () => {
  backend = createServer((req, res) => {
    seen.push({ url: req.url ?? "", headers: req.headers, remote: req.socket.remoteAddress ?? "" });
    res.writeHead(200, { "Content-Type": "text/plain", Server: "backend/1.0", "X-Backend": "yes" });
    res.end("hello from the pod\n");
  });
  backendPort = await listen(backend, BACKEND);
  const pair = await generate([{ name: "commonName", value: "secure.example" }], { keyType: "ec", algorithm: "sha256", extensions: [{ name: "subjectAltName", altNames: [{ type: 2, value: "secure.example" }] }] });
  const secret: Secret = { metadata: { name: "secure-tls", namespace: "default" }, type: "kubernetes.io/tls", data: { "tls.crt": Buffer.from(pair.cert).toString("base64"), "tls.key": Buffer.from(pair.private).toString("base64") } };
  const svc: Service = { metadata: { name: "web", namespace: "default" }, spec: { ports: [{ port: 80, targetPort: backendPort }] } };
  // The dead address first in the slice: round robin reaches it, the retry goes on to the live one.
  const slice: EndpointSlice = { metadata: { name: "web-1", namespace: "default" }, ports: [{ port: backendPort, protocol: "TCP" }], endpoints: [{ addresses: [DEAD] }, { addresses: [BACKEND] }] };
  const deadSvc: Service = { metadata: { name: "dead", namespace: "default" }, spec: { ports: [{ port: 80, targetPort: backendPort }] } };
  const deadSlice: EndpointSlice = { metadata: { name: "dead-1", namespace: "default" }, ports: [{ port: backendPort, protocol: "TCP" }], endpoints: [{ addresses: [DEAD] }] };
  const ing: Ingress = {
    metadata: { name: "web", namespace: "default", creationTimestamp: "2026-01-01T00:00:00Z" },
    spec: {
      tls: [{ hosts: ["secure.example"], secretName: "secure-tls" }],
      rules: [
        { host: "secure.example", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "web", port: { number: 80 } } } }] } },
        { host: "plain.example", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "web", port: { number: 80 } } } }, { path: "/dead", pathType: "Prefix", backend: { service: { name: "dead", port: { number: 80 } } } }] } },
      ],
    },
  };
  const stickyIng: Ingress = {
    metadata: { name: "sticky", namespace: "default", creationTimestamp: "2026-01-01T00:00:01Z", annotations: { "nginx.ingress.kubernetes.io/affinity": "cookie", "nginx.ingress.kubernetes.io/session-cookie-name": "route" } },
    spec: { rules: [{ host: "sticky.example", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "solo", port: { number: 80 } } } }] } }] },
  };
  const solo: Service = { metadata: { name: "solo", namespace: "default" }, spec: { ports: [{ port: 80, targetPort: backendPort }] } };
  const soloSlice: EndpointSlice = { metadata: { name: "solo-1", namespace: "default" }, ports: [{ port: backendPort, protocol: "TCP" }], endpoints: [{ addresses: [BACKEND] }] };
  plane.table = buildRoutingTable({
    ingresses: [ing, stickyIng],
    services: new Map([["default/web", svc], ["default/dead", deadSvc], ["default/solo", solo]]),
    endpointSlices: new Map([["default/web", [slice]], ["default/dead", [deadSlice]], ["default/solo", [soloSlice]]]),
    secrets: new Map([["default/secure-tls", secret]]),
  });
  const fake = await fakeCertificate();
  const contexts = new ContextCache(fake);
  http = plane.httpServer();
  https = plane.httpsServer(fake, (name) => contexts.contextFor(findServer(plane.table!, name).certificate, () => undefined));
  httpPort = await listen(http, IP);
  httpsPort = await listen(https, IP);
});

afterAll(async () => {
  for (const s of [http, backend]) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  await new Promise((r) => https.close(r));
});

describe("the ingress-nginx data plane", () => {
  it("proxies to the endpoint's IP with ingress-nginx's headers, skipping a refused endpoint, and hides the backend's Server", async () => {
    seen = [];
    lines.length = 0;
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await get(httpPort, "/a?b=1", { Host: "plain.example", "X-Forwarded-For": "10.0.0.9", "User-Agent": "test/1" }));
    for (const r of results) {
      expect(r.status).toBe(200);
      expect(r.body).toBe("hello from the pod\n");
      expect(r.headers.server).toBeUndefined();
      expect(r.headers["x-backend"]).toBe("yes");
    }
    expect(seen).toHaveLength(4);
    const h = seen[0]!.headers;
    expect(seen[0]!.url).toBe("/a?b=1");
    expect(h.host).toBe("plain.example");
    expect(h["x-real-ip"]).toBe(CLIENT);
    expect(h["x-forwarded-for"]).toBe(CLIENT);
    // As from the controller pod: the connection to the endpoint comes from its IP.
    expect(seen[0]!.remote).toBe(IP);
    expect(h["x-original-forwarded-for"]).toBe("10.0.0.9");
    expect(h["x-forwarded-host"]).toBe("plain.example");
    expect(h["x-forwarded-port"]).toBe("80");
    expect(h["x-forwarded-proto"]).toBe("http");
    expect(h["x-scheme"]).toBe("http");
    expect(h["x-request-id"]).toMatch(/^[0-9a-f]{32}$/);
    // Round robin visits the dead endpoint in turn: that request's log line lists both tries.
    const retried = lines.find((l) => l.includes(`${DEAD}:${backendPort}, ${BACKEND}:${backendPort}`));
    expect(retried).toMatch(new RegExp(`^${CLIENT.replace(/\./g, "\\.")} - - \\[[^\\]]+\\] "GET /a\\?b=1 HTTP/1\\.1" 200 19 "-" "test/1" \\d+ \\d+\\.\\d{3} \\[default-web-80\\] \\[\\] ${DEAD.replace(/\./g, "\\.")}:${backendPort}, ${BACKEND.replace(/\./g, "\\.")}:${backendPort} 0, 19 \\d+\\.\\d{3}, \\d+\\.\\d{3} 502, 200 [0-9a-f]{32}$`));
  });

  it("a body over client_max_body_size (1m) is 413 without reaching the pod", async () => {
    seen = [];
    const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: IP, port: httpPort, path: "/upload", method: "POST", headers: { Host: "plain.example" }, localAddress: CLIENT }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end(Buffer.alloc(1024 * 1024 + 1, 97));
    });
    expect(r.status).toBe(413);
    expect(r.body).toContain("<title>413 Request Entity Too Large</title>");
    expect(seen).toHaveLength(0);
  });

  it("cookie affinity: the first answer sets the cookie, a request carrying it gets none", async () => {
    const first = await get(httpPort, "/", { Host: "sticky.example" });
    expect(first.status).toBe(200);
    const cookie = first.headers["set-cookie"]?.[0] ?? "";
    expect(cookie).toMatch(/^route=[\d.]+\|[0-9a-f]{32}; Path=\/; HttpOnly$/);
    const again = await get(httpPort, "/", { Host: "sticky.example", Cookie: cookie.split(";")[0]! });
    expect(again.status).toBe(200);
    expect(again.headers["set-cookie"]).toBeUndefined();
  });

  it("502 Bad Gateway when no endpoint answers", async () => {
    const r = await get(httpPort, "/dead", { Host: "plain.example" });
    expect(r.status).toBe(502);
    expect(r.body).toContain("<title>502 Bad Gateway</title>");
  });

  it("308 to https for a host with its own certificate; the 404 default backend otherwise", async () => {
    const r = await get(httpPort, "/x/", { Host: "secure.example" });
    expect(r.status).toBe(308);
    expect(r.headers.location).toBe("https://secure.example/x");
    const nf = await get(httpPort, "/", { Host: "unknown.example" });
    expect(nf.status).toBe(404);
    expect(nf.headers["content-length"]).toBe("146");
  });

  it("HTTPS speaks h2 by ALPN: the same routing, no reason phrase, the log line says HTTP/2.0", async () => {
    lines.length = 0;
    const session = h2connect(`https://${IP}:${httpsPort}`, { servername: "plain.example", rejectUnauthorized: false });
    const r = await new Promise<{ status: number; body: string; server?: string }>((resolve, reject) => {
      const st = session.request({ ":path": "/h2", ":authority": "plain.example" });
      let body = "";
      let status = 0;
      let server: string | undefined;
      st.on("response", (h) => {
        status = Number(h[":status"]);
        server = h.server as string | undefined;
      });
      st.setEncoding("utf8");
      st.on("data", (c: string) => (body += c));
      st.on("end", () => resolve({ status, body, ...(server ? { server } : {}) }));
      st.on("error", reject);
      st.end();
    });
    session.close();
    expect(r).toEqual({ status: 200, body: "hello from the pod\n" });
    expect(seen.at(-1)!.headers.host).toBe("plain.example");
    expect(seen.at(-1)!.headers["x-forwarded-proto"]).toBe("https");
    await new Promise((res) => setTimeout(res, 20));
    expect(lines.some((l) => l.includes('"GET /h2 HTTP/2.0" 200 19'))).toBe(true);
  });

  it("SNI: the Secret's certificate for its host, the fake certificate for any other name", async () => {
    expect((await peerCert(httpsPort, "secure.example")).subject.CN).toBe("secure.example");
    const other = await peerCert(httpsPort, "plain.example");
    expect(other.subject.CN).toBe("Kubernetes Ingress Controller Fake Certificate");
    expect(other.subject.O).toBe("Acme Co");
    expect(other.subjectaltname).toBe("DNS:ingress.local");
  });
});
