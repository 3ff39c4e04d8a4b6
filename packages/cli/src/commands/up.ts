import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { applyAddons } from "../addons/apply.js";
import { coreDns } from "../addons/coredns.js";
import { localPathStorage } from "../addons/local-path-storage.js";
import { labelNodes } from "../addons/node-labels.js";
import { readClusterState, writeClusterState, type ClusterState, type ProcessRecord } from "../cluster-state.js";
import { apiserverLb, clusterTable, nodeName } from "../components.js";
import type { CommandContext } from "../context.js";
import { CliError } from "../errors.js";
import { isBuilt, newProcessRecord, spawnDetached } from "../launch.js";
import { controlTls } from "../control-client.js";
import { mergeKubeconfig, writeKubeconfig, type KubeconfigCredentials } from "../kubeconfig.js";
import { withStateLock } from "../lock.js";
import { ensureClusterPki, type PkiPaths } from "../pki.js";
import { assertAddressesFree, pickFreePort, probeBind } from "../ports.js";
import { isOurProcessAlive } from "../proc.js";
import { describeReadiness, waitReady } from "../readiness.js";
import { formatTable } from "../select.js";
import { loadSpecFile, type ProcessSpec } from "../spec.js";

/** Options of `kubemu up`. */
export interface UpOptions {
  /** Use this YAML/JSON process list instead of the built-in table. */
  specFile?: string;
  /** Number of nodes for the built-in table. */
  nodes: number;
  /** How long to wait for each process to answer on its control URL. */
  waitMs: number;
  /** Also merge the cluster's context into this kubeconfig (kubectl's default one), or skip when undefined. */
  mergeKubeconfigInto?: string;
  /** Serve the API over plain HTTP (no CA, no client certificates); HTTPS is the default. */
  insecureHttp?: boolean;
}

/**
 * `kubemu up`: starts every built component detached and records it in cluster.json.
 *
 * On a cluster that is already up (any recorded process alive) it behaves like `minikube start`
 * on a running profile: it says so, starts any recorded process that is not running, changes
 * nothing else, and exits 0. Returns the exit code.
 */
export async function up(ctx: CommandContext, opts: UpOptions): Promise<number> {
  return withStateLock(ctx.paths.root, ctx.paths.lockFile, ctx.clock, async () => {
    const existing = readClusterState(ctx.paths);
    if (existing !== undefined && existing.phase === "up" && existing.processes.some((p) => isOurProcessAlive(p))) {
      return upAgain(ctx, existing, opts);
    }
    return upFresh(ctx, existing, opts);
  });
}

async function upFresh(ctx: CommandContext, previous: ClusterState | undefined, opts: UpOptions): Promise<number> {
  const log = ctx.logger();
  let specs: ProcessSpec[];
  let lbPorts: { api: number; control: number } | null = null;
  let pki: PkiPaths | null = null;
  if (opts.specFile !== undefined) {
    specs = loadSpecFile(opts.specFile);
  } else {
    lbPorts = await chooseLbPorts(previous);
    const nodes = Array.from({ length: opts.nodes }, (_, i) => nodeName(ctx.cluster, i));
    pki = opts.insecureHttp ? null : await ensureClusterPki(ctx.paths.pkiDir, new Date(ctx.clock.now()), log, nodes);
    specs = clusterTable({ cluster: ctx.cluster, nodeCount: opts.nodes, apiserverLbPort: lbPorts.api, apiserverLbControlPort: lbPorts.control, pki, logsDir: ctx.paths.logsDir });
  }
  const settings = { paths: ctx.paths, profile: ctx.profile, logLevel: ctx.logLevel };
  const records = specs.map((s) => newProcessRecord(s, settings));
  const toStart = records.filter((r) => r.built);
  const notBuilt = records.filter((r) => !r.built);
  if (toStart.length === 0) {
    throw new CliError(`nothing to start: no component is built yet (missing ${[...new Set(notBuilt.map((r) => r.bin))].join(", ")}); run \`npm run build\``);
  }
  await assertAddressesFree(toStart.map((r) => ({ process: r.name, addresses: r.addresses })));

  const now = new Date(ctx.clock.now()).toISOString();
  const state: ClusterState = {
    version: 1,
    cluster: ctx.cluster,
    stateDir: ctx.paths.root,
    profile: ctx.profile,
    logLevel: ctx.logLevel,
    phase: "up",
    apiserverLbPort: lbPorts?.api ?? null,
    apiserverLbControlPort: lbPorts?.control ?? null,
    specFile: opts.specFile !== undefined ? resolve(opts.specFile) : null,
    createdAt: now,
    updatedAt: now,
    processes: records,
  };
  writeClusterState(ctx.paths, state, now);
  ctx.io.out(`Starting cluster "${ctx.cluster}" (profile ${ctx.profile}) in ${ctx.paths.root}`);
  if (opts.insecureHttp && opts.specFile === undefined) {
    ctx.io.err("kubemu: warning: --insecure-http is for tests only: the API servers take plain HTTP with no authentication, so anyone on this host (and every pod) has full access to the cluster");
  }
  log.info({ cluster: ctx.cluster, profile: ctx.profile, processes: toStart.map((r) => r.name), notBuilt: notBuilt.map((r) => r.name) }, "up");

  const exitCode = await startAndReport(ctx, state, toStart, opts.waitMs);
  if (notBuilt.length > 0) {
    ctx.io.out(`Not built yet, not started: ${notBuilt.map((r) => r.name).join(", ")}`);
  }
  if (state.apiserverLbPort !== null && toStart.some((r) => r.name === apiserverLb.name)) {
    const server = `${pki ? "https" : "http"}://${apiserverLb.ip}:${state.apiserverLbPort}`;
    const creds: KubeconfigCredentials | undefined = pki
      ? { caCert: readFileSync(pki.caCert, "utf8"), clientCert: readFileSync(pki.adminCert, "utf8"), clientKey: readFileSync(pki.adminKey, "utf8") }
      : undefined;
    writeKubeconfig(ctx.paths.kubeconfig, state.cluster, server, creds);
    ctx.io.out(`API server (via apiserver-lb): ${server}`);
    const failed = await applyAddons(server, creds, [...coreDns(), ...localPathStorage()]);
    for (const f of failed) ctx.io.err(`kubemu: warning: addon object not created: ${f}`);
    const kubelets = toStart.filter((r) => r.component === "kubelet" && r.node).map((r) => r.node!);
    const unlabelled = await labelNodes(server, creds, ctx.cluster, kubelets.map((name) => ({ name, index: name === ctx.cluster ? 0 : 1 })), ctx.clock.now());
    for (const f of unlabelled) ctx.io.err(`kubemu: warning: node not labelled: ${f}`);
    if (opts.mergeKubeconfigInto !== undefined) {
      mergeKubeconfig(opts.mergeKubeconfigInto, state.cluster, server, creds);
      ctx.io.out(`kubectl: context "${state.cluster}" merged into ${opts.mergeKubeconfigInto} and made current`);
    } else {
      ctx.io.out(`kubectl: export KUBECONFIG=${ctx.paths.kubeconfig}`);
    }
  }
  return exitCode;
}

async function upAgain(ctx: CommandContext, state: ClusterState, opts: UpOptions): Promise<number> {
  const running = state.processes.filter((p) => isOurProcessAlive(p));
  const built = state.processes.filter((p) => isBuilt(p));
  const notBuilt = state.processes.length - built.length;
  ctx.io.out(`Cluster "${state.cluster}" is already up (${running.length} of ${built.length} processes running${notBuilt > 0 ? `, ${notBuilt} not built` : ""}) in ${ctx.paths.root}`);
  const otherSpec = opts.specFile !== undefined && resolve(opts.specFile) !== state.specFile;
  if (otherSpec || (ctx.profileExplicit && ctx.profile !== state.profile)) {
    ctx.io.err(`kubemu: warning: the running cluster keeps its recorded settings (profile ${state.profile}${state.specFile ? `, spec ${state.specFile}` : ""}); run \`kubemu down\` first to change them`);
  }
  const missing = state.processes.filter((p) => !isOurProcessAlive(p) && isBuilt(p));
  if (missing.length === 0) return 0;
  await assertAddressesFree(missing.map((r) => ({ process: r.name, addresses: r.addresses })));
  ctx.logger().info({ processes: missing.map((r) => r.name) }, "up: starting processes that were not running");
  return startAndReport(ctx, state, missing, opts.waitMs);
}

/** Spawns each record (writing cluster.json after each, so a crash mid-way loses no pid), then waits for readiness. */
export async function startAndReport(ctx: CommandContext, state: ClusterState, records: ProcessRecord[], waitMs: number): Promise<number> {
  const log = ctx.logger();
  for (const rec of records) {
    const now = new Date(ctx.clock.now()).toISOString();
    await spawnDetached(rec, state, ctx.paths, now);
    writeClusterState(ctx.paths, state, now);
    log.info({ process: rec.name, processPid: rec.pid, startTime: rec.startTime, command: rec.command }, "started process");
  }
  const tls = controlTls(ctx.paths.pkiDir);
  const results = await Promise.all(records.map((r) => waitReady(r, ctx.paths.outFile(r.name), waitMs, ctx.clock, tls)));
  const rows = records.map((rec, i) => [`  ${rec.name}`, `pid ${rec.pid ?? "-"}`, describeReadiness(results[i]!, rec, waitMs)]);
  for (const line of formatTable(rows)) ctx.io.out(line);
  const failed = records.filter((_, i) => results[i]!.kind === "exited");
  for (const rec of failed) log.warn({ process: rec.name, processPid: rec.pid }, "process exited right after start");
  return failed.length > 0 ? 1 : 0;
}

/** Reuses the load balancer's recorded ports when still free (kubeconfigs point at them), else picks new ones. */
async function chooseLbPorts(previous: ClusterState | undefined): Promise<{ api: number; control: number }> {
  const reuse = async (port: number | null | undefined) => (port != null && (await probeBind(apiserverLb.ip, port)) === undefined ? port : undefined);
  const api = (await reuse(previous?.apiserverLbPort)) ?? (await pickFreePort(apiserverLb.ip));
  let control = (await reuse(previous?.apiserverLbControlPort)) ?? (await pickFreePort(apiserverLb.ip));
  while (control === api) control = await pickFreePort(apiserverLb.ip);
  return { api, control };
}
