#!/usr/bin/env node
/**
 * kubemu-etcd: runs one member of the replicated store. Flags are described by `--help` and
 * parsed in config.ts; a bad flag prints one line and exits 2. SIGTERM/SIGINT stop the member
 * gracefully (stop accepting, finish the current Ready, flush and close the WAL) and exit 0;
 * a fatal error (e.g. a corrupt WAL, named by file and offset) is logged and exits 1.
 */
import { createLogger, type Logger } from "@kubemu/common";
import { ConfigError, HelpRequested, parseArgs, type ServerConfig } from "./config.js";
import { EtcdServer } from "./server.js";

async function main(): Promise<void> {
  let cfg: ServerConfig;
  try {
    cfg = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof HelpRequested) {
      process.stdout.write(e.text);
      process.exit(0);
    }
    if (e instanceof ConfigError) {
      process.stderr.write(`kubemu-etcd: ${e.message.trim()}\n`);
      process.exit(2);
    }
    throw e;
  }
  const log: Logger = createLogger({ component: cfg.name, ...(cfg.stateDir ? { stateDir: cfg.stateDir } : {}), level: cfg.logLevel });
  let server: EtcdServer | undefined;
  const exit = (code: number) => {
    process.exitCode = code;
    log.flush?.();
    // Give the logger a moment to drain, then leave even if a socket still holds the loop open.
    setTimeout(() => process.exit(code), 20);
  };
  process.on("uncaughtException", (e) => {
    log.fatal({ err: e instanceof Error ? (e.stack ?? e.message) : String(e) }, "uncaught exception; exiting");
    exit(1);
  });
  process.on("unhandledRejection", (e) => {
    log.fatal({ err: e instanceof Error ? (e.stack ?? e.message) : String(e) }, "unhandled rejection; exiting");
    exit(1);
  });
  try {
    server = await EtcdServer.start({ config: cfg, log, defaultMetrics: true, onExit: (code) => exit(code) });
  } catch (e) {
    log.fatal({ err: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }, "cannot start kubemu-etcd");
    exit(1);
    return;
  }
  let signalled = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    log.info({ signal: sig }, "shutting down");
    server!.stop().then(
      () => exit(0),
      (e: unknown) => {
        log.error({ err: e instanceof Error ? e.message : String(e) }, "shutdown failed");
        exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}

void main();
