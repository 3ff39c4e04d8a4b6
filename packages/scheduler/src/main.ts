#!/usr/bin/env node
/** kubemu-scheduler: kube-scheduler's behaviour as a kubemu process. */
import { componentCommand, createLogger, FlagError, parseComponentFlags, runProcessMain, type ComponentConfig } from "@kubemu/common";
import { startScheduler } from "./server/scheduler.js";

void runProcessMain<ComponentConfig>({
  bin: "kubemu-scheduler",
  parse: (argv) => parseComponentFlags(componentCommand("kubemu-scheduler", "places pods on nodes as kube-scheduler does, leader-elected", { port: 10259 }), argv),
  usage: (e) => (e instanceof FlagError ? { text: e.message, help: e.help } : undefined),
  logger: (cfg) => createLogger({ component: cfg.name, ...(cfg.stateDir ? { stateDir: cfg.stateDir } : {}), level: cfg.logLevel }),
  start: (cfg, log) => startScheduler(cfg, log),
});
