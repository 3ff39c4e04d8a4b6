/**
 * Lease expiry, driven by the leader: deadlines live in a LeaseTracker on the leader only;
 * every `checkIntervalMs` it proposes a leaseRevoke for each expired lease. A new leader renews
 * every deadline to a full ttl (never expiring a lease early across a leader change).
 */
import { isNotFound, type Clock, type Logger, type Timer } from "@kubemu/common";
import { LeaseTracker, type ApplyResult, type MvccStore } from "../mvcc/index.js";
import { encodeCommand, type LogCommand } from "./codec.js";

export interface LessorOptions {
  clock: Clock;
  log: Logger;
  checkIntervalMs: number;
  /** The current store (it is replaced when a snapshot is installed). */
  store: () => MvccStore;
  propose: (data: Uint8Array) => Promise<unknown>;
}

export class Lessor {
  readonly tracker = new LeaseTracker({ retryIntervalMs: 3000 });
  private timer: Timer | undefined;
  private leading = false;

  constructor(private readonly o: LessorOptions) {}

  get isLeading(): boolean {
    return this.leading;
  }

  /** This member became leader: start tracking every lease from now. */
  promote(): void {
    this.leading = true;
    this.tracker.promote(this.o.store().leases(), this.o.clock.now());
    this.timer?.cancel();
    this.timer = this.o.clock.setInterval(() => this.revokeExpired(), this.o.checkIntervalMs);
  }

  /** This member stopped leading. */
  demote(): void {
    this.leading = false;
    this.timer?.cancel();
    this.timer = undefined;
    this.tracker.demote();
  }

  /** Keeps deadlines in step with applied lease commands (only while leading). */
  onApplied(cmd: LogCommand, result: unknown): void {
    if (!this.leading || cmd.op !== "kv") return;
    const r = result as ApplyResult | undefined;
    if (r?.type === "leaseGrant") this.tracker.grant(r.id, r.ttl, this.o.clock.now());
    else if (r?.type === "leaseRevoke" && cmd.cmd.type === "leaseRevoke") this.tracker.revoke(cmd.cmd.id);
  }

  stop(): void {
    this.demote();
  }

  private revokeExpired(): void {
    for (const id of this.tracker.expired(this.o.clock.now(), 64)) {
      this.o.log.info({ lease: id }, "lease expired; revoking");
      const c: LogCommand = { op: "kv", cmd: { type: "leaseRevoke", id } };
      this.o.propose(encodeCommand(c)).catch((e: unknown) => {
        if (isNotFound(e)) return this.tracker.revoke(id);
        this.o.log.debug({ lease: id, err: e instanceof Error ? e.message : String(e) }, "lease revoke proposal failed; will retry");
      });
    }
  }
}
