import { mkdirSync } from "node:fs";
import { join } from "node:path";
import pino, { type Logger } from "pino";
import pretty from "pino-pretty";

export type { Logger } from "pino";

export interface LoggerOptions {
  /** Process or component name, e.g. "etcd-0". Appears on every line. */
  component: string;
  /** When set, JSON lines also go to <stateDir>/logs/<component>.log. */
  stateDir?: string;
  /** Level; defaults to $KUBEMU_LOG_LEVEL or "info". */
  level?: string;
  /** Pretty-print to stderr. Defaults to whether stderr is a TTY. */
  pretty?: boolean;
  /** Write nothing to stderr (file only). */
  silentConsole?: boolean;
}

export const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** One logger per process: JSON to a file under the state dir, pretty on a TTY. */
export function createLogger(opts: LoggerOptions): Logger {
  const level = opts.level ?? process.env.KUBEMU_LOG_LEVEL ?? "info";
  if (!(logLevels as readonly string[]).includes(level)) {
    throw new Error(`unknown log level "${level}" (use one of ${logLevels.join(", ")})`);
  }
  const streams: pino.StreamEntry[] = [];
  if (opts.stateDir) {
    const dir = join(opts.stateDir, "logs");
    mkdirSync(dir, { recursive: true });
    streams.push({ level: level as pino.Level, stream: pino.destination({ dest: join(dir, `${opts.component}.log`), sync: false, mkdir: true }) });
  }
  if (!opts.silentConsole) {
    const usePretty = opts.pretty ?? process.stderr.isTTY === true;
    const stream = usePretty ? pretty({ destination: 2, colorize: true, sync: true }) : pino.destination({ dest: 2, sync: true });
    streams.push({ level: level as pino.Level, stream });
  }
  return pino(
    { level, base: { component: opts.component, pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.multistream(streams),
  );
}

/** A logger that drops everything (for unit tests and pure code that wants one). */
export const silentLogger: Logger = pino({ level: "silent" });
