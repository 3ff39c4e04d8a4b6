/**
 * The forward plugin's I/O: queries go to the upstreams (the nameservers of a resolv.conf, or
 * host[:port] arguments) over the client's protocol (TCP with force_tcp), each attempt timing out
 * after 2 s, within 5 s in all and at most 3 attempts per upstream (upstream's defaults). One
 * connected UDP socket per upstream carries every in-flight query (ids rewritten so they never
 * collide); an ICMP "port unreachable" (ECONNREFUSED) fails its queries at once, so a dead
 * upstream gives SERVFAIL in milliseconds rather than seconds.
 */
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import dnsPacket, { type DecodedPacket, type Packet } from "dns-packet";
import type { ForwardConfig } from "./config.js";
import { parseResolvNameservers } from "./resolv.js";

export interface Upstream {
  host: string;
  port: number;
}

export class ForwardError extends Error {}

const ATTEMPT_MS = 2000;
const DEADLINE_MS = 5000;
const ATTEMPTS_PER_UPSTREAM = 3;

/** The upstreams of a forward directive: resolv.conf files expand to their nameservers on port 53. */
export function upstreamsOf(cfg: ForwardConfig, readFile: (p: string) => string = (p) => readFileSync(p, "utf8")): Upstream[] {
  const out: Upstream[] = [];
  for (const to of cfg.to) {
    if (to.startsWith("/")) {
      for (const ns of parseResolvNameservers(readFile(to))) out.push({ host: ns, port: 53 });
      continue;
    }
    const s = to.replace(/^dns:\/\//, "");
    const m = /^\[(.+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s);
    if (m) out.push({ host: m[1]!, port: m[2] ? Number(m[2]) : 53 });
    else out.push({ host: s, port: 53 });
  }
  return out;
}

interface Pending {
  resolve: (p: DecodedPacket) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  originalId: number;
}

/** One upstream's connected UDP socket with its in-flight queries by (rewritten) id. */
class UdpChannel {
  private socket: UdpSocket | undefined;
  /** Sends waiting for connect() to finish (a send before that would need an address). */
  private queued: (() => void)[] | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(private readonly up: Upstream) {}

  /** "local->upstream", as Go's net errors name a UDP flow. */
  private flow(): string {
    let local = "";
    try {
      const a = this.socket?.address();
      if (a) local = `${a.address}:${a.port}->`;
    } catch {
      // not bound yet
    }
    return `${local}${this.up.host}:${this.up.port}`;
  }

  private open(): UdpSocket {
    if (this.socket) return this.socket;
    const s = createSocket(this.up.host.includes(":") ? "udp6" : "udp4");
    s.on("message", (m) => {
      if (m.length < 12) return;
      const id = m.readUInt16BE(0);
      const p = this.pending.get(id);
      if (!p) return;
      let decoded: DecodedPacket;
      try {
        decoded = dnsPacket.decode(m);
      } catch {
        return;
      }
      this.pending.delete(id);
      clearTimeout(p.timer);
      decoded.id = p.originalId;
      p.resolve(decoded);
    });
    s.on("error", (e) => {
      // ECONNREFUSED and friends: nothing listens there; every query on this socket fails now.
      const err = new ForwardError(`read udp ${this.flow()}: ${(e as NodeJS.ErrnoException).code === "ECONNREFUSED" ? "read: connection refused" : e.message}`);
      for (const [id, p] of this.pending) {
        clearTimeout(p.timer);
        this.pending.delete(id);
        p.reject(err);
      }
      s.close();
      if (this.socket === s) this.socket = undefined;
    });
    this.queued = [];
    s.connect(this.up.port, this.up.host, () => {
      const q = this.queued ?? [];
      this.queued = undefined;
      for (const send of q) send();
    });
    this.socket = s;
    return s;
  }

  query(p: Packet, timeoutMs: number): Promise<DecodedPacket> {
    const s = this.open();
    let id = this.nextId;
    while (this.pending.has(id)) id = (id % 65535) + 1;
    this.nextId = (id % 65535) + 1;
    const buf = dnsPacket.encode({ ...p, id });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ForwardError(`read udp ${this.flow()}: i/o timeout`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, originalId: p.id ?? 0 });
      const send = () =>
        s.send(buf, (e) => {
          if (!e) return;
          const pend = this.pending.get(id);
          if (!pend) return;
          this.pending.delete(id);
          clearTimeout(timer);
          reject(new ForwardError(`write udp ${this.flow()}: ${e.message}`));
        });
      try {
        if (this.queued) this.queued.push(send);
        else send();
      } catch (e) {
        this.pending.delete(id);
        clearTimeout(timer);
        reject(new ForwardError((e as Error).message));
      }
    });
  }

  close(): void {
    this.socket?.close();
    this.socket = undefined;
  }
}

function tcpQuery(up: Upstream, p: Packet, timeoutMs: number): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const c = connect({ host: up.host, port: up.port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      c.destroy();
      reject(new ForwardError(`read tcp ${up.host}:${up.port}: i/o timeout`));
    }, timeoutMs);
    c.on("connect", () => c.write(dnsPacket.streamEncode(p)));
    c.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(timer);
        c.destroy();
        try {
          resolve(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
        } catch (e) {
          reject(new ForwardError(`read tcp ${up.host}:${up.port}: ${(e as Error).message}`));
        }
      }
    });
    c.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new ForwardError(`dial tcp ${up.host}:${up.port}: connect: ${e.code === "ECONNREFUSED" ? "connection refused" : e.message}`));
    });
  });
}

export class Forwarder {
  private readonly channels: UdpChannel[];
  private inflight = 0;
  private rr = 0;
  requests = 0;

  constructor(
    readonly cfg: ForwardConfig,
    readonly upstreams: Upstream[],
    private readonly rng: () => number = Math.random,
  ) {
    this.channels = upstreams.map((u) => new UdpChannel(u));
  }

  /** Whether this forwarder takes the name (its FROM zone, minus `except`). */
  matches(name: string): boolean {
    const n = `${name.toLowerCase().replace(/\.$/, "")}.`;
    const under = (z: string) => z === "." || n === z || n.endsWith(`.${z}`);
    return under(this.cfg.from) && !this.cfg.except.some(under);
  }

  private order(): number[] {
    const idx = this.upstreams.map((_, i) => i);
    if (this.cfg.policy === "sequential") return idx;
    if (this.cfg.policy === "round_robin") {
      const start = this.rr++ % Math.max(1, idx.length);
      return [...idx.slice(start), ...idx.slice(0, start)];
    }
    for (let i = idx.length - 1; i > 0; i--) {
      const j = Math.floor(this.rng() * (i + 1));
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    return idx;
  }

  /** Sends the query upstream; rejects with ForwardError (the caller answers SERVFAIL, or REFUSED over the limit). */
  async query(p: Packet, tcp: boolean): Promise<DecodedPacket> {
    if (this.upstreams.length === 0) throw new ForwardError("no forwarder defined");
    if (this.cfg.maxConcurrent > 0 && this.inflight >= this.cfg.maxConcurrent) throw new LimitExceeded(`concurrent queries exceeded maximum ${this.cfg.maxConcurrent}`);
    this.inflight++;
    try {
      const deadline = Date.now() + DEADLINE_MS;
      const order = this.order();
      let last: Error = new ForwardError("no healthy proxies");
      for (let attempt = 0; attempt < ATTEMPTS_PER_UPSTREAM * order.length && Date.now() < deadline; attempt++) {
        const i = order[attempt % order.length]!;
        this.requests++;
        try {
          const timeout = Math.min(ATTEMPT_MS, deadline - Date.now());
          return tcp || this.cfg.forceTcp ? await tcpQuery(this.upstreams[i]!, p, timeout) : await this.channels[i]!.query(p, timeout);
        } catch (e) {
          last = e as Error;
        }
      }
      throw last;
    } finally {
      this.inflight--;
    }
  }

  close(): void {
    for (const c of this.channels) c.close();
  }
}

export class LimitExceeded extends ForwardError {}
