/**
 * The nginx.ingress.kubernetes.io/* annotations this controller implements, parsed as
 * ingress-nginx's parser does: Go's strconv.ParseBool / Atoi; a value that does not parse is
 * ignored (the default applies), as upstream's parser errors do.
 */
import type { Ingress } from "./types.js";

export const PREFIX = "nginx.ingress.kubernetes.io";

export interface CanaryConfig {
  enabled: boolean;
  weight: number;
  weightTotal: number;
  header: string;
  headerValue: string;
  headerPattern: string;
  cookie: string;
}

export interface RewriteConfig {
  target: string;
  useRegex: boolean;
  sslRedirect: boolean;
  forceSSLRedirect: boolean;
  preserveTrailingSlash: boolean;
}

/** Session affinity (affinity: cookie): the sticky balancer's cookie. */
export interface AffinityConfig {
  type: "" | "cookie";
  cookie: { name: string; expires: string; maxAge: string; path: string; domain: string; sameSite: string; secure: boolean };
}

export interface ParsedAnnotations {
  canary: CanaryConfig;
  rewrite: RewriteConfig;
  affinity: AffinityConfig;
}

function parseBool(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (["1", "t", "T", "TRUE", "true", "True"].includes(v)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(v)) return false;
  return undefined;
}

function parseInt10(v: string | undefined): number | undefined {
  if (v === undefined || !/^[+-]?\d+$/.test(v)) return undefined;
  return Number(v);
}

/** sslRedirectDefault: the ConfigMap's ssl-redirect (true unless set). */
export function parseAnnotations(ing: Ingress, sslRedirectDefault = true): ParsedAnnotations {
  const a = ing.metadata.annotations ?? {};
  const get = (name: string) => a[`${PREFIX}/${name}`];
  const str = (name: string) => get(name) ?? "";
  const canary: CanaryConfig = {
    enabled: parseBool(get("canary")) ?? false,
    weight: parseInt10(get("canary-weight")) ?? 0,
    weightTotal: parseInt10(get("canary-weight-total")) ?? 100,
    header: str("canary-by-header"),
    headerValue: str("canary-by-header-value"),
    headerPattern: str("canary-by-header-pattern"),
    cookie: str("canary-by-cookie"),
  };
  const digits = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? v : "");
  const affinity: AffinityConfig = {
    type: get("affinity") === "cookie" ? "cookie" : "",
    cookie: {
      name: get("session-cookie-name") || "INGRESSCOOKIE",
      expires: digits(get("session-cookie-expires")),
      maxAge: digits(get("session-cookie-max-age")),
      path: str("session-cookie-path"),
      domain: str("session-cookie-domain"),
      sameSite: str("session-cookie-samesite"),
      secure: parseBool(get("session-cookie-secure")) ?? false,
    },
  };
  return {
    canary,
    affinity,
    rewrite: {
      target: str("rewrite-target"),
      useRegex: parseBool(get("use-regex")) ?? false,
      sslRedirect: parseBool(get("ssl-redirect")) ?? sslRedirectDefault,
      forceSSLRedirect: parseBool(get("force-ssl-redirect")) ?? false,
      preserveTrailingSlash: parseBool(get("preserve-trailing-slash")) ?? false,
    },
  };
}
