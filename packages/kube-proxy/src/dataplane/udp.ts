/**
 * One UDP service address. Each client address (ip:port) gets a session: its own socket
 * connected to the endpoint picked for it, so replies find their way back; a session ends
 * after `idleTimeoutMs` without datagrams either way, when its endpoint refuses (ICMP port
 * unreachable), or when its endpoint leaves the Service (as upstream clears conntrack for
 * removed UDP endpoints, the client's next datagram goes to a live one).
 */
import { createSocket, type Socket as UdpSocket, type RemoteInfo } from "node:dgram";
import type { Logger } from "pino";
import type { Clock, Timer } from "@kubemu/common";
import type { ListenerSpec } from "../model/listener-plan.js";
import { endpointString, type EndpointInfo } from "../model/types.js";
import type { RouteTable } from "./routes.js";
import type { ProxyStats } from "./stats.js";

/** Sessions per address at most; past it the least recently started one is closed. */
const MAX_SESSIONS = 4096;
/** Datagrams held for a session whose socket is still connecting. */
const MAX_QUEUED = 64;

export interface UdpListenerDeps {
  routes: RouteTable;
  nodeIp: string;
  stats: ProxyStats;
  clock: Clock;
  log: Logger;
  idleTimeoutMs: number;
}

interface Session {
  key: string;
  client: RemoteInfo;
  endpoint: string;
  socket: UdpSocket;
  ready: boolean;
  queue: Buffer[];
  lastActive: number;
  closed: boolean;
}

export class UdpListener {
  private socket: UdpSocket | undefined;
  private readonly sessions = new Map<string, Session>();
  private sweeper: Timer | undefined;

  constructor(
    public spec: ListenerSpec,
    private readonly deps: UdpListenerDeps,
  ) {}

  get bound(): boolean {
    return this.socket !== undefined;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  listen(): Promise<void> {
    const socket = createSocket({ type: "udp4" });
    return new Promise<void>((resolve, reject) => {
      socket.once("error", (e) => {
        socket.close();
        reject(e);
      });
      socket.bind({ address: this.spec.ip, port: this.spec.port, exclusive: true }, () => {
        socket.removeAllListeners("error");
        socket.on("error", (e) => this.deps.log.warn({ listener: this.spec.id, err: e.message }, "udp socket error"));
        socket.on("message", (msg, rinfo) => this.onMessage(msg, rinfo));
        this.socket = socket;
        const period = Math.max(25, Math.floor(this.deps.idleTimeoutMs / 2));
        this.sweeper = this.deps.clock.setInterval(() => this.sweep(), period);
        resolve();
      });
    });
  }

  /** Closes the address and every session (UDP has nothing to drain: replies need the address). */
  stopAccepting(): void {
    this.destroy();
  }

  destroy(): void {
    this.sweeper?.cancel();
    this.sweeper = undefined;
    for (const s of [...this.sessions.values()]) this.closeSession(s);
    const sock = this.socket;
    this.socket = undefined;
    try {
      sock?.close();
    } catch {
      // already closed
    }
  }

  /** After a sync: sessions whose endpoint left the Service end now. */
  pruneSessions(): void {
    for (const s of [...this.sessions.values()]) if (!this.deps.routes.hasEndpoint(this.spec.serviceKey, s.endpoint)) this.closeSession(s);
  }

  private sweep(): void {
    const cutoff = this.deps.clock.monotonic() - this.deps.idleTimeoutMs;
    for (const s of [...this.sessions.values()]) if (s.lastActive < cutoff) this.closeSession(s);
  }

  private closeSession(s: Session): void {
    if (s.closed) return;
    s.closed = true;
    if (this.sessions.get(s.key) === s) this.sessions.delete(s.key);
    this.deps.stats.connectionClosed("UDP");
    try {
      s.socket.close();
    } catch {
      // already closed
    }
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    const key = `${rinfo.address}:${rinfo.port}`;
    let s = this.sessions.get(key);
    if (!s) {
      const ep = this.deps.routes.pick(this.spec.serviceKey, rinfo.address, this.spec.traffic);
      if (!ep) {
        this.deps.stats.rejected("UDP", this.spec.kind, "no_endpoints");
        return;
      }
      s = this.openSession(key, rinfo, ep, this.spec.snatToNode ? this.deps.nodeIp : rinfo.address);
    }
    s.lastActive = this.deps.clock.monotonic();
    if (s.ready) s.socket.send(msg);
    else if (s.queue.length < MAX_QUEUED) s.queue.push(msg);
  }

  private openSession(key: string, client: RemoteInfo, ep: EndpointInfo, sourceIp: string | undefined): Session {
    if (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.values().next().value;
      if (oldest) this.closeSession(oldest);
    }
    const socket = createSocket({ type: "udp4" });
    const s: Session = { key, client, endpoint: endpointString(ep), socket, ready: false, queue: [], lastActive: this.deps.clock.monotonic(), closed: false };
    this.sessions.set(key, s);
    this.deps.stats.connectionOpened("UDP");
    this.deps.stats.proxied("UDP", this.spec.kind);
    let bound = false;
    socket.on("error", (e: NodeJS.ErrnoException) => {
      if (!bound && sourceIp && e.syscall === "bind" && !s.closed) {
        // Cannot send from the client's address: fall back to the default source.
        const queued = s.queue;
        this.closeSession(s);
        const again = this.openSession(key, client, ep, undefined);
        again.queue.push(...queued);
        return;
      }
      this.closeSession(s);
    });
    socket.on("message", (reply) => {
      s.lastActive = this.deps.clock.monotonic();
      this.socket?.send(reply, client.port, client.address);
    });
    const connectToEndpoint = () => {
      bound = true;
      if (s.closed) return;
      socket.connect(ep.port, ep.ip, () => {
        if (s.closed) return;
        s.ready = true;
        for (const m of s.queue) socket.send(m);
        s.queue = [];
      });
    };
    // Sent from the client's own address when it can be (backends see who asked); else connect() picks the source.
    if (sourceIp) socket.bind({ address: sourceIp, port: 0 }, connectToEndpoint);
    else connectToEndpoint();
    return s;
  }
}
