import { existsSync, readFileSync } from "node:fs";
import type { WireTlsOptions } from "@kubemu/common";
import { requireUpCluster } from "../cluster-state.js";
import { processState, type ProcessState } from "../commands/status.js";
import type { CommandContext } from "../context.js";
import { CliError } from "../errors.js";
import { pkiPaths } from "../pki.js";
import { parseHostPort } from "../spec.js";

/** One etcd member's client endpoint, named when it comes from cluster.json. */
export interface EtcdEndpoint {
  /** Process name (e.g. "etcd-0"), or the URL itself for `--endpoints`. */
  name: string;
  /** ws://host:port, or wss://host:port for a member serving TLS */
  url: string;
  /** Whether its recorded process is running ("stopped"/"exited" otherwise); `--endpoints` are assumed running. */
  state: ProcessState;
}

/**
 * Normalizes one `--endpoints` entry: `ws://127.0.10.1:2379`, `127.0.10.1:2379` or
 * `http://127.0.10.1:2379` (as etcdctl users type it) all mean the member's ws:// client URL;
 * `wss://` or `https://` its TLS one.
 */
export function parseEndpoint(raw: string): string {
  const text = raw.trim();
  const secure = /^(wss|https):\/\//.test(text);
  const hostPort = text.replace(/^(wss|ws|https|http):\/\//, "").replace(/\/$/, "");
  if (/^[a-z]+:\/\//i.test(hostPort)) throw new CliError(`--endpoints entry "${raw}" must be ws://IP:PORT, wss://IP:PORT (or IP:PORT)`);
  parseHostPort(hostPort, `--endpoints entry "${raw}"`);
  return `${secure ? "wss" : "ws"}://${hostPort}`;
}

/**
 * What `kubemu etcd` presents to wss:// members: the store's CA and the launcher's client
 * certificate (`<pki>/etcd/healthcheck-client.crt`); undefined when the state dir has none.
 */
export function storeClientTls(pkiDir: string): WireTlsOptions | undefined {
  const p = pkiPaths(pkiDir);
  if (![p.etcdCaCert, p.etcdHealthcheckClientCert, p.etcdHealthcheckClientKey].every((f) => existsSync(f))) return undefined;
  return { ca: readFileSync(p.etcdCaCert), cert: readFileSync(p.etcdHealthcheckClientCert), key: readFileSync(p.etcdHealthcheckClientKey) };
}

/** The client URL a recorded process serves, if it is an etcd member. */
function clientUrlOf(rec: { component: string; addresses: Record<string, string>; args: string[] }): string | undefined {
  const flag = rec.args.indexOf("--listen-client-urls");
  const fromArgs = flag >= 0 ? rec.args[flag + 1] : undefined;
  if (rec.component !== "etcd" && fromArgs === undefined) return undefined;
  const scheme = fromArgs?.startsWith("wss://") ? "wss" : "ws";
  if (rec.addresses["client"] !== undefined) return `${scheme}://${rec.addresses["client"]}`;
  return fromArgs?.split(",")[0];
}

/**
 * The members to talk to: `--endpoints` when given, else every etcd member recorded in
 * `<state>/cluster.json` (which must be up). Throws a CliError naming what is missing.
 */
export function resolveEndpoints(ctx: CommandContext, endpointsFlag: string | undefined): EtcdEndpoint[] {
  if (endpointsFlag !== undefined) {
    const urls = endpointsFlag.split(",").filter((e) => e.trim() !== "").map(parseEndpoint);
    if (urls.length === 0) throw new CliError("--endpoints needs at least one ws://IP:PORT or wss://IP:PORT");
    return urls.map((url) => ({ name: url, url, state: "running" as const }));
  }
  const state = requireUpCluster(ctx.paths, ctx.cluster);
  const members = state.processes.flatMap((rec) => {
    const url = clientUrlOf(rec);
    return url === undefined ? [] : [{ name: rec.name, url, state: processState(rec) }];
  });
  if (members.length === 0) throw new CliError(`cluster "${ctx.cluster}" has no etcd members in ${ctx.paths.clusterFile}; pass --endpoints`);
  if (!members.some((m) => m.state === "running")) {
    const states = members.map((m) => `${m.name} ${m.state}`).join(", ");
    throw new CliError(`no etcd member of cluster "${ctx.cluster}" is running (${states}); start them with \`kubemu start ${members.map((m) => m.name).join(" ")}\``);
  }
  return members;
}
