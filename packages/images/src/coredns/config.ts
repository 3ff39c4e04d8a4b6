/**
 * Typed settings of the plugins kubemu's coredns runs, from a parsed Corefile. A directive CoreDNS
 * knows but this program does not run fails at start (`plugin/rewrite: not supported by kubemu's
 * coredns`) rather than being silently ignored; bad arguments fail in the plugins' own words.
 */
import { CorefileError, parseDuration, type Directive, type ServerBlock } from "./corefile.js";

export type PodMode = "disabled" | "insecure" | "verified";

export interface KubernetesConfig {
  zones: string[];
  pods: PodMode;
  /** Zones whose name errors go to the next plugin; [] = none; ["."] = all. */
  fallthrough: string[] | undefined;
  ttl: number;
  endpoint: string | undefined;
  kubeconfig: string | undefined;
  namespaces: string[];
  /** endpoint_pod_names: an endpoint without hostname is named by its pod. */
  endpointPodNames: boolean;
  /** ignore empty_service: a ClusterIP service with no ready endpoint is NXDOMAIN. */
  ignoreEmptyService: boolean;
  /** noendpoints: no endpoint records (headless services answer nothing). */
  noEndpoints: boolean;
  startupTimeoutMs: number;
}

export interface ForwardConfig {
  from: string;
  /** host:port of each upstream, or a resolv.conf path to read them from. */
  to: string[];
  except: string[];
  maxConcurrent: number;
  policy: "random" | "round_robin" | "sequential";
  forceTcp: boolean;
}

export interface HostsConfig {
  file: string;
  zones: string[];
  inline: { ip: string; names: string[] }[];
  ttl: number;
  noReverse: boolean;
  fallthrough: string[] | undefined;
}

export interface ServerConfig {
  zones: string[];
  port: number;
  /** Directive names present, in CoreDNS's plugin order. */
  plugins: string[];
  log: boolean;
  errors: boolean;
  health: { address: string; lameduckMs: number } | undefined;
  ready: { address: string } | undefined;
  prometheus: { address: string } | undefined;
  kubernetes: KubernetesConfig | undefined;
  hosts: HostsConfig | undefined;
  forward: ForwardConfig | undefined;
  cache: { ttl: number; zones: string[]; capacity: number; denialTtl: number } | undefined;
  loop: boolean;
  reload: { intervalMs: number; jitterMs: number } | undefined;
  loadbalance: boolean;
}

const SUPPORTED = new Set(["errors", "log", "health", "ready", "kubernetes", "prometheus", "hosts", "forward", "cache", "loop", "reload", "loadbalance"]);

function fqdn(z: string): string {
  const s = z.toLowerCase();
  return s.endsWith(".") ? s : `${s}.`;
}

/** Properties CoreDNS accepts that kubemu's coredns does not run: refused at start rather than ignored. */
const UNSUPPORTED: Record<string, string[]> = {
  kubernetes: ["namespace_labels", "labels", "multicluster", "fallthrough_zones", "apiserver_qps", "apiserver_burst", "apiserver_max_inflight"],
  forward: ["tls", "tls_servername", "expire", "max_fails", "health_check", "next", "failfast_all_unhealthy_upstreams", "failover"],
  cache: ["prefetch", "serve_stale", "servfail", "disable", "keepttl"],
  hosts: [],
};

function unknownProperty(file: string, d: Directive, plugin: string): never {
  if (UNSUPPORTED[plugin]?.includes(d.name)) throw new CorefileError(`plugin/${plugin}: ${file}:${d.line} - property '${d.name}' is not supported by kubemu's coredns`);
  fail(file, { ...d, name: plugin }, `unknown property '${d.name}'`);
}

function fail(file: string, d: Directive, msg: string): never {
  throw new CorefileError(`plugin/${d.name}: ${file}:${d.line} - Error during parsing: ${msg}`);
}

function intArg(file: string, d: Directive, s: string | undefined, min: number, max: number, what: string): number {
  const n = Number(s);
  if (s === undefined || !Number.isInteger(n)) fail(file, d, `${what}: invalid syntax "${s ?? ""}"`);
  if (n < min || n > max) fail(file, d, `${what} must be in range [${min}, ${max}]: ${n}`);
  return n;
}

function kubernetes(file: string, d: Directive, blockZones: string[]): KubernetesConfig {
  const c: KubernetesConfig = { zones: d.args.length ? d.args.map(fqdn) : blockZones, pods: "disabled", fallthrough: undefined, ttl: 5, endpoint: undefined, kubeconfig: undefined, namespaces: [], endpointPodNames: false, ignoreEmptyService: false, noEndpoints: false, startupTimeoutMs: 5000 };
  for (const p of d.block) {
    switch (p.name) {
      case "pods":
        if (p.args[0] !== "disabled" && p.args[0] !== "insecure" && p.args[0] !== "verified") fail(file, p, `wrong value for pods: ${p.args[0] ?? ""},  must be one of: disabled, verified, insecure`);
        c.pods = p.args[0];
        break;
      case "fallthrough":
        c.fallthrough = p.args.length ? p.args.map(fqdn) : ["."];
        break;
      case "ttl":
        c.ttl = intArg(file, { ...p, name: "kubernetes" }, p.args[0], 0, 3600, "ttl");
        break;
      case "endpoint":
        if (p.args.length !== 1) fail(file, { ...p, name: "kubernetes" }, "Wrong argument count");
        c.endpoint = p.args[0];
        break;
      case "kubeconfig":
        if (p.args.length < 1) fail(file, { ...p, name: "kubernetes" }, "Wrong argument count");
        c.kubeconfig = p.args[0];
        break;
      case "namespaces":
        c.namespaces = p.args;
        break;
      case "endpoint_pod_names":
        c.endpointPodNames = true;
        break;
      case "noendpoints":
        c.noEndpoints = true;
        break;
      case "ignore":
        if (p.args[0] !== "empty_service") fail(file, { ...p, name: "kubernetes" }, `unable to parse ignore value: '${p.args[0] ?? ""}'`);
        c.ignoreEmptyService = true;
        break;
      case "startup_timeout": {
        const ms = parseDuration(p.args[0] ?? "");
        if (ms === undefined) fail(file, { ...p, name: "kubernetes" }, `unable to parse startup_timeout value: '${p.args[0] ?? ""}'`);
        c.startupTimeoutMs = ms;
        break;
      }
      default:
        unknownProperty(file, p, "kubernetes");
    }
  }
  return c;
}

function forward(file: string, d: Directive): ForwardConfig {
  if (d.args.length < 2) fail(file, d, "Wrong argument count or unexpected line ending after 'forward'");
  const c: ForwardConfig = { from: fqdn(d.args[0]!), to: d.args.slice(1), except: [], maxConcurrent: 0, policy: "random", forceTcp: false };
  for (const p of d.block) {
    const pd = { ...p, name: "forward" };
    switch (p.name) {
      case "max_concurrent":
        c.maxConcurrent = intArg(file, pd, p.args[0], 0, 1 << 30, "max_concurrent");
        break;
      case "except":
        c.except = p.args.map(fqdn);
        break;
      case "policy":
        if (p.args[0] !== "random" && p.args[0] !== "round_robin" && p.args[0] !== "sequential") fail(file, pd, `unknown policy '${p.args[0] ?? ""}'`);
        c.policy = p.args[0];
        break;
      case "force_tcp":
        c.forceTcp = true;
        break;
      case "prefer_udp":
        break;
      default:
        unknownProperty(file, p, "forward");
    }
  }
  return c;
}

function hosts(file: string, d: Directive, blockZones: string[]): HostsConfig {
  const c: HostsConfig = { file: d.args[0] ?? "/etc/hosts", zones: d.args.length > 1 ? d.args.slice(1).map(fqdn) : blockZones, inline: [], ttl: 3600, noReverse: false, fallthrough: undefined };
  for (const p of d.block) {
    const pd = { ...p, name: "hosts" };
    if (p.name === "fallthrough") c.fallthrough = p.args.length ? p.args.map(fqdn) : ["."];
    else if (p.name === "ttl") c.ttl = intArg(file, pd, p.args[0], 0, 2 ** 31 - 1, "ttl");
    else if (p.name === "no_reverse") c.noReverse = true;
    else if (p.name === "reload") {
      if (parseDuration(p.args[0] ?? "") === undefined) fail(file, pd, `invalid duration for reload '${p.args[0] ?? ""}'`);
    } else if (/^[0-9a-fA-F:.]+$/.test(p.name) && p.args.length > 0) c.inline.push({ ip: p.name, names: p.args.map(fqdn) });
    else unknownProperty(file, p, "hosts");
  }
  return c;
}

function address(file: string, d: Directive, fallback: string): string {
  if (d.args.length > 1) fail(file, d, "Wrong argument count or unexpected line ending after '" + d.args[0] + "'");
  return d.args[0] ?? fallback;
}

/** Settings of one server block. `file` names the Corefile in errors. */
export function serverConfig(block: ServerBlock, file = "Corefile"): ServerConfig {
  const zones = block.keys.map((k) => k.zone);
  const c: ServerConfig = {
    zones,
    port: block.keys[0]!.port,
    plugins: [],
    log: false,
    errors: false,
    health: undefined,
    ready: undefined,
    prometheus: undefined,
    kubernetes: undefined,
    hosts: undefined,
    forward: undefined,
    cache: undefined,
    loop: false,
    reload: undefined,
    loadbalance: false,
  };
  for (const d of block.directives) {
    if (!SUPPORTED.has(d.name)) throw new CorefileError(`plugin/${d.name}: ${file}:${d.line} - not supported by kubemu's coredns`);
    c.plugins.push(d.name);
    switch (d.name) {
      case "log":
        c.log = true;
        break;
      case "errors":
        c.errors = true;
        break;
      case "health": {
        let lameduckMs = 0;
        for (const p of d.block) {
          if (p.name !== "lameduck") fail(file, p, `unknown property '${p.name}'`);
          const ms = parseDuration(p.args[0] ?? "");
          if (ms === undefined) fail(file, { ...p, name: "health" }, `unable to parse lameduck duration value: '${p.args[0] ?? ""}'`);
          lameduckMs = ms;
        }
        c.health = { address: address(file, d, ":8080"), lameduckMs };
        break;
      }
      case "ready":
        c.ready = { address: address(file, d, ":8181") };
        break;
      case "prometheus":
        c.prometheus = { address: address(file, d, "localhost:9153") };
        break;
      case "kubernetes":
        c.kubernetes = kubernetes(file, d, zones);
        break;
      case "hosts":
        c.hosts = hosts(file, d, zones);
        break;
      case "forward":
        c.forward = forward(file, d);
        break;
      case "cache": {
        let ttl = 3600;
        let rest = d.args;
        if (rest[0] !== undefined && /^\d+$/.test(rest[0])) {
          ttl = Number(rest[0]);
          rest = rest.slice(1);
        }
        const cache = { ttl, zones: rest.length ? rest.map(fqdn) : zones, capacity: 9984, denialTtl: Math.min(ttl, 1800) };
        for (const p of d.block) {
          if (p.name === "success" || p.name === "denial") {
            const cap = intArg(file, { ...p, name: "cache" }, p.args[0], 1, 1 << 30, p.name);
            cache.capacity = cap;
            if (p.args[1] !== undefined) {
              const t = intArg(file, { ...p, name: "cache" }, p.args[1], 0, 1 << 30, "TTL");
              if (p.name === "success") cache.ttl = t;
              else cache.denialTtl = t;
            }
          } else unknownProperty(file, p, "cache");
        }
        c.cache = cache;
        break;
      }
      case "loop":
        c.loop = true;
        break;
      case "reload": {
        const intervalMs = d.args[0] ? parseDuration(d.args[0]) : 30_000;
        const jitterMs = d.args[1] ? parseDuration(d.args[1]) : 15_000;
        if (intervalMs === undefined || intervalMs < 2000) fail(file, d, `invalid interval value '${d.args[0] ?? ""}'`);
        if (jitterMs === undefined || jitterMs < 1000) fail(file, d, `invalid jitter value '${d.args[1] ?? ""}'`);
        c.reload = { intervalMs, jitterMs: Math.min(jitterMs, intervalMs / 2) };
        break;
      }
      case "loadbalance":
        if (d.args.length && d.args[0] !== "round_robin") fail(file, d, `unknown property '${d.args[0]}'`);
        c.loadbalance = true;
        break;
    }
  }
  return c;
}
