/**
 * The answering core of CoreDNS's kubernetes plugin over a ClusterModel (records per the Kubernetes
 * DNS specification as upstream's plugin/kubernetes and plugin/backend_lookup.go serve them):
 * - `svc.ns.svc.zone` A: the ClusterIP; headless: every ready endpoint address; ExternalName: CNAME
 *   (an outside target is resolved through `lookup`, the rest of the server).
 * - `endpoint.svc.ns.svc.zone` A: the endpoint whose hostname (or dashed IP) is `endpoint`.
 * - SRV `_port._proto.svc.ns.svc.zone` and `svc.ns.svc.zone`: ClusterIP → the service name and
 *   port; headless → one target per endpoint (`hostname.svc.ns.svc.zone`), A records in extra.
 * - `a-b-c-d.ns.pod.zone` A (`pods insecure`: any IP-shaped name; `verified`: a pod with that IP).
 * - PTR for ClusterIPs (`svc.ns.svc.zone`) and endpoint addresses (`hostname.svc.ns.svc.zone`).
 * - NXDOMAIN / NODATA with the zone's SOA in authority; SERVFAIL on a name error before the first sync.
 * Names are matched case-insensitively; answers keep the question's case.
 */
import type { Answer, RecordType } from "dns-packet";
import type { KubernetesConfig } from "./config.js";
import type { ClusterModel, EndpointAddress } from "./model.js";

export type Rcode = "NOERROR" | "NXDOMAIN" | "SERVFAIL" | "REFUSED";

export interface Reply {
  rcode: Rcode;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
  authoritative: boolean;
  truncated?: boolean;
}

/** Resolves a name outside the zone through the rest of the server (upstream's Upstream.Lookup). */
export type Lookup = (name: string, type: RecordType) => Promise<Answer[] | undefined>;

export interface KubernetesContext {
  model: ClusterModel;
  config: KubernetesConfig;
  synced: () => boolean;
  /** This pod's addresses (the NS records' targets). */
  localIPs: string[];
  lookup: Lookup;
}

/** One backend item (upstream's msg.Service): an address or a name, and the record name it stands for. */
interface Item {
  host: string;
  port: number;
  /** The domain this item lives at (SRV target), lower case, no trailing dot. */
  domain: string;
}

const NAME_ERROR = Symbol("name error");
type NameError = typeof NAME_ERROR;

const trimDot = (s: string) => (s.endsWith(".") ? s.slice(0, -1) : s);
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const isIPv6 = (s: string) => s.includes(":") && /^[0-9a-fA-F:.]+$/.test(s);
function hostType(host: string): "A" | "AAAA" | "CNAME" {
  return IPV4.test(host) ? "A" : isIPv6(host) ? "AAAA" : "CNAME";
}

/** The plugin zone a name falls in (the longest), or undefined. Zones end with a dot. */
export function matchZone(name: string, zones: string[]): string | undefined {
  const n = `${trimDot(name).toLowerCase()}.`;
  let best: string | undefined;
  for (const z of zones) {
    if ((z === "." || n === z || n.endsWith(`.${z}`)) && (!best || z.length > best.length)) best = z;
  }
  return best;
}

function isReverse(name: string): boolean {
  const n = trimDot(name).toLowerCase();
  return n.endsWith(".in-addr.arpa") || n.endsWith(".ip6.arpa") || n === "in-addr.arpa" || n === "ip6.arpa";
}

/** The address a reverse name stands for, or "" (dnsutil.ExtractAddressFromReverse). */
export function addressFromReverse(name: string): string {
  const n = trimDot(name).toLowerCase();
  if (n.endsWith(".in-addr.arpa")) {
    const parts = n.slice(0, -".in-addr.arpa".length).split(".");
    if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return "";
    return parts.reverse().join(".");
  }
  if (n.endsWith(".ip6.arpa")) {
    const nibbles = n.slice(0, -".ip6.arpa".length).split(".");
    if (nibbles.length !== 32 || nibbles.some((x) => !/^[0-9a-f]$/.test(x))) return "";
    const hex = nibbles.reverse().join("");
    const groups = hex.match(/.{4}/g)!.map((g) => g.replace(/^0+(?=.)/, ""));
    return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
  }
  return "";
}

/** An endpoint's DNS label: its hostname, else its address with dashes (upstream's endpointHostname). */
export function endpointHostname(a: EndpointAddress, podNames = false): string {
  if (a.hostname) return a.hostname;
  if (podNames && a.targetRefName) return a.targetRefName;
  if (a.ip.includes(".")) return a.ip.replace(/\./g, "-");
  const v6 = a.ip.replace(/:/g, "-");
  return (v6.startsWith("-") ? `0${v6}` : v6).replace(/-$/, "-0");
}

interface RecordRequest {
  port: string;
  protocol: string;
  endpoint: string;
  service: string;
  namespace: string;
  podOrSvc: string;
}

const strip = (s: string) => (s.startsWith("_") ? s.slice(1) : s);

/** upstream's parseRequest: [_port._proto.|endpoint.]service.namespace.(svc|pod).zone. */
function parseRequest(name: string, zone: string): RecordRequest | NameError {
  const r: RecordRequest = { port: "", protocol: "", endpoint: "", service: "", namespace: "", podOrSvc: "" };
  const n = trimDot(name).toLowerCase();
  const z = trimDot(zone);
  const base = z === "" ? n : n === z ? "" : n.slice(0, n.length - z.length - 1);
  if (base === "" || base === "svc" || base === "pod") return r;
  const segs = base.split(".");
  let last = segs.length - 1;
  r.podOrSvc = segs[last]!;
  if (r.podOrSvc !== "pod" && r.podOrSvc !== "svc") return NAME_ERROR;
  if (--last < 0) return r;
  r.namespace = segs[last]!;
  if (--last < 0) return r;
  r.service = segs[last]!;
  if (--last < 0) return r;
  if (last === 0) r.endpoint = segs[0]!;
  else if (last === 1) {
    r.protocol = strip(segs[1]!);
    r.port = strip(segs[0]!);
  } else return NAME_ERROR;
  return r;
}

const eq = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const portMatches = (r: RecordRequest, name: string, proto: string) => (r.port === "" || eq(r.port, name)) && (r.protocol === "" || eq(r.protocol, proto));

class KubernetesAnswerer {
  constructor(
    private readonly k: KubernetesContext,
    private readonly zone: string,
  ) {}

  private get ttl(): number {
    return this.k.config.ttl;
  }

  private primaryZone(): string {
    return trimDot(this.k.config.zones.find((z) => !isReverse(z) && z !== ".") ?? this.k.config.zones[0]!);
  }

  private namespaceExposed(ns: string): boolean {
    if (this.k.config.namespaces.length > 0 && !this.k.config.namespaces.some((n) => eq(n, ns))) return false;
    return this.k.model.hasNamespace(ns);
  }

  /** upstream's Records. */
  records(name: string): Item[] | NameError {
    const r = parseRequest(name, this.zone);
    if (r === NAME_ERROR) return NAME_ERROR;
    if (r.podOrSvc === "") return [];
    if (isReverse(name)) return NAME_ERROR;
    if (!this.namespaceExposed(r.namespace)) return NAME_ERROR;
    return r.podOrSvc === "pod" ? this.findPods(r) : this.findServices(r);
  }

  private findPods(r: RecordRequest): Item[] | NameError {
    const mode = this.k.config.pods;
    if (mode === "disabled") return NAME_ERROR;
    if (r.service === "") return [];
    const podname = r.service;
    const ip = (podname.match(/-/g)?.length ?? 0) === 3 && !podname.includes("--") ? podname.replace(/-/g, ".") : podname.replace(/-/g, ":");
    if (hostType(ip) === "CNAME") return NAME_ERROR;
    const item = { host: ip, port: 0, domain: `${podname}.${r.namespace}.pod.${trimDot(this.zone)}` };
    if (mode === "insecure") return [item];
    return this.k.model.hasPod(r.namespace, ip) ? [item] : NAME_ERROR;
  }

  private findServices(r: RecordRequest): Item[] | NameError {
    if (r.service === "") return [];
    const svc = this.k.model.service(r.namespace, r.service);
    if (!svc) return NAME_ERROR;
    const zone = trimDot(this.zone);
    const domain = `${svc.name}.${svc.namespace}.svc.${zone}`.toLowerCase();
    const items: Item[] = [];
    let found = false;
    if (svc.type === "ExternalName") {
      if (r.endpoint || r.port || r.protocol) return NAME_ERROR;
      if (hostType(svc.externalName) !== "CNAME") return NAME_ERROR;
      return [{ host: svc.externalName, port: 0, domain }];
    }
    if (this.k.config.ignoreEmptyService && !svc.headless && !this.k.model.endpointsOf(svc.namespace, svc.name).some((e) => e.addresses.length > 0)) return NAME_ERROR;
    if (svc.headless || r.endpoint !== "") {
      if (this.k.config.noEndpoints) return NAME_ERROR;
      for (const set of this.k.model.endpointsOf(svc.namespace, svc.name)) {
        for (const a of set.addresses) {
          const label = endpointHostname(a, this.k.config.endpointPodNames);
          if (r.endpoint !== "" && !eq(r.endpoint, label)) continue;
          for (const p of set.ports) {
            if (!portMatches(r, p.name, p.protocol)) continue;
            found = true;
            items.push({ host: a.ip, port: p.port, domain: `${label}.${domain}` });
          }
        }
      }
      return found ? items : NAME_ERROR;
    }
    for (const p of svc.ports) {
      if (!portMatches(r, p.name, p.protocol)) continue;
      found = true;
      for (const ip of svc.clusterIPs) items.push({ host: ip, port: p.port, domain });
    }
    return found ? items : NAME_ERROR;
  }

  /** upstream's nsAddrs: the services this pod backs (kube-dns's ClusterIP), else its own address. */
  private nsAddrs(): { name: string; ip: string }[] {
    const zone = trimDot(this.zone);
    const out: { name: string; ip: string }[] = [];
    let foundEndpoint = false;
    for (const ip of this.k.localIPs) {
      for (const set of this.k.model.endpointsByIP(ip)) {
        foundEndpoint = true;
        const svc = this.k.model.service(set.namespace, set.service);
        if (!svc) continue;
        const name = `${svc.name}.${svc.namespace}.svc.${zone}`;
        if (svc.headless) for (const a of set.addresses) out.push({ name: `${endpointHostname(a, this.k.config.endpointPodNames)}.${name}`, ip: a.ip });
        else for (const c of svc.clusterIPs) out.push({ name, ip: c });
      }
    }
    if (!foundEndpoint) for (const ip of this.k.localIPs) out.push({ name: `ns.dns.${zone}`, ip });
    return out;
  }

  /** upstream's Services for a query type. */
  services(name: string, type: RecordType): Item[] | NameError {
    const zone = trimDot(this.zone);
    const n = trimDot(name).toLowerCase();
    if (type === "TXT") {
      if (n === `dns-version.${zone}`) return [{ host: "", port: -2, domain: n }];
      const s = this.records(name);
      return s !== NAME_ERROR && s.length > 0 ? [] : NAME_ERROR;
    }
    if (n === `ns.dns.${zone}`) {
      return this.nsAddrs()
        .filter((a) => hostType(a.ip) === type)
        .map((a) => ({ host: a.ip, port: 0, domain: n }));
    }
    const s = this.records(name);
    if (s === NAME_ERROR || type !== "SRV") return s;
    return s.filter((i) => hostType(i.host) !== "CNAME");
  }

  soa(): Answer {
    const zone = trimDot(this.zone);
    return {
      name: zone,
      type: "SOA",
      ttl: Math.min(this.ttl, 300),
      class: "IN",
      data: { mname: zone ? `ns.dns.${zone}` : "ns.dns", rname: zone ? `hostmaster.${zone}` : "hostmaster", serial: this.k.model.modified >>> 0, refresh: 7200, retry: 1800, expire: 86400, minimum: this.ttl },
    };
  }

  /** upstream's plugin.A / AAAA: addresses, CNAMEs followed inside the zone, looked up outside it. */
  async address(qname: string, type: "A" | "AAAA", previous: Answer[] = []): Promise<Answer[] | NameError> {
    const items = this.services(qname, type);
    if (items === NAME_ERROR) return NAME_ERROR;
    const out: Answer[] = [];
    const seen = new Set<string>();
    for (const it of items) {
      const t = hostType(it.host);
      if (t === "CNAME") {
        if (eq(trimDot(qname), trimDot(it.host))) continue;
        const cname: Answer = { name: trimDot(qname), type: "CNAME", ttl: this.ttl, class: "IN", data: trimDot(it.host) };
        if (previous.length > 10 || previous.some((p) => p.type === "CNAME" && eq(p.name, cname.name) && eq(String(p.data), String(cname.data)))) continue;
        if (matchZone(it.host, [this.zone]) !== undefined && this.zone !== ".") {
          const next = await this.address(it.host, type, [...previous, cname]);
          if (next !== NAME_ERROR && next.length > 0) out.push(cname, ...next);
          continue;
        }
        const upstream = await this.k.lookup(trimDot(it.host), type);
        if (!upstream) continue;
        out.push(cname, ...upstream);
        continue;
      }
      if (t !== type || seen.has(it.host)) continue;
      seen.add(it.host);
      out.push({ name: trimDot(qname), type, ttl: this.ttl, class: "IN", data: it.host });
    }
    return out;
  }

  /** upstream's plugin.SRV: priority 0, weight 100/n, the items' domains as targets, their addresses in extra. */
  srv(qname: string): { answers: Answer[]; extra: Answer[] } | NameError {
    const items = this.services(qname, "SRV");
    if (items === NAME_ERROR) return NAME_ERROR;
    const usable = items.filter((i) => i.port !== -1);
    const total = items.length * 100;
    const weight = Math.max(1, Math.floor((100 / total) * 100));
    const answers: Answer[] = [];
    const extra: Answer[] = [];
    const seen = new Set<string>();
    for (const it of usable) {
      const t = hostType(it.host);
      if (t === "CNAME") continue;
      const srvKey = `${it.domain}|${it.port}`;
      if (!seen.has(srvKey)) {
        seen.add(srvKey);
        answers.push({ name: trimDot(qname), type: "SRV", ttl: this.ttl, class: "IN", data: { priority: 0, weight, port: it.port, target: it.domain } });
      }
      const addrKey = `${it.domain}|${it.host}`;
      if (!seen.has(addrKey)) {
        seen.add(addrKey);
        extra.push({ name: it.domain, type: t, ttl: this.ttl, class: "IN", data: it.host });
      }
    }
    return { answers, extra };
  }

  /** upstream's Reverse: a ClusterIP's service, else every endpoint with that address. */
  ptr(qname: string): Answer[] | NameError {
    const ip = addressFromReverse(qname);
    if (ip === "") {
      const r = this.records(qname);
      return r === NAME_ERROR ? NAME_ERROR : [];
    }
    const zone = this.primaryZone();
    const names: string[] = [];
    const svc = this.k.model.serviceByClusterIP(ip);
    if (svc && (this.k.config.namespaces.length === 0 || this.namespaceExposed(svc.namespace))) names.push(`${svc.name}.${svc.namespace}.svc.${zone}`);
    else {
      for (const set of this.k.model.endpointsByIP(ip)) {
        if (this.k.config.namespaces.length > 0 && !this.namespaceExposed(set.namespace)) continue;
        for (const a of set.addresses) if (a.ip === ip) names.push(`${endpointHostname(a, this.k.config.endpointPodNames)}.${set.service}.${set.namespace}.svc.${zone}`);
      }
    }
    if (names.length === 0) return NAME_ERROR;
    return [...new Set(names)].map((n) => ({ name: trimDot(qname), type: "PTR", ttl: this.ttl, class: "IN", data: n }));
  }
}

function reply(rcode: Rcode, answers: Answer[] = [], additionals: Answer[] = [], authorities: Answer[] = []): Reply {
  return { rcode, answers, additionals, authorities, authoritative: true };
}

/**
 * Answers one question for the kubernetes plugin, or returns undefined when the name is not in its
 * zones (or a name error falls through): the next plugin answers then.
 */
export async function answerKubernetes(k: KubernetesContext, qname: string, qtype: RecordType | string): Promise<Reply | undefined> {
  const zone = matchZone(qname, k.config.zones);
  if (zone === undefined) return undefined;
  const a = new KubernetesAnswerer(k, zone);
  let records: Answer[] = [];
  let extra: Answer[] = [];
  let err = false;
  const name = trimDot(qname);
  const atApex = `${name.toLowerCase()}.` === zone || (zone === "." && name === "");
  switch (qtype) {
    case "A":
    case "AAAA": {
      const r = await a.address(qname, qtype);
      if (r === NAME_ERROR) err = true;
      else records = r;
      break;
    }
    case "TXT": {
      const s = a.services(qname, "TXT");
      if (s === NAME_ERROR) err = true;
      else records = s.filter((i) => i.port === -2).map(() => ({ name, type: "TXT", ttl: 28800, class: "IN", data: "1.1.0" }));
      break;
    }
    case "CNAME": {
      const s = a.services(qname, "CNAME");
      if (s === NAME_ERROR) err = true;
      else if (s[0] && hostType(s[0].host) === "CNAME") records = [{ name, type: "CNAME", ttl: k.config.ttl, class: "IN", data: trimDot(s[0].host) }];
      break;
    }
    case "PTR": {
      const r = a.ptr(qname);
      if (r === NAME_ERROR) err = true;
      else records = r;
      break;
    }
    case "SRV": {
      const r = a.srv(qname);
      if (r === NAME_ERROR) err = true;
      else ({ answers: records, extra } = r);
      break;
    }
    case "MX": {
      const s = a.services(qname, "MX");
      if (s === NAME_ERROR) err = true;
      break;
    }
    case "SOA":
      if (atApex) records = [a.soa()];
      break;
    case "AXFR":
    case "IXFR":
      return { ...reply("REFUSED"), authoritative: false };
    case "NS":
      if (atApex) {
        const ns = a.services(`ns.dns.${zone}`, "A");
        if (ns !== NAME_ERROR) {
          const targets = [...new Set(ns.map((i) => i.domain))];
          records = targets.map((t) => ({ name, type: "NS", ttl: k.config.ttl, class: "IN", data: t }));
          extra = ns.map((i) => ({ name: i.domain, type: "A", ttl: k.config.ttl, class: "IN", data: i.host }));
        }
      } else err = a.services(qname, "A") === NAME_ERROR; // below the apex: a fake A lookup, as for any other type
      break;
    default: {
      const r = a.services(qname, "A");
      if (r === NAME_ERROR) err = true;
    }
  }
  if (err) {
    const fall = k.config.fallthrough;
    if (fall && matchZone(qname, fall) !== undefined) return undefined;
    if (!k.synced()) return reply("SERVFAIL", [], [], [a.soa()]);
    return reply("NXDOMAIN", [], [], [a.soa()]);
  }
  if (records.length === 0) return reply("NOERROR", [], [], [a.soa()]);
  return reply("NOERROR", records, extra);
}
