import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { CliError, errorMessage } from "./errors.js";
import type { Profile, ProcessSpec } from "./spec.js";
import type { StatePaths } from "./state-dir.js";

/** One process as recorded in cluster.json: its spec, resolved command line, and last known pid. */
export interface ProcessRecord extends ProcessSpec {
  /** The exact argv started: [node, ...nodeArgs, bin, ...flags]. */
  command: string[];
  /** Working directory (its data dir). */
  cwd: string;
  /** Pid of the last start, or null if never started. */
  pid: number | null;
  /** Start time of that pid from /proc/<pid>/stat (clock ticks since boot); guards against pid reuse. */
  startTime: number | null;
  /** ISO time of the last start. */
  startedAt: string | null;
  /** What the user last asked for: "stopped" after stop/kill/down, "running" after up/start/restart. */
  desired: "running" | "stopped";
  /** False when the bin file did not exist at `up` (a component not built yet). */
  built: boolean;
}

/** The contents of `<state>/cluster.json`. */
export interface ClusterState {
  version: 1;
  cluster: string;
  stateDir: string;
  profile: Profile;
  logLevel: string;
  /** "down" after `kubemu down`; commands other than up/down/logs refuse to act on it. */
  phase: "up" | "down";
  /** Set when the built-in table was used; kept so a later `up` reuses the same ports. */
  apiserverLbPort: number | null;
  apiserverLbControlPort: number | null;
  /** Path of the --spec file, when one was used. */
  specFile: string | null;
  createdAt: string;
  updatedAt: string;
  processes: ProcessRecord[];
}

/** Reads cluster.json, or returns undefined when there is none. A corrupt file is a clear error. */
export function readClusterState(paths: StatePaths): ClusterState | undefined {
  if (!existsSync(paths.clusterFile)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(paths.clusterFile, "utf8"));
  } catch (e) {
    throw new CliError(`cannot read ${paths.clusterFile}: ${errorMessage(e)}`);
  }
  const s = parsed as Partial<ClusterState>;
  if (typeof parsed !== "object" || parsed === null || s.version !== 1 || !Array.isArray(s.processes)) {
    throw new CliError(`${paths.clusterFile} is not a kubemu cluster file (version 1)`);
  }
  return parsed as ClusterState;
}

/** Writes cluster.json atomically (temp file + rename), so a crash never leaves half a file. */
export function writeClusterState(paths: StatePaths, state: ClusterState, nowIso: string): void {
  state.updatedAt = nowIso;
  mkdirSync(dirname(paths.clusterFile), { recursive: true });
  const tmp = `${paths.clusterFile}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + "\n");
  renameSync(tmp, paths.clusterFile);
}

/** Reads cluster.json and insists the cluster is up; the error tells the user what to do. */
export function requireUpCluster(paths: StatePaths, cluster: string): ClusterState {
  const state = readClusterState(paths);
  if (state === undefined || state.phase !== "up") {
    throw new CliError(`cluster "${cluster}" is not up (state dir ${paths.root}); run \`kubemu up\` first`);
  }
  return state;
}
