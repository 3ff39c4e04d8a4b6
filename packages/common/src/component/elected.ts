/**
 * A leader-elected component's life: campaign on its Lease, run the work while leading, and
 * after losing the lease stop the work at once and campaign again. Upstream's components exit
 * on a lost lease and their kubelet restarts them; kubemu's processes have no supervisor, so the
 * process stays up as a standby instead (its informers stay warm) and the work starts afresh
 * when it leads again.
 */
import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import { realClock } from "../clock.js";
import { silentLogger } from "../logger.js";
import type { Rng } from "../rng.js";
import type { ApiClient } from "../client/api-client.js";
import type { EventRecorder } from "../client/events.js";
import { ApiLeaseLock, LeaderElector } from "../client/leader-election.js";

export interface ElectedOptions {
  client: ApiClient;
  /** Lease `kube-system/<leaseName>` (kube-scheduler, kube-controller-manager). */
  leaseNamespace?: string;
  leaseName: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** Starts the work; it must stop everything when the signal aborts and resolve once stopped. */
  lead(signal: AbortSignal): Promise<void>;
  recorder?: EventRecorder;
  clock?: Clock;
  rng?: Rng;
  logger?: Logger;
}

/** What /kubemu/status reports for an elected component. */
export interface ElectionStatus {
  role: "leader" | "standby";
  leaseHolder: string;
  /** leaseTransitions of the Lease as last seen. */
  term: number;
}

export class ElectedComponent {
  private elector: LeaderElector | undefined;
  private readonly log: Logger;
  private readonly clock: Clock;
  private work: Promise<void> | undefined;
  private campaigns = 0;

  constructor(private readonly o: ElectedOptions) {
    this.log = o.logger ?? silentLogger;
    this.clock = o.clock ?? realClock;
  }

  status(): ElectionStatus {
    const e = this.elector;
    return { role: e?.isLeader() ? "leader" : "standby", leaseHolder: e?.leader ?? "", term: e?.record?.leaseTransitions ?? 0 };
  }

  isLeader(): boolean {
    return this.elector?.isLeader() ?? false;
  }

  /** The leader's work for one term; if it ends or fails while still leading, it starts again (a leader must not hold the lease idle). */
  private async runWork(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.o.lead(signal);
      } catch (e) {
        this.log.error({ err: e instanceof Error ? (e.stack ?? e.message) : String(e) }, "leader work failed");
      }
      if (signal.aborted) return;
      this.log.error("leader work ended while still leading; starting it again in 1 s");
      await this.clock.sleep(1000, signal).catch(() => undefined);
    }
  }

  /** Campaigns and leads, again and again, until the signal aborts; then releases the lease. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.campaigns++;
      this.elector = new LeaderElector({
        lock: new ApiLeaseLock(this.o.client, this.o.leaseNamespace ?? "kube-system", this.o.leaseName),
        identity: this.o.identity,
        leaseDurationMs: this.o.leaseDurationMs,
        renewDeadlineMs: this.o.renewDeadlineMs,
        retryPeriodMs: this.o.retryPeriodMs,
        clock: this.clock,
        ...(this.o.rng ? { rng: this.o.rng } : {}),
        logger: this.log,
        ...(this.o.recorder ? { recorder: this.o.recorder } : {}),
        beforeRelease: () => this.work ?? Promise.resolve(),
        callbacks: {
          onStartedLeading: (workSignal) => {
            this.work = this.runWork(workSignal);
          },
          onStoppedLeading: () => {
            if (!signal.aborted && this.work) this.log.error("leaderelection lost");
          },
        },
      });
      await this.elector.run(signal);
      // The work saw its signal abort; wait for it to wind down before campaigning again.
      await this.work;
      this.work = undefined;
    }
  }
}
