#!/usr/bin/env node
/** kubemu-kube-proxy: kube-proxy's Service proxying as a userspace kubemu process, one per node. */
import { createLogger, FlagError, runProcessMain } from "@kubemu/common";
import { parseKubeProxyFlags, type KubeProxyConfig } from "./config.js";
import { startKubeProxy } from "./kube-proxy.js";

void runProcessMain<KubeProxyConfig>({
  bin: "kubemu-kube-proxy",
  parse: (argv) => parseKubeProxyFlags(argv),
  usage: (e) => (e instanceof FlagError ? { text: e.message, help: e.help } : undefined),
  logger: (cfg) => createLogger({ component: cfg.name, ...(cfg.stateDir ? { stateDir: cfg.stateDir } : {}), level: cfg.logLevel }),
  start: (cfg, log) => startKubeProxy(cfg, log),
});
