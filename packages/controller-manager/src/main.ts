#!/usr/bin/env node
/** kubemu-controller-manager: kube-controller-manager's controllers as a kubemu process. */
import { componentCommand, createLogger, FlagError, parseComponentFlags, runProcessMain } from "@kubemu/common";
import { startControllerManager, type ManagerConfig } from "./server/controller-manager.js";
import { ALL_CONTROLLERS } from "./controllers/index.js";
import { enabledControllers } from "./server/controllers-flag.js";

function parse(argv: string[]): ManagerConfig {
  const cmd = componentCommand("kubemu-controller-manager", "runs kube-controller-manager's controllers, leader-elected", { port: 10257 }).option(
    "--controllers <list>",
    `A list of controllers to enable. '*' enables all on-by-default controllers, 'foo' enables the controller named 'foo', '-foo' disables the controller named 'foo'. All controllers: ${ALL_CONTROLLERS.map((c) => c.name).join(", ")}`,
    "*",
  );
  const cfg = parseComponentFlags(cmd, argv);
  const controllers = String(cfg.options.controllers ?? "*").split(",");
  enabledControllers(controllers, ALL_CONTROLLERS); // unknown names fail here, before anything starts
  return { ...cfg, controllers };
}

void runProcessMain<ManagerConfig>({
  bin: "kubemu-controller-manager",
  parse,
  usage: (e) => (e instanceof FlagError ? { text: e.message, help: e.help } : undefined),
  logger: (cfg) => createLogger({ component: cfg.name, ...(cfg.stateDir ? { stateDir: cfg.stateDir } : {}), level: cfg.logLevel }),
  start: (cfg, log) => startControllerManager(cfg, log),
});
