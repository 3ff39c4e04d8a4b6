/**
 * How the API server dials kubelets: HTTPS presenting the kubelet client certificate, the
 * kubelet's serving certificate checked against --kubelet-certificate-authority (a TLS server on
 * 127.1.206.2 stands in for a kubelet); plain HTTP without a certificate.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCertificateAuthority, issueCertificate, type KeyPair } from "@kubemu/common";
import { kubeletClient } from "../../src/handlers/kubelet-client.js";

const HOST = "127.1.206.2";
let ca: KeyPair;
let otherCa: KeyPair;
let client: KeyPair;
let https: Server;
let http: Server;

/** Who the server saw: the client certificate's CN, or "anonymous". */
const whoami = (req: IncomingMessage) => {
  const socket = req.socket as TLSSocket;
  return typeof socket.getPeerCertificate === "function" && socket.authorized ? String(socket.getPeerCertificate().subject.CN) : "anonymous";
};

beforeAll(async () => {
  const now = new Date();
  ca = await createCertificateAuthority("kubemu-ca", now, 30);
  otherCa = await createCertificateAuthority("other", now, 30);
  const serving = await issueCertificate(ca, { commonName: "kubemu", use: { kind: "server", dnsNames: ["kubemu"], ips: [HOST] }, validDays: 30 }, now);
  client = await issueCertificate(ca, { commonName: "kube-apiserver-kubelet-client", organizations: ["system:masters"], use: { kind: "client" }, validDays: 30 }, now);
  https = createHttpsServer({ cert: serving.cert, key: serving.key, ca: ca.cert, requestCert: true, rejectUnauthorized: false }, (req, res) => res.end(whoami(req)));
  https.on("upgrade", (req: IncomingMessage, socket) => socket.end(`HTTP/1.1 101 Switching Protocols\r\nx-user: ${whoami(req)}\r\n\r\n`));
  http = createHttpServer((_req, res) => res.end("plain"));
  await new Promise<void>((r) => https.listen(10250, HOST, () => r()));
  await new Promise<void>((r) => http.listen(10251, HOST, () => r()));
});
afterAll(async () => {
  await new Promise((r) => https?.close(r));
  await new Promise((r) => http?.close(r));
});

function get(k: ReturnType<typeof kubeletClient>, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = k.request({ host: HOST, port, path: "/containerLogs/a/b/c" }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve(body));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the API server's kubelet client", () => {
  it("presents its certificate over HTTPS, for requests and for upgrades it writes itself", async () => {
    const k = kubeletClient({ cert: client.cert, key: client.key, ca: ca.cert });
    expect(k.scheme).toBe("https");
    expect(await get(k, 10250)).toBe("kube-apiserver-kubelet-client");
    const socket = await k.dial(HOST, 10250);
    socket.write(`GET /exec/a/b/c HTTP/1.1\r\nhost: ${HOST}\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\r\n`);
    const answer = await new Promise<string>((r) => {
      let t = "";
      socket.on("data", (d: Buffer) => (t += d.toString()));
      socket.on("end", () => r(t));
    });
    expect(answer).toMatch(/^HTTP\/1.1 101 [\s\S]*x-user: kube-apiserver-kubelet-client/);
  });

  it("refuses a kubelet whose serving certificate is not from --kubelet-certificate-authority; without one any is accepted, as upstream", async () => {
    const strict = kubeletClient({ cert: client.cert, key: client.key, ca: otherCa.cert });
    await expect(strict.dial(HOST, 10250)).rejects.toThrow(/certificate/);
    await expect(get(strict, 10250)).rejects.toThrow(/certificate/);
    expect(await get(kubeletClient({ cert: client.cert, key: client.key }), 10250)).toBe("kube-apiserver-kubelet-client");
  });

  it("speaks plain HTTP without a client certificate", async () => {
    const plain = kubeletClient(undefined);
    expect(plain.scheme).toBe("http");
    expect(await get(plain, 10251)).toBe("plain");
    await expect(plain.dial(HOST, 10259)).rejects.toThrow(/ECONNREFUSED/);
  });
});
