/**
 * EtcdServer: one member of the replicated store, wired together — durable state (Disk), the
 * Raft driver, the peer transport, the state machine, lease expiry, the client API and the
 * HTTP control listener. `main.ts` runs it as a process; tests may run it in-process.
 *
 * Client URL publication: each member announces its client URL through the log (a `publish`
 * entry, proposed by the leader — followers ask the leader over the peer connection), so every
 * member can answer a write with "NotLeader, go to <leader's client URL>".
 */
import {
  type Clock,
  FaultInjector,
  type Logger,
  newBadRequest,
  type ProcessStatus,
  randomRng,
  realClock,
  type Rng,
  type Timer,
  WireServer,
} from "@kubemu/common";
import { checkWsUrl, notProposed } from "../api/index.js";
import { StateType } from "../raft/index.js";
import type { ServerConfig } from "./config.js";
import { encodeCommand } from "./codec.js";
import { startControlHttp, type ControlHttp } from "./control-http.js";
import { Disk } from "./disk.js";
import { KvService } from "./kv-service.js";
import { Lessor } from "./lessor.js";
import { clientTlsOf, listenWire, type WireListener } from "./listener.js";
import { clusterIdOf, memberIdOf } from "./members.js";
import { ServerMetrics } from "./metrics.js";
import { RaftDriver } from "./raft-driver.js";
import { StateMachine } from "./state-machine.js";
import { PeerTransport } from "./transport.js";

/** Peer method a follower uses to ask the leader to publish its client URL. */
const PEER_METHOD_PUBLISH = "member.publish";

export interface EtcdServerOptions {
  config: ServerConfig;
  log: Logger;
  clock?: Clock;
  rng?: Rng;
  /**
   * Called when the member must end: code 0 after it was removed from the cluster, 1 after a
   * fatal error. The server has already stopped (or is stopping) when it is called.
   */
  onExit?: (code: number, reason: string) => void;
  /** Collect process-level default metrics (off for in-process tests). */
  defaultMetrics?: boolean;
}

export class EtcdServer {
  readonly id: number;
  readonly name: string;
  readonly metrics: ServerMetrics;
  readonly faults = new FaultInjector();
  clientUrl = "";
  peerUrl = "";
  controlUrl: string | undefined;

  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly rng: Rng;
  private driver!: RaftDriver;
  private sm!: StateMachine;
  private disk!: Disk;
  private transport!: PeerTransport;
  private lessor!: Lessor;
  private service!: KvService;
  private clientServer!: WireServer;
  private peerServer!: WireServer;
  private listeners: WireListener[] = [];
  private control: ControlHttp | undefined;
  private publishTimer: Timer | undefined;
  private publishing = false;
  private stopping: Promise<void> | undefined;

  private constructor(private readonly opts: EtcdServerOptions) {
    this.name = opts.config.name;
    this.id = memberIdOf(this.name);
    this.log = opts.log;
    this.clock = opts.clock ?? realClock;
    this.rng = opts.rng ?? randomRng().rng;
    this.metrics = new ServerMetrics({ defaultMetrics: opts.defaultMetrics === true });
  }

  /** Recovers or bootstraps the data dir, starts listening and joins the cluster. */
  static async start(opts: EtcdServerOptions): Promise<EtcdServer> {
    const s = new EtcdServer(opts);
    await s.init();
    return s;
  }

  private async init(): Promise<void> {
    const cfg = this.opts.config;
    const initial = cfg.initialCluster.map((m) => ({ id: memberIdOf(m.name), name: m.name, peerUrls: [m.peerUrl], clientUrls: [] as string[] }));
    const booted = await Disk.boot({
      dataDir: cfg.dataDir,
      memberName: cfg.name,
      clusterId: clusterIdOf(cfg.initialCluster),
      log: this.log,
      ...(cfg.initialClusterState === "new"
        ? { bootstrap: { confState: { voters: initial.map((m) => m.id).sort((a, b) => a - b), learners: [] }, members: initial, mvcc: new StateMachine({}).store.toSnapshot() } }
        : {}),
    });
    this.disk = booted.disk;
    this.sm = new StateMachine({ limits: { maxValueBytes: cfg.maxRequestBytes } });
    if (booted.envelope) this.sm.restore(booted.envelope);

    this.transport = new PeerTransport({
      selfId: this.id,
      selfName: this.name,
      clock: this.clock,
      rng: this.rng.fork(),
      log: this.log,
      faults: this.faults,
      tls: clientTlsOf(cfg.peerTls),
      handler: {
        receive: (m) => this.driver.step(m),
        reportUnreachable: (id) => this.driver.reportUnreachable(id),
        reportSnapshot: (id, ok) => this.driver.reportSnapshot(id, ok),
      },
    });
    // Peers known from the replicated registry, plus the flags (a joining member knows no registry yet).
    for (const m of this.sm.members.list()) if (m.peerUrls[0]) this.transport.setPeer(m.id, m.peerUrls[0]);
    for (const m of initial) if (!this.sm.members.get(m.id)) this.transport.setPeer(m.id, m.peerUrls[0]!);

    this.driver = new RaftDriver({
      id: this.id,
      name: this.name,
      clock: this.clock,
      rng: this.rng.fork(),
      log: this.log,
      storage: booted.storage,
      disk: this.disk,
      transport: this.transport,
      sm: this.sm,
      metrics: this.metrics,
      appliedIndex: booted.appliedIndex,
      heartbeatMs: cfg.heartbeatMs,
      electionMs: cfg.electionMs,
      snapshotCount: cfg.snapshotCount,
      snapshotCatchUpEntries: cfg.snapshotCatchUpEntries,
      onFatal: (e) => this.fatal(e),
      onRemoved: () => this.removed(),
      onSoftState: (ss, prev) => {
        if (ss.raftState === StateType.Leader && prev.raftState !== StateType.Leader) this.lessor.promote();
        else if (ss.raftState !== StateType.Leader && prev.raftState === StateType.Leader) this.lessor.demote();
      },
      onApplied: (cmd, result) => this.lessor.onApplied(cmd, result),
    });
    this.lessor = new Lessor({
      clock: this.clock,
      log: this.log,
      checkIntervalMs: Math.max(100, cfg.heartbeatMs * 5),
      store: () => this.sm.store,
      propose: (data) => this.driver.propose(data),
    });
    this.service = new KvService({
      id: this.id,
      name: this.name,
      clock: this.clock,
      rng: this.rng.fork(),
      driver: this.driver,
      sm: this.sm,
      lessor: this.lessor,
      limits: { maxKeyBytes: 8 * 1024, maxValueBytes: cfg.maxRequestBytes, maxTxnOps: 128 },
      maxRequestBytes: cfg.maxRequestBytes,
      quotaBytes: cfg.quotaBytes,
      electionMs: cfg.electionMs,
    });

    const frameLimit = Math.max(16 * 1024 * 1024, cfg.maxRequestBytes * 2 + 1024 * 1024);
    this.peerServer = new WireServer({ name: this.name, logger: this.log, clock: this.clock, faults: this.faults, maxFrameBytes: frameLimit });
    this.transport.serve(this.peerServer);
    this.peerServer.handle(PEER_METHOD_PUBLISH, (p: unknown) => this.handlePublish(p));
    this.clientServer = new WireServer({ name: this.name, logger: this.log, clock: this.clock, faults: this.faults, maxFrameBytes: frameLimit });
    this.service.register(this.clientServer);

    const peerAddr = new URL(cfg.peerUrl);
    const clientAddr = new URL(cfg.clientUrl);
    // etcd's words for a peer certificate with the wrong CommonName.
    const rejected = (remote: string, cn: string | undefined) => this.log.warn({ remote, commonName: cn ?? null }, `rejected connection from "${remote}" (error "CommonName authentication failed", ServerName "")`);
    const p = await listenWire(this.peerServer, { host: peerAddr.hostname, port: Number(peerAddr.port) }, cfg.peerTls, rejected);
    this.listeners.push(p);
    const c = await listenWire(this.clientServer, { host: clientAddr.hostname, port: Number(clientAddr.port) }, cfg.clientTls);
    this.listeners.push(c);
    this.peerUrl = p.url;
    this.clientUrl = c.url;
    if (cfg.controlUrl) {
      const u = new URL(cfg.controlUrl);
      this.control = await startControlHttp({
        host: u.hostname,
        port: Number(u.port),
        registry: this.metrics.registry,
        faults: this.faults,
        logger: this.log,
        log: this.log,
        status: () => this.processStatus(),
        health: () => (this.driver.leader !== 0 ? { healthy: true, reason: "" } : { healthy: false, reason: "no leader" }),
      });
      this.controlUrl = this.control.url;
    }
    this.driver.start();
    this.publishTimer = this.clock.setInterval(() => this.publishClientUrl(), 200);
    this.log.info(
      { id: this.id, clientUrl: this.clientUrl, peerUrl: this.peerUrl, controlUrl: this.controlUrl, members: this.driver.members.voters.length, state: cfg.initialClusterState },
      "kubemu-etcd member started",
    );
  }

  /** What GET /kubemu/status answers. */
  processStatus(): ProcessStatus {
    const st = this.driver.node.status();
    return {
      name: this.name,
      pid: process.pid,
      role: this.driver.role,
      term: st.hardState.term,
      leader: this.sm.members.get(this.driver.leader)?.name ?? (this.driver.leader === 0 ? "" : String(this.driver.leader)),
      leaderId: this.driver.leader,
      raftLead: st.softState.lead,
      readyLoop: this.driver.loopState,
      memberId: this.id,
      revision: this.sm.store.revision,
      compactRevision: this.sm.store.compactRevision,
      raftIndex: st.lastIndex,
      commitIndex: st.hardState.commit,
      appliedIndex: this.driver.applied,
      members: this.sm.members.list().map((m) => m.name),
      clientUrl: this.clientUrl,
      peerUrl: this.peerUrl,
    };
  }

  /** The client API's status answer (for in-process tests). */
  status() {
    return this.service.status();
  }

  /** Stops gracefully: stop accepting, end streams, finish the current Ready, flush and close the WAL. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.publishTimer?.cancel();
    this.lessor.stop();
    this.service.cancelWatches();
    await this.clientServer.close();
    await this.peerServer.close();
    for (const l of this.listeners) l.close();
    await this.driver.stop();
    await this.transport.close();
    try {
      await this.disk.close();
    } catch (e) {
      this.log.warn({ err: e instanceof Error ? e.message : String(e) }, "closing the WAL failed");
    }
    await this.control?.close();
    this.log.info("kubemu-etcd member stopped");
  }

  private fatal(e: unknown): void {
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    this.log.fatal({ err: msg }, "fatal error; stopping this member");
    void this.stop().finally(() => this.opts.onExit?.(1, msg));
  }

  private removed(): void {
    this.log.warn("this member was removed from the cluster; stopping");
    // Let the current Ready finish (the removal entry is applied) before shutting down.
    setImmediate(() => void this.stop().finally(() => this.opts.onExit?.(0, "removed from the cluster")));
  }

  private publishClientUrl(): void {
    if (this.publishing || this.stopping) return;
    const me = this.sm.members.get(this.id);
    if (!me || me.clientUrls[0] === this.clientUrl) return;
    const lead = this.driver.leader;
    if (lead === 0) return;
    this.publishing = true;
    const done = () => {
      this.publishing = false;
    };
    const data = encodeCommand({ op: "publish", id: this.id, clientUrl: this.clientUrl });
    const req = this.driver.isLeader
      ? this.driver.propose(data)
      : this.transport.call(lead, PEER_METHOD_PUBLISH, { id: this.id, clientUrl: this.clientUrl }, 2000);
    req.then(
      () => {
        this.log.info({ clientUrl: this.clientUrl }, "published client URL");
        done();
      },
      (e: unknown) => {
        this.log.debug({ err: e instanceof Error ? e.message : String(e) }, "publishing client URL failed; will retry");
        done();
      },
    );
  }

  private async handlePublish(p: unknown): Promise<{ ok: true }> {
    if (typeof p !== "object" || p === null) throw newBadRequest("member.publish: params must be an object");
    const { id, clientUrl } = p as Record<string, unknown>;
    if (typeof id !== "number" || !this.sm.members.get(id)) throw newBadRequest("member.publish: id is not a member");
    if (typeof clientUrl !== "string") throw newBadRequest("member.publish: clientUrl must be a string");
    const url = checkWsUrl(clientUrl, "member.publish: clientUrl");
    if (!this.driver.isLeader) throw notProposed("not the leader");
    await this.driver.propose(encodeCommand({ op: "publish", id, clientUrl: url }));
    return { ok: true };
  }
}
