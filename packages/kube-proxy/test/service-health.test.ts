import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { FakeClock, Indexer, SeededRng, silentLogger, type EventRecorder, type KubeObject } from "@kubemu/common";
import { ListenerManager, ProxierHealth, Proxier, RouteTable, SLICE_SERVICE_INDEX } from "../src/index.js";
import { healthCheckBody, healthCheckNodePortOf, type HealthCheckService } from "../src/model/health-check.js";
import { newKubeProxyMetrics } from "../src/server/metrics.js";
import { FAILED_TO_START_SERVICE_HEALTHCHECK, ServiceHealthServers } from "../src/server/service-health.js";
import { service, slice } from "./fixtures.js";

/** This file's loopback addresses (the proxy-perf helper's 127.2.22.x). */
const IP = "127.2.22.1";

const withHc = (svc: KubeObject, port: number): KubeObject => ({ ...svc, spec: { ...((svc as unknown as { spec: object }).spec), healthCheckNodePort: port } }) as KubeObject;

describe("health-check ports (model)", () => {
  it("only LoadBalancer Services with externalTrafficPolicy Local and a port get one", () => {
    expect(healthCheckNodePortOf(withHc(service("a", { type: "LoadBalancer", externalTrafficPolicy: "Local" }), 32000))).toBe(32000);
    expect(healthCheckNodePortOf(withHc(service("b", { type: "LoadBalancer", externalTrafficPolicy: "Cluster" }), 32000))).toBeUndefined();
    expect(healthCheckNodePortOf(withHc(service("c", { type: "NodePort", externalTrafficPolicy: "Local" }), 32000))).toBeUndefined();
    expect(healthCheckNodePortOf(service("d", { type: "LoadBalancer", externalTrafficPolicy: "Local" }))).toBeUndefined();
    expect(healthCheckNodePortOf(withHc(service("e", { type: "LoadBalancer", externalTrafficPolicy: "Local" }), 70000))).toBeUndefined();
  });

  it("writes upstream's body: tab-indented, no trailing newline", () => {
    expect(healthCheckBody({ namespace: "default", name: "web", localEndpoints: 2 }, true)).toBe('{\n\t"service": {\n\t\t"namespace": "default",\n\t\t"name": "web"\n\t},\n\t"localEndpoints": 2,\n\t"serviceProxyHealthy": true\n}');
  });

  it("the proxier hands each sync's wanted set over, counting distinct ready local endpoint IPs", () => {
    const clock = new FakeClock(1_700_000_000_000);
    const services = new Indexer<KubeObject>();
    const slices = new Indexer<KubeObject>({ [SLICE_SERVICE_INDEX]: (s) => [`${s.metadata?.namespace}/${s.metadata?.labels?.["kubernetes.io/service-name"]}`] });
    const nodes = new Indexer<KubeObject>();
    const listeners = { apply: () => undefined, counts: () => ({ binding: 0, bound: 0, waiting: 0, failed: 0 }), udpSessions: 0 } as unknown as ListenerManager;
    const synced: Map<string, HealthCheckService>[] = [];
    const proxier = new Proxier({
      nodeName: "n1",
      nodeIp: "127.0.100.1",
      services,
      slices,
      nodes,
      routes: new RouteTable({ self: { nodeName: "n1", zone: "" }, clock, rng: new SeededRng(3) }),
      listeners,
      health: new ProxierHealth(clock, 60_000, 0),
      metrics: newKubeProxyMetrics(),
      serviceHealth: { sync: (w) => synced.push(w) },
      clock,
      log: silentLogger,
      minSyncPeriodMs: 0,
    });
    const two = [{ name: "http", port: 80, protocol: "TCP", targetPort: 8080, nodePort: 30080 }, { name: "alt", port: 81, protocol: "TCP", targetPort: 8081, nodePort: 30081 }];
    services.set(withHc(service("web", { type: "LoadBalancer", clusterIP: "127.96.5.1", externalTrafficPolicy: "Local", ports: two }), 32000));
    services.set(withHc(service("cluster", { type: "LoadBalancer", clusterIP: "127.96.5.2", externalTrafficPolicy: "Cluster" }), 32001));
    const slicePorts = [{ name: "http", port: 8080, protocol: "TCP" }, { name: "alt", port: 8081, protocol: "TCP" }];
    slices.set(slice("web-1", "web", [{ ip: "127.244.1.2", node: "n1" }, { ip: "127.244.1.3", node: "n1", ready: false }, { ip: "127.244.2.2", node: "n2" }], slicePorts));
    proxier.sync();
    expect([...synced.at(-1)!]).toEqual([["default/web", { namespace: "default", name: "web", port: 32000, localEndpoints: 1 }]]);
    slices.delete("default/web-1");
    proxier.sync();
    expect(synced.at(-1)!.get("default/web")?.localEndpoints).toBe(0);
  });
});

describe("ServiceHealthServers (real sockets)", () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => cleanup.splice(0).forEach((f) => f()));

  function servers(o: { healthy?: () => boolean; events?: string[][] } = {}) {
    const recorder = { event: (_obj: KubeObject, type: string, reason: string, message: string) => o.events?.push([type, reason, message]) } as unknown as EventRecorder;
    const s = new ServiceHealthServers({ nodeName: "n1", nodeIp: IP, proxyHealthy: o.healthy ?? (() => true), serviceOf: (ns, name) => service(name, { ns }), recorder, log: silentLogger });
    cleanup.push(() => s.close());
    return s;
  }
  const wanted = (port: number, localEndpoints: number) => new Map([["default/web", { namespace: "default", name: "web", port, localEndpoints }]]);
  const get = async (port: number, path = "/") => {
    const r = await fetch(`http://${IP}:${port}${path}`);
    return { code: r.status, type: r.headers.get("content-type"), body: await r.text() };
  };
  const until = async (f: () => Promise<boolean>) => {
    for (let i = 0; i < 200; i++) {
      if (await f().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error("condition not met");
  };

  it("answers 200 with the local endpoint count, 503 with none or while the proxy is unhealthy; closes when unwanted", async () => {
    let healthy = true;
    const s = servers({ healthy: () => healthy });
    s.sync(wanted(32710, 2));
    await until(async () => (await get(32710)).code === 200);
    const ok = await get(32710, "/anything");
    expect(ok).toEqual({ code: 200, type: "application/json", body: healthCheckBody({ namespace: "default", name: "web", localEndpoints: 2 }, true) });
    s.sync(wanted(32710, 0));
    expect((await get(32710)).code).toBe(503);
    s.sync(wanted(32710, 1));
    healthy = false;
    const sick = await get(32710);
    expect(sick.code).toBe(503);
    expect(JSON.parse(sick.body)).toEqual({ service: { namespace: "default", name: "web" }, localEndpoints: 1, serviceProxyHealthy: false });
    // A new port: the old one closes, the new one opens.
    healthy = true;
    s.sync(wanted(32711, 1));
    await until(async () => (await get(32711)).code === 200);
    await expect(get(32710)).rejects.toThrow();
    s.sync(new Map());
    await until(async () => get(32711).then(() => false, () => true));
    expect(s.ports().size).toBe(0);
  });

  it("a port it cannot open gets upstream's Warning event and is tried again at the next sync", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(32712, IP, r));
    const events: string[][] = [];
    const s = servers({ events });
    s.sync(wanted(32712, 1));
    await until(async () => events.length > 0);
    expect(events[0]).toEqual(["Warning", FAILED_TO_START_SERVICE_HEALTHCHECK, `node n1 failed to start healthcheck "default/web" on port 32712: listen tcp ${IP}:32712: bind: address already in use`]);
    expect(s.ports().size).toBe(0);
    await new Promise((r) => blocker.close(r));
    s.sync(wanted(32712, 1));
    await until(async () => (await get(32712)).code === 200);
  });
});
