/**
 * Compose mode's data path (--cross-node-via-kubelet): which endpoints go through their node's
 * kubelet (pure choice), and the tunnel itself against a fake kubelet speaking upstream's
 * v4.channel.k8s.io port-forward protocol on loopback (127.4.1.x): bytes both ways, the channels'
 * port prefixes stripped, the error channel becoming a reset, a refused upgrade making the
 * connection try another endpoint. Every socket is closed in afterEach.
 */
import { connect, createServer, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer, type WebSocket } from "ws";
import { FakeClock, realClock, SeededRng, silentLogger } from "@kubemu/common";
import { Registry } from "prom-client";
import { endpointRoute, endpointsForPort, KubeletTunnels, listenerId, nodeInfoOf, RouteTable, servicePortsOf, type EndpointInfo, type ListenerSpec, type NodeInfo } from "../src/index.js";
import { ProxyStats } from "../src/dataplane/stats.js";
import { TcpListener } from "../src/dataplane/tcp.js";
import { SourceBudget } from "../src/dataplane/source-budget.js";
import { node, service, slice } from "./fixtures.js";

const NET = "127.4.1";
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const remote = (ip: string, nodeName: string, pod?: string, port = 8080): EndpointInfo => ({
  ip, port, nodeName, zone: "", ready: true, serving: true, terminating: false, zoneHints: [], nodeHints: [], ...(pod ? { pod: { namespace: "default", name: pod } } : {}),
});

function withKubeletPort(n: ReturnType<typeof node>, port: number) {
  return { ...n, status: { ...(n["status"] as object), daemonEndpoints: { kubeletEndpoint: { Port: port } } } };
}

describe("endpoint routes", () => {
  const nodes = new Map<string, NodeInfo>([["n2", nodeInfoOf(withKubeletPort(node("n2", `${NET}.2`, "127.210.2.0/24"), 11250))!]]);
  const named = (n: string) => nodes.get(n);

  it("reads the kubelet's address from the Node (InternalIP, daemonEndpoints; 10250 by default)", () => {
    expect(nodeInfoOf(node("n1", "127.4.1.1", "127.210.1.0/24"))).toMatchObject({ internalIP: "127.4.1.1", kubeletPort: 10250 });
    expect(named("n2")).toMatchObject({ internalIP: `${NET}.2`, kubeletPort: 11250 });
    const noInternal = { ...node("n3", "127.4.1.3", "127.210.3.0/24"), status: { addresses: [{ type: "ExternalIP", address: "127.4.1.3" }] } };
    expect(nodeInfoOf(noInternal)).toMatchObject({ internalIP: undefined });
  });

  it("reads the Pod an endpoint's targetRef names", () => {
    const s = slice("web-abc", "web", [{ ip: "127.210.2.5", node: "n2" }, { ip: "127.210.2.6", node: "n2" }]) as unknown as { endpoints: Record<string, unknown>[] };
    s.endpoints[0]!["targetRef"] = { kind: "Pod", namespace: "default", name: "web-0", uid: "u1" };
    s.endpoints[1]!["targetRef"] = { kind: "Node", name: "n2" };
    const eps = endpointsForPort([s], { port: "http", protocol: "TCP" }, "n1");
    expect(eps.map((e) => e.pod)).toEqual([{ namespace: "default", name: "web-0" }, undefined]);
  });

  it("local mode: every endpoint direct; compose mode: another node's TCP pod through its kubelet", () => {
    expect(endpointRoute(remote("127.210.2.5", "n2", "web-0"), "TCP", "n1", false, named)).toEqual({ kind: "direct" });
    expect(endpointRoute(remote("127.210.1.5", "n1", "web-1"), "TCP", "n1", true, named)).toEqual({ kind: "direct" });
    expect(endpointRoute(remote("127.4.9.9", ""), "TCP", "n1", true, named)).toEqual({ kind: "direct" });
    expect(endpointRoute(remote("127.210.2.5", "n2", "web-0"), "TCP", "n1", true, named)).toEqual({ kind: "kubelet", node: "n2", host: `${NET}.2`, port: 11250, namespace: "default", pod: "web-0" });
  });

  it("compose mode cannot reach: UDP on another node, an endpoint without a Pod, an unknown node", () => {
    expect(endpointRoute(remote("127.210.2.5", "n2", "dns-0"), "UDP", "n1", true, named)).toEqual({ kind: "unreachable", reason: "UDP endpoint on node n2: port forwarding carries TCP only" });
    expect(endpointRoute(remote("127.210.2.5", "n2"), "TCP", "n1", true, named).kind).toBe("unreachable");
    expect(endpointRoute(remote("127.210.7.5", "n7", "x"), "TCP", "n1", true, named)).toEqual({ kind: "unreachable", reason: "node n7 is not known" });
  });

  it("the route table leaves unreachable endpoints out of the choice (UDP: only this node's)", () => {
    const nodeList = [nodeInfoOf(node("n1", `${NET}.1`, "127.210.1.0/24"))!, nodes.get("n2")!];
    const pick = (protocol: "TCP" | "UDP", cross: boolean) => {
      const ports = servicePortsOf(service("dns", { clusterIP: "127.96.40.10", ports: [{ name: "http", port: 53, targetPort: 8080, protocol }] })).ports;
      const t = new RouteTable({ self: { nodeName: "n1", zone: "" }, clock: new FakeClock(0), rng: new SeededRng(3), crossNodeViaKubelet: cross });
      t.update(ports, new Map([[ports[0]!.key, [remote("127.210.1.5", "n1", "a"), remote("127.210.2.5", "n2", "b")]]]), nodeList, "");
      const seen = new Set<string>();
      for (let i = 0; i < 200; i++) seen.add(t.pick(ports[0]!.key, "127.0.0.1", "internal")!.ip);
      return [...seen].sort();
    };
    expect(pick("UDP", true)).toEqual(["127.210.1.5"]);
    expect(pick("TCP", true)).toEqual(["127.210.1.5", "127.210.2.5"]);
    expect(pick("UDP", false)).toEqual(["127.210.1.5", "127.210.2.5"]);
  });
});

/** A fake kubelet: answers /portForward/<ns>/<pod>?port=P upgrades with the channel protocol, dialing `backend` for the pod. */
async function fakeKubelet(ip: string, port: number, o: { backend: { ip: string; port: number }; refuse?: number; failDial?: string }) {
  const requests: string[] = [];
  const wss = new WebSocketServer({ host: ip, port, handleProtocols: (p) => (p.has("v4.channel.k8s.io") ? "v4.channel.k8s.io" : false), verifyClient: (_info, cb) => (o.refuse ? cb(false, o.refuse, "Forbidden") : cb(true)) });
  await new Promise<void>((r) => wss.once("listening", () => r()));
  wss.on("connection", (ws: WebSocket, req) => {
    requests.push(req.url ?? "");
    const p = Number(new URL(req.url ?? "/", "http://x").searchParams.get("port"));
    const prefix = Buffer.from([p & 0xff, p >> 8]);
    // The prefix and the first data arrive split across messages, as the kubelet sends them.
    ws.send(Buffer.concat([Buffer.from([0]), prefix.subarray(0, 1)]));
    ws.send(Buffer.concat([Buffer.from([0]), prefix.subarray(1)]));
    ws.send(Buffer.concat([Buffer.from([1]), prefix]));
    if (o.failDial) {
      ws.send(Buffer.concat([Buffer.from([1]), Buffer.from(o.failDial)]));
      ws.close(1000);
      return;
    }
    const pod = connect({ host: o.backend.ip, port: o.backend.port });
    pod.on("data", (d: Buffer) => ws.send(Buffer.concat([Buffer.from([0]), d])));
    pod.on("end", () => ws.close(1000));
    pod.on("error", () => ws.close(1000));
    ws.on("message", (m: Buffer) => {
      if (m[0] === 0) pod.write(m.subarray(1));
    });
    ws.on("close", () => pod.destroy());
  });
  cleanups.push(() => new Promise<void>((r) => {
    for (const c of wss.clients) c.terminate();
    wss.close(() => r());
  }));
  return requests;
}

/** A pod that answers "<bytes received>" after the client's first message containing "\n". */
async function lineBackend(ip: string, port: number) {
  const open = new Set<Socket>();
  const s = createServer((c) => {
    open.add(c);
    c.on("close", () => open.delete(c));
    c.on("error", () => undefined);
    let got = "";
    c.on("data", (d: Buffer) => {
      got += d.toString();
      if (got.includes("\n")) c.end(`pod got ${got.length} bytes: ${got.trim()}`);
    });
  });
  await new Promise<void>((r) => s.listen(port, ip, r));
  cleanups.push(() => new Promise<void>((r) => {
    for (const c of open) c.destroy();
    s.close(() => r());
  }));
}

function ask(ip: string, port: number, line: string): Promise<{ text: string; reset: boolean }> {
  return new Promise((resolve) => {
    const c = connect({ host: ip, port });
    const chunks: Buffer[] = [];
    c.on("data", (d: Buffer) => chunks.push(d));
    c.on("end", () => resolve({ text: Buffer.concat(chunks).toString(), reset: false }));
    c.on("error", () => resolve({ text: Buffer.concat(chunks).toString(), reset: true }));
    c.write(line);
  });
}

async function proxyFor(endpoints: EndpointInfo[], kubeletPort: number) {
  const ports = servicePortsOf(service("web", { clusterIP: `${NET}.100` })).ports;
  const routes = new RouteTable({ self: { nodeName: "n1", zone: "" }, clock: realClock, rng: new SeededRng(1), crossNodeViaKubelet: true });
  routes.update(ports, new Map([[ports[0]!.key, endpoints]]), [nodeInfoOf(node("n1", `${NET}.1`, "127.210.1.0/24"))!, nodeInfoOf(withKubeletPort(node("n2", `${NET}.2`, "127.210.2.0/24"), kubeletPort))!], "");
  const registry = new Registry();
  const spec: ListenerSpec = { id: listenerId("TCP", `${NET}.100`, 80), protocol: "TCP", ip: `${NET}.100`, port: 80, kind: "ClusterIP", shared: true, serviceKey: ports[0]!.key, namespace: "default", serviceName: "web", description: "clusterIP for default/web:http", traffic: "internal", snatToNode: false, open: true };
  const l = new TcpListener(spec, { routes, nodeIp: `${NET}.1`, stats: new ProxyStats(registry), log: silentLogger, sources: new SourceBudget(realClock), tunnels: new KubeletTunnels(undefined) });
  await l.listen();
  cleanups.push(() => l.destroy());
  const metric = async () => (await registry.getSingleMetricAsString("kubemu_kubeproxy_kubelet_tunnels_total")).split("\n").filter((x) => !x.startsWith("#")).join("\n");
  return { metric };
}

describe("kubelet tunnel", () => {
  it("carries a connection to a pod on another node through its kubelet, both ways", async () => {
    await lineBackend(`${NET}.20`, 8080);
    const requests = await fakeKubelet(`${NET}.2`, 10251, { backend: { ip: `${NET}.20`, port: 8080 } });
    const { metric } = await proxyFor([remote("127.210.2.9", "n2", "web-0")], 10251);
    const big = "x".repeat(200_000);
    expect(await ask(`${NET}.100`, 80, `hello ${big}\n`)).toEqual({ text: `pod got ${big.length + 7} bytes: hello ${big}`, reset: false });
    expect(requests).toEqual(["/portForward/default/web-0?port=8080"]);
    expect(await metric()).toBe('kubemu_kubeproxy_kubelet_tunnels_total{node="n2",result="opened"} 1');
  });

  it("the kubelet's error channel (the pod refused) resets the client", async () => {
    await fakeKubelet(`${NET}.2`, 10252, { backend: { ip: `${NET}.20`, port: 1 }, failDial: "error forwarding port 8080 to pod u1: connection refused" });
    await proxyFor([remote("127.210.2.9", "n2", "web-0")], 10252);
    const r = await ask(`${NET}.100`, 80, "hi\n");
    expect(r).toEqual({ text: "", reset: true });
  });

  it("a refused upgrade (403) counts as a failed dial and the next endpoint is tried", async () => {
    await lineBackend(`${NET}.21`, 8080);
    await fakeKubelet(`${NET}.2`, 10253, { backend: { ip: `${NET}.21`, port: 8080 }, refuse: 403 });
    const { metric } = await proxyFor([remote("127.210.2.9", "n2", "web-0"), remote(`${NET}.21`, "n1", "web-1")], 10253);
    for (let i = 0; i < 6; i++) expect(await ask(`${NET}.100`, 80, "hi\n")).toEqual({ text: "pod got 3 bytes: hi", reset: false });
    expect(await metric()).toMatch(/^kubemu_kubeproxy_kubelet_tunnels_total\{node="n2",result="failed"\} [1-6]$/);
  });
});
