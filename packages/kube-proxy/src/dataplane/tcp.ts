/**
 * One TCP service address: accept, pick an endpoint, splice both ways. Client data waits in
 * the kernel until the endpoint answers (pauseOnConnect). Client → endpoint goes through
 * pipe(); endpoint → client, the bulk direction of most traffic, reads straight into large
 * buffers (`onread`) that are handed to the client socket without a copy, and stops reading
 * while the client's socket is backed up (backpressure). A half-close (FIN) is passed on while
 * the other direction keeps flowing; a reset on one side becomes a reset on the other. A
 * connection to a dead endpoint is retried on another (as upstream's userspace proxy did); when
 * none is left the client gets a reset. In compose mode an endpoint on another node is reached
 * through its kubelet (kubelet-tunnel.ts) and the client is spliced onto that tunnel instead.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import type { Logger } from "pino";
import type { ListenerSpec } from "../model/listener-plan.js";
import { endpointString, type EndpointInfo } from "../model/types.js";
import type { KubeletTarget } from "../model/endpoint-route.js";
import { errnoCode } from "./errors.js";
import type { KubeletTunnel } from "./kubelet-tunnel.js";
import type { RouteTable } from "./routes.js";
import type { SourceBudget } from "./source-budget.js";
import type { ProxyStats } from "./stats.js";

/** Endpoints tried for one connection before giving up. */
const MAX_DIAL_ATTEMPTS = 4;
/** A connect that has not completed by then counts as failed (loopback answers at once). */
const DIAL_TIMEOUT_MS = 5000;
/** Endpoint → client reads land in buffers this big (Node's own reads are 64 KiB each). */
const READ_CHUNK = 256 * 1024;
/** Reads smaller than this are copied out and the buffer reused, so small messages cost no large allocation. */
const COPY_BELOW = 16 * 1024;

/**
 * Connects to an endpoint, its reads going to `deliver`: a read that filled much of its buffer
 * is handed on as is (the next read gets a fresh buffer), a small one is copied out.
 */
function connectEndpoint(ep: EndpointInfo, sourceIp: string | undefined, deliver: (chunk: Buffer) => void): Socket {
  let next = Buffer.allocUnsafe(READ_CHUNK);
  return connect({
    host: ep.ip,
    port: ep.port,
    allowHalfOpen: true,
    noDelay: true,
    ...(sourceIp ? { localAddress: sourceIp } : {}),
    onread: {
      // Called once up front and again after every read: the buffer the next read fills.
      buffer: () => next,
      callback: (n: number, buf: Uint8Array) => {
        const b = buf as Buffer;
        if (n < COPY_BELOW) deliver(Buffer.from(b.subarray(0, n)));
        else {
          deliver(b.subarray(0, n));
          next = Buffer.allocUnsafe(READ_CHUNK);
        }
        return true;
      },
    },
  });
}

export interface TcpListenerDeps {
  routes: RouteTable;
  nodeIp: string;
  sources: SourceBudget;
  stats: ProxyStats;
  log: Logger;
  /** Opens a tunnel through another node's kubelet (compose mode); without it every endpoint is dialed directly. */
  tunnels?: { open(target: KubeletTarget, podPort: number): KubeletTunnel };
}

function reset(s: Socket): void {
  if (s.destroyed) return;
  try {
    s.resetAndDestroy();
  } catch {
    s.destroy();
  }
}

export class TcpListener {
  private server: Server | undefined;
  /** Client sockets of connections still open (they outlive a closed listener: draining). */
  readonly connections = new Set<Socket>();

  constructor(
    public spec: ListenerSpec,
    private readonly deps: TcpListenerDeps,
  ) {}

  get bound(): boolean {
    return this.server?.listening ?? false;
  }

  /** Binds spec.ip:spec.port; rejects with the socket error (EADDRINUSE...). */
  listen(): Promise<void> {
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (c) => this.onConnection(c));
    this.server = server;
    return new Promise<void>((resolve, reject) => {
      server.once("error", (e) => {
        this.server = undefined;
        reject(e);
      });
      server.listen({ host: this.spec.ip, port: this.spec.port, exclusive: true, backlog: 4096 }, () => {
        server.removeAllListeners("error");
        server.on("error", (e) => this.deps.log.warn({ listener: this.spec.id, err: e.message }, "listener error"));
        resolve();
      });
    });
  }

  /** Stops accepting; open connections go on until their ends close them. */
  stopAccepting(): void {
    const s = this.server;
    this.server = undefined;
    s?.close();
  }

  /** Stops accepting and resets every open connection (process shutdown). */
  destroy(): void {
    this.stopAccepting();
    for (const c of this.connections) reset(c);
  }

  private onConnection(client: Socket): void {
    const spec = this.spec;
    const clientIp = client.remoteAddress ?? "";
    this.connections.add(client);
    this.deps.stats.connectionOpened("TCP");
    let upstream: Socket | undefined;
    let tunnel: KubeletTunnel | undefined;
    let done = false;
    client.on("close", (hadError) => {
      this.connections.delete(client);
      this.deps.stats.connectionClosed("TCP");
      done = true;
      const u = upstream;
      if (u && !u.destroyed) {
        if (hadError || u.connecting) reset(u);
        else u.end();
      }
      // The client is gone both ways: nothing more can go through the tunnel.
      if (tunnel && !tunnel.destroyed) tunnel.destroy(hadError ? new Error("client reset") : undefined);
    });
    client.on("error", () => {
      // 'close' follows with hadError and resets the other side.
    });
    const tried = new Set<string>();
    const viaKubelet = (ep: EndpointInfo, target: KubeletTarget, open: NonNullable<TcpListenerDeps["tunnels"]>["open"]) => {
      const key = endpointString(ep);
      const t = open(target, ep.port);
      tunnel = t;
      t.once("connect", () => {
        if (done) return t.destroy();
        this.deps.stats.proxied("TCP", spec.kind);
        this.deps.stats.tunnel(target.node, "opened");
        client.pipe(t);
        t.pipe(client);
      });
      t.on("error", (e) => {
        if (done) return;
        if (!t.connected) {
          tried.add(key);
          this.deps.stats.tunnel(target.node, "failed");
          this.deps.log.info({ listener: spec.id, endpoint: key, node: target.node, pod: `${target.namespace}/${target.pod}`, err: e.message }, "failed to reach endpoint through its node's kubelet");
          return next();
        }
        this.deps.log.debug({ listener: spec.id, endpoint: key, err: e.message }, "kubelet tunnel failed");
        reset(client);
      });
    };
    const dial = (ep: EndpointInfo, sourceIp: string | undefined) => {
      const route = this.deps.tunnels ? this.deps.routes.endpointRoute(ep, "TCP") : undefined;
      if (route?.kind === "kubelet") return viaKubelet(ep, route, (t, p) => this.deps.tunnels!.open(t, p));
      const key = endpointString(ep);
      const u: Socket = connectEndpoint(ep, sourceIp, (chunk) => {
        if (client.destroyed) return;
        // The client is backed up: stop reading from the endpoint until it drains.
        if (!client.write(chunk) && !u.isPaused()) {
          u.pause();
          client.once("drain", () => u.resume());
        }
      });
      u.on("end", () => {
        if (!client.destroyed) client.end();
      });
      upstream = u;
      u.setTimeout(DIAL_TIMEOUT_MS, () => u.destroy(Object.assign(new Error("dial timeout"), { code: "ETIMEDOUT" })));
      let connected = false;
      u.once("connect", () => {
        connected = true;
        u.setTimeout(0);
        if (done) return reset(u);
        this.deps.stats.proxied("TCP", spec.kind);
        client.pipe(u);
      });
      u.on("error", (e) => {
        if (connected || done) return;
        // A source address we cannot bind (ports exhausted on it): connect from the default one instead.
        if ((e as NodeJS.ErrnoException).syscall === "bind" && sourceIp) return dial(ep, undefined);
        tried.add(key);
        this.deps.log.debug({ listener: spec.id, endpoint: key, err: errnoCode(e) ?? e.message }, "failed to connect to endpoint");
        next();
      });
      u.on("close", (hadError) => {
        if (!connected || done) return;
        if (hadError) reset(client);
        else if (!client.destroyed) client.end();
      });
    };
    const next = () => {
      if (done) return;
      const ep = tried.size < MAX_DIAL_ATTEMPTS ? this.deps.routes.pick(spec.serviceKey, clientIp, spec.traffic, tried) : undefined;
      if (!ep) {
        this.deps.stats.rejected("TCP", spec.kind, tried.size === 0 ? "no_endpoints" : "dial_failed");
        return reset(client);
      }
      dial(ep, this.deps.sources.source(spec.snatToNode ? this.deps.nodeIp : clientIp));
    };
    next();
  }
}
