import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { CliError, errorMessage } from "./errors.js";

/** Timing profiles (DESIGN.md "Timing profiles"); each process maps it to its own durations. */
export const profiles = ["fast", "realistic"] as const;
export type Profile = (typeof profiles)[number];

/** Parses a --profile value, or throws a CliError naming the valid ones. */
export function parseProfile(value: string): Profile {
  if ((profiles as readonly string[]).includes(value)) return value as Profile;
  throw new CliError(`unknown profile "${value}" (use ${profiles.join(" or ")})`);
}

/**
 * One process of a cluster, before it is started: what to run and where it listens. The built-in
 * table (components.ts) and `up --spec FILE` both produce these.
 */
export interface ProcessSpec {
  /** Unique process name, e.g. "etcd-0"; the name every command takes. */
  name: string;
  /** What kind of component this is, e.g. "etcd", "kubelet". */
  component: string;
  /** The Kubernetes node this process belongs to (kubelet, kube-proxy); a node name selects all of them. */
  node?: string;
  /** The script node runs; absolute once resolved. */
  bin: string;
  /** Arguments for node itself, before the script (e.g. ["--import", "tsx"]). */
  nodeArgs: string[];
  /** Component-specific flags, passed after the common ones (see commandLine in launch.ts). */
  args: string[];
  /** Every address the process listens on, "ip:port" by role (e.g. client, peer, control). Checked bindable before start. */
  addresses: Record<string, string>;
  /** Base URL of the process's control endpoint (serves /kubemu/status and /kubemu/faults). */
  controlUrl: string;
  /** Extra environment variables. */
  env: Record<string, string>;
}

const processNamePattern = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;
const hostPortPattern = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}):(\d{1,5})$/;

/** Splits "127.0.10.1:2379" into host and port; throws unless it is a loopback IPv4 address with a valid port. */
export function parseHostPort(value: string, where: string): { host: string; port: number } {
  const m = hostPortPattern.exec(value);
  if (!m) throw new CliError(`${where}: "${value}" is not an IPv4 address:port`);
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) throw new CliError(`${where}: "${value}" is not an IPv4 address`);
  if (octets[0] !== 127) throw new CliError(`${where}: "${value}" is not a loopback address (only 127.0.0.0/8 may be used)`);
  const port = Number(m[5]);
  if (port < 1 || port > 65535) throw new CliError(`${where}: port ${port} is out of range`);
  return { host: octets.join("."), port };
}

/** Checks one spec entry's shape and returns it with its bin resolved against baseDir. */
export function validateProcessSpec(raw: unknown, baseDir: string, where: string): ProcessSpec {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new CliError(`${where}: expected an object`);
  const r = raw as Record<string, unknown>;
  const str = (key: string, required: boolean): string | undefined => {
    const v = r[key];
    if (v === undefined && !required) return undefined;
    if (typeof v !== "string" || v === "") throw new CliError(`${where}.${key}: expected a non-empty string`);
    return v;
  };
  const strList = (key: string): string[] => {
    const v = r[key] ?? [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw new CliError(`${where}.${key}: expected a list of strings`);
    return v as string[];
  };
  const strMap = (key: string): Record<string, string> => {
    const v = r[key] ?? {};
    if (typeof v !== "object" || v === null || Array.isArray(v) || Object.values(v).some((x) => typeof x !== "string")) {
      throw new CliError(`${where}.${key}: expected a map of strings`);
    }
    return { ...(v as Record<string, string>) };
  };
  const known = new Set(["name", "component", "node", "bin", "nodeArgs", "args", "addresses", "controlUrl", "env"]);
  for (const key of Object.keys(r)) if (!known.has(key)) throw new CliError(`${where}: unknown field "${key}"`);

  const name = str("name", true)!;
  if (!processNamePattern.test(name)) throw new CliError(`${where}.name: "${name}" is not a valid name (lowercase letters, digits, '-', '.')`);
  const addresses = strMap("addresses");
  for (const [role, addr] of Object.entries(addresses)) parseHostPort(addr, `${where}.addresses.${role}`);
  const controlUrl = str("controlUrl", true)!;
  let url: URL;
  try {
    url = new URL(controlUrl);
  } catch {
    throw new CliError(`${where}.controlUrl: "${controlUrl}" is not a URL`);
  }
  // https://: an API server's control endpoint on its HTTPS port, reached with <state>/pki's admin certificate.
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new CliError(`${where}.controlUrl: must be http:// or https://`);
  parseHostPort(`${url.hostname}:${url.port || (url.protocol === "https:" ? "443" : "80")}`, `${where}.controlUrl`);
  const bin = str("bin", true)!;
  const node = str("node", false);
  return {
    name,
    component: str("component", false) ?? name,
    ...(node !== undefined ? { node } : {}),
    bin: isAbsolute(bin) ? bin : resolve(baseDir, bin),
    nodeArgs: strList("nodeArgs"),
    args: strList("args"),
    addresses,
    controlUrl: controlUrl.replace(/\/+$/, ""),
    env: strMap("env"),
  };
}

/** Checks a whole list: valid entries, unique names, no node name that equals a process name. */
export function validateProcessList(raw: unknown, baseDir: string, where: string): ProcessSpec[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new CliError(`${where}: expected a non-empty list of processes`);
  const specs = raw.map((entry, i) => validateProcessSpec(entry, baseDir, `${where}[${i}]`));
  const names = new Set<string>();
  for (const s of specs) {
    if (names.has(s.name)) throw new CliError(`${where}: process name "${s.name}" appears twice`);
    names.add(s.name);
  }
  for (const s of specs) {
    if (s.node !== undefined && names.has(s.node)) throw new CliError(`${where}: node "${s.node}" has the same name as a process`);
  }
  // One process may serve two roles on one address (e.g. API and control); two processes may not share one.
  const owner = new Map<string, string>();
  for (const s of specs) {
    for (const address of new Set(Object.values(s.addresses))) {
      const other = owner.get(address);
      if (other !== undefined) throw new CliError(`${where}: ${other} and ${s.name} both listen on ${address}`);
      owner.set(address, s.name);
    }
  }
  return specs;
}

/**
 * Reads `up --spec FILE`: YAML or JSON, either a list of processes or `{ processes: [...] }`.
 * Relative `bin` paths resolve against the file's directory.
 */
export function loadSpecFile(path: string): ProcessSpec[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new CliError(`cannot read spec file ${path}: ${errorMessage(e)}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text); // YAML is a superset of JSON
  } catch (e) {
    throw new CliError(`spec file ${path} is not valid YAML/JSON: ${errorMessage(e).split("\n")[0]}`);
  }
  const list = typeof doc === "object" && doc !== null && !Array.isArray(doc) && "processes" in doc ? (doc as { processes: unknown }).processes : doc;
  return validateProcessList(list, dirname(resolve(path)), path);
}
