/**
 * The hosts plugin: A/AAAA (and PTR unless no_reverse) from an /etc/hosts-format file plus the
 * block's inline lines; a name it does not hold goes to the next plugin with `fallthrough`, else
 * NXDOMAIN; a name it holds with no record of the type is NODATA.
 */
import type { Answer } from "dns-packet";
import type { HostsConfig } from "./config.js";
import { addressFromReverse, matchZone, type Reply } from "./kubernetes.js";

export class HostsTable {
  private readonly v4 = new Map<string, string[]>();
  private readonly v6 = new Map<string, string[]>();
  private readonly reverse = new Map<string, string[]>();

  constructor(
    private readonly cfg: HostsConfig,
    fileText: string,
  ) {
    for (const line of fileText.split("\n")) {
      const [ip, ...names] = line.replace(/#.*/, "").trim().split(/\s+/);
      if (ip && names.length) this.add(ip, names);
    }
    for (const e of cfg.inline) this.add(e.ip, e.names);
  }

  private add(ip: string, names: string[]): void {
    const v6 = ip.includes(":");
    if (!v6 && !/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return;
    for (const raw of names) {
      const n = raw.toLowerCase().replace(/\.$/, "");
      if (!n) continue;
      const m = v6 ? this.v6 : this.v4;
      if (!m.has(n)) m.set(n, []);
      if (!m.get(n)!.includes(ip)) m.get(n)!.push(ip);
      if (!this.reverse.has(ip)) this.reverse.set(ip, []);
      if (!this.reverse.get(ip)!.includes(n)) this.reverse.get(ip)!.push(n);
    }
  }

  answer(qname: string, qtype: string): Reply | undefined {
    const name = qname.toLowerCase().replace(/\.$/, "");
    const zone = matchZone(name, this.cfg.zones);
    if (zone === undefined && !(qtype === "PTR" && addressFromReverse(name))) return undefined;
    const out: Answer[] = [];
    const ttl = this.cfg.ttl;
    if (qtype === "A") for (const ip of this.v4.get(name) ?? []) out.push({ name: qname.replace(/\.$/, ""), type: "A", ttl, class: "IN", data: ip });
    else if (qtype === "AAAA") for (const ip of this.v6.get(name) ?? []) out.push({ name: qname.replace(/\.$/, ""), type: "AAAA", ttl, class: "IN", data: ip });
    else if (qtype === "PTR" && !this.cfg.noReverse) for (const n of this.reverse.get(addressFromReverse(name)) ?? []) out.push({ name: qname.replace(/\.$/, ""), type: "PTR", ttl, class: "IN", data: n });
    if (out.length > 0) return { rcode: "NOERROR", answers: out, authorities: [], additionals: [], authoritative: true };
    const exists = this.v4.has(name) || this.v6.has(name);
    if (exists) return { rcode: "NOERROR", answers: [], authorities: [], additionals: [], authoritative: true };
    if (this.cfg.fallthrough && matchZone(name, this.cfg.fallthrough) !== undefined) return undefined;
    if (zone === undefined) return undefined;
    return { rcode: "NXDOMAIN", answers: [], authorities: [], additionals: [], authoritative: true };
  }
}
