/**
 * The coredns process's I/O: UDP and TCP listeners on $POD_IP for each server block's port, the
 * log and errors plugins' lines on stdout, the prometheus, health and ready HTTP endpoints, the
 * loop plugin's self-query, reload (the Corefile polled, the servers rebuilt on change) and
 * health's lameduck on SIGTERM. Answers come from Resolver (resolver.ts) over the ClusterModel the
 * informers (watch.ts) keep. A malformed datagram is dropped; every query is answered on its own,
 * so a slow forward never holds up the ones behind it.
 */
import { createHash, randomInt } from "node:crypto";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import { kubeconfigConfig, type ClientConfig } from "../local-path/api.js";
import { type ServerConfig } from "./config.js";
import { Forwarder, upstreamsOf } from "./forward.js";
import { HostsTable } from "./hosts.js";
import { DnsMetrics, VERSION } from "./metrics.js";
import { ClusterModel } from "./model.js";
import { Resolver, type Resolved } from "./resolver.js";
import { startInformers } from "./watch.js";
import { decodeQuery, encodeFitted, flagString, RCODE_NAMES, replyPacket, udpLimit, type Query } from "./wire.js";

export interface CoreDnsOptions {
  configs: ServerConfig[];
  /** The address listeners bind ($POD_IP). */
  bindIP: string;
  /** The API access for the kubernetes plugin (endpoint/kubeconfig in the Corefile win). */
  apiConfig: () => ClientConfig;
  out: (line: string) => void;
  readFile?: (path: string) => string;
}

/** Go's FormatFloat(d.Seconds(), 'f', -1, 64) + "s". */
function seconds(ns: bigint): string {
  const s = (Number(ns) / 1e9).toFixed(9).replace(/0+$/, "").replace(/\.$/, "");
  return `${s}s`;
}

function hostPort(address: string, bindIP: string): { host: string; port: number } {
  const i = address.lastIndexOf(":");
  const host = i > 0 ? address.slice(0, i) : "";
  return { host: host === "" || host === "0.0.0.0" || host === "[::]" ? bindIP : host === "localhost" ? "127.0.0.1" : host, port: Number(address.slice(i + 1)) };
}

export class CoreDns {
  readonly model = new ClusterModel();
  readonly metrics = new DnsMetrics();
  private readonly resolvers: Resolver[] = [];
  private readonly udp: UdpSocket[] = [];
  private readonly tcp: TcpServer[] = [];
  private readonly http: HttpServer[] = [];
  private readonly tcpConns = new Set<Socket>();
  private readonly forwarders: Forwarder[] = [];
  private informers: { synced: () => boolean; stop: () => void } | undefined;
  private loopProbe: string | undefined;
  private loopSeen = 0;
  private lameduck = false;

  constructor(private readonly o: CoreDnsOptions) {}

  synced(): boolean {
    return this.informers ? this.informers.synced() : true;
  }

  /** Starts informers, waits for their first sync (at most 5 s, as upstream), then listens. */
  async start(): Promise<void> {
    const readFile = this.o.readFile ?? ((p: string) => readFileSync(p, "utf8"));
    const kube = this.o.configs.find((c) => c.kubernetes)?.kubernetes;
    if (kube) {
      let api: ClientConfig;
      if (kube.endpoint) api = { server: kube.endpoint };
      else if (kube.kubeconfig) api = kubeconfigConfig(kube.kubeconfig);
      else api = this.o.apiConfig();
      this.informers = startInformers(api, this.model, { pods: kube.pods === "verified", log: this.o.out });
      const deadline = Date.now() + kube.startupTimeoutMs;
      while (!this.informers.synced() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (!this.informers.synced()) this.o.out("[WARNING] plugin/kubernetes: starting server with unsynced Kubernetes API");
    }
    for (const cfg of this.o.configs) {
      let hosts: HostsTable | undefined;
      if (cfg.hosts) {
        let text = "";
        try {
          text = readFile(cfg.hosts.file);
        } catch {
          // upstream logs and serves the inline entries
        }
        hosts = new HostsTable(cfg.hosts, text);
      }
      let forwarder: Forwarder | undefined;
      if (cfg.forward) {
        forwarder = new Forwarder(cfg.forward, upstreamsOf(cfg.forward, readFile));
        this.forwarders.push(forwarder);
      }
      const resolver = new Resolver(cfg, { model: this.model, synced: () => this.synced(), localIPs: [this.o.bindIP], forwarder, hosts, now: () => Date.now() / 1000, rng: Math.random });
      this.resolvers.push(resolver);
      for (const z of cfg.zones) for (const p of cfg.plugins) this.metrics.pluginEnabled.labels(`dns://:${cfg.port}`, z, "", p).set(1);
    }
    // The cache plugin's entry gauges, read when scraped.
    this.metrics.beforeScrape = () => {
      for (const r of this.resolvers) {
        // As upstream, the gauges appear once the cache has served a query.
        if (!r.cache || r.cache.hits + r.cache.misses === 0) continue;
        const server = `dns://:${r.cfg.port}`;
        this.metrics.cacheEntries.labels(server, "success", r.cacheZones, "").set(r.cache.size.success);
        this.metrics.cacheEntries.labels(server, "denial", r.cacheZones, "").set(r.cache.size.denial);
      }
    };
    const ports = [...new Set(this.o.configs.map((c) => c.port))];
    for (const port of ports) {
      await this.listenUdp(port);
      await this.listenTcp(port);
    }
    await this.startHttp();
    for (const c of this.o.configs) this.o.out(`${c.zones.join(" ")}:${c.port}`);
  }

  private pick(name: string, port: number): Resolver | undefined {
    let best: Resolver | undefined;
    let bestLen = -1;
    for (const r of this.resolvers) {
      if (r.cfg.port !== port) continue;
      const z = r.serves(name);
      if (z !== undefined && z.length > bestLen) {
        best = r;
        bestLen = z.length;
      }
    }
    return best;
  }

  /**
   * Answers one query; undefined = drop it. A reply the resolver has at hand (a cache hit) comes
   * back synchronously, the rest as a promise.
   */
  handle(q: Query, proto: "udp" | "tcp", remote: { address: string; port: number }, port: number): Buffer | undefined | Promise<Buffer | undefined> {
    const start = process.hrtime.bigint();
    if (this.loopProbe && q.type === "HINFO" && q.name.toLowerCase() === this.loopProbe) this.onLoopProbe(remote, port);
    const r = this.pick(q.name, port);
    if (!r) return this.finish(q, proto, remote, port, start, undefined, undefined);
    let res: Resolved | Promise<Resolved>;
    try {
      res = r.resolve({ name: q.name, type: q.type, dnssecOk: q.dnssecOk }, proto === "tcp");
    } catch (e) {
      return this.finish(q, proto, remote, port, start, r, this.panicked(e));
    }
    if (res instanceof Promise)
      return res.then(
        (x) => this.finish(q, proto, remote, port, start, r, x),
        (e: unknown) => this.finish(q, proto, remote, port, start, r, this.panicked(e)),
      );
    return this.finish(q, proto, remote, port, start, r, res);
  }

  /** upstream's recover: the query gets SERVFAIL and the panic is counted, the server lives on. */
  private panicked(e: unknown): Resolved {
    this.metrics.panics.inc();
    return { reply: { rcode: "SERVFAIL", answers: [], authorities: [], additionals: [], authoritative: false }, recursionAvailable: false, plugin: "", error: `panic: ${(e as Error).message}` };
  }

  /** Encodes the reply (REFUSED without a server block), counts it and logs it. */
  private finish(q: Query, proto: "udp" | "tcp", remote: { address: string; port: number }, port: number, start: bigint, r: Resolver | undefined, res: Resolved | undefined): Buffer {
    const server = `dns://:${port}`;
    const zone = r ? (r.serves(q.name) ?? ".") : ".";
    const plugin = res?.plugin ?? "";
    const enc = !r || !res ? encodeFitted(q, { rcode: 5, authoritative: false }, undefined) : encodeFitted(q, { ...replyPacket(res.reply), recursionAvailable: res.recursionAvailable }, proto === "udp" ? udpLimit(q) : undefined);
    const m = this.metrics;
    if (r?.cache && res) {
      const zones = r.cacheZones;
      m.cacheRequestsBy.of(server, zones, "").n++;
      if (plugin === "cache") m.cacheHitsBy.of(server, res.reply.answers.length ? "success" : "denial", zones, "").n++;
      else m.cacheMissesBy.of(server, zones, "").n++;
    }
    const rcodeName = RCODE_NAMES[enc.rcode] ?? String(enc.rcode);
    const elapsed = process.hrtime.bigint() - start;
    const family = remote.address.includes(":") && !remote.address.startsWith("::ffff:") ? "2" : "1";
    m.requestsBy.of(server, zone, "", proto, family, q.type).n++;
    m.responsesBy.of(server, zone, "", rcodeName, plugin).n++;
    m.durationBy.of(server, zone, "", q.type).observe(Number(elapsed) / 1e9);
    m.requestSizeBy.of(server, zone, "", proto).observe(q.size);
    m.responseSizeBy.of(server, zone, "", proto).observe(enc.buf.length);
    if (res?.error && r?.cfg.errors) this.o.out(`[ERROR] plugin/errors: ${enc.rcode} ${q.name}. ${q.type}: ${res.error}`);
    if (r?.cfg.log) {
      const bufsize = proto === "tcp" ? 65535 : udpLimit(q);
      this.o.out(`[INFO] ${remote.address}:${remote.port} - ${q.id} "${q.type} ${q.class} ${q.name}. ${proto} ${q.size} ${q.dnssecOk} ${bufsize}" ${rcodeName} ${flagString(enc.flags)} ${enc.buf.length} ${seconds(elapsed)}`);
    }
    return enc.buf;
  }

  private listenUdp(port: number): Promise<void> {
    const s = createSocket({ type: this.o.bindIP.includes(":") ? "udp6" : "udp4", recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    s.on("message", (msg, rinfo) => {
      const q = decodeQuery(msg);
      if (!q) return;
      const reply = this.handle(q, "udp", rinfo, port);
      if (!(reply instanceof Promise)) {
        if (reply) s.send(reply, rinfo.port, rinfo.address);
        return;
      }
      reply.then(
        (buf) => buf && s.send(buf, rinfo.port, rinfo.address),
        () => this.metrics.panics.inc(),
      );
    });
    this.udp.push(s);
    return new Promise((resolve, reject) => {
      const onBindError = (e: Error) => reject(new Error(`listen udp ${this.o.bindIP}:${port}: ${(e as NodeJS.ErrnoException).code === "EADDRINUSE" ? "bind: address already in use" : e.message}`));
      s.once("error", onBindError);
      s.bind(port, this.o.bindIP, () => {
        s.off("error", onBindError);
        // A failed send (ENOBUFS under a storm, a vanished client) is logged; the server keeps going.
        s.on("error", (e) => this.o.out(`[ERROR] plugin/errors: udp ${this.o.bindIP}:${port}: ${e.message}`));
        resolve();
      });
    });
  }

  private listenTcp(port: number): Promise<void> {
    const srv = createTcpServer((c) => {
      this.tcpConns.add(c);
      c.on("close", () => this.tcpConns.delete(c));
      c.on("error", () => undefined);
      c.setTimeout(10_000, () => c.destroy());
      let buf: Buffer = Buffer.alloc(0);
      c.on("data", (d: Buffer) => {
        buf = buf.length ? Buffer.concat([buf, d]) : d;
        while (buf.length >= 2) {
          const len = buf.readUInt16BE(0);
          if (buf.length < 2 + len) break;
          const msg = buf.subarray(2, 2 + len);
          buf = buf.subarray(2 + len);
          const q = decodeQuery(msg);
          if (!q) {
            c.destroy();
            return;
          }
          // Promise.resolve: over TCP a synchronous answer goes out in the same order anyway.
          Promise.resolve(this.handle(q, "tcp", { address: c.remoteAddress ?? "", port: c.remotePort ?? 0 }, port)).then(
            (out) => {
              if (!out || c.destroyed) return;
              const framed = Buffer.alloc(2 + out.length);
              framed.writeUInt16BE(out.length, 0);
              out.copy(framed, 2);
              c.write(framed);
            },
            () => this.metrics.panics.inc(),
          );
        }
      });
    });
    this.tcp.push(srv);
    return new Promise((resolve, reject) => {
      const onListenError = (e: Error) => reject(new Error(`listen tcp ${this.o.bindIP}:${port}: ${(e as NodeJS.ErrnoException).code === "EADDRINUSE" ? "bind: address already in use" : e.message}`));
      srv.once("error", onListenError);
      srv.listen(port, this.o.bindIP, () => {
        srv.off("error", onListenError);
        srv.on("error", (e) => this.o.out(`[ERROR] plugin/errors: tcp ${this.o.bindIP}:${port}: ${e.message}`));
        resolve();
      });
    });
  }

  private async startHttp(): Promise<void> {
    const health = this.o.configs.find((c) => c.health)?.health;
    const ready = this.o.configs.find((c) => c.ready)?.ready;
    const prom = this.o.configs.find((c) => c.prometheus)?.prometheus;
    const listen = (address: string, handler: Parameters<typeof createHttpServer>[1]) => {
      const { host, port } = hostPort(address, this.o.bindIP);
      const s = createHttpServer(handler!);
      this.http.push(s);
      return new Promise<void>((resolve, reject) => {
        const onListenError = (e: Error) => reject(new Error(`listen tcp ${host}:${port}: ${(e as NodeJS.ErrnoException).code === "EADDRINUSE" ? "bind: address already in use" : e.message}`));
        s.once("error", onListenError);
        s.listen(port, host, () => {
          s.off("error", onListenError);
          s.on("error", (e) => this.o.out(`[ERROR] ${host}:${port}: ${e.message}`));
          resolve();
        });
      });
    };
    if (health)
      await listen(health.address, (req, res) => {
        const t0 = process.hrtime.bigint();
        if (req.url === "/health") {
          res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
          res.end("OK");
        } else {
          res.writeHead(404);
          res.end();
        }
        this.metrics.healthDuration.observe(Number(process.hrtime.bigint() - t0) / 1e9);
      });
    if (ready) {
      await listen(ready.address, (req, res) => {
        if (req.url !== "/ready") {
          res.writeHead(404);
          return res.end();
        }
        const ok = this.synced() && !this.lameduck;
        res.writeHead(ok ? 200 : 503, { "content-type": "text/plain; charset=utf-8" });
        res.end(ok ? "OK" : "kubernetes");
      });
      const t = setInterval(() => {
        if (this.synced()) clearInterval(t);
        else this.o.out('[INFO] plugin/ready: Still waiting on: "kubernetes"');
      }, 1000);
      t.unref();
    }
    if (prom)
      await listen(prom.address, (req, res) => {
        if (req.url !== "/metrics") {
          res.writeHead(404);
          return res.end();
        }
        void this.metrics.scrape().then((text) => {
          res.writeHead(200, { "content-type": this.metrics.registry.contentType });
          res.end(text);
        });
      });
  }

  /** The loop plugin: an HINFO query for a random name sent upstream must never come back to us. */
  probeLoop(port: number): void {
    const f = this.forwarders[0];
    if (!f || !this.o.configs.some((c) => c.loop)) return;
    this.loopProbe = `${randomInt(2 ** 47)}${randomInt(2 ** 16)}.${randomInt(2 ** 47)}${randomInt(2 ** 16)}`;
    let sent = 0;
    const send = () => {
      if (sent++ >= 3 || !this.loopProbe) return;
      f.query({ type: "query", id: randomInt(65536), flags: 0x0100, questions: [{ name: this.loopProbe, type: "HINFO" }] }, false).then(
        () => undefined,
        () => undefined,
      );
      setTimeout(send, 500).unref();
    };
    send();
    void port;
  }

  private onLoopProbe(remote: { address: string; port: number }, port: number): void {
    if (++this.loopSeen < 3) return;
    this.o.out(`[FATAL] plugin/loop: Loop (${remote.address}:${remote.port} -> :${port}) detected for zone ".", see https://coredns.io/plugins/loop#troubleshooting. Query: "HINFO ${this.loopProbe}."`);
    process.exit(1);
  }

  /** health's lameduck: /ready answers 503 while the servers keep answering for the duration. */
  async shutdown(): Promise<void> {
    const lameduckMs = this.o.configs.find((c) => c.health)?.health?.lameduckMs ?? 0;
    if (lameduckMs > 0) {
      this.o.out(`[INFO] plugin/health: Going into lameduck mode for ${lameduckMs / 1000}s`);
      this.lameduck = true;
      await new Promise((r) => setTimeout(r, lameduckMs));
    }
    await this.stop();
  }

  async stop(): Promise<void> {
    this.informers?.stop();
    for (const f of this.forwarders) f.close();
    for (const s of this.udp) s.close();
    for (const c of this.tcpConns) c.destroy();
    await Promise.all([...this.tcp, ...this.http].map((s) => new Promise((r) => s.close(() => r(undefined)))));
  }
}

/** The lines CoreDNS prints once its servers are up. */
export function bannerLines(corefileText: string): string[] {
  return [`[INFO] plugin/reload: Running configuration SHA512 = ${createHash("sha512").update(corefileText).digest("hex")}`, `CoreDNS-${VERSION}`, "linux/amd64, go1.21.11, a6338e9"];
}

