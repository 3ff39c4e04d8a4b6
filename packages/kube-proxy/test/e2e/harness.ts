/**
 * e2e harness: a store and API servers (packages/apiserver's E2eCluster: real kubemu-etcd and
 * kubemu-apiserver processes on 127.1.100.x / 127.1.101.x) plus kubemu-kube-proxy processes for
 * nodes n1, n2... on node IPs 127.1.102.N. No kubelet and no controllers: the test writes Nodes,
 * Services and EndpointSlices itself, and its "pods" are TCP/UDP servers in the test process on
 * 127.1.103.x. Every process is killed by pid in stop(). Run `npx tsc -b` first.
 */
import { createSocket } from "node:dgram";
import { existsSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { ApiClient, Resources, type KubeObject } from "@kubemu/common";
import { E2eCluster, type Proc } from "../../../apiserver/test/e2e/cluster.js";

const PROXY_MAIN = fileURLToPath(new URL("../../dist/main.js", import.meta.url));
export const NODE_NET = "127.1.102";
export const POD_NET = "127.1.103";

export interface ProxyStatus {
  name: string;
  pid: number;
  ready?: boolean;
  bound: string[];
  waiting: string[];
  failed: { id: string; error: string }[];
}

export class ProxyHarness {
  readonly cluster = new E2eCluster("127.1.100", "127.1.101");
  client!: ApiClient;
  readonly proxies: { node: string; ip: string; proc: Proc }[] = [];
  private readonly closers: (() => void)[] = [];
  private readonly sockets = new Set<Socket>();

  constructor() {
    if (!existsSync(PROXY_MAIN)) throw new Error(`${PROXY_MAIN} is missing: run "npx tsc -b" before these tests`);
  }

  async start(nodeCount: number): Promise<void> {
    await this.cluster.start();
    this.client = new ApiClient({ name: "e2e", endpoints: this.cluster.apiservers.map((a) => `${a.url.replace(/^http/, "ws")}/kubemu/wire`) });
    // The test cluster's own `kubernetes` Service (127.96.0.1:443) must not be proxied from here:
    // a real cluster on this machine may hold that address. Upstream's label hands it to "no proxy".
    await this.client.patch(Resources.services, "default", "kubernetes", "merge", { metadata: { labels: { "service.kubernetes.io/service-proxy-name": "none" } } });
    for (let i = 1; i <= nodeCount; i++) await this.createNode(`n${i}`, `${NODE_NET}.${i}`);
    for (let i = 1; i <= nodeCount; i++) this.startProxy(i);
    await Promise.all(this.proxies.map((p) => eventually(() => this.status(p.node), (s) => s?.ready === true, `${p.node}'s kube-proxy ready`, 30_000)));
  }

  startProxy(i: number): void {
    const node = `n${i}`;
    const ip = `${NODE_NET}.${i}`;
    const proc = this.cluster.spawn(`kube-proxy-${node}`, [
      PROXY_MAIN, "--name", `kube-proxy-${node}`, "--node-name", node, "--node-ip", ip,
      "--apiserver-urls", this.cluster.apiservers.map((a) => a.url).join(","), "--log-level", "info",
    ]);
    const existing = this.proxies.findIndex((p) => p.node === node);
    if (existing === -1) this.proxies.push({ node, ip, proc });
    else this.proxies[existing] = { node, ip, proc };
  }

  proxy(node: string) {
    return this.proxies.find((p) => p.node === node)!;
  }

  async status(node: string): Promise<ProxyStatus | undefined> {
    try {
      const r = await fetch(`http://${this.proxy(node).ip}:10256/kubemu/status`, { signal: AbortSignal.timeout(1000) });
      return (await r.json()) as ProxyStatus;
    } catch {
      return undefined;
    }
  }

  async kill(node: string): Promise<void> {
    await this.cluster.kill(`kube-proxy-${node}`);
  }

  /** Sends SIGKILL by pid now (takeover timing starts here); resolves when the exit is seen. */
  killNow(node: string): Promise<void> {
    const p = this.proxy(node).proc;
    p.proc.kill("SIGKILL");
    return p.exited;
  }

  output(node: string): string {
    return this.cluster.procs.filter((p) => p.name === `kube-proxy-${node}`).map((p) => p.output.join("")).join("\n---\n");
  }

  async createNode(name: string, ip: string): Promise<void> {
    const status = { addresses: [{ type: "InternalIP", address: ip }], conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status" }] };
    const created = await this.client.create(Resources.nodes, { apiVersion: "v1", kind: "Node", metadata: { name, labels: { "kubernetes.io/hostname": name } }, spec: {}, status });
    // Status sent with a create may be dropped (it is a subresource): write it there too.
    await this.client.updateStatus(Resources.nodes, { ...created, status });
  }

  async createService(name: string, spec: Record<string, unknown>): Promise<KubeObject> {
    return this.client.create(Resources.services, { apiVersion: "v1", kind: "Service", metadata: { name, namespace: "default" }, spec });
  }

  /** Writes (creates or replaces) the Service's one EndpointSlice. */
  async setEndpoints(service: string, endpoints: { ip: string; node?: string; ready?: boolean }[], ports: { name: string; port: number; protocol?: string }[]): Promise<void> {
    const name = `${service}-e2e`;
    const body: KubeObject = {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name, namespace: "default", labels: { "kubernetes.io/service-name": service } },
      addressType: "IPv4",
      ports: ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol ?? "TCP" })),
      endpoints: endpoints.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready ?? true }, ...(e.node ? { nodeName: e.node } : {}) })),
    };
    try {
      const cur = await this.client.get(Resources.endpointSlices, "default", name);
      await this.client.update(Resources.endpointSlices, { ...body, metadata: { ...body.metadata, resourceVersion: cur.metadata.resourceVersion } });
    } catch {
      await this.client.create(Resources.endpointSlices, body);
    }
  }

  /** A "pod": answers every line with "<its name> <the line> <the peer's address>". */
  async tcpBackend(name: string, ip: string, port: number): Promise<Server> {
    const s = createServer((c) => {
      this.sockets.add(c);
      c.on("close", () => this.sockets.delete(c));
      c.on("error", () => undefined);
      let buf = "";
      c.on("data", (d: Buffer) => {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf("\n")) !== -1) {
          c.write(`${name} ${buf.slice(0, nl)} ${c.remoteAddress}\n`);
          buf = buf.slice(nl + 1);
        }
      });
    });
    await new Promise<void>((r) => s.listen(port, ip, r));
    this.closers.push(() => s.close());
    return s;
  }

  async udpBackend(name: string, ip: string, port: number): Promise<void> {
    const s = createSocket("udp4");
    s.on("message", (m, r) => s.send(`${name} ${m.toString()} ${r.address}`, r.port, r.address));
    await new Promise<void>((r) => s.bind(port, ip, r));
    this.closers.push(() => s.close());
  }

  async stop(): Promise<void> {
    for (const c of this.sockets) c.destroy();
    for (const close of this.closers) close();
    await this.client?.close().catch(() => undefined);
    await this.cluster.stop();
  }
}

/** One request/response over a new connection: sends `line\n`, resolves with the first answer line. */
export function ask(ip: string, port: number, line: string, localAddress?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect({ host: ip, port, ...(localAddress ? { localAddress } : {}) });
    let buf = "";
    const t = setTimeout(() => {
      c.destroy();
      reject(new Error(`no answer from ${ip}:${port}`));
    }, 5000);
    c.on("data", (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf("\n");
      if (nl !== -1) {
        clearTimeout(t);
        c.end();
        resolve(buf.slice(0, nl));
      }
    });
    c.on("error", (e) => {
      clearTimeout(t);
      reject(e);
    });
    c.write(`${line}\n`);
  });
}

/** How a TCP connect ends: "connected", or the error code; with the time it took. */
export function tryConnect(ip: string, port: number): Promise<{ outcome: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const c = connect({ host: ip, port });
    c.once("connect", () => {
      c.destroy();
      resolve({ outcome: "connected", ms: performance.now() - t0 });
    });
    c.once("error", (e: NodeJS.ErrnoException) => resolve({ outcome: e.code ?? e.message, ms: performance.now() - t0 }));
  });
}

export function udpAsk(ip: string, port: number, text: string, timeoutMs = 2000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const c = createSocket("udp4");
    const t = setTimeout(() => {
      c.close();
      resolve(undefined);
    }, timeoutMs);
    c.once("message", (m) => {
      clearTimeout(t);
      c.close();
      resolve(m.toString());
    });
    c.send(text, port, ip);
  });
}

export async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    try {
      last = await fn();
      if (ok(last)) return last;
    } catch (e) {
      last = (e instanceof Error ? e.message : String(e)) as T;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)?.slice(0, 800)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
