/**
 * `nslookup HOST [SERVER]` as busybox 1.28 printed it (format and argument rules in
 * ../nslookup/busybox-128.ts). Names resolve the libc way, through getaddrinfo (dns.lookup:
 * /etc/hosts, then the pod's resolv.conf with its search list and ndots); reverse names through
 * getnameinfo (dns.lookupService), as 1.28 did. With a SERVER, both go to that server instead
 * (the search list applied as res_search does). The kubelet puts it first on PATH for busybox
 * 1.28-and-older images.
 */
import { promises as dns } from "node:dns";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { cantResolve, formatHost, parseArgs, parseResolvConf, searchCandidates, USAGE, type HostAnswer } from "../nslookup/busybox-128.js";

const args = parseArgs(process.argv.slice(2));
if (!args) {
  process.stderr.write(USAGE);
  process.exit(1);
}
let conf = { nameservers: [] as string[], search: [] as string[], ndots: 1 };
try {
  conf = parseResolvConf(readFileSync("/etc/resolv.conf", "utf8"));
} catch {
  // No resolv.conf: libc's default, the local nameserver.
}
const server = args.server ?? conf.nameservers[0] ?? "127.0.0.1";
const resolver = args.server ? new dns.Resolver({ timeout: 2000, tries: 2 }) : undefined;
resolver?.setServers([server]);

/** Forward lookup: every address (IPv4 and IPv6), in the resolver's order; undefined when it does not resolve. */
async function addresses(name: string): Promise<string[] | undefined> {
  if (isIP(name)) return [name];
  if (!resolver) {
    try {
      return (await dns.lookup(name, { all: true, verbatim: true })).map((a) => a.address);
    } catch {
      return undefined;
    }
  }
  for (const candidate of searchCandidates(name, conf.search, conf.ndots)) {
    const found = (await Promise.all([resolver.resolve4(candidate).catch(() => []), resolver.resolve6(candidate).catch(() => [])])).flat();
    if (found.length > 0) return found;
  }
  return undefined;
}

/** Reverse name (getnameinfo with NI_NAMEREQD: none rather than the address itself). */
async function reverse(address: string): Promise<string | undefined> {
  try {
    if (resolver) return (await resolver.reverse(address))[0];
    const { hostname } = await dns.lookupService(address, 0);
    return hostname && hostname !== address ? hostname : undefined;
  } catch {
    return undefined;
  }
}

async function host(name: string): Promise<HostAnswer | undefined> {
  const found = await addresses(name);
  if (!found) return undefined;
  return { addresses: await Promise.all(found.map(async (address) => ({ address, ...(await reverse(address).then((n) => (n ? { name: n } : {}))) }))) };
}

const serverAnswer = await host(server);
process.stdout.write(serverAnswer ? `${formatHost("Server:", server, serverAnswer)}\n` : `\n`);
if (!serverAnswer) process.stderr.write(cantResolve(server));
const answer = await host(args.host);
if (answer) process.stdout.write(formatHost("Name:", args.host, answer));
else process.stderr.write(cantResolve(args.host));
process.exitCode = answer ? 0 : 1;
