/**
 * The life of a component process, the same for every kubemu binary: parse flags (a bad flag is
 * one line on stderr and exit 2), make the logger, log and exit 1 on an uncaught error, start,
 * and on SIGTERM/SIGINT stop gracefully and exit 0 (1 if stopping fails). Stopping is bounded: a
 * stop that has not finished `stopDeadlineMs` after the signal is logged and the process exits 1
 * anyway, and a second signal exits at once — so SIGTERM always ends a component within
 * about two seconds and the launcher never has to SIGKILL it.
 */
import type { Logger } from "pino";

/** How a flag problem ends the process before anything starts. */
export interface UsageOutcome {
  /** Printed as-is (help text) to stdout with exit 0, or as `<bin>: <text>` to stderr with exit 2. */
  text: string;
  help: boolean;
}

/** How long a component's stop() may run after SIGTERM/SIGINT before the process exits anyway. */
export const defaultStopDeadlineMs = 2_000;

/** What a binary supplies to {@link runProcessMain}. */
export interface ProcessEntry<C> {
  /** Name in one-line errors, e.g. "kubemu-apiserver". */
  bin: string;
  parse(argv: string[]): C;
  /** The outcome for an error parse() or start() threw because of flags or their files; undefined for other errors. */
  usage(e: unknown): UsageOutcome | undefined;
  logger(config: C): Logger;
  /** Starts the component; exit ends the process (for fatal errors found later). */
  start(config: C, log: Logger, exit: (code: number) => void): Promise<{ stop(): Promise<void> }>;
  /** Bound on stop() after a signal; default {@link defaultStopDeadlineMs}. */
  stopDeadlineMs?: number;
}

const errText = (e: unknown) => (e instanceof Error ? (e.stack ?? e.message) : String(e));

/** Runs a component process to its end. */
export async function runProcessMain<C>(entry: ProcessEntry<C>, argv = process.argv.slice(2)): Promise<void> {
  const failUsage = (e: unknown): boolean => {
    const outcome = entry.usage(e);
    if (!outcome) return false;
    if (outcome.help) process.stdout.write(outcome.text);
    else process.stderr.write(`${entry.bin}: ${outcome.text.trim()}\n`);
    process.exit(outcome.help ? 0 : 2);
  };
  let config: C;
  try {
    config = entry.parse(argv);
  } catch (e) {
    if (failUsage(e)) return;
    throw e;
  }
  const log = entry.logger(config);
  const exit = (code: number) => {
    process.exitCode = code;
    log.flush?.();
    // Give the logger a moment to drain, then leave even if a socket still holds the loop open.
    setTimeout(() => process.exit(code), 20);
  };
  process.on("uncaughtException", (e) => {
    log.fatal({ err: errText(e) }, "uncaught exception; exiting");
    exit(1);
  });
  process.on("unhandledRejection", (e) => {
    log.fatal({ err: errText(e) }, "unhandled rejection; exiting");
    exit(1);
  });
  // Signal handlers go in before the (possibly slow) start so an early SIGTERM still exits cleanly.
  let running: { stop(): Promise<void> } | undefined;
  let signalled = false;
  const deadlineMs = entry.stopDeadlineMs ?? defaultStopDeadlineMs;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) {
      log.warn({ signal: sig }, "second signal while shutting down; exiting now");
      return exit(1);
    }
    signalled = true;
    log.info({ signal: sig }, "shutting down");
    if (!running) return exit(0);
    const deadline = setTimeout(() => {
      log.warn({ deadlineMs }, `shutdown did not finish within ${deadlineMs} ms; exiting anyway`);
      exit(1);
    }, deadlineMs);
    deadline.unref();
    running.stop().then(
      () => exit(0),
      (e: unknown) => {
        log.error({ err: e instanceof Error ? e.message : String(e) }, "shutdown failed");
        exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  try {
    running = await entry.start(config, log, exit);
  } catch (e) {
    if (failUsage(e)) return;
    log.fatal({ err: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }, `cannot start ${entry.bin}`);
    exit(1);
  }
}
