#!/usr/bin/env node
/** kubemu-controller-manager: kube-controller-manager's controllers as a kubemu process. */
import { createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
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
    .option("--job-pod-failure-backoff-max <duration>", "The cap of that delay (upstream's MaxJobPodFailureBackOff)", "10m")
    .option("--root-ca-file <file>", "If set, this root certificate authority will be included in service account's token secret and the kube-root-ca.crt ConfigMaps. This must be a valid PEM-encoded CA bundle.")
    .option("--service-account-private-key-file <file>", "Filename containing a PEM-encoded private RSA or ECDSA key used to sign service account tokens.");
  const cfg = parseComponentFlags(cmd, argv);
  const controllers = String(cfg.options.controllers ?? "*").split(",");
  enabledControllers(controllers, ALL_CONTROLLERS); // unknown names fail here, before anything starts
  const controllerOptions = {
    jobPodFailureBackoffMs: parseDuration(String(cfg.options.jobPodFailureBackoff), "--job-pod-failure-backoff"),
    jobPodFailureBackoffMaxMs: parseDuration(String(cfg.options.jobPodFailureBackoffMax), "--job-pod-failure-backoff-max"),
    ...serviceAccountOptions(cfg.options, cfg.tls?.ca),
  };
  return { ...cfg, controllers, controllerOptions };
}

/** --root-ca-file (else the CA the manager trusts its API servers with, as upstream) and --service-account-private-key-file. */
function serviceAccountOptions(o: Record<string, unknown>, clientCA: string | Buffer | undefined): { rootCA?: string; serviceAccountPrivateKey?: KeyObject } {
  const read = (file: unknown, flag: string) => {
    try {
      return readFileSync(String(file), "utf8");
    } catch (e) {
      throw new FlagError(`${flag}: cannot read ${String(file)}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const rootCA = o.rootCaFile !== undefined ? read(o.rootCaFile, "--root-ca-file") : clientCA?.toString();
  if (rootCA !== undefined && !rootCA.includes("-----BEGIN CERTIFICATE-----")) throw new FlagError("--root-ca-file: not a PEM-encoded CA bundle");
  let key: KeyObject | undefined;
  if (o.serviceAccountPrivateKeyFile !== undefined) {
    try {
      key = createPrivateKey(read(o.serviceAccountPrivateKeyFile, "--service-account-private-key-file"));
    } catch (e) {
      if (e instanceof FlagError) throw e;
      throw new FlagError(`--service-account-private-key-file: error reading key: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return { ...(rootCA ? { rootCA } : {}), ...(key ? { serviceAccountPrivateKey: key } : {}) };
}

void runProcessMain<ManagerConfig>({
  bin: "kubemu-controller-manager",
  parse,
  usage: (e) => (e instanceof FlagError ? { text: e.message, help: e.help } : undefined),
  logger: (cfg) => createLogger({ component: cfg.name, ...(cfg.stateDir ? { stateDir: cfg.stateDir } : {}), level: cfg.logLevel }),
  start: (cfg, log) => startControllerManager(cfg, log),
});
