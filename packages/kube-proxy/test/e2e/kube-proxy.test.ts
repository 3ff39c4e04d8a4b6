/**
 * kube-proxy e2e: real etcd + API servers + two kubemu-kube-proxy processes (nodes n1, n2 on
 * 127.1.102.1/.2). Services and EndpointSlices are written by the test; the "pods" are TCP/UDP
 * servers in this process on 127.1.103.x. ClusterIPs are 127.96.222.x (the service range is
 * 127.96.0.0/16; a user's cluster allocates at random, so a collision is unlikely but possible).
 */
import { createServer, connect, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Resources, type KubeObject } from "@kubemu/common";
import { ask, eventually, NODE_NET, POD_NET, ProxyHarness, tryConnect, udpAsk } from "./harness.js";

const h = new ProxyHarness();
const VIP = (n: number) => `127.96.222.${n}`;

beforeAll(async () => {
  await h.start(2);
}, 120_000);

afterAll(async () => {
  await h.stop();
}, 60_000);

/** Waits until a Service address answers through whichever kube-proxy holds it. */
const served = (ip: string, port: number) => eventually(() => ask(ip, port, "ping"), (a) => typeof a === "string" && a.length > 0, `${ip}:${port} answering`);

describe("kube-proxy", () => {
  it("proxies a ClusterIP to its endpoints, spread at random over them", async () => {
    for (const i of [1, 2, 3]) await h.tcpBackend(`web-${i}`, `${POD_NET}.${i}`, 8080);
    await h.createService("web", { clusterIP: VIP(1), ports: [{ name: "http", port: 80, targetPort: 8080 }] });
    await h.setEndpoints("web", [1, 2, 3].map((i) => ({ ip: `${POD_NET}.${i}`, node: i === 1 ? "n1" : "n2" })), [{ name: "http", port: 8080 }]);
    await served(VIP(1), 80);
    const hits = new Map<string, number>();
    for (let i = 0; i < 90; i++) {
      const [who, line, peer] = (await ask(VIP(1), 80, `req-${i}`)).split(" ");
      expect(line).toBe(`req-${i}`);
      // ClusterIP traffic keeps the client's address (no masquerade).
      expect(peer).toBe("127.0.0.1");
      hits.set(who!, (hits.get(who!) ?? 0) + 1);
    }
    expect([...hits.keys()].sort()).toEqual(["web-1", "web-2", "web-3"]);
    for (const n of hits.values()) expect(n).toBeGreaterThanOrEqual(10);
  });

  it("proxies UDP with a session per client address", async () => {
    await h.udpBackend("dns-1", `${POD_NET}.4`, 5353);
    await h.createService("dns", { clusterIP: VIP(2), ports: [{ name: "dns", port: 53, protocol: "UDP", targetPort: 5353 }] });
    await h.setEndpoints("dns", [{ ip: `${POD_NET}.4` }], [{ name: "dns", port: 5353, protocol: "UDP" }]);
    const answer = await eventually(() => udpAsk(VIP(2), 53, "who"), (a) => a !== undefined, "a UDP answer");
    expect(answer).toBe("dns-1 who 127.0.0.1");
  });

  it("refuses connections at once when the Service has no endpoints", async () => {
    await h.tcpBackend("gone-1", `${POD_NET}.5`, 8080);
    await h.createService("gone", { clusterIP: VIP(3), ports: [{ name: "http", port: 80, targetPort: 8080 }] });
    await h.setEndpoints("gone", [{ ip: `${POD_NET}.5` }], [{ name: "http", port: 8080 }]);
    await served(VIP(3), 80);
    await h.setEndpoints("gone", [], [{ name: "http", port: 8080 }]);
    const r = await eventually(() => tryConnect(VIP(3), 80), (x) => x.outcome === "ECONNREFUSED", "connection refused");
    expect(r.ms).toBeLessThan(100);
    // A not-ready endpoint counts as none.
    await h.setEndpoints("gone", [{ ip: `${POD_NET}.5`, ready: false }], [{ name: "http", port: 8080 }]);
    await new Promise((res) => setTimeout(res, 300));
    expect((await tryConnect(VIP(3), 80)).outcome).toBe("ECONNREFUSED");
  });

  it("keeps a client on one endpoint under sessionAffinity ClientIP", async () => {
    for (const i of [6, 7, 8]) await h.tcpBackend(`sticky-${i}`, `${POD_NET}.${i}`, 8080);
    await h.createService("sticky", { clusterIP: VIP(4), sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } }, ports: [{ name: "http", port: 80, targetPort: 8080 }] });
    await h.setEndpoints("sticky", [6, 7, 8].map((i) => ({ ip: `${POD_NET}.${i}` })), [{ name: "http", port: 8080 }]);
    await served(VIP(4), 80);
    for (const client of ["127.0.0.1", `${POD_NET}.200`, `${POD_NET}.201`, `${POD_NET}.202`]) {
      const first = (await ask(VIP(4), 80, "a", client)).split(" ")[0];
      for (let i = 0; i < 15; i++) expect((await ask(VIP(4), 80, "b", client)).split(" ")[0]).toBe(first);
    }
  });

  it("serves a NodePort on each node's own IP, masqueraded to that node's IP", async () => {
    await h.tcpBackend("np-1", `${POD_NET}.9`, 8080);
    await h.createService("np", { type: "NodePort", clusterIP: VIP(5), ports: [{ name: "http", port: 80, targetPort: 8080, nodePort: 30555 }] });
    await h.setEndpoints("np", [{ ip: `${POD_NET}.9`, node: "n2" }], [{ name: "http", port: 8080 }]);
    for (const n of [1, 2]) {
      const a = await eventually(() => ask(`${NODE_NET}.${n}`, 30555, "hi"), (x) => typeof x === "string", `node ${n}'s NodePort`);
      expect(a).toBe(`np-1 hi ${NODE_NET}.${n}`);
    }
  });

  it("serves a load-balancer IP once the Service's status has it", async () => {
    await h.tcpBackend("lb-1", `${POD_NET}.10`, 8080);
    const svc = await h.createService("lb", { type: "LoadBalancer", clusterIP: VIP(7), ports: [{ name: "http", port: 80, targetPort: 8080 }] });
    await h.setEndpoints("lb", [{ ip: `${POD_NET}.10` }], [{ name: "http", port: 8080 }]);
    await served(VIP(7), 80);
    expect((await tryConnect(`${POD_NET}.250`, 80)).outcome).toBe("ECONNREFUSED");
    await h.client.updateStatus(Resources.services, { ...svc, metadata: { ...svc.metadata, resourceVersion: undefined }, status: { loadBalancer: { ingress: [{ ip: `${POD_NET}.250` }] } } } as KubeObject);
    expect(await eventually(() => ask(`${POD_NET}.250`, 80, "lb"), (x) => typeof x === "string", "the load-balancer IP")).toMatch(/^lb-1 lb /);
  });

  it("keeps an open connection to a removed endpoint while new ones avoid it", async () => {
    for (const i of [11, 12]) await h.tcpBackend(`drain-${i}`, `${POD_NET}.${i}`, 8080);
    await h.createService("drain", { clusterIP: VIP(6), ports: [{ name: "http", port: 80, targetPort: 8080 }] });
    await h.setEndpoints("drain", [11, 12].map((i) => ({ ip: `${POD_NET}.${i}` })), [{ name: "http", port: 8080 }]);
    await served(VIP(6), 80);
    const c = connect({ host: VIP(6), port: 80 });
    const lines: string[] = [];
    let buf = "";
    c.on("data", (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf("\n")) !== -1) {
        lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    c.write("first\n");
    await eventually(async () => lines.length, (n) => n === 1, "the first answer");
    const who = lines[0]!.split(" ")[0]!;
    const keep = who === "drain-11" ? 12 : 11;
    await h.setEndpoints("drain", [{ ip: `${POD_NET}.${keep}` }], [{ name: "http", port: 8080 }]);
    // Every new connection lands on the remaining endpoint once the proxies have the change.
    await eventually(async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 12; i++) seen.add((await ask(VIP(6), 80, "n")).split(" ")[0]!);
      return [...seen];
    }, (s) => s.length === 1 && s[0] === `drain-${keep}`, "new connections on the remaining endpoint");
    c.write("second\n");
    await eventually(async () => lines.length, (n) => n === 2, "the open connection's second answer");
    expect(lines[1]!.split(" ").slice(0, 2)).toEqual([who, "second"]);
    c.destroy();
  });

  it("reports a NodePort taken on its node IP as an event on the Service and keeps running", async () => {
    const blocker: Server = createServer((s) => s.destroy());
    await new Promise<void>((r) => blocker.listen(30556, `${NODE_NET}.1`, r));
    try {
      await h.tcpBackend("busy-1", `${POD_NET}.13`, 8080);
      await h.createService("busy", { type: "NodePort", clusterIP: VIP(8), ports: [{ name: "http", port: 80, targetPort: 8080, nodePort: 30556 }] });
      await h.setEndpoints("busy", [{ ip: `${POD_NET}.13` }], [{ name: "http", port: 8080 }]);
      const ev = await eventually(
        async () => (await h.client.list(Resources.events, { namespace: "default", fieldSelector: "involvedObject.name=busy" })).items as KubeObject[],
        (items) => items.some((e) => (e as unknown as { reason: string }).reason === "FailedToOpenPort"),
        "a FailedToOpenPort event",
      );
      const e = ev.find((x) => (x as unknown as { reason: string }).reason === "FailedToOpenPort") as unknown as { type: string; message: string; source: { component: string; host: string } };
      expect(e.type).toBe("Warning");
      expect(e.source).toEqual({ component: "kube-proxy", host: "n1" });
      expect(e.message).toBe(`can't open port "nodePort for default/busy:http" (${NODE_NET}.1:30556/tcp), skipping it: listen tcp4 ${NODE_NET}.1:30556: bind: address already in use`);
      // n2's NodePort and the ClusterIP work; n1 stays healthy.
      expect(await eventually(() => ask(`${NODE_NET}.2`, 30556, "x"), (x) => typeof x === "string", "n2's NodePort")).toMatch(/^busy-1 x /);
      expect((await fetch(`http://${NODE_NET}.1:10256/healthz`)).status).toBe(200);
      expect((await h.status("n1"))!.failed.map((f) => f.id)).toEqual([`TCP ${NODE_NET}.1:30556`]);
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });

  it("serves the healthCheckNodePort the API server allocated for externalTrafficPolicy Local: 200 on the node with a local endpoint, 503 on the other", async () => {
    await h.tcpBackend("hc-1", `${POD_NET}.14`, 8080);
    const svc = await h.createService("hc", { type: "LoadBalancer", externalTrafficPolicy: "Local", clusterIP: VIP(9), ports: [{ name: "http", port: 80, targetPort: 8080 }] });
    const port = (svc as { spec?: { healthCheckNodePort?: number } }).spec?.healthCheckNodePort;
    expect(port).toBeGreaterThanOrEqual(30000);
    await h.setEndpoints("hc", [{ ip: `${POD_NET}.14`, node: "n1" }], [{ name: "http", port: 8080 }]);
    const check = (n: number) => fetch(`http://${NODE_NET}.${n}:${port}/healthz`).then(async (r) => ({ code: r.status, body: (await r.json()) as unknown }), () => undefined);
    expect(await eventually(() => check(1), (r) => r?.code === 200, "n1's health check answering 200", 30_000)).toEqual({ code: 200, body: { service: { namespace: "default", name: "hc" }, localEndpoints: 1, serviceProxyHealthy: true } });
    expect(await eventually(() => check(2), (r) => r !== undefined, "n2's health check answering", 30_000)).toEqual({ code: 503, body: { service: { namespace: "default", name: "hc" }, localEndpoints: 0, serviceProxyHealthy: true } });
  });

  it("answers /healthz with upstream's JSON and serves upstream's metrics", async () => {
    const r = await fetch(`http://${NODE_NET}.2:10256/healthz`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json");
    const body = (await r.json()) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(["lastUpdated", "currentTime", "nodeEligible"]);
    expect(body["currentTime"]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC m=\+\d+\.\d{9}$/);
    const metrics = await (await fetch(`http://${NODE_NET}.2:10249/metrics`)).text();
    for (const name of ["kubeproxy_sync_proxy_rules_duration_seconds_bucket", "kubeproxy_sync_proxy_rules_last_timestamp_seconds", "kubeproxy_sync_proxy_rules_endpoint_changes_total", "kubeproxy_sync_proxy_rules_service_changes_total", "kubeproxy_proxy_healthz_total", "kubemu_kubeproxy_listeners"]) expect(metrics).toContain(name);
  });

  it("hands a ClusterIP to the other kube-proxy within 500 ms when its holder is killed", async () => {
    const id = `TCP ${VIP(1)}:80`;
    const statuses = await Promise.all(["n1", "n2"].map((n) => h.status(n)));
    const holder = ["n1", "n2"][statuses.findIndex((s) => s?.bound.includes(id))]!;
    const standby = holder === "n1" ? "n2" : "n1";
    expect((await h.status(standby))!.waiting).toContain(id);
    const t0 = performance.now();
    const exited = h.killNow(holder);
    // Served again = a request answered (a bare connect can still land in the dying holder's backlog).
    for (;;) {
      const r = await ask(VIP(1), 80, "probe").catch((e: NodeJS.ErrnoException) => e.code ?? e.message);
      if (r.startsWith("web-")) break;
      if (performance.now() - t0 > 10_000) throw new Error(`no takeover after 10 s (last: ${r})`);
      await new Promise((res) => setTimeout(res, 5));
    }
    const takeoverMs = performance.now() - t0;
    await exited;
    console.log(`ClusterIP takeover after SIGKILL of kube-proxy-${holder}: ${takeoverMs.toFixed(0)} ms`);
    expect(takeoverMs).toBeLessThan(500);
    expect(await ask(VIP(1), 80, "after")).toMatch(/^web-\d after /);
    expect((await h.status(standby))!.bound).toContain(id);
  });
});
