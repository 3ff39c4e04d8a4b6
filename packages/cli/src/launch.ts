import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import type { ClusterState, ProcessRecord } from "./cluster-state.js";
import { CliError, errorMessage } from "./errors.js";
import { readProcStat } from "./proc.js";
import type { Profile, ProcessSpec } from "./spec.js";
import type { StatePaths } from "./state-dir.js";

/** Settings every process receives as flags. */
export interface CommonSettings {
  paths: StatePaths;
  profile: Profile;
  logLevel: string;
}

/**
 * The argv for a process: node, its node args, the bin, then the flags every kubemu process takes
 * (--name, --data-dir, --state-dir, --profile, --log-level, --control-url), then its own.
 */
export function commandLine(spec: ProcessSpec, s: CommonSettings): string[] {
  return [
    process.execPath,
    ...spec.nodeArgs,
    spec.bin,
    "--name", spec.name,
    "--data-dir", s.paths.dataDir(spec.name),
    "--state-dir", s.paths.root,
    "--profile", s.profile,
    "--log-level", s.logLevel,
    "--control-url", spec.controlUrl,
    ...spec.args,
  ];
}

/** A fresh, never-started record for a spec. */
export function newProcessRecord(spec: ProcessSpec, s: CommonSettings): ProcessRecord {
  return {
    ...spec,
    command: commandLine(spec, s),
    cwd: s.paths.dataDir(spec.name),
    pid: null,
    startTime: null,
    startedAt: null,
    desired: "stopped",
    built: existsSync(spec.bin),
  };
}

/** True if the record's entry script exists now (it may have been built since `up`). */
export function isBuilt(rec: ProcessRecord): boolean {
  return existsSync(rec.bin);
}

/**
 * Starts a process detached from the CLI: its own session and process group, stdin closed,
 * stdout and stderr appended to `<state>/logs/<name>.out`, not waited for. Updates rec with the
 * new pid and its /proc start time.
 */
export async function spawnDetached(rec: ProcessRecord, state: ClusterState, paths: StatePaths, nowIso: string): Promise<void> {
  if (!existsSync(rec.bin)) throw new CliError(`${rec.name} is not built yet (${rec.bin} does not exist)`);
  const [exe, ...args] = rec.command;
  if (exe === undefined) throw new CliError(`${rec.name} has an empty command line in cluster.json`);
  mkdirSync(paths.logsDir, { recursive: true });
  mkdirSync(rec.cwd, { recursive: true });
  const out = openSync(paths.outFile(rec.name), "a");
  let pid: number | undefined;
  try {
    const child = spawn(exe, args, {
      cwd: rec.cwd,
      detached: true,
      stdio: ["ignore", out, out],
      env: { ...process.env, ...rec.env, KUBEMU_CLUSTER: state.cluster },
    });
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
    child.unref();
    pid = child.pid;
  } catch (e) {
    throw new CliError(`cannot start ${rec.name}: ${errorMessage(e)}`);
  } finally {
    closeSync(out);
  }
  if (pid === undefined) throw new CliError(`cannot start ${rec.name}: no pid`);
  const stat = readProcStat(pid);
  rec.pid = pid;
  // A process that died within microseconds has no stat; record null so it is never signalled.
  rec.startTime = stat?.startTime ?? null;
  rec.startedAt = nowIso;
  rec.desired = "running";
  rec.built = true;
}
