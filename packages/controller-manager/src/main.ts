#!/usr/bin/env node
/** kubemu-controller-manager: kube-controller-manager's controllers as a kubemu process. */
import { createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { componentCommand, createLogger, FlagError, parseComponentFlags, parseDuration, runProcessMain, TIMING_PROFILES, type ComponentConfig } from "@kubemu/common";
import type { NodeLifecycleOptions, PodGCOptions } from "./controller/context.js";
import { startControllerManager, type ManagerConfig } from "./server/controller-manager.js";
import { ALL_CONTROLLERS } from "./controllers/index.js";
import { enabledControllers } from "./server/controllers-flag.js";
import { PV_SYNC_PERIOD_MS } from "./controllers/persistentvolume/index.js";
import { RESOURCE_QUOTA_SYNC_PERIOD_MS } from "./controllers/resourcequota/controller.js";

function parse(argv: string[]): ManagerConfig {
  const cmd = componentCommand("kubemu-controller-manager", "runs kube-controller-manager's controllers, leader-elected", { port: 10257 }).option(
    "--controllers <list>",
    `A list of controllers to enable. '*' enables all on-by-default controllers, 'foo' enables the controller named 'foo', '-foo' disables the controller named 'foo'. All controllers: ${ALL_CONTROLLERS.map((c) => c.name).join(", ")}`,
    "*",
  )
    .option("--job-pod-failure-backoff <duration>", "The Job controller's first delay before it replaces a failed pod; it doubles per consecutive failure (upstream's DefaultJobPodFailureBackOff; kubemu flag for tests)", "10s")
    .option("--job-pod-failure-backoff-max <duration>", "The cap of that delay (upstream's MaxJobPodFailureBackOff)", "10m")
    .option("--root-ca-file <file>", "If set, this root certificate authority will be included in service account's token secret and the kube-root-ca.crt ConfigMaps. This must be a valid PEM-encoded CA bundle.")
    .option("--service-account-private-key-file <file>", "Filename containing a PEM-encoded private RSA or ECDSA key used to sign service account tokens.")
    .option("--node-monitor-period <duration>", "The period for syncing NodeStatus in NodeController. (default from --profile: fast 1s, realistic 5s)")
    .option("--node-monitor-grace-period <duration>", "Amount of time which we allow running Node to be unresponsive before marking it unhealthy. (default from --profile: fast 5s, realistic 50s)")
    .option("--node-startup-grace-period <duration>", "Amount of time which we allow starting Node to be unresponsive before marking it unhealthy. (default from --profile: fast 6s, realistic 1m0s)")
    .option("--node-eviction-rate <qps>", "Number of nodes per second on which pods are deleted in case of node failure when a zone is healthy (see --unhealthy-zone-threshold for definition of healthy/unhealthy). Zone refers to entire cluster in non-multizone clusters.", "0.1")
    .option("--secondary-node-eviction-rate <qps>", "Number of nodes per second on which pods are deleted in case of node failure when a zone is unhealthy (see --unhealthy-zone-threshold for definition of healthy/unhealthy). Zone refers to entire cluster in non-multizone clusters. This value is implicitly overridden to 0 if the cluster size is smaller than --large-cluster-size-threshold.", "0.01")
    .option("--large-cluster-size-threshold <n>", "Number of nodes from which node-lifecycle-controller treats the cluster as large for the eviction logic purposes. --secondary-node-eviction-rate is implicitly overridden to 0 for clusters this size or smaller.", "50")
    .option("--unhealthy-zone-threshold <fraction>", "Fraction of Nodes in a zone which needs to be not Ready (minimum 3) for zone to be treated as unhealthy.", "0.55")
    .option("--terminated-pod-gc-threshold <n>", "Number of terminated pods that can exist before the terminated pod garbage collector starts deleting terminated pods. If <= 0, the terminated pod garbage collector is disabled.", "12500")
    .option("--pvclaimbinder-sync-period <duration>", "The period for syncing persistent volumes and persistent volume claims (default from --profile: fast 5s, realistic 15s)")
    .option("--resource-quota-sync-period <duration>", "The period for syncing quota usage status in the system (default from --profile: fast 30s, realistic 5m0s)");
  const cfg = parseComponentFlags(cmd, argv);
  const controllers = String(cfg.options.controllers ?? "*").split(",");
  enabledControllers(controllers, ALL_CONTROLLERS); // unknown names fail here, before anything starts
  const controllerOptions = {
    jobPodFailureBackoffMs: parseDuration(String(cfg.options.jobPodFailureBackoff), "--job-pod-failure-backoff"),
    jobPodFailureBackoffMaxMs: parseDuration(String(cfg.options.jobPodFailureBackoffMax), "--job-pod-failure-backoff-max"),
    ...serviceAccountOptions(cfg.options, cfg.tls?.ca),
    ...nodeOptions(cfg),
    pvClaimBinderSyncPeriodMs:
      cfg.options.pvclaimbinderSyncPeriod === undefined ? PV_SYNC_PERIOD_MS[cfg.profile] : parseDuration(String(cfg.options.pvclaimbinderSyncPeriod), "--pvclaimbinder-sync-period"),
    resourceQuotaSyncPeriodMs:
      cfg.options.resourceQuotaSyncPeriod === undefined ? RESOURCE_QUOTA_SYNC_PERIOD_MS[cfg.profile] : parseDuration(String(cfg.options.resourceQuotaSyncPeriod), "--resource-quota-sync-period"),
  };
  return { ...cfg, controllers, controllerOptions };
}

/** The node lifecycle and pod GC flags; durations default from --profile. */
function nodeOptions(cfg: ComponentConfig): { nodeLifecycle: NodeLifecycleOptions; podGC: PodGCOptions } {
  const o = cfg.options;
  const timing = TIMING_PROFILES[cfg.profile];
  const dur = (flag: string, key: string, fallback: number) => (o[key] === undefined ? fallback : parseDuration(String(o[key]), flag));
  const num = (flag: string, key: string, integer: boolean) => {
    const text = String(o[key]);
    const n = Number(text);
    if (text.trim() === "" || !Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new FlagError(`invalid argument "${text}" for "${flag}" flag: strconv.Parse${integer ? "Int" : "Float"}: parsing "${text}": invalid syntax`);
    return n;
  };
  return {
    nodeLifecycle: {
      nodeMonitorPeriodMs: dur("--node-monitor-period", "nodeMonitorPeriod", timing.nodeMonitorPeriodMs),
      nodeMonitorGracePeriodMs: dur("--node-monitor-grace-period", "nodeMonitorGracePeriod", timing.nodeMonitorGraceMs),
      nodeStartupGracePeriodMs: dur("--node-startup-grace-period", "nodeStartupGracePeriod", timing.nodeStartupGraceMs),
      nodeEvictionRate: num("--node-eviction-rate", "nodeEvictionRate", false),
      secondaryNodeEvictionRate: num("--secondary-node-eviction-rate", "secondaryNodeEvictionRate", false),
      largeClusterSizeThreshold: num("--large-cluster-size-threshold", "largeClusterSizeThreshold", true),
      unhealthyZoneThreshold: num("--unhealthy-zone-threshold", "unhealthyZoneThreshold", false),
    },
    podGC: { terminatedPodGCThreshold: num("--terminated-pod-gc-threshold", "terminatedPodGcThreshold", true), gcPeriodMs: timing.podGCPeriodMs, quarantineMs: timing.podGCQuarantineMs },
  };
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
