/**
 * The shape every leader-elected component process shares (kube-scheduler, kube-controller-
 * manager): serve /healthz /readyz /metrics /kubemu/* at once, start the informers (warm on a
 * standby too), then campaign and lead — or, with --leader-elect=false, just lead. stop() ends
 * the term, releases the lease, flushes events and closes the server and the API connection.
 */
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Clock } from "../clock.js";
import type { Rng } from "../rng.js";
import type { ApiClient } from "../client/api-client.js";
import type { EventRecorder } from "../client/events.js";
import type { InformerFactory } from "../client/informer-factory.js";
import type { FaultInjector } from "../wire/faults.js";
import type { ComponentConfig } from "./flags.js";
import { ElectedComponent } from "./elected.js";
import { startComponentServer } from "./server.js";

export interface ElectedProcessOptions {
  cfg: ComponentConfig;
  log: Logger;
  client: ApiClient;
  informers: InformerFactory;
  faults: FaultInjector;
  registry: Registry;
  /** Lease kube-system/<leaseName>. */
  leaseName: string;
  identity: string;
  /** The leader's work for one term (see ElectedComponent). */
  lead(signal: AbortSignal): Promise<void>;
  /** Records LeaderElection events. */
  recorder: EventRecorder;
  /** Every recorder to flush on stop (the election's included). */
  recorders(): EventRecorder[];
  /** Extra fields of /kubemu/status. */
  statusExtra?(): Record<string, unknown>;
  /** Aborted by stop(); informers and the work listen on it. */
  stopping: AbortController;
  clock: Clock;
  rng: Rng;
}

export interface ElectedProcess {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startElectedProcess(o: ElectedProcessOptions): Promise<ElectedProcess> {
  const { cfg, log, clock } = o;
  const elected = new ElectedComponent({ client: o.client, leaseName: o.leaseName, identity: o.identity, leaseDurationMs: cfg.leaseDurationMs, renewDeadlineMs: cfg.renewDeadlineMs, retryPeriodMs: cfg.retryPeriodMs, lead: o.lead, recorder: o.recorder, clock, rng: o.rng, logger: log });
  const server = await startComponentServer({
    host: cfg.bindAddress,
    port: cfg.port,
    status: () => ({ name: cfg.name, pid: process.pid, identity: o.identity, ...elected.status(), ready: o.informers.hasSynced(), ...(o.statusExtra?.() ?? {}) }),
    faults: o.faults,
    registry: o.registry,
    readiness: { "informer-sync": () => (o.informers.hasSynced() ? undefined : "informers not synced") },
    logger: log,
  });
  o.informers.start(o.stopping.signal);
  const running = cfg.leaderElect
    ? elected.run(o.stopping.signal)
    : o.lead(o.stopping.signal).catch((e: unknown) => {
        log.fatal({ err: e instanceof Error ? (e.stack ?? e.message) : String(e) }, "leader work failed (--leader-elect=false: nothing to fall back to)");
        process.exitCode = 1;
      });
  return {
    url: server.url,
    async stop() {
      o.stopping.abort();
      await running;
      const recorders = o.recorders();
      for (const r of recorders) r.stop();
      await Promise.race([Promise.all(recorders.map((r) => r.flush())), clock.sleep(500)]);
      await server.close();
      await o.client.close();
    },
  };
}
