/**
 * busybox 1.28's nslookup (networking/nslookup.c before 1.29 rewrote it with its own resolver),
 * the pure part: it resolved through libc — getaddrinfo with resolv.conf's search list and
 * ndots, so `nslookup web-0.nginx` in a pod finds web-0.nginx.default.svc.cluster.local — and
 * printed each host as `%-10s %s` (header, name as typed) followed by one `Address N: ip[ name]`
 * line per address, the name being the address's reverse lookup when there is one. The first
 * block is the server (the first nameserver of resolv.conf, or the SERVER argument), then a blank
 * line, then the name asked for. A name that does not resolve prints
 * `nslookup: can't resolve 'x'` on stderr and exits 1.
 */

/** One looked-up host: its addresses in resolver order, each with its reverse name if any. */
export interface HostAnswer {
  addresses: { address: string; name?: string }[];
}

/** `printf("%-10s %s\n", header, hostname)` and the Address lines. */
export function formatHost(header: "Server:" | "Name:", hostname: string, answer: HostAnswer): string {
  const lines = [`${header.padEnd(10)} ${hostname}`];
  answer.addresses.forEach((a, i) => lines.push(`Address ${i + 1}: ${a.address}${a.name ? ` ${a.name}` : ""}`));
  return `${lines.join("\n")}\n`;
}

export const cantResolve = (hostname: string): string => `nslookup: can't resolve '${hostname}'\n`;

export const USAGE = `BusyBox v1.28.4 (2018-05-22 17:00:17 UTC) multi-call binary.

Usage: nslookup [HOST] [SERVER]

Query the nameserver for the IP address of the given HOST
optionally using a specified DNS server
`;

/** What the command line asks for; undefined: usage (no host, an option, or too many arguments). */
export function parseArgs(argv: readonly string[]): { host: string; server?: string } | undefined {
  const [host, server, ...rest] = argv;
  if (!host || host.startsWith("-") || rest.length > 0) return undefined;
  return server === undefined ? { host } : { host, server };
}

/** resolv.conf's nameservers, search list and ndots (libc's defaults: ndots 1, the local domain unknown). */
export function parseResolvConf(text: string): { nameservers: string[]; search: string[]; ndots: number } {
  const out = { nameservers: [] as string[], search: [] as string[], ndots: 1 };
  for (const raw of text.split("\n")) {
    const [key, ...values] = raw.replace(/[#;].*$/, "").trim().split(/\s+/);
    if (key === "nameserver" && values[0]) out.nameservers.push(values[0]);
    else if (key === "search" || key === "domain") out.search = values.filter(Boolean);
    else if (key === "options") {
      for (const o of values) {
        const m = /^ndots:(\d+)$/.exec(o);
        if (m) out.ndots = Math.min(Number(m[1]), 15);
      }
    }
  }
  return out;
}

/**
 * The names res_search tries for a name, in order (used when a SERVER is named and libc's own
 * search cannot be pointed at it): a trailing dot means the name as it is only; with at least
 * ndots dots the name first, then each search domain; else the search domains first.
 */
export function searchCandidates(name: string, search: readonly string[], ndots: number): string[] {
  if (name.endsWith(".")) return [name.slice(0, -1)];
  const dots = name.split(".").length - 1;
  const withDomains = search.map((d) => `${name}.${d.replace(/\.$/, "")}`);
  return dots >= ndots ? [name, ...withDomains] : [...withDomains, name];
}
