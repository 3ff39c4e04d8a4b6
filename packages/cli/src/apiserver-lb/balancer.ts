import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { FAULT_DROP, FaultInjector, newStatus, silentLogger, type Clock, type Logger, type Timer } from "@kubemu/common";

/** One apiserver behind the balancer. */
export interface Backend {
  /** Process name (e.g. "apiserver-0"); fault rules name it as their peer. */
  name: string;
  /** Base URL, e.g. https://127.0.20.1:6443 (https: probed over TLS; clients' TLS passes through). */
  url: string;
}

/** What the balancer knows about a backend. */
export interface BackendState extends Backend {
  /** Result of the last /readyz probe (true before the first one: try it until proven down). */
  healthy: boolean;
  /** Why the last probe failed, if it did. */
  lastError?: string;
  /** Connections currently proxied to it. */
  connections: number;
  /** Whether health has been decided by a probe or a connection attempt yet. */
  probed: boolean;
}

/** Options of {@link ApiserverBalancer}. */
export interface BalancerOptions {
  backends: Backend[];
  clock: Clock;
  /** How often every backend's /readyz is probed. */
  healthIntervalMs: number;
  /** Per-probe timeout. */
  healthTimeoutMs: number;
  /** PEM CA that signs https backends' serving certificates; probes verify against it. */
  backendCa?: string | Buffer;
  /** Fault rules of this process; a "drop" rule for a backend's name takes it out of rotation. */
  faults?: FaultInjector;
  logger?: Logger;
}

/**
 * The apiserver load balancer: a TCP proxy that hands each new client connection to the next
 * healthy apiserver, round robin. Health is `GET /readyz` answering 200, probed every
 * healthIntervalMs; a backend that refuses a connection is marked down at once and the next one
 * is tried. Working at the TCP level keeps HTTP keep-alive, watches and WebSocket upgrades
 * (exec, port-forward) intact. With no backend available the client gets an HTTP 503 Status.
 */
export class ApiserverBalancer {
  private readonly backends: BackendState[];
  private readonly faults: FaultInjector;
  private readonly log: Logger;
  private readonly active = new Map<Socket, { client: Socket; backend: BackendState }>();
  /** Every client socket not yet closed, so close() can end them all. */
  private readonly clients = new Set<Socket>();
  private next = 0;
  private server: Server | undefined;
  private healthTimer: Timer | undefined;

  constructor(private readonly opts: BalancerOptions) {
    if (opts.backends.length === 0) throw new Error("apiserver-lb needs at least one backend");
    this.backends = opts.backends.map((b) => ({ ...b, healthy: true, connections: 0, probed: false }));
    this.faults = opts.faults ?? new FaultInjector();
    this.log = opts.logger ?? silentLogger;
    // A new drop rule cuts existing connections too, as a partition would.
    this.faults.onChange(() => {
      for (const [upstream, { client, backend }] of this.active) {
        if (this.isCutOff(backend)) {
          upstream.destroy();
          client.destroy();
        }
      }
    });
  }

  /** Listens on host:port (0 = any free port) and starts probing; resolves to the bound port. */
  async listen(host: string, port: number): Promise<number> {
    // No Nagle on either leg (as haproxy's default): a proxied small write must not wait for the
    // peer's delayed ACK (it held the wire API's pipelined requests ~20 ms).
    const server = createServer({ noDelay: true }, (client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    void this.checkHealth();
    this.healthTimer = this.opts.clock.setInterval(() => void this.checkHealth(), this.opts.healthIntervalMs);
    const addr = server.address();
    return typeof addr === "object" && addr !== null ? addr.port : port;
  }

  /** Stops accepting, stops probing and closes every proxied connection. */
  async close(): Promise<void> {
    this.healthTimer?.cancel();
    for (const upstream of this.active.keys()) upstream.destroy();
    for (const client of this.clients) client.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** A snapshot of every backend, for /kubemu/status. */
  snapshot(): BackendState[] {
    return this.backends.map((b) => ({ ...b }));
  }

  /** Probes every backend's /readyz once (the timer calls this; tests may call it directly). */
  async checkHealth(): Promise<void> {
    await Promise.all(
      this.backends.map(async (b) => {
        this.setHealth(b, await this.probeReadyz(b.url));
      }),
    );
  }

  /** GET <url>/readyz; undefined when it answered 200, else why not. */
  private probeReadyz(url: string): Promise<string | undefined> {
    const target = new URL("/readyz", url);
    const request = target.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise((resolve) => {
      const req = request(target, { timeout: this.opts.healthTimeoutMs, ...(this.opts.backendCa ? { ca: this.opts.backendCa } : {}) }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode === 200 ? undefined : `/readyz answered ${res.statusCode}`));
        res.on("error", (e) => resolve(e.message));
      });
      req.on("timeout", () => req.destroy(new Error("/readyz timed out")));
      req.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      req.end();
    });
  }

  private setHealth(b: BackendState, error: string | undefined): void {
    const healthy = error === undefined;
    if (healthy !== b.healthy) this.log.info({ backend: b.name, healthy, error }, healthy ? "backend is healthy" : "backend is down");
    b.healthy = healthy;
    b.probed = true;
    if (error === undefined) delete b.lastError;
    else b.lastError = error;
  }

  private isCutOff(b: BackendState): boolean {
    return this.faults.rules.some((r) => r.action === "drop" && (r.peer === b.name || r.peer === "*") && r.direction !== "in" && (r.probability ?? 1) >= 1);
  }

  /** Healthy backends in round-robin order starting after the last one used. */
  private candidates(): BackendState[] {
    const n = this.backends.length;
    const order = Array.from({ length: n }, (_, i) => this.backends[(this.next + i) % n]!);
    this.next = (this.next + 1) % n;
    return order.filter((b) => b.healthy);
  }

  private accept(client: Socket): void {
    client.pause(); // hold the client's first bytes until a backend is connected
    this.clients.add(client);
    client.on("close", () => this.clients.delete(client));
    client.on("error", () => client.destroy());
    void this.connectTo(client, this.candidates());
  }

  private async connectTo(client: Socket, candidates: BackendState[]): Promise<void> {
    for (const backend of candidates) {
      if (client.destroyed) return;
      const verdict = this.faults.verdict(backend.name, "out");
      if (verdict === FAULT_DROP) continue;
      if (verdict > 0) await this.opts.clock.sleep(verdict);
      const upstream = await this.dial(backend);
      if (upstream === undefined) continue;
      this.splice(client, upstream, backend);
      return;
    }
    this.refuse(client);
  }

  private dial(backend: BackendState): Promise<Socket | undefined> {
    const { hostname, port } = new URL(backend.url);
    return new Promise((resolve) => {
      const upstream = createConnection({ host: hostname, port: Number(port) || 80, noDelay: true });
      const timer = this.opts.clock.setTimeout(() => upstream.destroy(new Error("connect timeout")), this.opts.healthTimeoutMs);
      upstream.once("connect", () => {
        timer.cancel();
        upstream.removeAllListeners("error");
        resolve(upstream);
      });
      upstream.once("error", (e: NodeJS.ErrnoException) => {
        timer.cancel();
        this.setHealth(backend, e.code ?? e.message); // refused: out of rotation until a probe says otherwise
        resolve(undefined);
      });
    });
  }

  private splice(client: Socket, upstream: Socket, backend: BackendState): void {
    backend.connections++;
    this.active.set(upstream, { client, backend });
    const done = () => {
      if (!this.active.delete(upstream)) return;
      backend.connections--;
      client.destroy();
      upstream.destroy();
    };
    upstream.on("error", done);
    upstream.on("close", done);
    client.on("close", done);
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  }

  private refuse(client: Socket): void {
    // A TLS client cannot read a plain-HTTP answer: close, as a TCP balancer with no backend does.
    if (this.opts.backends.some((b) => b.url.startsWith("https:"))) {
      client.destroy();
      return;
    }
    client.resume(); // read (and discard) the request so the client's FIN arrives and the socket closes
    const body = JSON.stringify(newStatus("ServiceUnavailable", "apiserver-lb: no healthy apiserver is available"));
    client.end(`HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  }
}

/** Parses `--backends apiserver-0=https://127.0.20.1:6443,...` (a bare URL is named after its host:port). */
export function parseBackends(value: string): Backend[] {
  return value.split(",").filter((s) => s !== "").map((entry) => {
    const eq = entry.indexOf("=");
    const [name, url] = eq === -1 ? [undefined, entry] : [entry.slice(0, eq), entry.slice(eq + 1)];
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`--backends: "${url}" is not a URL`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error(`--backends: "${url}" must be http:// or https://`);
    return { name: name ?? parsed.host, url: url.replace(/\/+$/, "") };
  });
}
