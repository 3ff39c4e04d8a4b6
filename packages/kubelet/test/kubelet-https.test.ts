/**
 * The kubelet's HTTPS port as `up` sets it up: a serving certificate from the cluster CA, and
 * only the API servers' kubelet client certificate let through to the streaming and log
 * endpoints (real TLS on 127.1.206.1; the certificates are made as cli/src/pki.ts makes them).
 */
import { request, type RequestOptions } from "node:https";
import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCertificateAuthority, FaultInjector, issueCertificate, SeededRng, startComponentServer, type ComponentServer, type KeyPair } from "@kubemu/common";
import { decide, kubeletGuard, kubeletSubresource } from "../src/streaming/authn.js";

const HOST = "127.1.206.1";
let server: ComponentServer;
let ca: KeyPair;
let apiserverClient: KeyPair;
let nodeClient: KeyPair;
let foreignClient: KeyPair;

beforeAll(async () => {
  const now = new Date();
  ca = await createCertificateAuthority("kubemu-ca", now, 30);
  const serving = await issueCertificate(ca, { commonName: "kubemu", use: { kind: "server", dnsNames: ["kubemu"], ips: [HOST] }, validDays: 30 }, now);
  apiserverClient = await issueCertificate(ca, { commonName: "kube-apiserver-kubelet-client", organizations: ["system:masters"], use: { kind: "client" }, validDays: 30 }, now);
  nodeClient = await issueCertificate(ca, { commonName: "system:node:kubemu", organizations: ["system:nodes"], use: { kind: "client" }, validDays: 30 }, now);
  const otherCa = await createCertificateAuthority("someone-else", now, 30);
  foreignClient = await issueCertificate(otherCa, { commonName: "kube-apiserver-kubelet-client", organizations: ["system:masters"], use: { kind: "client" }, validDays: 30 }, now);
  server = await startComponentServer({
    host: HOST,
    port: 10250,
    status: () => ({ name: "kubelet-test", pid: process.pid }),
    faults: new FaultInjector({ rng: new SeededRng(1) }),
    tls: { cert: serving.cert, key: serving.key, ca: ca.cert },
    guard: kubeletGuard(),
    routes: { "/containerLogs/": (_req, res) => res.writeHead(200).end("log line\n") },
    upgrades: { "/exec/": (_req, socket) => socket.end("HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n") },
  });
});
afterAll(async () => {
  await server?.close();
});

function get(path: string, client: KeyPair | undefined, extra: RequestOptions = {}): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: HOST, port: 10250, path, ca: ca.cert, ...(client ? { cert: client.cert, key: client.key } : {}), agent: false, ...extra }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ code: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** The first response line and body of an upgrade request written by hand over TLS. */
function upgrade(path: string, client: KeyPair | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port: 10250, ca: ca.cert, ...(client ? { cert: client.cert, key: client.key } : {}) }, () => {
      socket.write(`GET ${path} HTTP/1.1\r\nhost: ${HOST}\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
    });
    let text = "";
    socket.on("data", (d: Buffer) => (text += d.toString()));
    socket.on("end", () => resolve(text));
    socket.on("error", reject);
  });
}

describe("the kubelet's :10250 over HTTPS", () => {
  it("serves the API servers' kubelet client certificate", async () => {
    expect(server.url).toBe(`https://${HOST}:10250`);
    expect(await get("/containerLogs/default/p/c", apiserverClient)).toEqual({ code: 200, body: "log line\n" });
    expect(await upgrade("/exec/default/p/c?command=true", apiserverClient)).toMatch(/^HTTP\/1.1 101 /);
  });

  it("answers 401 without a client certificate, or with one from another CA", async () => {
    expect(await get("/containerLogs/default/p/c", undefined)).toEqual({ code: 401, body: "Unauthorized" });
    expect(await get("/containerLogs/default/p/c", foreignClient)).toEqual({ code: 401, body: "Unauthorized" });
    expect(await get("/healthz", undefined)).toEqual({ code: 401, body: "Unauthorized" });
    expect(await upgrade("/exec/default/p/c?command=sh", undefined)).toMatch(/^HTTP\/1.1 401 Unauthorized\r\n[\s\S]*\r\n\r\nUnauthorized$/);
    expect(await upgrade("/attach/default/p/c?stdin=true", undefined)).toMatch(/^HTTP\/1.1 401 /);
  });

  it("answers 403 in the kubelet's words to another identity from the cluster CA (a node's own certificate)", async () => {
    expect(await get("/containerLogs/default/p/c", nodeClient)).toEqual({ code: 403, body: "Forbidden (user=system:node:kubemu, verb=get, resource=nodes, subresource=proxy)" });
    expect(await get("/metrics/resource", nodeClient)).toEqual({ code: 403, body: "Forbidden (user=system:node:kubemu, verb=get, resource=nodes, subresource=metrics)" });
    expect(await upgrade("/exec/default/p/c?command=sh", nodeClient)).toMatch(/^HTTP\/1.1 403 Forbidden\r\n[\s\S]*Forbidden \(user=system:node:kubemu, verb=get, resource=nodes, subresource=proxy\)$/);
  });
});

describe("the kubelet's authorization", () => {
  it("maps paths to upstream's nodes subresources", () => {
    expect(kubeletSubresource("/stats/summary")).toBe("stats");
    expect(kubeletSubresource("/metrics/resource")).toBe("metrics");
    expect(kubeletSubresource("/logs/")).toBe("log");
    expect(kubeletSubresource("/exec/a/b/c")).toBe("proxy");
    expect(kubeletSubresource("/portForward/a/b")).toBe("proxy");
    expect(kubeletSubresource("/statsx")).toBe("proxy");
  });

  it("without an authorizer lets only system:masters and the kubelet client identity through, with verbs from the method", async () => {
    expect(await decide({ name: "kubernetes-admin", groups: ["system:masters"] }, "POST", "/exec/a/b/c")).toBeUndefined();
    expect(await decide({ name: "kube-apiserver-kubelet-client", groups: [] }, "GET", "/containerLogs/a/b/c")).toBeUndefined();
    expect(await decide({ name: "jane", groups: ["dev"] }, "POST", "/portForward/a/b")).toEqual({ code: 403, body: "Forbidden (user=jane, verb=create, resource=nodes, subresource=proxy)" });
    expect(await decide(undefined, "GET", "/")).toEqual({ code: 401, body: "Unauthorized" });
  });
});
