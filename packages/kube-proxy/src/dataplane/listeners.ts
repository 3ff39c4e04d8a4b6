/**
 * Keeps the open sockets equal to the plan. A listener the plan no longer wants stops
 * accepting, and its open TCP connections drain on their own. Binding a shared address
 * (ClusterIP, externalIP, load-balancer IP) that another kube-proxy on the host holds leaves
 * it waiting. Waiting listeners are not each retried: every bind-retry period (jittered) a few
 * of them, in turn, are tried as canaries, and when one binds (its holder is gone, and that
 * holder most likely held the others too) all the rest are tried at once. So a standby costs a
 * few bind attempts per period however many Services there are, and still takes over within
 * about one period. Any other bind failure (a NodePort already taken on the node's IP, an
 * address this host does not have) is reported once through onBindFailure and retried slowly;
 * the proxy keeps running.
 */
import type { Logger } from "pino";
import type { Clock, Rng, Timer } from "@kubemu/common";
import type { ListenerSpec } from "../model/listener-plan.js";
import { errnoCode, listenErrorText } from "./errors.js";
import type { RouteTable } from "./routes.js";
import { SourceBudget } from "./source-budget.js";
import type { ProxyStats } from "./stats.js";
import { TcpListener, type TcpListenerDeps } from "./tcp.js";
import { UdpListener } from "./udp.js";

export type ListenerState = "binding" | "bound" | "waiting" | "failed";

export interface ListenerStatus {
  id: string;
  service: string;
  kind: ListenerSpec["kind"];
  state: ListenerState;
  error?: string;
}

export interface ListenerManagerOptions {
  routes: RouteTable;
  nodeIp: string;
  stats: ProxyStats;
  clock: Clock;
  rng: Rng;
  log: Logger;
  /** How often a waiting shared listener tries to bind again. */
  bindRetryMs: number;
  /** How often a failed listener tries again. */
  failedRetryMs: number;
  udpIdleTimeoutMs: number;
  /** Compose mode: tunnels through other nodes' kubelets for their endpoints. */
  tunnels?: TcpListenerDeps["tunnels"];
  /** A listener could not bind for a reason other than another kube-proxy holding it (called once per distinct error). */
  onBindFailure?(spec: ListenerSpec, errorText: string): void;
  /** A listener bound; `waitedMs` is how long it waited for a previous holder (0 if it never waited). */
  onBound?(spec: ListenerSpec, waitedMs: number): void;
}

/** Waiting listeners tried per bind-retry period. */
const CANARIES_PER_PERIOD = 4;

interface Managed {
  spec: ListenerSpec;
  impl: TcpListener | UdpListener;
  state: ListenerState;
  error: string | undefined;
  reported: string | undefined;
  retry: Timer | undefined;
  waitingSince: number | undefined;
  removed: boolean;
}

export class ListenerManager {
  private readonly listeners = new Map<string, Managed>();
  /** Stopped TCP listeners whose connections are still draining. */
  private readonly draining = new Set<TcpListener>();
  /** Waiting listeners in canary order (tried from the front, moved to the back). */
  private waiting: Managed[] = [];
  private standbyTimer: Timer | undefined;
  private closed = false;
  private readonly sources: SourceBudget;

  constructor(private readonly o: ListenerManagerOptions) {
    this.sources = new SourceBudget(o.clock);
  }

  /** Makes the open listeners those of `wanted` (specs with open = true). */
  apply(wanted: readonly ListenerSpec[]): void {
    if (this.closed) return;
    const next = new Map(wanted.map((s) => [s.id, s]));
    for (const [id, m] of this.listeners) if (!next.has(id)) this.remove(m);
    for (const spec of next.values()) {
      const m = this.listeners.get(spec.id);
      if (m) {
        m.spec = spec;
        m.impl.spec = spec;
        if (m.impl instanceof UdpListener) m.impl.pruneSessions();
      } else this.add(spec);
    }
    for (const l of this.draining) if (l.connections.size === 0) this.draining.delete(l);
  }

  status(): ListenerStatus[] {
    return [...this.listeners.values()].map((m) => ({ id: m.spec.id, service: m.spec.serviceKey, kind: m.spec.kind, state: m.state, ...(m.error ? { error: m.error } : {}) }));
  }

  counts(): Record<ListenerState, number> {
    const c: Record<ListenerState, number> = { binding: 0, bound: 0, waiting: 0, failed: 0 };
    for (const m of this.listeners.values()) c[m.state]++;
    return c;
  }

  get udpSessions(): number {
    let n = 0;
    for (const m of this.listeners.values()) if (m.impl instanceof UdpListener) n += m.impl.sessionCount;
    return n;
  }

  /** Closes everything, open connections included. */
  close(): void {
    this.closed = true;
    this.standbyTimer?.cancel();
    this.standbyTimer = undefined;
    this.waiting = [];
    for (const m of this.listeners.values()) {
      m.removed = true;
      m.retry?.cancel();
      m.impl.destroy();
    }
    this.listeners.clear();
    for (const l of this.draining) l.destroy();
    this.draining.clear();
  }

  private add(spec: ListenerSpec): void {
    const deps = { routes: this.o.routes, nodeIp: this.o.nodeIp, stats: this.o.stats, log: this.o.log, sources: this.sources, ...(this.o.tunnels ? { tunnels: this.o.tunnels } : {}) };
    const impl = spec.protocol === "TCP" ? new TcpListener(spec, deps) : new UdpListener(spec, { ...deps, clock: this.o.clock, idleTimeoutMs: this.o.udpIdleTimeoutMs });
    const m: Managed = { spec, impl, state: "binding", error: undefined, reported: undefined, retry: undefined, waitingSince: undefined, removed: false };
    this.listeners.set(spec.id, m);
    void this.bind(m);
  }

  private remove(m: Managed): void {
    m.removed = true;
    m.retry?.cancel();
    this.listeners.delete(m.spec.id);
    if (m.state !== "bound") return m.impl.destroy();
    m.impl.stopAccepting();
    if (m.impl instanceof TcpListener && m.impl.connections.size > 0) this.draining.add(m.impl);
    this.o.log.info({ listener: m.spec.id, service: m.spec.serviceKey }, "closed listener");
  }

  /** One bind attempt; resolves true if it bound. */
  private bind(m: Managed): Promise<boolean> {
    m.retry = undefined;
    return m.impl.listen().then(
      () => {
        if (m.removed) {
          m.impl.destroy();
          return false;
        }
        const waited = m.waitingSince === undefined ? 0 : this.o.clock.monotonic() - m.waitingSince;
        m.state = "bound";
        m.error = undefined;
        m.reported = undefined;
        m.waitingSince = undefined;
        this.o.log.info({ listener: m.spec.id, service: m.spec.serviceKey, ...(waited ? { waitedMs: Math.round(waited) } : {}) }, waited ? "took over listener" : "opened listener");
        this.o.onBound?.(m.spec, waited);
        return true;
      },
      (e: unknown) => {
        if (m.removed) return false;
        const text = listenErrorText(m.spec.protocol, m.spec.ip, m.spec.port, e);
        if (m.spec.shared && errnoCode(e) === "EADDRINUSE") {
          // Another kube-proxy on this host holds it: stand by and take over when it lets go.
          if (m.state !== "waiting") {
            this.o.log.debug({ listener: m.spec.id }, "address held elsewhere; standing by");
            m.state = "waiting";
            m.error = undefined;
            m.waitingSince ??= this.o.clock.monotonic();
            this.waiting.push(m);
            this.scheduleStandby();
          }
          return false;
        }
        m.state = "failed";
        m.error = text;
        if (m.reported !== text) {
          m.reported = text;
          this.o.log.error({ listener: m.spec.id, service: m.spec.serviceKey, err: text }, "can't open port, skipping it");
          this.o.onBindFailure?.(m.spec, text);
        }
        m.retry = this.o.clock.setTimeout(() => void this.bind(m), this.jitter(this.o.failedRetryMs));
        return false;
      },
    );
  }

  private scheduleStandby(): void {
    if (this.standbyTimer || this.closed) return;
    this.standbyTimer = this.o.clock.setTimeout(() => {
      this.standbyTimer = undefined;
      void this.standbyRound();
    }, this.jitter(this.o.bindRetryMs));
  }

  /** Tries a few waiting listeners; if one binds, tries every other waiting one too. */
  private async standbyRound(): Promise<void> {
    this.waiting = this.waiting.filter((m) => !m.removed && m.state === "waiting");
    const canaries = this.waiting.splice(0, CANARIES_PER_PERIOD);
    const results = await Promise.all(canaries.map((m) => this.bind(m)));
    // Those still waiting go to the back, so every waiting listener gets its turn as a canary.
    this.waiting.push(...canaries.filter((m) => !m.removed && m.state === "waiting"));
    if (results.some(Boolean)) {
      const rest = this.waiting;
      this.waiting = [];
      await Promise.all(rest.map((m) => this.bind(m)));
      this.waiting.push(...rest.filter((m) => !m.removed && m.state === "waiting"));
    }
    if (this.waiting.length > 0) this.scheduleStandby();
  }

  /** ±20 % so standbys on one host do not retry in lockstep. */
  private jitter(ms: number): number {
    return Math.max(1, Math.round(ms * (0.8 + 0.4 * this.o.rng.float())));
  }
}
