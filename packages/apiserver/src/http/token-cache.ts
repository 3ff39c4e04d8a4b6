/**
 * Bearer token results remembered for a short while, as kube-apiserver wraps its token
 * authenticators (tokencache, --token-auth success TTL 10 s, failures not cached): a client
 * sending the same token on every request pays the signature check (~70 µs for ES256) and the
 * service account lookups once per TTL, not per request. The price is upstream's too: a token
 * whose service account (or bound pod) is deleted keeps working for at most the TTL. A result is
 * never kept past the token's own `exp`. Keys are SHA-256 digests, so the cache holds no tokens.
 */
import { createHash } from "node:crypto";
import type { Clock } from "@kubemu/common";
import type { TokenAuthenticator, UserInfo } from "./authn.js";

export const TOKEN_SUCCESS_TTL_MS = 10_000;
/** Entries kept at most; the oldest go first (upstream's cache is bounded the same way). */
const MAX_ENTRIES = 4096;

export class CachedTokenAuthenticator implements TokenAuthenticator {
  private readonly entries = new Map<string, { user: UserInfo; until: number }>();

  constructor(
    private readonly inner: TokenAuthenticator,
    private readonly clock: Clock,
    private readonly ttlMs = TOKEN_SUCCESS_TTL_MS,
  ) {}

  async authenticate(token: string): Promise<UserInfo> {
    const key = createHash("sha256").update(token).digest("base64");
    const now = this.clock.now();
    const hit = this.entries.get(key);
    if (hit && hit.until > now) return hit.user;
    if (hit) this.entries.delete(key);
    const user = await this.inner.authenticate(token);
    const exp = expiryMs(token);
    const until = Math.min(now + this.ttlMs, exp ?? Infinity);
    if (until > now) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, { user, until });
    }
    return user;
  }
}

/** A JWT's `exp` in ms, if it is one and says (the signature was checked by the inner authenticator). */
function expiryMs(token: string): number | undefined {
  const payload = token.split(".")[1];
  if (payload === undefined) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { exp?: unknown }).exp;
    return typeof exp === "number" ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
