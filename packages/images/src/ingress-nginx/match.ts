/**
 * One request through the routing table, as nginx and ingress-nginx's Lua would take it: the
 * server by Host (exact name, then the longest `*.` wildcard, then the catch-all `_`), the
 * location (`=` exact, else the longest prefix; in a regex server the first `~* "^path"` in
 * order), the ssl-redirect check (lua_ingress.lua), rewrite-target (nginx `rewrite ... break`),
 * and the canary decision (balancer.lua route_to_alternative_balancer). Pure: randomness comes in.
 */
import { DEFAULT_SERVER, DEFAULT_UPSTREAM, needsRewrite, type Location, type RoutingTable, type Server, type Upstream } from "./routing.js";
import type { CanaryConfig } from "./annotations.js";
import { isAffinitized } from "./affinity.js";

export interface RequestInfo {
  /** The Host header (a port is ignored). */
  host: string;
  /** The request target as sent: path and query. */
  url: string;
  scheme: "http" | "https";
  header(name: string): string | undefined;
  cookie(name: string): string | undefined;
}

/** A random integer in [1, n], Lua's math.random(n). */
export type RandomInt = (n: number) => number;

export type Decision =
  | { kind: "redirect"; status: 308; location: string; server: Server; loc: Location }
  /** No location, or the location's backend is the default backend: ingress-nginx's 404. */
  | { kind: "default-backend"; server: Server; loc: Location | undefined }
  /** The upstream has no endpoints: 503. */
  | { kind: "unavailable"; server: Server; loc: Location; upstream: string; alternative: string }
  | { kind: "proxy"; server: Server; loc: Location; upstream: string; alternative: string; target: Upstream; uri: string };

export function findServer(table: RoutingTable, hostHeader: string): Server {
  const host = hostHeader.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1").toLowerCase();
  const exact = table.servers.get(host);
  if (exact) return exact;
  let best: Server | undefined;
  for (const s of table.servers.values()) {
    if (!s.hostname.startsWith("*.")) continue;
    if (host.endsWith(s.hostname.slice(1).toLowerCase()) && (!best || s.hostname.length > best.hostname.length)) best = s;
  }
  return best ?? table.servers.get(DEFAULT_SERVER)!;
}

/** nginx's $uri: percent-decoded, `//` merged, `.` and `..` segments resolved. */
export function normalizeUri(url: string): string {
  const raw = url.split("?")[0] ?? "/";
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    decoded = raw;
  }
  const out: string[] = [];
  const parts = decoded.replace(/\/{2,}/g, "/").split("/");
  parts.forEach((seg, i) => {
    if (seg === "..") {
      if (out.length > 1) out.pop();
    } else if (seg !== "." || i === parts.length - 1) out.push(seg === "." ? "" : seg);
  });
  const joined = out.join("/");
  return joined.startsWith("/") ? joined : `/${joined}`;
}

const regexCache = new Map<string, RegExp | null>();
function locationRegex(path: string): RegExp | null {
  let re = regexCache.get(path);
  if (re === undefined) {
    try {
      re = new RegExp(`^${path}`, "i");
    } catch {
      re = null;
    }
    regexCache.set(path, re);
  }
  return re;
}

export function findLocation(server: Server, uri: string): Location | undefined {
  if (server.enforceRegex) return server.locations.find((l) => locationRegex(l.path)?.test(uri) ?? false);
  const exact = server.locations.find((l) => l.pathType === "Exact" && l.path === uri);
  if (exact) return exact;
  let best: Location | undefined;
  for (const l of server.locations) {
    if (l.pathType === "Exact" || !uri.startsWith(l.path)) continue;
    // Same path twice (types differ): the Ingress's location wins over the server's default one.
    if (!best || l.path.length > best.path.length || (l.path.length === best.path.length && best.isDefBackend && !l.isDefBackend)) best = l;
  }
  return best;
}

/** lua_ingress.lua redirect_to_https: forced, or ssl-redirect on a host with a certificate of its own. */
function redirectToHttps(server: Server, loc: Location, scheme: string): boolean {
  if (loc.rewrite.forceSSLRedirect && scheme === "http") return true;
  if (scheme !== "http") return false;
  return loc.rewrite.sslRedirect && server.certificate !== undefined;
}

/** route_to_alternative_balancer's traffic shaping: header, then cookie, then weight. */
export function routeToAlternative(policy: CanaryConfig, req: RequestInfo, random: RandomInt): boolean {
  const header = policy.header ? req.header(policy.header) : undefined;
  if (header !== undefined) {
    if (policy.headerValue) {
      if (policy.headerValue === header) return true;
    } else if (policy.headerPattern) {
      try {
        if (new RegExp(policy.headerPattern).test(header)) return true;
      } catch {
        return false;
      }
    } else if (header === "always") return true;
    else if (header === "never") return false;
  }
  const cookie = policy.cookie ? req.cookie(policy.cookie) : undefined;
  if (cookie !== undefined) {
    if (cookie === "always") return true;
    if (cookie === "never") return false;
  }
  const total = policy.weightTotal > 100 ? policy.weightTotal : 100;
  return random(total) <= policy.weight;
}

/**
 * nginx `rewrite "(?i)<path>" <target> break;`: the whole URI becomes the target with $N captures,
 * sent encoded; the request's query (still encoded) follows the target's own.
 */
export function rewriteUri(path: string, target: string, uri: string, query: string): string | undefined {
  let re: RegExp;
  try {
    re = new RegExp(path, "i");
  } catch {
    return undefined;
  }
  const m = re.exec(uri);
  if (!m) return undefined;
  const replaced = target.replace(/\$(\d)/g, (_, d: string) => m[Number(d)] ?? "");
  const q = replaced.indexOf("?");
  const newPath = encodeURI(q < 0 ? replaced : replaced.slice(0, q));
  const newQuery = [q < 0 ? "" : replaced.slice(q + 1), query].filter(Boolean).join("&");
  return newQuery ? `${newPath}?${newQuery}` : newPath;
}

export function route(table: RoutingTable, req: RequestInfo, random: RandomInt): Decision {
  const server = findServer(table, req.host);
  const uri = normalizeUri(req.url);
  const loc = findLocation(server, uri);
  if (!loc) return { kind: "default-backend", server, loc };
  if (redirectToHttps(server, loc, req.scheme)) {
    let requestUri = req.url;
    if (!loc.rewrite.preserveTrailingSlash && requestUri.endsWith("/")) requestUri = requestUri.slice(0, -1);
    return { kind: "redirect", status: 308, location: `https://${req.host.replace(/:\d+$/, "")}${requestUri}`, server, loc };
  }
  if (loc.backend === DEFAULT_UPSTREAM) return { kind: "default-backend", server, loc };
  const primary = table.upstreams.get(loc.backend);
  let target = primary && primary.endpoints.length > 0 ? primary : undefined;
  let alternative = "";
  const altName = primary?.alternatives[0];
  const alt = altName ? table.upstreams.get(altName) : undefined;
  // An alternative without endpoints has no balancer: traffic stays on the primary. A request
  // whose affinity cookie is the primary's stays there; one with the canary's goes there.
  const stick = primary !== undefined && isAffinitized(primary, req.cookie);
  if (alt && alt.endpoints.length > 0 && !stick && (isAffinitized(alt, req.cookie) || (alt.trafficShaping && routeToAlternative(alt.trafficShaping, req, random)))) {
    target = alt;
    alternative = alt.name;
  }
  if (!target) return { kind: "unavailable", server, loc, upstream: loc.backend, alternative };
  const query = req.url.includes("?") ? req.url.slice(req.url.indexOf("?") + 1) : "";
  let out = req.url;
  if (needsRewrite(loc)) {
    const rewritten = rewriteUri(loc.path, loc.rewrite.target, uri, query);
    if (rewritten !== undefined) out = rewritten;
  }
  return { kind: "proxy", server, loc, upstream: loc.backend, alternative, target, uri: out };
}
