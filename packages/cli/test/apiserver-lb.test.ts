import { createServer, request, type Server } from "node:http";
import { FaultInjector, realClock } from "@kubemu/common";
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

async function startBalancer(backends: { name: string; url: string }[], faults = new FaultInjector()) {
  const lb = new ApiserverBalancer({ backends, clock: realClock, healthIntervalMs: 60_000, healthTimeoutMs: 1_000, faults });
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

  it("parses named and bare backends and rejects bad ones", () => {
    expect(parseBackends("apiserver-0=http://127.0.20.1:6443/,http://127.0.20.2:6443")).toEqual([
      { name: "apiserver-0", url: "http://127.0.20.1:6443" },
      { name: "127.0.20.2:6443", url: "http://127.0.20.2:6443" },
    ]);
    expect(() => parseBackends("x=ftp://h")).toThrow(/must be http/);
    expect(() => parseBackends("x=nope")).toThrow(/not a URL/);
  });
});
