/**
 * kube-proxy's healthz state (upstream's proxierHealthServer): healthy while no update has
 * waited longer than the health timeout for a sync; /healthz also needs the node to be
 * eligible (not being deleted, not tainted ToBeDeletedByClusterAutoscaler). The answers are
 * upstream's JSON, with Go's time.Time text.
 */
import type { Clock } from "@kubemu/common";

export interface HealthAnswer {
  code: 200 | 503;
  body: string;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/**
 * Go's time.Time.String(): "2025-01-02 15:04:05.123456789 +0000 UTC m=+12.345678901" (fraction
 * trimmed of trailing zeros; the monotonic reading is seconds since the process started).
 */
export function goTimeString(epochMs: number, monotonicSeconds: number | undefined): string {
  if (epochMs === 0) return "0001-01-01 00:00:00 +0000 UTC";
  const d = new Date(Math.floor(epochMs));
  const nanos = Math.round((epochMs - Math.floor(epochMs / 1000) * 1000) * 1e6);
  const frac = nanos === 0 ? "" : `.${String(nanos).padStart(9, "0").replace(/0+$/, "")}`;
  const wall = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${frac} +0000 UTC`;
  return monotonicSeconds === undefined ? wall : `${wall} m=+${monotonicSeconds.toFixed(9)}`;
}

export class ProxierHealth {
  private lastUpdated: { wall: number; mono: number } | undefined;
  private oldestPendingQueued: number | undefined;
  private nodeEligible = true;

  constructor(
    private readonly clock: Clock,
    private readonly healthTimeoutMs: number,
    /** clock.monotonic() at process start (Go's m=+ origin). */
    private readonly startMono: number,
  ) {}

  /** An informer delivered a change the proxy has not synced yet. */
  queuedUpdate(): void {
    this.oldestPendingQueued ??= this.clock.monotonic();
  }

  /** A sync finished. */
  updated(): void {
    this.oldestPendingQueued = undefined;
    this.lastUpdated = { wall: this.clock.now(), mono: this.clock.monotonic() };
  }

  syncNode(eligible: boolean): void {
    this.nodeEligible = eligible;
  }

  isHealthy(): boolean {
    return this.oldestPendingQueued === undefined || this.clock.monotonic() - this.oldestPendingQueued < this.healthTimeoutMs;
  }

  private times(healthy: boolean): { last: string; current: string } {
    const mono = this.clock.monotonic();
    const current = goTimeString(this.clock.now(), (mono - this.startMono) / 1000);
    // As upstream: a healthy answer reports lastUpdated = now (older releases' meaning).
    if (healthy) return { last: current, current };
    const l = this.lastUpdated;
    return { last: l ? goTimeString(l.wall, (l.mono - this.startMono) / 1000) : goTimeString(0, undefined), current };
  }

  healthz(): HealthAnswer {
    const healthy = this.isHealthy() && this.nodeEligible;
    const t = this.times(healthy);
    return { code: healthy ? 200 : 503, body: `{"lastUpdated": ${JSON.stringify(t.last)},"currentTime": ${JSON.stringify(t.current)}, "nodeEligible": ${this.nodeEligible}}` };
  }

  livez(): HealthAnswer {
    const healthy = this.isHealthy();
    const t = this.times(healthy);
    return { code: healthy ? 200 : 503, body: `{"lastUpdated": ${JSON.stringify(t.last)},"currentTime": ${JSON.stringify(t.current)}}` };
  }
}
