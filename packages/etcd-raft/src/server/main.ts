#!/usr/bin/env node
/**
 * kubemu-etcd: runs one member of the replicated store. Flags are described by `--help` and
 * parsed in config.ts; a bad flag prints one line and exits 2. SIGTERM/SIGINT stop the member
 * gracefully (stop accepting, finish the current Ready, flush and close the WAL) and exit 0;
 * a fatal error (e.g. a corrupt WAL, named by file and offset) is logged and exits 1.
 */
import { createLogger, runProcessMain } from "@kubemu/common";
import { ConfigError, HelpRequested, parseArgs, type ServerConfig } from "./config.js";
import { EtcdServer } from "./server.js";

void runProcessMain<ServerConfig>({
  bin: "kubemu-etcd",
  parse: parseArgs,
  usage: (e) => (e instanceof HelpRequested ? { text: e.text, help: true } : e instanceof ConfigError ? { text: e.message, help: false } : undefined),
  logger: (cfg) => createLogger({ component: cfg.name, ...(cfg.stateDir ? { stateDir: cfg.stateDir } : {}), level: cfg.logLevel }),
  start: (cfg, log, exit) => EtcdServer.start({ config: cfg, log, defaultMetrics: true, onExit: exit }),
});
