#!/usr/bin/env node
/** kubemu-kubelet: the node agent as a kubemu process. */
import { createLogger, FlagError, runProcessMain } from "@kubemu/common";
import { parseKubeletFlags, type KubeletConfig } from "./config.js";
import { startKubelet } from "./kubelet.js";

void runProcessMain<KubeletConfig>({
  bin: "kubemu-kubelet",
  parse: (argv) => parseKubeletFlags(argv),
  usage: (e) => (e instanceof FlagError ? { text: e.message, help: e.help } : undefined),
  logger: (cfg) => createLogger({ component: cfg.name, ...(cfg.stateDir ? { stateDir: cfg.stateDir } : {}), level: cfg.logLevel }),
  start: (cfg, log) => startKubelet(cfg, log),
  // Stopping kills every container (SIGTERM, then SIGKILL after a short grace): allow for it.
  stopDeadlineMs: 5000,
});
