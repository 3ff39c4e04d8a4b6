/**
 * kubemu: the launcher and operator CLI. The `kubemu` binary is main.ts; this index exposes the
 * pieces other code (tests, e2e harnesses) may reuse.
 */
export { runCli, buildProgram, defaultGraceSeconds, defaultWaitSeconds, type CliEnvironment } from "./cli.js";
export { clusterTable, componentBins, ports, etcdMembers, apiservers, apiserverLb, schedulers, controllerManagers, nodeName, defaultNodeCount, repoRoot, type ClusterLayout } from "./components.js";
export { type ClusterState, type ProcessRecord, readClusterState } from "./cluster-state.js";
export { type ProcessSpec, type Profile, profiles, loadSpecFile, validateProcessList } from "./spec.js";
export { StatePaths, resolveStateDir } from "./state-dir.js";
export { CliError } from "./errors.js";
export { readProcStat, isOurProcessAlive, stopOurProcess, killOurProcess, type ProcessIdentity, type StopOutcome } from "./proc.js";
export { getControlStatus, getFaultRules, putFaultRules, deleteFaultRules, controlTls, ControlRequestError, type ControlStatus, type ControlTls, type FaultRules } from "./control-client.js";
export { type StatusEntry, type ProcessState } from "./commands/status.js";
export { renderKubeconfig } from "./kubeconfig.js";
