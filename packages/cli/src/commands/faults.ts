import { requireUpCluster, type ProcessRecord } from "../cluster-state.js";
import type { CommandContext } from "../context.js";
import type { FaultRule } from "@kubemu/common";
import { controlTls, deleteFaultRules, getFaultRules, putFaultRules } from "../control-client.js";
import { CliError, errorMessage } from "../errors.js";
import { isOurProcessAlive } from "../proc.js";
import { selectProcesses } from "../select.js";

/** Timeout for each control request of partition/heal. */
export const faultRequestTimeoutMs = 2_000;

/**
 * Adds rules not already present; keeps existing ones. Two rules are the same when they match after
 * filling in the contract's defaults (direction "both", probability 1), as servers echo them normalized.
 */
export function mergeRules(existing: FaultRule[], added: FaultRule[]): FaultRule[] {
  const key = (r: FaultRule) => JSON.stringify([r.peer, r.direction ?? "both", r.action, r.action === "delay" ? (r.delayMs ?? 0) : null, r.probability ?? 1]);
  const seen = new Set(existing.map(key));
  const merged = [...existing];
  for (const rule of added) {
    if (seen.has(key(rule))) continue;
    seen.add(key(rule));
    merged.push(rule);
  }
  return merged;
}

const dropBoth = (peer: string): FaultRule => ({ peer, direction: "both", action: "drop" });

/**
 * `kubemu partition A... --from B...`: A and B can no longer talk in either direction. Each side
 * gets drop rules naming the other side's processes, merged into its current rules (GET, then PUT).
 */
export async function partition(ctx: CommandContext, sideA: string[], sideB: string[]): Promise<number> {
  if (sideB.length === 0) throw new CliError("partition needs --from NAME... (the other side)");
  const state = requireUpCluster(ctx.paths, ctx.cluster);
  const a = selectProcesses(state.processes, sideA);
  const b = selectProcesses(state.processes, sideB);
  const both = a.filter((p) => b.includes(p));
  if (both.length > 0) throw new CliError(`${both.map((p) => p.name).join(", ")} cannot be on both sides of a partition`);
  const plan: [ProcessRecord, ProcessRecord[]][] = [...a.map((p): [ProcessRecord, ProcessRecord[]] => [p, b]), ...b.map((p): [ProcessRecord, ProcessRecord[]] => [p, a])];
  ctx.logger().info({ sideA: a.map((p) => p.name), sideB: b.map((p) => p.name) }, "partition");
  const tls = controlTls(ctx.paths.pkiDir);
  const results = await Promise.all(
    plan.map(async ([rec, peers]) => {
      const names = peers.map((p) => p.name);
      try {
        assertRunning(rec);
        const current = await getFaultRules(rec.controlUrl, faultRequestTimeoutMs, tls);
        await putFaultRules(rec.controlUrl, mergeRules(current, names.map(dropBoth)), faultRequestTimeoutMs, tls);
        return `${rec.name}: dropping all traffic with ${names.join(", ")}`;
      } catch (e) {
        return new Error(`${rec.name}: FAILED: ${errorMessage(e)}`);
      }
    }),
  );
  return report(ctx, results);
}

/** `kubemu heal`: clears the fault rules of every running process. */
export async function heal(ctx: CommandContext): Promise<number> {
  const state = requireUpCluster(ctx.paths, ctx.cluster);
  const running = state.processes.filter((p) => isOurProcessAlive(p));
  if (running.length === 0) {
    ctx.io.out("no process is running; nothing to heal");
    return 0;
  }
  ctx.logger().info({ processes: running.map((p) => p.name) }, "heal");
  const tls = controlTls(ctx.paths.pkiDir);
  const results = await Promise.all(
    running.map(async (rec) => {
      try {
        await deleteFaultRules(rec.controlUrl, faultRequestTimeoutMs, tls);
        return `${rec.name}: fault rules cleared`;
      } catch (e) {
        return new Error(`${rec.name}: FAILED: ${errorMessage(e)}`);
      }
    }),
  );
  return report(ctx, results);
}

function assertRunning(rec: ProcessRecord): void {
  if (!isOurProcessAlive(rec)) throw new Error("not running");
}

function report(ctx: CommandContext, results: (string | Error)[]): number {
  for (const r of results) ctx.io.out(r instanceof Error ? r.message : r);
  return results.some((r) => r instanceof Error) ? 1 : 0;
}
