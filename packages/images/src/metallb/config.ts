/**
 * MetalLB 0.9's configuration (internal/config/config.go), the `config` key of the `config`
 * ConfigMap in metallb-system:
 *
 *   address-pools:
 *   - name: default
 *     protocol: layer2            # or bgp (parsed; kubemu announces layer2 only)
 *     addresses: [127.240.1.0/24, 127.240.2.10-127.240.2.20]
 *     auto-assign: true           # default true
 *     avoid-buggy-ips: false      # skip .0 and .255
 *
 * IPv4 only. Errors are upstream's words. Pure: no I/O.
 */
import { parse } from "yaml";

/** An inclusive range of IPv4 addresses as 32-bit numbers. */
export interface IpRange {
  first: number;
  last: number;
}

export interface Pool {
  name: string;
  protocol: "layer2" | "bgp";
  ranges: IpRange[];
  autoAssign: boolean;
  avoidBuggyIPs: boolean;
}

export interface Config {
  /** In the order the file lists them (upstream keeps a map; allocation order over pools is unspecified there). */
  pools: Pool[];
}

export function parseIPv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s.trim());
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Go's net.ParseCIDR, then the network (host bits cleared), or an `a-b` range. */
export function parseAddresses(cidr: string): IpRange {
  if (!cidr.includes("-")) {
    const [ip, bitsText, extra] = cidr.split("/");
    const base = ip === undefined ? undefined : parseIPv4(ip);
    const bits = bitsText !== undefined && /^\d{1,2}$/.test(bitsText) ? Number(bitsText) : NaN;
    if (base === undefined || extra !== undefined || !(bits >= 0 && bits <= 32)) throw new Error(`invalid CIDR "${cidr}"`);
    const size = 2 ** (32 - bits);
    const first = Math.floor(base / size) * size;
    return { first, last: first + size - 1 };
  }
  const i = cidr.indexOf("-");
  const [a, b] = [cidr.slice(0, i), cidr.slice(i + 1)];
  const first = parseIPv4(a);
  if (first === undefined) throw new Error(`invalid IP range "${cidr}": invalid start IP "${a}"`);
  const last = parseIPv4(b);
  if (last === undefined) throw new Error(`invalid IP range "${cidr}": invalid end IP "${b}"`);
  // ipaddr.Summarize of an inverted range yields no prefixes: such a pool has no addresses.
  return { first, last: last < first ? first - 1 : last };
}

const POOL_FIELDS = new Set(["name", "protocol", "addresses", "avoid-buggy-ips", "auto-assign", "bgp-advertisements"]);
const FILE_FIELDS = new Set(["peers", "bgp-communities", "address-pools"]);

function strictFields(obj: Record<string, unknown>, allowed: Set<string>, type: string): void {
  for (const k of Object.keys(obj)) if (!allowed.has(k)) throw new Error(`could not parse config: yaml: unmarshal errors:\n  field ${k} not found in type config.${type}`);
}

function pool(raw: unknown, bgpCommunities: boolean): Pool {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new Error("could not parse config: yaml: unmarshal errors: cannot unmarshal into config.addressPool");
  const p = raw as Record<string, unknown>;
  strictFields(p, POOL_FIELDS, "addressPool");
  const name = typeof p.name === "string" ? p.name : "";
  if (name === "") throw new Error("missing pool name");
  const addresses = p.addresses ?? [];
  if (!Array.isArray(addresses) || addresses.some((a) => typeof a !== "string")) throw new Error("could not parse config: yaml: unmarshal errors: cannot unmarshal !!seq into string");
  if (addresses.length === 0) throw new Error("pool has no prefixes defined");
  const ranges = (addresses as string[]).map((a) => {
    try {
      return parseAddresses(a);
    } catch (e) {
      throw new Error(`invalid CIDR "${a}" in pool "${name}": ${(e as Error).message}`);
    }
  });
  const protocol = typeof p.protocol === "string" ? p.protocol : "";
  if (protocol === "layer2") {
    if (Array.isArray(p["bgp-advertisements"]) && p["bgp-advertisements"].length > 0) throw new Error("cannot have bgp-advertisements configuration element in a layer2 address pool");
  } else if (protocol === "") {
    throw new Error("address pool is missing the protocol field");
  } else if (protocol !== "bgp") {
    throw new Error(`unknown protocol "${protocol}"`);
  }
  void bgpCommunities;
  return { name, protocol, ranges, autoAssign: p["auto-assign"] !== false, avoidBuggyIPs: p["avoid-buggy-ips"] === true };
}

/** config.Parse: the pools, or an Error with upstream's message. */
export function parseConfig(text: string): Config {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (e) {
    throw new Error(`could not parse config: yaml: ${(e as Error).message.split("\n")[0]}`);
  }
  raw ??= {};
  if (typeof raw !== "object" || Array.isArray(raw)) throw new Error("could not parse config: yaml: unmarshal errors: cannot unmarshal into config.configFile");
  const file = raw as Record<string, unknown>;
  strictFields(file, FILE_FIELDS, "configFile");
  const rawPools = file["address-pools"] ?? [];
  if (!Array.isArray(rawPools)) throw new Error("could not parse config: yaml: unmarshal errors: cannot unmarshal into []config.addressPool");
  const pools: Pool[] = [];
  const all: { range: IpRange; pool: string }[] = [];
  rawPools.forEach((rp, i) => {
    let p: Pool;
    try {
      p = pool(rp, file["bgp-communities"] !== undefined);
    } catch (e) {
      const msg = (e as Error).message;
      throw new Error(msg.startsWith("could not parse config") ? msg : `parsing address pool #${i + 1}: ${msg}`);
    }
    if (pools.some((q) => q.name === p.name)) throw new Error(`duplicate definition of pool "${p.name}"`);
    for (const r of p.ranges) {
      const other = all.find((o) => r.first <= o.range.last && o.range.first <= r.last);
      if (other) throw new Error(`CIDR "${describe(r)}" in pool "${p.name}" overlaps with already defined CIDR "${describe(other.range)}"`);
      all.push({ range: r, pool: p.name });
    }
    pools.push(p);
  });
  return { pools };
}

/** A range as text: a CIDR when it is one, else `a-b`. */
export function describe(r: IpRange): string {
  const size = r.last - r.first + 1;
  const bits = 32 - Math.log2(size);
  if (Number.isInteger(bits) && r.first % size === 0) return `${formatIPv4(r.first)}/${bits}`;
  return `${formatIPv4(r.first)}-${formatIPv4(r.last)}`;
}

/** ipConfusesBuggyFirmwares: an IPv4 address ending in .0 or .255. */
export const isBuggyIP = (ip: number) => (ip & 255) === 0 || (ip & 255) === 255;

/** poolFor: the pool that owns ip, or undefined. */
export function poolFor(pools: readonly Pool[], ip: number): Pool | undefined {
  return pools.find((p) => !(p.avoidBuggyIPs && isBuggyIP(ip)) && p.ranges.some((r) => ip >= r.first && ip <= r.last));
}
