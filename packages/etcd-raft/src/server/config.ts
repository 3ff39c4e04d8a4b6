/**
 * Server configuration: the command-line flags of `kubemu-etcd`, parsed and checked into a
 * ServerConfig. Parsing never exits the process; it throws ConfigError with one readable line.
 */
import { Command, CommanderError, Option } from "commander";
import { logLevels } from "@kubemu/common";
import { checkWsUrl } from "../api/index.js";

/** A bad flag or flag combination; main prints the message and exits 2. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** --help was asked for: main prints `text` to stdout and exits 0. */
export class HelpRequested extends Error {
  override readonly name = "HelpRequested";
  constructor(readonly text: string) {
    super("help requested");
  }
}

export type Profile = "fast" | "realistic";

/** Heartbeat and election timeout per timing profile (DESIGN.md). */
export const PROFILE_TIMING: Record<Profile, { heartbeatMs: number; electionMs: number }> = {
  fast: { heartbeatMs: 50, electionMs: 500 },
  realistic: { heartbeatMs: 100, electionMs: 1000 },
};

export interface InitialMember {
  name: string;
  peerUrl: string;
}

/**
 * TLS on one listener (etcd's --cert-file/--key-file/--trusted-ca-file/--client-cert-auth, or the
 * --peer-* set): paths of PEM files. The same files are this member's client side on the peer port.
 */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** CA that clients' certificates must chain to (and, on the peer side, peers' serving certificates). */
  trustedCaFile: string | undefined;
  /** Refuse connections without a certificate from trustedCaFile. */
  clientCertAuth: boolean;
  /** --peer-cert-allowed-cn: also refuse a certificate whose CommonName is not this one. */
  allowedCn?: string;
}

export interface ServerConfig {
  name: string;
  dataDir: string;
  stateDir: string | undefined;
  profile: Profile;
  logLevel: string;
  /** http://host:port for /health, /metrics and /kubemu/*; undefined = no control listener. */
  controlUrl: string | undefined;
  clientUrl: string;
  peerUrl: string;
  initialCluster: InitialMember[];
  initialClusterState: "new" | "existing";
  heartbeatMs: number;
  electionMs: number;
  /** Applied entries between snapshots. */
  snapshotCount: number;
  /** Entries kept in the log behind a snapshot for slow followers. */
  snapshotCatchUpEntries: number;
  /** Largest encoded request accepted (key + value + overhead). */
  maxRequestBytes: number;
  /** Soft limit on the serialized key-value state; writes are refused above it. */
  quotaBytes: number;
  /** TLS on the client port (its URL is then wss://); undefined: plain ws://. */
  clientTls?: TlsFiles | undefined;
  /** TLS on the peer port and for connections to peers (every peer URL is then wss://). */
  peerTls?: TlsFiles | undefined;
}

function intArg(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min) throw new ConfigError(`${name} must be an integer >= ${min}, got "${v}"`);
    return n;
  };
}

/** Parses "a=ws://h:p,b=ws://h:p" into members (names unique, URLs loopback ws:// or wss://). */
export function parseInitialCluster(s: string): InitialMember[] {
  const out: InitialMember[] = [];
  for (const part of s.split(",").map((x) => x.trim()).filter((x) => x.length > 0)) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new ConfigError(`--initial-cluster entry "${part}" must be name=ws://host:port (or wss://)`);
    const name = part.slice(0, eq);
    const peerUrl = wsUrl(part.slice(eq + 1), `--initial-cluster entry for ${name}`);
    if (out.some((m) => m.name === name)) throw new ConfigError(`--initial-cluster names ${name} twice`);
    out.push({ name, peerUrl });
  }
  if (out.length === 0) throw new ConfigError("--initial-cluster must list at least one member");
  return out;
}

function wsUrl(raw: string, what: string): string {
  try {
    return checkWsUrl(raw.split(",")[0]!.trim(), what);
  } catch (e) {
    throw new ConfigError(e instanceof Error ? e.message : String(e));
  }
}

function httpUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(`--control-url "${raw}" is not a URL`);
  }
  if (u.protocol !== "http:" || !u.port) throw new ConfigError(`--control-url "${raw}" must be http://host:port`);
  if (!(u.hostname === "localhost" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(u.hostname))) {
    throw new ConfigError(`--control-url "${raw}" must be a loopback address (127.0.0.0/8)`);
  }
  return `http://${u.hostname}:${u.port}`;
}

/** Parses argv (without node and script) into a ServerConfig. Throws ConfigError or HelpRequested; never exits. */
export function parseArgs(argv: readonly string[]): ServerConfig {
  const cmd = new Command("kubemu-etcd")
    .description("a member of kubemu's replicated key-value store (Raft + MVCC)")
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: () => {} })
    .allowExcessArguments(false)
    .requiredOption("--name <name>", "member name, unique in the cluster")
    .requiredOption("--data-dir <dir>", "directory for the WAL and snapshot files")
    .option("--state-dir <dir>", "cluster state directory (logs go to <state-dir>/logs/<name>.log)")
    .addOption(new Option("--profile <profile>", "timing profile").choices(["fast", "realistic"]).default("fast"))
    .addOption(new Option("--log-level <level>", "log level").choices([...logLevels]).default("info"))
    .option("--control-url <url>", "http://host:port for /health, /metrics and /kubemu/*")
    .option("--listen-client-urls <url>", "ws://host:port for clients (wss:// with --cert-file)")
    .option("--listen-client <url>", "alias of --listen-client-urls")
    .option("--listen-peer-urls <url>", "ws://host:port for peers (wss:// with --peer-cert-file)")
    .option("--listen-peer <url>", "alias of --listen-peer-urls")
    .requiredOption("--initial-cluster <list>", "name=ws://host:port,... of the initial members")
    .addOption(new Option("--initial-cluster-state <state>", "new: bootstrap; existing: join a running cluster").choices(["new", "existing"]).default("new"))
    .option("--heartbeat-interval <ms>", "Raft heartbeat interval in ms (default from profile)", intArg("--heartbeat-interval", 1))
    .option("--election-timeout <ms>", "Raft election timeout in ms (default from profile)", intArg("--election-timeout", 1))
    .option("--snapshot-count <n>", "applied entries between snapshots", intArg("--snapshot-count", 1), 10000)
    .option("--quota-bytes <n>", "soft limit on the key-value state size in bytes", intArg("--quota-bytes", 1024), 2 * 1024 * 1024 * 1024)
    .option("--max-request-bytes <n>", "largest request in bytes", intArg("--max-request-bytes", 1024), 1.5 * 1024 * 1024)
    .option("--cert-file <path>", "client port: serving certificate (PEM); the client URL must be wss://")
    .option("--key-file <path>", "client port: key of --cert-file")
    .option("--trusted-ca-file <path>", "client port: CA that client certificates must chain to")
    .option("--client-cert-auth", "client port: refuse clients without a certificate from --trusted-ca-file", false)
    .option("--peer-cert-file <path>", "peer port: certificate served to and presented to peers (serverAuth and clientAuth); peer URLs must be wss://")
    .option("--peer-key-file <path>", "peer port: key of --peer-cert-file")
    .option("--peer-trusted-ca-file <path>", "peer port: CA that peers' certificates must chain to")
    .option("--peer-client-cert-auth", "peer port: refuse peers without a certificate from --peer-trusted-ca-file", false)
    .option("--peer-cert-allowed-cn <cn>", "peer port: refuse a peer certificate whose CommonName is not this one (needs --peer-client-cert-auth)");
  try {
    cmd.parse(argv as string[], { from: "user" });
  } catch (e) {
    if (e instanceof ConfigError || e instanceof HelpRequested) throw e;
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version") throw new HelpRequested(cmd.helpInformation());
      throw new ConfigError(e.message.replace(/^error: /, ""));
    }
    throw e;
  }
  const o = cmd.opts<Record<string, unknown>>();
  const name = o["name"] as string;
  if (!/^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/.test(name)) throw new ConfigError(`--name "${name}" must be lower-case letters, digits, '-' or '.'`);
  const profile = o["profile"] as Profile;
  const timing = PROFILE_TIMING[profile];
  const heartbeatMs = (o["heartbeatInterval"] as number | undefined) ?? timing.heartbeatMs;
  const electionMs = (o["electionTimeout"] as number | undefined) ?? timing.electionMs;
  if (electionMs < heartbeatMs * 5) {
    throw new ConfigError(`--election-timeout (${electionMs} ms) must be at least 5 × --heartbeat-interval (${heartbeatMs} ms)`);
  }
  const initialCluster = parseInitialCluster(o["initialCluster"] as string);
  const clientRaw = (o["listenClientUrls"] ?? o["listenClient"]) as string | undefined;
  const peerRaw = (o["listenPeerUrls"] ?? o["listenPeer"]) as string | undefined;
  const self = initialCluster.find((m) => m.name === name);
  if (!self) throw new ConfigError(`--initial-cluster must include this member (${name})`);
  const peerUrl = peerRaw !== undefined ? wsUrl(peerRaw, "--listen-peer-urls") : self.peerUrl;
  if (peerUrl !== self.peerUrl) throw new ConfigError(`--listen-peer-urls ${peerUrl} differs from ${name}'s entry in --initial-cluster (${self.peerUrl})`);
  if (clientRaw === undefined) throw new ConfigError("--listen-client-urls is required");
  const snapshotCount = o["snapshotCount"] as number;
  const clientUrl = wsUrl(clientRaw, "--listen-client-urls");
  const clientTls = tlsFiles(o, "", "--listen-client-urls", [clientUrl]);
  const peerTls = tlsFiles(o, "peer", "--listen-peer-urls and every --initial-cluster URL", initialCluster.map((m) => m.peerUrl));
  const allowedCn = o["peerCertAllowedCn"] as string | undefined;
  if (allowedCn !== undefined) {
    if (!peerTls?.clientCertAuth) throw new ConfigError("--peer-cert-allowed-cn needs --peer-client-cert-auth");
    peerTls.allowedCn = allowedCn;
  }
  return {
    name,
    dataDir: o["dataDir"] as string,
    stateDir: o["stateDir"] as string | undefined,
    profile,
    logLevel: o["logLevel"] as string,
    controlUrl: o["controlUrl"] === undefined ? undefined : httpUrl(o["controlUrl"] as string),
    clientUrl,
    peerUrl,
    initialCluster,
    initialClusterState: o["initialClusterState"] as "new" | "existing",
    heartbeatMs,
    electionMs,
    snapshotCount,
    snapshotCatchUpEntries: Math.min(5000, Math.max(1, Math.floor(snapshotCount / 2))),
    maxRequestBytes: o["maxRequestBytes"] as number,
    quotaBytes: o["quotaBytes"] as number,
    clientTls,
    peerTls,
  };
}

/**
 * One listener's TLS flags (prefix "" or "peer"), checked as etcd pairs them: a certificate needs
 * its key and wss:// URLs, wss:// URLs need a certificate, and client-cert auth needs a CA.
 */
function tlsFiles(o: Record<string, unknown>, prefix: "" | "peer", urlsWhat: string, urls: readonly string[]): TlsFiles | undefined {
  const key = (name: string) => (prefix === "" ? name : `peer${name[0]!.toUpperCase()}${name.slice(1)}`);
  const flag = (name: string) => `--${prefix === "" ? "" : "peer-"}${name}`;
  const certFile = o[key("certFile")] as string | undefined;
  const keyFile = o[key("keyFile")] as string | undefined;
  const trustedCaFile = o[key("trustedCaFile")] as string | undefined;
  const clientCertAuth = o[key("clientCertAuth")] === true;
  const secure = urls.map((u) => u.startsWith("wss://"));
  if (certFile === undefined && keyFile === undefined) {
    if (secure.some((s) => s)) throw new ConfigError(`${urlsWhat} use wss:// but ${flag("cert-file")} and ${flag("key-file")} are not given`);
    if (clientCertAuth || trustedCaFile !== undefined) throw new ConfigError(`${flag("client-cert-auth")} and ${flag("trusted-ca-file")} need ${flag("cert-file")} and ${flag("key-file")}`);
    return undefined;
  }
  if (certFile === undefined || keyFile === undefined) throw new ConfigError(`${flag("cert-file")} and ${flag("key-file")} go together`);
  if (secure.some((s) => !s)) throw new ConfigError(`with ${flag("cert-file")}, ${urlsWhat} must use wss://`);
  if (clientCertAuth && trustedCaFile === undefined) throw new ConfigError(`${flag("client-cert-auth")} needs ${flag("trusted-ca-file")}`);
  return { certFile, keyFile, trustedCaFile, clientCertAuth };
}
