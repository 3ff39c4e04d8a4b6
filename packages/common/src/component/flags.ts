/**
 * The flags every component process (scheduler, controller-manager, kubelet, kube-proxy) takes:
 * the launcher's common ones, its serving address, the API servers and the credentials to reach
 * them, and leader election (upstream's flag names and Go duration syntax, `--leader-elect-lease-duration=15s`).
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { logLevels } from "../logger.js";
import type { WireTlsOptions } from "../wire/client-connection.js";
import { WIRE_API_PATH } from "../client/api-client.js";
import { profileNames, TIMING_PROFILES, type ProfileName } from "./profile.js";
import { leaderElectionProblem } from "../client/leader-election.js";

/** A flag problem: one line for the user, exit 2 (help: print and exit 0). */
export class FlagError extends Error {
  constructor(
    message: string,
    readonly help = false,
  ) {
    super(message);
    this.name = "FlagError";
  }
}

export interface ComponentConfig {
  name: string;
  dataDir: string | undefined;
  stateDir: string | undefined;
  profile: ProfileName;
  logLevel: string;
  bindAddress: string;
  port: number;
  /** The API servers' wire endpoints (wss://host:port/kubemu/wire). */
  apiserverEndpoints: string[];
  tls: WireTlsOptions | undefined;
  leaderElect: boolean;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** Every option as commander parsed it (component-specific ones included). */
  options: Record<string, unknown>;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration for the units components use ("15s", "500ms", "1m30s"); milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  if (text === "0") return 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) throw new FlagError(`invalid argument "${text}" for "${flag}" flag: time: invalid duration "${text}"`);
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  if (pos === 0) throw new FlagError(`invalid argument "${text}" for "${flag}" flag: time: invalid duration "${text}"`);
  return total;
}

/** https://host:port (or wss://host:port/kubemu/wire; http/ws for tests) → the wire endpoint. */
export function wireEndpoint(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw new FlagError(`--apiserver-urls: "${raw}" is not a URL`);
  }
  const scheme = { "https:": "wss:", "wss:": "wss:", "http:": "ws:", "ws:": "ws:" }[u.protocol];
  if (!scheme || !u.port) throw new FlagError(`--apiserver-urls: "${raw}" must be https://host:port`);
  const path = u.pathname === "/" || u.pathname === "" ? WIRE_API_PATH : u.pathname;
  return `${scheme}//${u.hostname}:${u.port}${path}`;
}

/** A commander program with the common component flags; add the component's own, then parseComponentFlags. */
export function componentCommand(bin: string, description: string, defaults: { port: number }): Command {
  return new Command(bin)
    .description(description)
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: () => {} })
    .allowExcessArguments(false)
    .requiredOption("--name <name>", "process name, e.g. scheduler-0")
    .option("--data-dir <dir>", "this process's data directory")
    .option("--state-dir <dir>", "cluster state directory (logs go to <state-dir>/logs/<name>.log)")
    .addOption(new Option("--profile <profile>", "timing profile").choices([...profileNames]).default("fast"))
    .addOption(new Option("--log-level <level>", "log level").choices([...logLevels]).default("info"))
    .option("--control-url <url>", "http://host:port of /kubemu/* (served on --bind-address:--port)")
    .option("--bind-address <ip>", "address to serve /healthz, /metrics and /kubemu/* on", "127.0.0.1")
    .option("--port <port>", "port to serve on", String(defaults.port))
    .requiredOption("--apiserver-urls <urls>", "comma-separated API servers, https://host:port")
    .option("--ca-file <file>", "CA bundle the API servers' certificates chain to")
    .option("--client-cert-file <file>", "this component's client certificate")
    .option("--client-key-file <file>", "the key of --client-cert-file")
    .option("--leader-elect <bool>", "elect a leader among replicas before doing any work", "true")
    .option("--leader-elect-lease-duration <duration>", "lease duration (default from --profile)")
    .option("--leader-elect-renew-deadline <duration>", "renew deadline (default from --profile)")
    .option("--leader-elect-retry-period <duration>", "retry period (default from --profile)");
}

function readPem(file: string | undefined, flag: string): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (e) {
    throw new FlagError(`${flag}: cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Parses argv with cmd; throws FlagError (help: true for --help), never exits. */
export function parseComponentFlags(cmd: Command, argv: readonly string[]): ComponentConfig {
  try {
    cmd.parse(argv as string[], { from: "user" });
  } catch (e) {
    if (e instanceof FlagError) throw e;
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version") throw new FlagError(cmd.helpInformation(), true);
      throw new FlagError(e.message.replace(/^error: /, ""));
    }
    throw e;
  }
  const o = cmd.opts<Record<string, unknown>>();
  const name = o["name"] as string;
  if (!/^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/.test(name)) throw new FlagError(`--name "${name}" must be lower-case letters, digits, '-' or '.'`);
  const port = Number(o["port"]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new FlagError(`--port "${String(o["port"])}" must be a port number`);
  const bindAddress = o["bindAddress"] as string;
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bindAddress) && bindAddress !== "0.0.0.0") throw new FlagError(`--bind-address "${bindAddress}" must be a 127.0.0.0/8 address`);
  const endpoints = String(o["apiserverUrls"]).split(",").filter((s) => s.trim() !== "").map(wireEndpoint);
  if (endpoints.length === 0) throw new FlagError("--apiserver-urls names no API server");
  const ca = readPem(o["caFile"] as string | undefined, "--ca-file");
  const cert = readPem(o["clientCertFile"] as string | undefined, "--client-cert-file");
  const key = readPem(o["clientKeyFile"] as string | undefined, "--client-key-file");
  if ((cert === undefined) !== (key === undefined)) throw new FlagError("--client-cert-file and --client-key-file go together");
  const secure = endpoints.some((e) => e.startsWith("wss:"));
  if (secure && cert === undefined) throw new FlagError("--apiserver-urls uses https: --client-cert-file and --client-key-file are required (every component authenticates)");
  const leaderElect = String(o["leaderElect"]);
  if (leaderElect !== "true" && leaderElect !== "false") throw new FlagError(`invalid argument "${leaderElect}" for "--leader-elect" flag: strconv.ParseBool: parsing "${leaderElect}": invalid syntax`);
  const profile = o["profile"] as ProfileName;
  const timing = TIMING_PROFILES[profile];
  const dur = (flag: string, key: string, fallback: number) => (o[key] === undefined ? fallback : parseDuration(String(o[key]), flag));
  const election = {
    leaseDurationMs: dur("--leader-elect-lease-duration", "leaderElectLeaseDuration", timing.leaseDurationMs),
    renewDeadlineMs: dur("--leader-elect-renew-deadline", "leaderElectRenewDeadline", timing.renewDeadlineMs),
    retryPeriodMs: dur("--leader-elect-retry-period", "leaderElectRetryPeriod", timing.retryPeriodMs),
  };
  const problem = leaderElectionProblem(election);
  if (problem) throw new FlagError(`leader election: ${problem}`);
  return {
    name,
    dataDir: o["dataDir"] as string | undefined,
    stateDir: o["stateDir"] as string | undefined,
    profile,
    logLevel: o["logLevel"] as string,
    bindAddress,
    port,
    apiserverEndpoints: endpoints,
    tls: secure || ca ? { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) } : undefined,
    leaderElect: leaderElect === "true",
    ...election,
    options: o,
  };
}
