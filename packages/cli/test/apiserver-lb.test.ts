import { createServer, request, type Server } from "node:http";
import { createServer as createHttpsServer, request as httpsRequest } from "node:https";
import { createCertificateAuthority, FaultInjector, issueCertificate, realClock } from "@kubemu/common";
import { afterEach, describe, expect, it } from "vitest";
import { ApiserverBalancer, parseBackends } from "../src/apiserver-lb/balancer.js";

// Real sockets on 127.0.0.1 port 0: two stand-in apiservers behind the balancer.

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An HTTP server answering /readyz with `ready()` and anything else with its own name. */
async function fakeApiserver(name: string, ready = () => true): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (req.url === "/readyz") {
      res.writeHead(ready() ? 200 : 503).end(ready() ? "ok" : "not ready");
      return;
    }
    res.writeHead(200, { "content-type": "text/plain" }).end(name);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address() as { port: number };
  cleanups.push(() => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }));
  return { url: `http://127.0.0.1:${addr.port}`, server };
}

async function startBalancer(backends: { name: string; url: string }[], faults = new FaultInjector(), backendCa?: string) {
  const lb = new ApiserverBalancer({ backends, clock: realClock, healthIntervalMs: 60_000, healthTimeoutMs: 1_000, faults, ...(backendCa ? { backendCa } : {}) });
  const port = await lb.listen("127.0.0.1", 0);
  cleanups.push(() => lb.close());
  await lb.checkHealth();
  return { lb, port, faults };
}

/** One request on a fresh connection (no keep-alive, so each one is balanced anew). */
function get(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/api", agent: false }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("apiserver-lb", () => {
  it("round-robins new connections over healthy apiservers", async () => {
    const a = await fakeApiserver("apiserver-0");
    const b = await fakeApiserver("apiserver-1");
    const { port } = await startBalancer([{ name: "apiserver-0", url: a.url }, { name: "apiserver-1", url: b.url }]);
    const bodies = [];
    for (let i = 0; i < 4; i++) bodies.push((await get(port)).body);
    expect(bodies.sort()).toEqual(["apiserver-0", "apiserver-0", "apiserver-1", "apiserver-1"]);
  });

  it("skips an apiserver whose /readyz fails and one that refuses connections", async () => {
    let readyA = false;
    const a = await fakeApiserver("apiserver-0", () => readyA);
    const b = await fakeApiserver("apiserver-1");
    const { lb, port } = await startBalancer([{ name: "apiserver-0", url: a.url }, { name: "apiserver-1", url: b.url }]);
    expect(lb.snapshot().map((s) => [s.name, s.healthy])).toEqual([["apiserver-0", false], ["apiserver-1", true]]);
    for (let i = 0; i < 3; i++) expect((await get(port)).body).toBe("apiserver-1");

    readyA = true;
    await lb.checkHealth();
    b.server.closeAllConnections();
    await new Promise<void>((r) => b.server.close(() => r()));
    // apiserver-1 still counts as healthy until the next probe; the refused connect fails over at once.
    for (let i = 0; i < 3; i++) expect((await get(port)).body).toBe("apiserver-0");
    expect(lb.snapshot()[1]).toMatchObject({ healthy: false, lastError: "ECONNREFUSED" });
  });

  it("answers 503 with a Status when no apiserver is available", async () => {
    const a = await fakeApiserver("apiserver-0", () => false);
    const { port } = await startBalancer([{ name: "apiserver-0", url: a.url }]);
    const res = await get(port);
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toMatchObject({ kind: "Status", reason: "ServiceUnavailable", code: 503 });
  });

  it("takes a backend out of rotation under a drop rule and back after heal", async () => {
    const a = await fakeApiserver("apiserver-0");
    const b = await fakeApiserver("apiserver-1");
    const { port, faults } = await startBalancer([{ name: "apiserver-0", url: a.url }, { name: "apiserver-1", url: b.url }]);
    faults.setRules([{ peer: "apiserver-1", direction: "both", action: "drop" }]);
    for (let i = 0; i < 3; i++) expect((await get(port)).body).toBe("apiserver-0");
    faults.clear();
    const bodies = new Set<string>();
    for (let i = 0; i < 4; i++) bodies.add((await get(port)).body);
    expect([...bodies].sort()).toEqual(["apiserver-0", "apiserver-1"]);
  });

  it("probes https backends against the CA and passes clients' TLS through untouched", async () => {
    const now = new Date();
    const ca = await createCertificateAuthority("test-ca", now, 1);
    const serving = await issueCertificate(ca, { commonName: "kube-apiserver", use: { kind: "server", dnsNames: [], ips: ["127.0.0.1"] }, validDays: 1 }, now);
    const server = createHttpsServer({ cert: serving.cert, key: serving.key }, (req, res) => res.writeHead(200).end(req.url === "/readyz" ? "ok" : "tls-backend"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }));
    const url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;

    const { lb, port } = await startBalancer([{ name: "apiserver-0", url }], new FaultInjector(), ca.cert);
    expect(lb.snapshot()[0]).toMatchObject({ healthy: true });
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest({ host: "127.0.0.1", port, path: "/api", ca: ca.cert, agent: false }, (res) => {
        let b = "";
        res.on("data", (d: Buffer) => (b += d.toString()));
        res.on("end", () => resolve(b));
      });
      req.on("error", reject);
      req.end();
    });
    expect(body).toBe("tls-backend");

    // A serving certificate the balancer cannot verify takes the backend out of rotation.
    const other = await createCertificateAuthority("other-ca", now, 1);
    const { lb: strict } = await startBalancer([{ name: "apiserver-0", url }], new FaultInjector(), other.cert);
    expect(strict.snapshot()[0]).toMatchObject({ healthy: false });
    expect(strict.snapshot()[0]!.lastError).toBe("UNABLE_TO_VERIFY_LEAF_SIGNATURE");
  });

  it("parses named and bare backends and rejects bad ones", () => {
    expect(parseBackends("apiserver-0=http://127.0.20.1:6443/,http://127.0.20.2:6443")).toEqual([
      { name: "apiserver-0", url: "http://127.0.20.1:6443" },
      { name: "127.0.20.2:6443", url: "http://127.0.20.2:6443" },
    ]);
    expect(() => parseBackends("x=ftp://h")).toThrow(/must be http/);
    expect(() => parseBackends("x=nope")).toThrow(/not a URL/);
  });
});
