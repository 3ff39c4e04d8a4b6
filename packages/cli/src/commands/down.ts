import { readClusterState, writeClusterState, type ProcessRecord } from "../cluster-state.js";
import type { CommandContext } from "../context.js";
import { errorMessage } from "../errors.js";
import { withStateLock } from "../lock.js";
import { stopOurProcess, type StopOutcome } from "../proc.js";
import { formatTable } from "../select.js";

/** Options of `kubemu down`. */
export interface DownOptions {
  /** SIGTERM grace period before SIGKILL. */
  graceMs: number;
}

/**
 * `kubemu down`: stops every process recorded in cluster.json, by pid and only if the pid still
 * belongs to the process we started (start time matches), in reverse dependency order (see
 * {@link stopTiers}): SIGTERM, up to graceMs, then SIGKILL. Data and logs stay. On a cluster that is not up it says so and exits 0
 * (like `kind delete cluster`), so scripts can always call it.
 */
export async function down(ctx: CommandContext, opts: DownOptions): Promise<number> {
  return withStateLock(ctx.paths.root, ctx.paths.lockFile, ctx.clock, async () => {
    const state = readClusterState(ctx.paths);
    if (state === undefined) {
      ctx.io.out(`Cluster "${ctx.cluster}" is not up (no ${ctx.paths.clusterFile}); nothing to stop`);
      return 0;
    }
    const log = ctx.logger();
    log.info({ cluster: state.cluster }, "down");
    ctx.io.out(`Stopping cluster "${state.cluster}" (${ctx.paths.root})`);
    const outcomes = await stopAll(ctx, state.processes, opts.graceMs);
    state.phase = "down";
    writeClusterState(ctx.paths, state, new Date(ctx.clock.now()).toISOString());
    const rows = state.processes.map((p, i) => [`  ${p.name}`, p.pid === null ? "never started" : describeStop(outcomes[i]!, opts.graceMs)]);
    for (const line of formatTable(rows)) ctx.io.out(line);
    return outcomes.some((o) => o instanceof Error) ? 1 : 0;
  });
}

/**
 * The order processes stop in: each tier depends on the ones after it, so it goes first and the
 * store goes last (an apiserver stopped after the store would wait on it to leave the
 * `kubernetes` endpoints). Components not named here (a --spec file's own) stop in the first tier.
 */
export const stopTiers: readonly (readonly string[])[] = [["kubelet", "kube-proxy"], ["controller-manager"], ["scheduler"], ["apiserver-lb"], ["apiserver"], ["etcd"]];

function stopTier(component: string): number {
  const i = stopTiers.findIndex((tier) => tier.includes(component));
  return i < 0 ? 0 : i;
}

/**
 * Stops the given records tier by tier (stopTiers), the records of one tier concurrently; each
 * result is an outcome or the error that prevented it, in the order of `records`.
 */
export async function stopAll(ctx: CommandContext, records: ProcessRecord[], graceMs: number): Promise<(StopOutcome | Error)[]> {
  const log = ctx.logger();
  const results = new Map<ProcessRecord, StopOutcome | Error>();
  const stopOne = async (rec: ProcessRecord) => {
    rec.desired = "stopped";
    try {
      const outcome = await stopOurProcess(rec, graceMs, ctx.clock);
      if (outcome !== "not-running") log.info({ process: rec.name, processPid: rec.pid, outcome }, "stopped process");
      results.set(rec, outcome);
    } catch (e) {
      log.error({ process: rec.name, processPid: rec.pid, err: errorMessage(e) }, "failed to stop process");
      results.set(rec, e instanceof Error ? e : new Error(String(e)));
    }
  };
  for (let tier = 0; tier < stopTiers.length; tier++) {
    await Promise.all(records.filter((rec) => stopTier(rec.component) === tier).map(stopOne));
  }
  return records.map((rec) => results.get(rec)!);
}

/** One human phrase for a stop result. */
export function describeStop(outcome: StopOutcome | Error, graceMs: number): string {
  if (outcome instanceof Error) return `FAILED: ${outcome.message}`;
  switch (outcome) {
    case "not-running":
      return "was not running";
    case "terminated":
      return "stopped";
    case "killed":
      return `killed (still running ${graceMs / 1000}s after SIGTERM)`;
  }
}
