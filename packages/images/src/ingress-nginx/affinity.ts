/**
 * Cookie session affinity as ingress-nginx's sticky_balanced balancer: the cookie holds
 * `<key>|<backend key>`; the key maps to an endpoint on a consistent-hash ring (a new key is
 * `<now>.<pid>.<random>`), the backend key (md5(md5(name) .. name)) says which upstream the
 * cookie belongs to, which decides canary stickiness (is_affinitized).
 */
import { createHash } from "node:crypto";
import type { Endpoint, Upstream } from "./routing.js";

const md5 = (s: string) => createHash("md5").update(s).digest("hex");

export function backendKey(upstreamName: string): string {
  return md5(md5(upstreamName) + upstreamName);
}

/** The cookie's two parts, if it has any. */
export function parseAffinityCookie(value: string | undefined): { key: string; backend: string } | undefined {
  if (!value) return undefined;
  const [key, backend] = value.split("|");
  return key ? { key, backend: backend ?? "" } : undefined;
}

/** Whether the request's affinity cookie belongs to this upstream. */
export function isAffinitized(u: Upstream, cookie: (name: string) => string | undefined): boolean {
  if (!u.affinity) return false;
  return parseAffinityCookie(cookie(u.affinity.name))?.backend === backendKey(u.name);
}

const POINTS = 160;
const ringCache = new WeakMap<Endpoint[], { hash: number; ep: Endpoint }[]>();

function hash32(s: string): number {
  return createHash("md5").update(s).digest().readUInt32BE(0);
}

/** A Ketama-style ring over the endpoints: a key's endpoint moves only when its own arc changes owner. */
export function endpointForKey(endpoints: Endpoint[], key: string): Endpoint {
  let ring = ringCache.get(endpoints);
  if (!ring) {
    ring = endpoints.flatMap((ep) => Array.from({ length: POINTS }, (_, i) => ({ hash: hash32(`${ep.address}:${ep.port}#${i}`), ep }))).sort((a, b) => a.hash - b.hash);
    ringCache.set(endpoints, ring);
  }
  const h = hash32(key);
  let lo = 0;
  let hi = ring.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ring[mid]!.hash < h) lo = mid + 1;
    else hi = mid;
  }
  return ring[lo % ring.length]!.ep;
}

/**
 * The sticky pick: the cookie's key if it has one, else a new key; `setCookie` is the Set-Cookie
 * value when a new key was made for a location the affinity Ingress declares.
 */
export function stickyPick(
  u: Upstream,
  req: { host: string; scheme: string; locationPath: string; cookie: (name: string) => string | undefined },
  now: number,
  random: (n: number) => number,
): { endpoint: Endpoint; setCookie?: string } {
  const a = u.affinity!;
  const existing = parseAffinityCookie(req.cookie(a.name));
  if (existing) return { endpoint: endpointForKey(u.endpoints, existing.key) };
  const key = `${(now / 1000 + 1).toFixed(3)}.${process.pid}.${random(999999)}`;
  const endpoint = endpointForKey(u.endpoints, key);
  const host = req.host.replace(/:\d+$/, "").toLowerCase();
  const paths = a.locations.get(host) ?? a.locations.get(host.replace(/^[^.]+\./, "*.")) ?? a.locations.get("_") ?? [];
  // The location may be a Prefix path's normalized form (/app/ for the Ingress's /app).
  if (!paths.some((p) => p === req.locationPath || `${p}/` === req.locationPath || (p === "" && req.locationPath === "/"))) return { endpoint };
  const parts = [`${a.name}=${key}|${backendKey(u.name)}`];
  if (a.expires) parts.push(`Expires=${new Date(now + Number(a.expires) * 1000).toUTCString().replace(/(\w+), (\d+) (\w+) (\d+)/, "$1, $2-$3-$4")}`);
  if (a.maxAge) parts.push(`Max-Age=${a.maxAge}`);
  if (a.domain) parts.push(`Domain=${a.domain}`);
  parts.push(`Path=${a.path || req.locationPath}`);
  if (a.secure || req.scheme === "https") parts.push("Secure");
  parts.push("HttpOnly");
  if (a.sameSite) parts.push(`SameSite=${a.sameSite}`);
  return { endpoint, setCookie: parts.join("; ") };
}
