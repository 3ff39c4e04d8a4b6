/**
 * One probe of one container instance (upstream's prober worker): waits initialDelaySeconds
 * after the container started, then probes every periodSeconds with timeoutSeconds; the result
 * flips after successThreshold successes or failureThreshold failures in a row. Liveness starts
 * as success, readiness and startup as failure; liveness and readiness wait for the startup probe.
 * Every failed attempt is an Unhealthy event ("Liveness probe failed: …").
 */
import type { Clock } from "@kubemu/common";
import type { Probe } from "kubernetes-types/core/v1.js";
import type { ProbeOutcome } from "./probe.js";

export type ProbeKind = "liveness" | "readiness" | "startup";

export interface ProbeWorkerOptions {
  kind: ProbeKind;
  probe: Probe;
  clock: Clock;
  /** When the container started (clock time). */
  startedAt: number;
  attempt: (timeoutMs: number) => Promise<ProbeOutcome>;
  /** Liveness/readiness run only once this says the startup probe passed. */
  gate?: () => boolean;
  onResult: (ok: boolean) => void;
  onEvent: (type: "Warning", reason: string, message: string) => void;
}

const TITLE: Record<ProbeKind, string> = { liveness: "Liveness", readiness: "Readiness", startup: "Startup" };

/** The result a probe has before its first decisive attempt. */
export function initialResult(kind: ProbeKind): boolean {
  return kind === "liveness";
}

/** Counts consecutive outcomes and says when the result flips (pure). */
export class ProbeCounter {
  private successes = 0;
  private failures = 0;
  result: boolean;

  constructor(
    readonly kind: ProbeKind,
    private readonly successThreshold: number,
    private readonly failureThreshold: number,
  ) {
    this.result = initialResult(kind);
  }

  /** Records an attempt; returns the new result when it flipped (a startup probe reports its failure though it starts failed). */
  record(ok: boolean): boolean | undefined {
    if (ok) {
      this.failures = 0;
      this.successes++;
      if (!this.result && this.successes >= this.successThreshold) {
        this.result = true;
        return true;
      }
      return undefined;
    }
    this.successes = 0;
    this.failures++;
    if (this.failures >= this.failureThreshold && (this.result || this.kind === "startup")) {
      this.result = false;
      return false;
    }
    return undefined;
  }
}

export class ProbeWorker {
  private readonly stopper = new AbortController();

  constructor(private readonly o: ProbeWorkerOptions) {}

  stop(): void {
    this.stopper.abort();
  }

  async run(): Promise<void> {
    const { probe, clock } = this.o;
    const signal = this.stopper.signal;
    const periodMs = (probe.periodSeconds ?? 10) * 1000;
    const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
    const counter = new ProbeCounter(this.o.kind, this.o.kind === "readiness" ? (probe.successThreshold ?? 1) : 1, probe.failureThreshold ?? 3);
    const delay = this.o.startedAt + (probe.initialDelaySeconds ?? 0) * 1000 - clock.now();
    if (delay > 0) await clock.sleep(delay, signal).catch(() => undefined);
    while (!signal.aborted) {
      if (!this.o.gate || this.o.gate()) {
        const out = await this.o.attempt(timeoutMs);
        if (signal.aborted) return;
        if (out.result === "error") this.o.onEvent("Warning", "Unhealthy", `${TITLE[this.o.kind]} probe errored: ${out.output}`);
        else if (out.result === "failure") this.o.onEvent("Warning", "Unhealthy", `${TITLE[this.o.kind]} probe failed: ${out.output}`);
        const flipped = counter.record(out.result === "success");
        if (flipped !== undefined) this.o.onResult(flipped);
        // A passed startup probe is done; a failed liveness or startup probe ends with its container.
        if (this.o.kind === "startup" && counter.result) return;
        if ((this.o.kind === "liveness" || this.o.kind === "startup") && flipped === false) return;
      }
      await clock.sleep(periodMs, signal).catch(() => undefined);
    }
  }
}
