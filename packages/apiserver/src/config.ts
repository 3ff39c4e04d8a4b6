/**
 * Flags of `kubemu-apiserver`: the launcher's common flags (--name, --data-dir, --state-dir,
 * --profile, --log-level, --control-url) and the server's own. Parsing never exits; it throws
 * ConfigError with one readable line.
 */
import { Command, CommanderError, Option } from "commander";
import { composeNetwork } from "@kubemu/common";
import type { ComponentTarget } from "./component-status.js";
import { DEFAULT_SERVICE_CIDR, ServiceCidr } from "./allocators/service-cidr.js";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export interface ApiServerConfig {
  name: string;
  dataDir: string | undefined;
  stateDir: string | undefined;
  profile: "fast" | "realistic";
  logLevel: string;
  controlUrl: string | undefined;
  bindAddress: string;
  port: number;
  /** ws:// (or wss://, with --etcd-cafile etc.) URLs of the store members; empty with --storage=memory. */
  etcdServers: string[];
  /** Upstream's --etcd-cafile / --etcd-certfile / --etcd-keyfile: TLS to wss:// store members. */
  etcdCaFile: string | undefined;
  etcdCertFile: string | undefined;
  etcdKeyFile: string | undefined;
  storage: "etcd" | "memory";
  compactionIntervalMs: number;
  componentStatus: ComponentTarget[];
  /** PEM files for HTTPS; both or neither. */
  tlsCertFile: string | undefined;
  tlsPrivateKeyFile: string | undefined;
  /** CA bundle for verifying client certificates (requested, not required). */
  clientCaFile: string | undefined;
  /** With TLS: a plain-HTTP port on the same address for components and the launcher. */
  insecurePort: number | undefined;
  /** Client certificate and key the API server presents to kubelets (HTTPS); both or neither. */
  kubeletClientCertificate: string | undefined;
  kubeletClientKey: string | undefined;
  /** CA that signs kubelets' serving certificates; without it they are not checked (as upstream). */
  kubeletCertificateAuthority: string | undefined;
  /** PEM private key that signs service account tokens. */
  serviceAccountSigningKeyFile: string | undefined;
  /** PEM files (public or private keys) tokens may be signed with; default: the signing key. */
  serviceAccountKeyFiles: string[];
  serviceAccountIssuer: string;
  apiAudiences: string[];
  /** Where audit events are appended, one JSON line each (--audit-log-path); unset: no audit log. */
  auditLogPath: string | undefined;
  /** Rotate the audit log at this many megabytes (0: never). */
  auditLogMaxSizeMb: number;
  /** Rotated audit logs kept (0: all). */
  auditLogMaxBackup: number;
  /** Admission plugins turned off (upstream's names). */
  disableAdmissionPlugins: string[];
  /** --authorization-mode: the authorizers after system:masters, in order ("Node", "RBAC"). */
  authorizationModes: AuthorizationMode[];
  /** --service-cluster-ip-range: where Services' ClusterIPs come from (`kubernetes` gets its first address). */
  serviceCidr: ServiceCidr;
}

export type AuthorizationMode = "Node" | "RBAC";
const AUTHORIZATION_MODES: readonly AuthorizationMode[] = ["Node", "RBAC"];

/** The admission plugins --disable-admission-plugins may name (those kubemu runs with a switch). */
const ADMISSION_PLUGINS = ["ServiceAccount", "NodeRestriction"];

const DEFAULT_COMPONENTS =
  "scheduler=http://127.0.30.1:10259/healthz|http://127.0.30.2:10259/healthz," +
  "controller-manager=http://127.0.40.1:10257/healthz|http://127.0.40.2:10257/healthz," +
  "etcd-0=http://127.0.10.1:2381/health,etcd-1=http://127.0.10.2:2381/health,etcd-2=http://127.0.10.3:2381/health";

function isLoopback(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) && host.split(".").every((p) => Number(p) <= 255);
}

function parseUrlList(flag: string, v: string, protocol: string, alsoProtocol?: string): string[] {
  return v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      let u: URL;
      try {
        u = new URL(s);
      } catch {
        throw new ConfigError(`${flag}: "${s}" is not a URL`);
      }
      if (u.protocol !== protocol && u.protocol !== alsoProtocol) throw new ConfigError(`${flag}: "${s}" must use ${protocol}//${alsoProtocol ? ` or ${alsoProtocol}//` : ""}`);
      // Compose mode: the store members are other containers, named by service.
      if (!isLoopback(u.hostname) && !composeNetwork()) throw new ConfigError(`${flag}: "${s}" is not a loopback (127.0.0.0/8) address`);
      return s;
    });
}

function parseComponents(v: string): ComponentTarget[] {
  if (v.trim() === "") return [];
  return v.split(",").map((pair) => {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new ConfigError(`--component-status: "${pair}" must be name=http://host:port/path[|http://...]`);
    const name = pair.slice(0, eq).trim();
    const urls = pair.slice(eq + 1).split("|").map((u) => u.trim());
    for (const url of urls) parseUrlList("--component-status", url, "http:");
    return { name, urls };
  });
}

export function parseArgs(argv: string[]): ApiServerConfig {
  const cmd = new Command("kubemu-apiserver")
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined })
    .option("--name <name>", "process name", "apiserver-0")
    .option("--data-dir <dir>", "data directory (unused: the API server is stateless)")
    .option("--state-dir <dir>", "cluster state directory (logs)")
    .addOption(new Option("--profile <profile>", "timing profile").choices(["fast", "realistic"]).default("fast"))
    .option("--log-level <level>", "log level", "info")
    .option("--control-url <url>", "URL of this process's /kubemu control endpoint (served on the API port)")
    .option("--bind-address <ip>", "address to listen on", "127.0.0.1")
    .option("--port <port>", "port to listen on", "6443")
    .option("--etcd-servers <urls>", "comma-separated ws:// URLs of the store members (wss:// with --etcd-cafile)", "")
    .option("--etcd-cafile <file>", "PEM CA that the store members' serving certificates chain to (wss:// --etcd-servers)")
    .option("--etcd-certfile <file>", "PEM client certificate presented to the store members")
    .option("--etcd-keyfile <file>", "PEM private key of --etcd-certfile")
    .addOption(new Option("--storage <backend>", "storage backend").choices(["etcd", "memory"]).default("etcd"))
    .option("--compaction-interval <seconds>", "store compaction period (0 = never)", "300")
    .option("--component-status <list>", "name=url[|url...],... probed for componentstatuses (Healthy if any replica answers)", DEFAULT_COMPONENTS)
    .option("--tls-cert-file <file>", "PEM certificate (chain) to serve HTTPS with")
    .option("--tls-private-key-file <file>", "PEM private key of --tls-cert-file")
    .option("--client-ca-file <file>", "PEM CA bundle that signs client certificates")
    .option("--kubelet-client-certificate <file>", "PEM client certificate presented to kubelets (HTTPS to :10250; without it kubelets are reached over plain HTTP)")
    .option("--kubelet-client-key <file>", "PEM private key of --kubelet-client-certificate")
    .option("--kubelet-certificate-authority <file>", "PEM CA that signs kubelets' serving certificates (without it they are not verified)")
    .option("--insecure-port <port>", "with TLS: also serve plain HTTP on this port, only GET /healthz /livez /readyz /version (unauthenticated probes)")
    .option("--service-account-signing-key-file <file>", "PEM private key that signs service account tokens (default: one made at start, valid on this apiserver only)")
    .option("--service-account-key-file <files>", "comma-separated PEM files of keys that verify service account tokens (default: the signing key)")
    .option("--service-account-issuer <url>", "the iss of service account tokens", "https://kubernetes.default.svc.cluster.local")
    .option("--api-audiences <list>", "comma-separated audiences the API accepts in tokens (default: the issuer)")
    .option("--authorization-mode <modes>", `comma-separated authorizers in order, of: ${AUTHORIZATION_MODES.join(", ")}`, "Node,RBAC")
    .option("--audit-log-path <file>", "append an audit.k8s.io/v1 Event (Metadata level) per request to this file, one JSON line each")
    .option("--audit-log-maxsize <MB>", "rotate the audit log when it reaches this many megabytes (0: never)", "0")
    .option("--audit-log-maxbackup <n>", "rotated audit log files to keep (0: all)", "0")
    .option("--service-cluster-ip-range <cidr>", "IPv4 CIDR (/16 to /28) Services' ClusterIPs come from; the `kubernetes` Service gets its first address", DEFAULT_SERVICE_CIDR)
    .option("--disable-admission-plugins <list>", `comma-separated admission plugins to turn off, of: ${ADMISSION_PLUGINS.join(", ")}`);
  try {
    cmd.parse(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) throw new ConfigError(e.message.replace(/^error: /, ""));
    throw e;
  }
  const o = cmd.opts<Record<string, string>>();
  // Compose mode: the container's own network namespace, reached through its Docker network address.
  if (!isLoopback(o.bindAddress!) && !(composeNetwork() && o.bindAddress === "0.0.0.0")) throw new ConfigError(`--bind-address "${o.bindAddress}" is not a loopback (127.0.0.0/8) address`);
  const port = Number(o.port);
  if (!/^\d+$/.test(o.port!) || port > 65535) throw new ConfigError(`--port must be an integer 0-65535, got "${o.port}"`);
  const compaction = Number(o.compactionInterval);
  if (!/^\d+$/.test(o.compactionInterval!)) throw new ConfigError(`--compaction-interval must be a non-negative integer, got "${o.compactionInterval}"`);
  const etcdServers = parseUrlList("--etcd-servers", o.etcdServers!, "ws:", "wss:");
  if ((o.etcdCertfile === undefined) !== (o.etcdKeyfile === undefined)) throw new ConfigError("--etcd-certfile and --etcd-keyfile go together");
  if (etcdServers.some((u) => u.startsWith("wss:")) && o.etcdCafile === undefined) throw new ConfigError("wss:// --etcd-servers need --etcd-cafile");
  const storage = o.storage as "etcd" | "memory";
  if (storage === "etcd" && etcdServers.length === 0) throw new ConfigError("--etcd-servers is required (or --storage=memory)");
  if ((o.tlsCertFile === undefined) !== (o.tlsPrivateKeyFile === undefined))
    throw new ConfigError("--tls-cert-file and --tls-private-key-file go together");
  if ((o.kubeletClientCertificate === undefined) !== (o.kubeletClientKey === undefined))
    throw new ConfigError("--kubelet-client-certificate and --kubelet-client-key go together");
  if (o.kubeletCertificateAuthority !== undefined && o.kubeletClientCertificate === undefined)
    throw new ConfigError("--kubelet-certificate-authority needs --kubelet-client-certificate (kubelets are reached over HTTPS only with a client certificate)");
  let insecurePort: number | undefined;
  if (o.insecurePort !== undefined) {
    insecurePort = Number(o.insecurePort);
    if (!/^\d+$/.test(o.insecurePort) || insecurePort > 65535) throw new ConfigError(`--insecure-port must be an integer 0-65535, got "${o.insecurePort}"`);
    if (!o.tlsCertFile) throw new ConfigError("--insecure-port needs --tls-cert-file (without TLS the main port is already plain HTTP)");
  }
  const keyFiles = (o.serviceAccountKeyFile ?? "").split(",").map((f) => f.trim()).filter(Boolean);
  if (keyFiles.length > 0 && o.serviceAccountSigningKeyFile === undefined)
    throw new ConfigError("--service-account-key-file needs --service-account-signing-key-file (tokens must be signed with one of the keys)");
  if (o.serviceAccountIssuer!.trim() === "") throw new ConfigError("--service-account-issuer must not be empty");
  const audiences = (o.apiAudiences ?? "").split(",").map((a) => a.trim()).filter(Boolean);
  const serviceCidr = ServiceCidr.parse(o.serviceClusterIpRange!);
  if (typeof serviceCidr === "string") throw new ConfigError(`--service-cluster-ip-range: ${serviceCidr}`);
  const disabled = (o.disableAdmissionPlugins ?? "").split(",").map((a) => a.trim()).filter(Boolean);
  for (const p of disabled) if (!ADMISSION_PLUGINS.includes(p)) throw new ConfigError(`--disable-admission-plugins: unknown admission plugin "${p}" (known: ${ADMISSION_PLUGINS.join(", ")})`);
  const modes = o.authorizationMode!.split(",").map((m) => m.trim()).filter(Boolean);
  for (const m of modes) if (!AUTHORIZATION_MODES.includes(m as AuthorizationMode)) throw new ConfigError(`--authorization-mode: unknown authorization mode "${m}" specified (kubemu serves ${AUTHORIZATION_MODES.join(", ")})`);
  if (new Set(modes).size !== modes.length) throw new ConfigError(`--authorization-mode: "${o.authorizationMode}" names a mode twice`);
  if (modes.length === 0) throw new ConfigError("--authorization-mode must name at least one mode");
  if (o.auditLogPath !== undefined && o.auditLogPath.trim() === "") throw new ConfigError("--audit-log-path must not be empty");
  for (const f of ["auditLogMaxsize", "auditLogMaxbackup"] as const)
    if (!/^\d+$/.test(o[f]!)) throw new ConfigError(`--${f === "auditLogMaxsize" ? "audit-log-maxsize" : "audit-log-maxbackup"} must be a non-negative integer, got "${o[f]}"`);
  return {
    auditLogPath: o.auditLogPath,
    auditLogMaxSizeMb: Number(o.auditLogMaxsize),
    auditLogMaxBackup: Number(o.auditLogMaxbackup),
    authorizationModes: modes as AuthorizationMode[],
    serviceCidr,
    disableAdmissionPlugins: disabled,
    serviceAccountSigningKeyFile: o.serviceAccountSigningKeyFile,
    serviceAccountKeyFiles: keyFiles,
    serviceAccountIssuer: o.serviceAccountIssuer!,
    apiAudiences: audiences.length > 0 ? audiences : [o.serviceAccountIssuer!],
    insecurePort,
    tlsCertFile: o.tlsCertFile,
    tlsPrivateKeyFile: o.tlsPrivateKeyFile,
    kubeletClientCertificate: o.kubeletClientCertificate,
    kubeletClientKey: o.kubeletClientKey,
    kubeletCertificateAuthority: o.kubeletCertificateAuthority,
    clientCaFile: o.clientCaFile,
    name: o.name!,
    dataDir: o.dataDir,
    stateDir: o.stateDir,
    profile: o.profile as "fast" | "realistic",
    logLevel: o.logLevel!,
    controlUrl: o.controlUrl,
    bindAddress: o.bindAddress!,
    port,
    etcdServers,
    etcdCaFile: o.etcdCafile,
    etcdCertFile: o.etcdCertfile,
    etcdKeyFile: o.etcdKeyfile,
    storage,
    compactionIntervalMs: compaction * 1000,
    componentStatus: parseComponents(o.componentStatus!),
  };
}
