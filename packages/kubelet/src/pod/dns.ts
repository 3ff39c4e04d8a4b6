/**
 * The files the kubelet writes for a pod's sandbox: /etc/hosts (kubelet-managed, with the pod's
 * IP, FQDN and hostAliases) and /etc/resolv.conf for its dnsPolicy (ClusterFirst: the cluster DNS
 * and search path with ndots:5; Default: the node's; None: dnsConfig alone), dnsConfig merged in.
 */
import type { Pod } from "kubernetes-types/core/v1.js";

export interface DnsSettings {
  clusterDns: string[];
  clusterDomain: string;
  /** The node's /etc/resolv.conf text (dnsPolicy Default). */
  hostResolvConf: string;
}

/** The pod's hostname (spec.hostname, else its name, cut to 63 characters as upstream). */
export function podHostname(pod: Pod): string {
  const h = pod.spec?.hostname || pod.metadata?.name || "";
  return h.length > 63 ? h.slice(0, 63).replace(/[-.]+$/, "") : h;
}

/** The FQDN when the pod has a subdomain: <hostname>.<subdomain>.<ns>.svc.<domain>. */
export function podFqdn(pod: Pod, clusterDomain: string): string | undefined {
  if (!pod.spec?.subdomain) return undefined;
  return `${podHostname(pod)}.${pod.spec.subdomain}.${pod.metadata?.namespace ?? "default"}.svc.${clusterDomain}`;
}

export function hostsFile(pod: Pod, podIP: string, clusterDomain: string): string {
  const lines = [
    "# Kubernetes-managed hosts file.",
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "fe00::0\tip6-localnet",
    "fe00::0\tip6-mcastprefix",
    "fe00::1\tip6-allnodes",
    "fe00::2\tip6-allrouters",
  ];
  const fqdn = podFqdn(pod, clusterDomain);
  lines.push(fqdn ? `${podIP}\t${fqdn}\t${podHostname(pod)}` : `${podIP}\t${podHostname(pod)}`);
  const aliases = pod.spec?.hostAliases ?? [];
  if (aliases.length > 0) {
    lines.push("", "# Entries added by HostAliases.");
    for (const a of aliases) lines.push(`${a.ip}\t${(a.hostnames ?? []).join("\t")}`);
  }
  return `${lines.join("\n")}\n`;
}

interface Resolv {
  nameservers: string[];
  searches: string[];
  options: string[];
}

export function parseResolvConf(text: string): Resolv {
  const r: Resolv = { nameservers: [], searches: [], options: [] };
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const [key, ...rest] = line.split(/\s+/);
    if (key === "nameserver" && rest[0]) r.nameservers.push(rest[0]);
    else if (key === "search" || key === "domain") r.searches = rest;
    else if (key === "options") r.options.push(...rest);
  }
  return r;
}

/** Adds options, a later value for the same name replacing an earlier one (as upstream's mergeDNSOptions). */
function mergeOptions(base: string[], extra: { name?: string; value?: string }[]): string[] {
  const m = new Map<string, string>();
  for (const o of base) {
    const [n, v] = o.split(":", 2);
    m.set(n!, v === undefined ? n! : `${n}:${v}`);
  }
  for (const o of extra) if (o.name) m.set(o.name, o.value !== undefined ? `${o.name}:${o.value}` : o.name);
  return [...m.values()];
}

export function resolvConf(pod: Pod, s: DnsSettings): string {
  let policy = pod.spec?.dnsPolicy ?? "ClusterFirst";
  if (policy === "ClusterFirst" && pod.spec?.hostNetwork) policy = "Default";
  const host = parseResolvConf(s.hostResolvConf);
  let r: Resolv;
  if (policy === "None") r = { nameservers: [], searches: [], options: [] };
  else if (policy === "Default") r = host;
  else {
    const ns = pod.metadata?.namespace ?? "default";
    const d = s.clusterDomain;
    r = { nameservers: [...s.clusterDns], searches: [`${ns}.svc.${d}`, `svc.${d}`, d, ...host.searches], options: ["ndots:5"] };
  }
  const cfg = pod.spec?.dnsConfig;
  if (cfg) {
    r = {
      nameservers: [...new Set([...r.nameservers, ...(cfg.nameservers ?? [])])].slice(0, 3),
      searches: [...new Set([...r.searches, ...(cfg.searches ?? [])])].slice(0, 32),
      options: mergeOptions(r.options, cfg.options ?? []),
    };
  }
  const lines: string[] = [];
  if (r.searches.length) lines.push(`search ${r.searches.join(" ")}`);
  for (const n of r.nameservers) lines.push(`nameserver ${n}`);
  if (r.options.length) lines.push(`options ${r.options.join(" ")}`);
  return `${lines.join("\n")}\n`;
}
