#!/usr/bin/env node
/** kubemu-controller-manager: kube-controller-manager's controllers as a kubemu process. */
import { componentCommand, createLogger, FlagError, parseComponentFlags, parseDuration, runProcessMain } from "@kubemu/common";
import { startControllerManager, type ManagerConfig } from "./server/controller-manager.js";
import { ALL_CONTROLLERS } from "./controllers/index.js";
import { enabledControllers } from "./server/controllers-flag.js";

function parse(argv: string[]): ManagerConfig {
  const cmd = componentCommand("kubemu-controller-manager", "runs kube-controller-manager's controllers, leader-elected", { port: 10257 }).option(
    "--controllers <list>",
    `A list of controllers to enable. '*' enables all on-by-default controllers, 'foo' enables the controller named 'foo', '-foo' disables the controller named 'foo'. All controllers: ${ALL_CONTROLLERS.map((c) => c.name).join(", ")}`,
    "*",
  )
    .option("--job-pod-failure-backoff <duration>", "The Job controller's first delay before it replaces a failed pod; it doubles per consecutive failure (upstream's DefaultJobPodFailureBackOff; kubemu flag for tests)", "10s")
    .option("--job-pod-failure-backoff-max <duration>", "The cap of that delay (upstream's MaxJobPodFailureBackOff)", "10m");
  const cfg = parseComponentFlags(cmd, argv);
  const controllers = String(cfg.options.controllers ?? "*").split(",");
  enabledControllers(controllers, ALL_CONTROLLERS); // unknown names fail here, before anything starts
  const controllerOptions = {
    jobPodFailureBackoffMs: parseDuration(String(cfg.options.jobPodFailureBackoff), "--job-pod-failure-backoff"),
    jobPodFailureBackoffMaxMs: parseDuration(String(cfg.options.jobPodFailureBackoffMax), "--job-pod-failure-backoff-max"),
  };
  return { ...cfg, controllers, controllerOptions };
}

void runProcessMain<ManagerConfig>({
  bin: "kubemu-controller-manager",
  parse,
  usage: (e) => (e instanceof FlagError ? { text: e.message, help: e.help } : undefined),
  logger: (cfg) => createLogger({ component: cfg.name, ...(cfg.stateDir ? { stateDir: cfg.stateDir } : {}), level: cfg.logLevel }),
  start: (cfg, log) => startControllerManager(cfg, log),
});
