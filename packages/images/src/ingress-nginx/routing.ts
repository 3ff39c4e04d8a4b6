/**
 * The routing core: Ingresses, Services, EndpointSlices and TLS Secrets → servers (one per host),
 * their locations and the upstreams they proxy to, the way ingress-nginx's controller builds its
 * configuration (internal/ingress/controller/controller.go: createUpstreams, createServers,
 * getBackendServers, mergeAlternativeBackends; location.go: updateServerLocations). No I/O: the
 * warnings upstream logs come back in `warnings` for the caller to print.
 */
import { X509Certificate } from "node:crypto";
import { parseAnnotations, type AffinityConfig, type CanaryConfig, type ParsedAnnotations, type RewriteConfig } from "./annotations.js";
import { keyOf, type EndpointSlice, type Ingress, type IngressBackend, type PathType, type Secret, type Service, type ServicePort } from "./types.js";

export const DEFAULT_UPSTREAM = "upstream-default-backend";
export const DEFAULT_SERVER = "_";

export interface Endpoint {
  address: string;
  port: number;
}

export interface Upstream {
  name: string;
  endpoints: Endpoint[];
  /** A canary's backend: reached only as another upstream's alternative. */
  noServer: boolean;
  trafficShaping?: CanaryConfig;
  alternatives: string[];
  /** Cookie affinity, and the host → Ingress paths whose responses set the cookie. */
  affinity?: AffinityConfig["cookie"] & { locations: Map<string, string[]> };
}

export interface Location {
  path: string;
  pathType: PathType;
  backend: string;
  isDefBackend: boolean;
  /** ns/name of the Ingress the location comes from. */
  ingress?: string;
  rewrite: RewriteConfig;
  accessLog: boolean;
}

export interface Certificate {
  /** ns/name of the Secret. */
  secret: string;
  cert: string;
  key: string;
}

export interface Server {
  hostname: string;
  locations: Location[];
  /** Some location needs a regex (rewrite-target or use-regex): every location of the server is `~* "^path"`. */
  enforceRegex: boolean;
  /** The Secret's certificate; undefined: the default (fake) certificate. */
  certificate?: Certificate;
}

export interface RoutingInputs {
  /** The Ingresses of this controller's class. */
  ingresses: readonly Ingress[];
  services: ReadonlyMap<string, Service>;
  /** By Service key (ns/name, the kubernetes.io/service-name label). */
  endpointSlices: ReadonlyMap<string, readonly EndpointSlice[]>;
  secrets: ReadonlyMap<string, Secret>;
  /** The ConfigMap's ssl-redirect (default true). */
  sslRedirect?: boolean;
}

export interface RoutingTable {
  servers: Map<string, Server>;
  upstreams: Map<string, Upstream>;
  /** klog warnings upstream would print while building this configuration. */
  warnings: string[];
}

const NO_REWRITE: RewriteConfig = { target: "", useRegex: false, sslRedirect: false, forceSSLRedirect: false, preserveTrailingSlash: false };

/** ListIngresses' order: oldest first, ties by ns/name. */
export function sortIngresses(ingresses: readonly Ingress[]): Ingress[] {
  return [...ingresses].sort((a, b) => {
    const ta = Date.parse(a.metadata.creationTimestamp ?? "") || 0;
    const tb = Date.parse(b.metadata.creationTimestamp ?? "") || 0;
    if (ta !== tb) return ta - tb;
    const ka = keyOf(a);
    const kb = keyOf(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

/** upstreamName: ns-service-port (the port's number, else its name). */
export function upstreamName(namespace: string, backend: IngressBackend["service"]): string {
  if (backend) {
    if (backend.port?.number && backend.port.number > 0) return `${namespace}-${backend.name}-${backend.port.number}`;
    if (backend.port?.name) return `${namespace}-${backend.name}-${backend.port.name}`;
  }
  return `${namespace}-INVALID`;
}

const portString = (b: NonNullable<IngressBackend["service"]>) => (b.port?.number && b.port.number > 0 ? String(b.port.number) : (b.port?.name ?? ""));

export function buildRoutingTable(inputs: RoutingInputs): RoutingTable {
  const warnings: string[] = [];
  const ingresses = sortIngresses(inputs.ingresses).map((ing) => ({ ing, key: keyOf(ing), ns: ing.metadata.namespace ?? "default", anns: parseAnnotations(ing, inputs.sslRedirect ?? true) }));
  const upstreams = createUpstreams(ingresses, inputs, warnings);
  const servers = createServers(ingresses, upstreams, inputs, warnings);

  const canaries: typeof ingresses = [];
  for (const { ing, key, ns, anns } of ingresses) {
    for (const rule of ing.spec?.rules ?? []) {
      const server = servers.get(rule.host || DEFAULT_SERVER) ?? servers.get(DEFAULT_SERVER)!;
      for (const path of rule.http?.paths ?? []) {
        if (!path.backend.service) continue;
        const ups = upstreams.get(upstreamName(ns, path.backend.service));
        if (!ups || ups.noServer) continue;
        const nginxPath = path.path || "/";
        const pathType = path.pathType ?? "ImplementationSpecific";
        let add = true;
        for (const loc of server.locations) {
          if (loc.path !== nginxPath) continue;
          // Same path, different type: both are kept.
          if (loc.pathType !== pathType) break;
          add = false;
          if (!loc.isDefBackend) break;
          Object.assign(loc, { backend: ups.name, isDefBackend: false, ingress: key, rewrite: anns.rewrite, accessLog: true });
          break;
        }
        if (add) server.locations.push({ path: nginxPath, pathType, backend: ups.name, isDefBackend: false, ingress: key, rewrite: anns.rewrite, accessLog: true });
        if (anns.affinity.type === "cookie") {
          ups.affinity ??= { ...anns.affinity.cookie, locations: new Map() };
          const host = rule.host || DEFAULT_SERVER;
          ups.affinity.locations.set(host, [...(ups.affinity.locations.get(host) ?? []), path.path ?? ""]);
        }
      }
    }
    if (anns.canary.enabled) canaries.push({ ing, key, ns, anns });
  }
  if (ingresses.length > canaries.length) for (const c of canaries) mergeAlternativeBackends(c.ing, c.ns, upstreams, servers, warnings);

  for (const server of servers.values()) {
    // Longest path first (ties: greater string first), as the generated nginx.conf lists them.
    server.locations.sort((a, b) => (a.path > b.path ? -1 : a.path < b.path ? 1 : 0));
    server.locations.sort((a, b) => b.path.length - a.path.length);
    server.locations = updateServerLocations(server.locations);
    server.enforceRegex = server.locations.some((l) => needsRewrite(l) || l.rewrite.useRegex);
  }
  return { servers, upstreams, warnings };
}

type Parsed = { ing: Ingress; key: string; ns: string; anns: ParsedAnnotations };

function createUpstreams(ingresses: Parsed[], inputs: RoutingInputs, warnings: string[]): Map<string, Upstream> {
  const upstreams = new Map<string, Upstream>([[DEFAULT_UPSTREAM, { name: DEFAULT_UPSTREAM, endpoints: [], noServer: false, alternatives: [] }]]);
  const make = (name: string, ns: string, svc: NonNullable<IngressBackend["service"]>, anns: ParsedAnnotations, what: "default" | "rule") => {
    const ups: Upstream = { name, endpoints: [], noServer: false, alternatives: [] };
    if (anns.canary.enabled) {
      ups.noServer = true;
      ups.trafficShaping = anns.canary;
    }
    const svcKey = `${ns}/${svc.name}`;
    const r = serviceEndpoints(svcKey, portString(svc), inputs, warnings);
    if (r.error) warnings.push(what === "default" ? `Error creating upstream "${name}": ${r.error}` : `Error obtaining Endpoints for Service "${svcKey}": ${r.error}`);
    ups.endpoints = r.endpoints;
    upstreams.set(name, ups);
  };
  for (const { ing, ns, anns } of ingresses) {
    const def = ing.spec?.defaultBackend?.service;
    if (def) make(upstreamName(ns, def), ns, def, anns, "default");
    for (const rule of ing.spec?.rules ?? []) {
      for (const path of rule.http?.paths ?? []) {
        const svc = path.backend.service;
        if (!svc) continue;
        const name = upstreamName(ns, svc);
        if (!upstreams.has(name)) make(name, ns, svc, anns, "rule");
      }
    }
  }
  return upstreams;
}

/** serviceEndpoints: the ready endpoints of the Service port the backend names (by port, targetPort or name). */
function serviceEndpoints(svcKey: string, backendPort: string, inputs: RoutingInputs, warnings: string[]): { endpoints: Endpoint[]; error?: string } {
  const svc = inputs.services.get(svcKey);
  if (!svc) return { endpoints: [], error: `no object matching key "${svcKey}" in local store` };
  const slices = inputs.endpointSlices.get(svcKey) ?? [];
  for (const sp of svc.spec?.ports ?? []) {
    if (String(sp.port) === backendPort || String(sp.targetPort ?? "") === backendPort || sp.name === backendPort) {
      const endpoints = svc.spec?.type === "ExternalName" ? externalNameEndpoint(svc, sp) : endpointsFromSlices(slices, sp);
      if (endpoints.length === 0) warnings.push(`Service "${svcKey}" does not have any active Endpoint.`);
      return { endpoints };
    }
  }
  return { endpoints: [] };
}

function externalNameEndpoint(svc: Service, sp: ServicePort): Endpoint[] {
  const name = svc.spec?.externalName ?? "";
  const port = typeof sp.targetPort === "number" ? sp.targetPort : sp.port;
  return name && name !== "localhost" ? [{ address: name.replace(/\.$/, ""), port }] : [];
}

/** getEndpointsFromSlices: addresses × matching ports of endpoints not marked unready, without duplicates. */
export function endpointsFromSlices(slices: readonly EndpointSlice[], sp: ServicePort): Endpoint[] {
  const out: Endpoint[] = [];
  const seen = new Set<string>();
  const numericTarget = typeof sp.targetPort === "number" ? sp.targetPort : sp.targetPort === undefined ? sp.port : 0;
  for (const slice of slices) {
    const ports: number[] = [];
    if ((slice.ports ?? []).length === 0 && numericTarget > 0) ports.push(numericTarget);
    for (const p of slice.ports ?? []) {
      if ((p.protocol ?? "TCP") !== "TCP") continue;
      let target = 0;
      if (!sp.name) target = p.port ?? 0;
      else if (sp.name === p.name) target = p.port ?? 0;
      if (target === 0 && numericTarget > 0) target = numericTarget;
      if (target > 0) ports.push(target);
    }
    for (const ep of slice.endpoints ?? []) {
      if (ep.conditions?.ready === false) continue;
      for (const port of ports) {
        for (const address of ep.addresses) {
          const hp = `${address}:${port}`;
          if (seen.has(hp)) continue;
          seen.add(hp);
          out.push({ address, port });
        }
      }
    }
  }
  return out;
}

function createServers(ingresses: Parsed[], upstreams: Map<string, Upstream>, inputs: RoutingInputs, warnings: string[]): Map<string, Server> {
  const servers = new Map<string, Server>();
  servers.set(DEFAULT_SERVER, {
    hostname: DEFAULT_SERVER,
    enforceRegex: false,
    // The catch-all's default backend is not access-logged (enable-access-log-for-default-backend: false).
    locations: [{ path: "/", pathType: "Prefix", isDefBackend: true, backend: DEFAULT_UPSTREAM, rewrite: NO_REWRITE, accessLog: false }],
  });
  for (const { ing, key, ns, anns } of ingresses) {
    if (anns.canary.enabled) continue;
    let un = DEFAULT_UPSTREAM;
    const def = ing.spec?.defaultBackend?.service;
    if (def) {
      const ups = upstreams.get(upstreamName(ns, def));
      if (ups) {
        un = ups.name;
        const defLoc = servers.get(DEFAULT_SERVER)!.locations[0]!;
        if (defLoc.isDefBackend && (ing.spec?.rules ?? []).length === 0) {
          // An Ingress with a backend and no rules configures the catch-all server (redirects and rewrites are not applied there).
          Object.assign(defLoc, { isDefBackend: false, backend: ups.name, ingress: key, accessLog: true });
        }
      }
    }
    for (const rule of ing.spec?.rules ?? []) {
      const host = rule.host || DEFAULT_SERVER;
      if (servers.has(host)) continue;
      servers.set(host, { hostname: host, enforceRegex: false, locations: [{ path: "/", pathType: "Prefix", isDefBackend: true, backend: un, ingress: key, rewrite: anns.rewrite, accessLog: true }] });
    }
  }
  // Certificates: the first Ingress (oldest) naming a host in its TLS section decides.
  const decided = new Set<string>();
  for (const { ing, ns, anns } of ingresses) {
    if (anns.canary.enabled) continue;
    for (const rule of ing.spec?.rules ?? []) {
      const host = rule.host || DEFAULT_SERVER;
      const server = servers.get(host)!;
      if (decided.has(host) || (ing.spec?.tls ?? []).length === 0) continue;
      decided.add(host);
      const secretName = extractTLSSecretName(host, ing, ns, inputs, warnings);
      if (!secretName) continue;
      const secrKey = `${ns}/${secretName}`;
      const cert = localCertificate(secrKey, inputs);
      if ("error" in cert) {
        warnings.push(`Error getting SSL certificate "${secrKey}": ${cert.error}. Using default certificate`);
        continue;
      }
      if (!cert.x509.checkHost(host)) {
        warnings.push(`SSL certificate "${secrKey}" does not contain a Common Name or Subject Alternative Name for server "${host}": x509: certificate is not valid for any names, but wanted to match ${host}`);
        warnings.push("Using default certificate");
        continue;
      }
      server.certificate = { secret: secrKey, cert: cert.cert, key: cert.key };
    }
  }
  return servers;
}

/** The Secret as ingress-nginx's local SSL store holds it: a kubernetes.io/tls pair that parses. */
function localCertificate(secrKey: string, inputs: RoutingInputs): { cert: string; key: string; x509: X509Certificate } | { error: string } {
  const secret = inputs.secrets.get(secrKey);
  if (!secret) return { error: `local SSL certificate ${secrKey} was not found` };
  const crt = secret.data?.["tls.crt"];
  const key = secret.data?.["tls.key"];
  if (!crt || !key) return { error: `local SSL certificate ${secrKey} was not found` };
  const cert = Buffer.from(crt, "base64").toString("utf8");
  try {
    return { cert, key: Buffer.from(key, "base64").toString("utf8"), x509: new X509Certificate(cert) };
  } catch (e) {
    return { error: `unexpected error creating SSL Cert: ${(e as Error).message}` };
  }
}

function extractTLSSecretName(host: string, ing: Ingress, ns: string, inputs: RoutingInputs, warnings: string[]): string {
  const lower = host.toLowerCase();
  for (const tls of ing.spec?.tls ?? []) if ((tls.hosts ?? []).some((h) => h.toLowerCase() === lower)) return tls.secretName ?? "";
  for (const tls of ing.spec?.tls ?? []) {
    if (!tls.secretName) continue;
    const secrKey = `${ns}/${tls.secretName}`;
    const cert = localCertificate(secrKey, inputs);
    if ("error" in cert) {
      warnings.push(`Error getting SSL certificate "${secrKey}": ${cert.error}`);
      continue;
    }
    if (cert.x509.checkHost(host)) return tls.secretName;
  }
  return "";
}

function mergeAlternativeBackends(ing: Ingress, ns: string, upstreams: Map<string, Upstream>, servers: Map<string, Server>, warnings: string[]): void {
  const canMerge = (pri: Upstream, alt: Upstream) => pri.name !== alt.name && pri.name !== DEFAULT_UPSTREAM && !pri.noServer;
  const merge = (pri: Upstream, alt: Upstream) => {
    if (pri.alternatives.includes(alt.name)) return true;
    // The canary shares the primary's affinity (affinity-canary-behavior sticky, the default).
    if (pri.affinity) alt.affinity = pri.affinity;
    pri.alternatives.push(alt.name);
    return true;
  };
  const tryMerge = (server: Server, altName: string, matches: (l: Location) => boolean) => {
    const alt = upstreams.get(altName);
    if (!alt) {
      warnings.push(`alternative backend ${altName} has already been removed`);
      return;
    }
    let merged = false;
    let altEqualsPri = false;
    for (const loc of server.locations) {
      const pri = upstreams.get(loc.backend);
      if (!pri) continue;
      altEqualsPri = alt.name === pri.name;
      if (altEqualsPri) {
        warnings.push(`alternative upstream ${alt.name} in Ingress ${keyOf(ing)} is primary upstream in Other Ingress for location ${server.hostname}${loc.path}!`);
        break;
      }
      if (canMerge(pri, alt) && matches(loc)) merged = merge(pri, alt);
    }
    if (!altEqualsPri && !merged) {
      warnings.push(`unable to find real backend for alternative backend ${alt.name}. Deleting.`);
      upstreams.delete(alt.name);
    }
  };
  const def = ing.spec?.defaultBackend?.service;
  if (def) tryMerge(servers.get(DEFAULT_SERVER)!, upstreamName(ns, def), () => true);
  for (const rule of ing.spec?.rules ?? []) {
    const host = rule.host || DEFAULT_SERVER;
    for (const path of rule.http?.paths ?? []) {
      if (!path.backend.service) continue;
      const altName = upstreamName(ns, path.backend.service);
      const server = servers.get(host);
      if (!server) {
        warnings.push(`cannot merge alternative backend ${altName} into hostname ${host} that does not exist`);
        continue;
      }
      const nginxPath = path.path || "/";
      const pathType = path.pathType ?? "ImplementationSpecific";
      tryMerge(server, altName, (l) => l.path === nginxPath && l.pathType === pathType);
    }
  }
}

export function needsRewrite(l: Location): boolean {
  return l.rewrite.target !== "" && l.rewrite.target !== l.path;
}

/** A Prefix path /foo becomes the prefix location /foo/ plus the exact location /foo (unless regex or rewrite, or an Exact /foo exists). */
function updateServerLocations(locations: Location[]): Location[] {
  const exact = new Set(locations.filter((l) => l.pathType === "Exact").map((l) => l.path));
  const out: Location[] = [];
  for (const l of locations) {
    if (l.path === "/" || l.pathType !== "Prefix" || needsRewrite(l) || l.rewrite.useRegex) {
      out.push(l);
      continue;
    }
    const normalized = l.path.endsWith("/") ? l.path : `${l.path}/`;
    if (exact.has(l.path)) {
      out.push({ ...l, path: normalized });
      continue;
    }
    out.push({ ...l, path: normalized }, { ...l, pathType: "Exact" });
  }
  return out;
}
