/**
 * The data plane on real loopback sockets (127.1.105.x): TCP splice, half-close, resets,
 * backpressure, dead-endpoint retry, draining, shared-address takeover, NodePort conflicts and
 * UDP sessions. Every socket is closed in afterEach.
 */
import { createHash } from "node:crypto";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { realClock, SeededRng, silentLogger } from "@kubemu/common";
import { Registry } from "prom-client";
import { ListenerManager, listenerId, RouteTable, servicePortsOf, type EndpointInfo, type ListenerSpec } from "../src/index.js";
import { ProxyStats } from "../src/dataplane/stats.js";
import { TcpListener } from "../src/dataplane/tcp.js";
import { service } from "./fixtures.js";

const NET = "127.1.105";
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ep = (ip: string, port: number): EndpointInfo => ({ ip, port, nodeName: "n1", zone: "", ready: true, serving: true, terminating: false, zoneHints: [], nodeHints: [] });

function routesFor(svc: ReturnType<typeof service>, endpoints: EndpointInfo[]) {
  const ports = servicePortsOf(svc).ports;
  const routes = new RouteTable({ self: { nodeName: "n1", zone: "" }, clock: realClock, rng: new SeededRng(1) });
  const set = (eps: EndpointInfo[]) => routes.update(ports, new Map(ports.map((p) => [p.key, eps])), [], "");
  set(endpoints);
  return { routes, set, key: ports[0]!.key };
}

function spec(key: string, ip: string, port: number, o: Partial<ListenerSpec> = {}): ListenerSpec {
  const protocol = o.protocol ?? "TCP";
  return { id: listenerId(protocol, ip, port), protocol, ip, port, kind: "ClusterIP", shared: true, serviceKey: key, namespace: "default", serviceName: "web", description: "clusterIP for default/web:http", traffic: "internal", snatToNode: false, open: true, ...o };
}

function manager(routes: RouteTable, o: { bindRetryMs?: number; failures?: string[]; udpIdleTimeoutMs?: number } = {}) {
  const m = new ListenerManager({ routes, nodeIp: `${NET}.1`, stats: new ProxyStats(new Registry()), clock: realClock, rng: new SeededRng(2), log: silentLogger, bindRetryMs: o.bindRetryMs ?? 50, failedRetryMs: 100, udpIdleTimeoutMs: o.udpIdleTimeoutMs ?? 200, onBindFailure: (_s, text) => o.failures?.push(text) });
  cleanups.push(() => m.close());
  return m;
}

async function tcpServer(ip: string, port: number, onConn: (s: Socket) => void): Promise<Server> {
  const open = new Set<Socket>();
  const s = createServer({ allowHalfOpen: true }, (c) => {
    open.add(c);
    c.on("close", () => open.delete(c));
    c.on("error", () => undefined);
    onConn(c);
  });
  await new Promise<void>((r) => s.listen(port, ip, r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const c of open) c.destroy();
        s.close(() => r());
      }),
  );
  return s;
}

/** A backend that answers with "<its ip:port> <bytes received> <peer ip>" once the client half-closes. */
function countingBackend(ip: string, port: number) {
  return tcpServer(ip, port, (s) => {
    let n = 0;
    s.on("data", (d: Buffer) => (n += d.length));
    s.on("end", () => s.end(`${ip}:${port} ${n} ${s.remoteAddress}`));
    s.on("error", () => undefined);
  });
}

function request(ip: string, port: number, payload: Buffer | string, localAddress?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect({ host: ip, port, ...(localAddress ? { localAddress } : {}) });
    const chunks: Buffer[] = [];
    c.on("data", (d: Buffer) => chunks.push(d));
    c.on("end", () => resolve(Buffer.concat(chunks).toString()));
    c.on("error", reject);
    c.end(payload);
  });
}

function connectOutcome(ip: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const c = connect({ host: ip, port });
    c.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    c.on("close", () => resolve("closed"));
    c.on("connect", () => c.write("x"));
  });
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe("TCP", () => {
  it("splices both ways with half-close, from the client's own address", async () => {
    await countingBackend(`${NET}.10`, 8080);
    const { routes, key } = routesFor(service("web", { clusterIP: `${NET}.100` }), [ep(`${NET}.10`, 8080)]);
    const m = manager(routes);
    m.apply([spec(key, `${NET}.100`, 80)]);
    await until(() => m.counts().bound === 1);
    expect(await request(`${NET}.100`, 80, "hello", `${NET}.50`)).toBe(`${NET}.10:8080 5 ${NET}.50`);
  });

  it("masquerades to the node IP when told to (external traffic, Cluster policy)", async () => {
    await countingBackend(`${NET}.10`, 8081);
    const { routes, key } = routesFor(service("web", { clusterIP: `${NET}.101` }), [ep(`${NET}.10`, 8081)]);
    const m = manager(routes);
    m.apply([spec(key, `${NET}.101`, 80, { snatToNode: true, kind: "NodePort", traffic: "external" })]);
    await until(() => m.counts().bound === 1);
    expect(await request(`${NET}.101`, 80, "hi", `${NET}.50`)).toBe(`${NET}.10:8081 2 ${NET}.1`);
  });

  it("carries 16 MB both ways with backpressure intact", async () => {
    await tcpServer(`${NET}.11`, 8080, (s) => s.pipe(s));
    const { routes, key } = routesFor(service("web", { clusterIP: `${NET}.102` }), [ep(`${NET}.11`, 8080)]);
    const m = manager(routes);
    m.apply([spec(key, `${NET}.102`, 80)]);
    await until(() => m.counts().bound === 1);
    const payload = Buffer.alloc(16 << 20, 7);
    for (let i = 0; i < payload.length; i += 4096) payload[i] = i & 255;
    const got = await new Promise<Buffer>((resolve, reject) => {
      const c = connect({ host: `${NET}.102`, port: 80 });
      const chunks: Buffer[] = [];
      c.on("data", (d: Buffer) => chunks.push(d));
      c.on("end", () => resolve(Buffer.concat(chunks)));
      c.on("error", reject);
      c.end(payload);
    });
    expect(got.length).toBe(payload.length);
    expect(createHash("sha256").update(got).digest("hex")).toBe(createHash("sha256").update(payload).digest("hex"));
  });

  it("resets the client when the endpoint resets, and when no endpoint is left", async () => {
    await tcpServer(`${NET}.12`, 8080, (s) => s.once("data", () => s.resetAndDestroy()));
    const { routes, key, set } = routesFor(service("web", { clusterIP: `${NET}.103` }), [ep(`${NET}.12`, 8080)]);
    const m = manager(routes);
    m.apply([spec(key, `${NET}.103`, 80)]);
    await until(() => m.counts().bound === 1);
    expect(await connectOutcome(`${NET}.103`, 80)).toBe("ECONNRESET");
    set([]);
    expect(await connectOutcome(`${NET}.103`, 80)).toBe("ECONNRESET");
  });

  it("tries another endpoint when one refuses", async () => {
    await countingBackend(`${NET}.13`, 8080);
    // 127.1.105.14:8080 has no listener: connecting to it is refused.
    const { routes, key } = routesFor(service("web", { clusterIP: `${NET}.104` }), [ep(`${NET}.14`, 8080), ep(`${NET}.13`, 8080)]);
    const m = manager(routes);
    m.apply([spec(key, `${NET}.104`, 80)]);
    await until(() => m.counts().bound === 1);
    for (let i = 0; i < 10; i++) expect(await request(`${NET}.104`, 80, "x")).toMatch(new RegExp(`^${NET}.13:8080 1 `));
  });

  it("drains: a removed listener refuses new connections while open ones keep going", async () => {
    const sockets: Socket[] = [];
    await tcpServer(`${NET}.15`, 8080, (s) => {
      sockets.push(s);
      s.on("data", (d: Buffer) => s.write(d));
    });
    const { routes, key } = routesFor(service("web", { clusterIP: `${NET}.105` }), [ep(`${NET}.15`, 8080)]);
    const m = manager(routes);
    m.apply([spec(key, `${NET}.105`, 80)]);
    await until(() => m.counts().bound === 1);
    const c = connect({ host: `${NET}.105`, port: 80 });
    cleanups.push(() => c.destroy());
    const echo = (text: string) => new Promise<string>((r) => { c.once("data", (d: Buffer) => r(d.toString())); c.write(text); });
    expect(await echo("one")).toBe("one");
    m.apply([]);
    expect(m.counts().bound).toBe(0);
    expect(await connectOutcome(`${NET}.105`, 80)).toBe("ECONNREFUSED");
    expect(await echo("two")).toBe("two");
  });
});

describe("shared addresses and conflicts", () => {
  it("a second manager waits on a held ClusterIP and takes it over when the holder closes", async () => {
    await countingBackend(`${NET}.16`, 8080);
    const { routes, key } = routesFor(service("web", { clusterIP: `${NET}.106` }), [ep(`${NET}.16`, 8080)]);
    const a = manager(routes);
    const b = manager(routes, { bindRetryMs: 50 });
    a.apply([spec(key, `${NET}.106`, 80)]);
    await until(() => a.counts().bound === 1);
    b.apply([spec(key, `${NET}.106`, 80)]);
    await until(() => b.counts().waiting === 1);
    const t0 = Date.now();
    a.close();
    await until(() => b.counts().bound === 1);
    expect(Date.now() - t0).toBeLessThan(500);
    expect(await request(`${NET}.106`, 80, "abc")).toMatch(/ 3 /);
  });

  it("a standby tries only a few held addresses per period, and all of them once one frees", async () => {
    await countingBackend(`${NET}.19`, 8080);
    const { routes, key } = routesFor(service("many", { clusterIP: `${NET}.120` }), [ep(`${NET}.19`, 8080)]);
    const specs = Array.from({ length: 40 }, (_, i) => spec(key, `${NET}.${120 + i}`, 80));
    const a = manager(routes);
    a.apply(specs);
    await until(() => a.counts().bound === 40);
    const listen = vi.spyOn(TcpListener.prototype, "listen");
    cleanups.push(() => listen.mockRestore());
    const b = manager(routes, { bindRetryMs: 50 });
    b.apply(specs);
    await until(() => b.counts().waiting === 40);
    listen.mockClear();
    await new Promise((r) => setTimeout(r, 500));
    // About ten periods of 50 ms, four canaries each: far fewer than 40 per period.
    expect(listen.mock.calls.length).toBeLessThanOrEqual(4 * 14);
    a.close();
    const t0 = Date.now();
    await until(() => b.counts().bound === 40);
    expect(Date.now() - t0).toBeLessThan(500);
  });

  it("reports a NodePort already taken on the node IP once, keeps retrying, and binds when it frees", async () => {
    const blocker = await tcpServer(`${NET}.1`, 30080, (s) => s.destroy());
    await countingBackend(`${NET}.17`, 8080);
    const failures: string[] = [];
    const { routes, key } = routesFor(service("np", { type: "NodePort", clusterIP: `${NET}.107`, ports: [{ name: "http", port: 80, nodePort: 30080 }] }), [ep(`${NET}.17`, 8080)]);
    const m = manager(routes, { failures });
    m.apply([spec(key, `${NET}.1`, 30080, { kind: "NodePort", shared: false, traffic: "external", snatToNode: true })]);
    await until(() => m.counts().failed === 1);
    await new Promise((r) => setTimeout(r, 350));
    expect(failures).toEqual([`listen tcp4 ${NET}.1:30080: bind: address already in use`]);
    expect(m.status()[0]).toMatchObject({ state: "failed", error: failures[0] });
    await new Promise<void>((r) => blocker.close(() => r()));
    await until(() => m.counts().bound === 1);
    expect(await request(`${NET}.1`, 30080, "zz")).toMatch(new RegExp(`^${NET}.17:8080 2 `));
  });

  it("says why an address this host cannot bind fails", async () => {
    const failures: string[] = [];
    const { routes, key } = routesFor(service("x", { clusterIP: `${NET}.108` }), [ep(`${NET}.18`, 8080)]);
    const m = manager(routes, { failures });
    m.apply([spec(key, "192.0.2.1", 80, { kind: "ExternalIP" })]);
    await until(() => m.counts().failed === 1);
    expect(failures[0]).toBe("listen tcp4 192.0.2.1:80: bind: cannot assign requested address");
  });
});

describe("UDP", () => {
  async function udpBackend(ip: string, port: number): Promise<UdpSocket> {
    const s = createSocket("udp4");
    s.on("message", (msg, r) => s.send(`${ip}:${port} ${msg.toString()} from ${r.address}`, r.port, r.address));
    await new Promise<void>((r) => s.bind(port, ip, r));
    cleanups.push(() => s.close());
    return s;
  }

  function udpClient(localAddress: string) {
    const c = createSocket("udp4");
    cleanups.push(() => c.close());
    const ready = new Promise<void>((r) => c.bind(0, localAddress, r));
    return {
      async ask(ip: string, port: number, text: string, timeoutMs = 2000): Promise<string | undefined> {
        await ready;
        return new Promise((resolve) => {
          const t = setTimeout(() => resolve(undefined), timeoutMs);
          c.once("message", (m) => {
            clearTimeout(t);
            resolve(m.toString());
          });
          c.send(text, port, ip);
        });
      },
    };
  }

  it("keeps one session per client address and drops it after the idle timeout", async () => {
    await udpBackend(`${NET}.20`, 5353);
    const { routes, key } = routesFor(service("dns", { clusterIP: `${NET}.110`, ports: [{ name: "dns", port: 53, protocol: "UDP" }] }), [ep(`${NET}.20`, 5353)]);
    const m = manager(routes, { udpIdleTimeoutMs: 150 });
    m.apply([spec(key, `${NET}.110`, 53, { protocol: "UDP" })]);
    await until(() => m.counts().bound === 1);
    const a = udpClient(`${NET}.51`);
    const b = udpClient(`${NET}.52`);
    expect(await a.ask(`${NET}.110`, 53, "q1")).toBe(`${NET}.20:5353 q1 from ${NET}.51`);
    expect(await a.ask(`${NET}.110`, 53, "q2")).toBe(`${NET}.20:5353 q2 from ${NET}.51`);
    expect(await b.ask(`${NET}.110`, 53, "q3")).toBe(`${NET}.20:5353 q3 from ${NET}.52`);
    expect(m.udpSessions).toBe(2);
    await until(() => m.udpSessions === 0, 2000);
    expect(await a.ask(`${NET}.110`, 53, "q4")).toBe(`${NET}.20:5353 q4 from ${NET}.51`);
  });

  it("moves a session off an endpoint that left the Service", async () => {
    await udpBackend(`${NET}.21`, 5353);
    await udpBackend(`${NET}.22`, 5353);
    const { routes, key, set } = routesFor(service("dns", { clusterIP: `${NET}.111`, ports: [{ name: "dns", port: 53, protocol: "UDP" }] }), [ep(`${NET}.21`, 5353)]);
    const m = manager(routes, { udpIdleTimeoutMs: 10_000 });
    const s = spec(key, `${NET}.111`, 53, { protocol: "UDP" });
    m.apply([s]);
    await until(() => m.counts().bound === 1);
    const c = udpClient(`${NET}.53`);
    expect(await c.ask(`${NET}.111`, 53, "a")).toMatch(new RegExp(`^${NET}.21:5353`));
    set([ep(`${NET}.22`, 5353)]);
    m.apply([s]);
    expect(await c.ask(`${NET}.111`, 53, "b")).toMatch(new RegExp(`^${NET}.22:5353`));
  });
});
