import { requireUpCluster, writeClusterState, type ClusterState, type ProcessRecord } from "../cluster-state.js";
import type { CommandContext } from "../context.js";
import { errorMessage } from "../errors.js";
import { isBuilt, spawnDetached } from "../launch.js";
import { withStateLock } from "../lock.js";
import { busyAddressMessage, findBusyAddresses } from "../ports.js";
import { isOurProcessAlive, killOurProcess } from "../proc.js";
import { controlTls } from "../control-client.js";
import { describeReadiness, waitReady } from "../readiness.js";
import { selectProcesses } from "../select.js";
import { describeStop, stopAll } from "./down.js";

/** Options shared by kill/stop/start/restart. */
export interface LifecycleOptions {
  graceMs: number;
  waitMs: number;
}

type Action = (ctx: CommandContext, state: ClusterState, recs: ProcessRecord[], opts: LifecycleOptions) => Promise<boolean[]>;

/** Runs an action on the named processes under the state lock; prints one line each; exit 1 if any failed. */
async function onNamed(ctx: CommandContext, names: string[], opts: LifecycleOptions, action: Action): Promise<number> {
  return withStateLock(ctx.paths.root, ctx.paths.lockFile, ctx.clock, async () => {
    const state = requireUpCluster(ctx.paths, ctx.cluster);
    const recs = selectProcesses(state.processes, names);
    const ok = await action(ctx, state, recs, opts);
    writeClusterState(ctx.paths, state, new Date(ctx.clock.now()).toISOString());
    return ok.every(Boolean) ? 0 : 1;
  });
}

/** `kubemu kill NAME...`: SIGKILL, as a crash would. */
export function kill(ctx: CommandContext, names: string[], opts: LifecycleOptions): Promise<number> {
  return onNamed(ctx, names, opts, async (ctx, _state, recs) =>
    Promise.all(
      recs.map(async (rec) => {
        rec.desired = "stopped";
        const pid = rec.pid;
        try {
          const killed = await killOurProcess(rec, ctx.clock);
          if (killed) ctx.logger().info({ process: rec.name, processPid: pid }, "killed process (SIGKILL)");
          ctx.io.out(`${rec.name}: ${killed ? `killed (pid ${pid})` : "was not running"}`);
          return true;
        } catch (e) {
          ctx.io.out(`${rec.name}: FAILED: ${errorMessage(e)}`);
          return false;
        }
      }),
    ),
  );
}

/** `kubemu stop NAME...`: SIGTERM, then SIGKILL after the grace period. */
export function stop(ctx: CommandContext, names: string[], opts: LifecycleOptions): Promise<number> {
  return onNamed(ctx, names, opts, async (ctx, _state, recs, opts) => {
    const outcomes = await stopAll(ctx, recs, opts.graceMs);
    return recs.map((rec, i) => {
      const o = outcomes[i]!;
      ctx.io.out(`${rec.name}: ${describeStop(o, opts.graceMs)}`);
      return !(o instanceof Error);
    });
  });
}

/** `kubemu start NAME...`: starts recorded processes that are not running, from their recorded command line. */
export function start(ctx: CommandContext, names: string[], opts: LifecycleOptions): Promise<number> {
  return onNamed(ctx, names, opts, (ctx, state, recs, opts) => startRecords(ctx, state, recs, opts.waitMs));
}

/** `kubemu restart NAME...`: stop (SIGTERM, grace, SIGKILL) then start. */
export function restart(ctx: CommandContext, names: string[], opts: LifecycleOptions): Promise<number> {
  return onNamed(ctx, names, opts, async (ctx, state, recs, opts) => {
    const outcomes = await stopAll(ctx, recs, opts.graceMs);
    const stopped = recs.filter((rec, i) => {
      const o = outcomes[i]!;
      if (o instanceof Error) ctx.io.out(`${rec.name}: FAILED to stop: ${o.message}`);
      return !(o instanceof Error);
    });
    const started = await startRecords(ctx, state, stopped, opts.waitMs);
    const ok = new Map(stopped.map((rec, i) => [rec, started[i] ?? false]));
    return recs.map((rec) => ok.get(rec) ?? false);
  });
}

async function startRecords(ctx: CommandContext, state: ClusterState, recs: ProcessRecord[], waitMs: number): Promise<boolean[]> {
  const launched: ProcessRecord[] = [];
  const ok = new Map<ProcessRecord, boolean>();
  for (const rec of recs) {
    if (isOurProcessAlive(rec)) {
      ctx.io.out(`${rec.name}: already running (pid ${rec.pid})`);
      rec.desired = "running";
      ok.set(rec, true);
      continue;
    }
    if (!isBuilt(rec)) {
      ctx.io.out(`${rec.name}: FAILED: not built yet (${rec.bin} does not exist)`);
      ok.set(rec, false);
      continue;
    }
    const busy = await findBusyAddresses([{ process: rec.name, addresses: rec.addresses }]);
    if (busy.length > 0) {
      ctx.io.out(`${rec.name}: FAILED: ${busyAddressMessage(busy)}`);
      ok.set(rec, false);
      continue;
    }
    const now = new Date(ctx.clock.now()).toISOString();
    try {
      await spawnDetached(rec, state, ctx.paths, now);
    } catch (e) {
      ctx.io.out(`${rec.name}: FAILED: ${errorMessage(e)}`);
      ok.set(rec, false);
      continue;
    }
    writeClusterState(ctx.paths, state, now);
    ctx.logger().info({ process: rec.name, processPid: rec.pid, startTime: rec.startTime }, "started process");
    launched.push(rec);
  }
  const tls = controlTls(ctx.paths.pkiDir);
  const results = await Promise.all(launched.map((r) => waitReady(r, ctx.paths.outFile(r.name), waitMs, ctx.clock, tls)));
  launched.forEach((rec, i) => {
    const r = results[i]!;
    ctx.io.out(`${rec.name}: pid ${rec.pid}, ${describeReadiness(r, rec, waitMs)}`);
    ok.set(rec, r.kind !== "exited");
  });
  return recs.map((r) => ok.get(r) ?? false);
}
