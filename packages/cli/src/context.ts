import { createLogger, type Clock, type Logger } from "@kubemu/common";
import type { Profile } from "./spec.js";
import { StatePaths } from "./state-dir.js";

/** Where a command writes its human-readable output. */
export interface Output {
  /** A line for stdout. */
  out(line: string): void;
  /** A line for stderr (warnings and per-item failures). */
  err(line: string): void;
  /** Whether stdout is a terminal (pretty logs, colors). */
  isTTY: boolean;
}

/** Everything a command needs, resolved from the global flags. */
export interface CommandContext {
  cluster: string;
  paths: StatePaths;
  profile: Profile;
  /** True when --profile was given explicitly (so `up` on a running cluster can warn it was ignored). */
  profileExplicit: boolean;
  logLevel: string;
  clock: Clock;
  io: Output;
  /** The CLI's own log, `<state>/logs/kubemu-cli.log` (created on first use). */
  logger(): Logger;
}

/** Builds a context; the logger is created lazily so read-only commands leave no files behind. */
export function makeContext(opts: Omit<CommandContext, "logger" | "paths"> & { stateDir: string }): CommandContext {
  let logger: Logger | undefined;
  const paths = new StatePaths(opts.stateDir);
  return {
    cluster: opts.cluster,
    paths,
    profile: opts.profile,
    profileExplicit: opts.profileExplicit,
    logLevel: opts.logLevel,
    clock: opts.clock,
    io: opts.io,
    logger() {
      logger ??= createLogger({ component: "kubemu-cli", stateDir: paths.root, level: opts.logLevel, silentConsole: true });
      return logger;
    },
  };
}
