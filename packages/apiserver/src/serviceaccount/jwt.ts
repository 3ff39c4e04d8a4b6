/**
 * Service account tokens as kube-apiserver issues them: compact JWS (ES256 for EC keys, RS256
 * for RSA keys) whose `kid` is the SHA-256 of the public key's DER, with the `kubernetes.io`
 * private claim naming the namespace, the service account and what the token is bound to.
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from "node:crypto";

/** The claims kubemu writes and reads (upstream's privateClaims + the registered ones). */
export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  "kubernetes.io": {
    namespace: string;
    serviceaccount: { name: string; uid: string };
    pod?: { name: string; uid: string };
    secret?: { name: string; uid: string };
    node?: { name: string; uid: string };
    /** An extended token (see tokens.ts): when its requested lifetime ended; upstream warns after it. */
    warnafter?: number;
  };
}

/** Why a token was not accepted (the message is logged, never sent: clients get 401). */
export class InvalidTokenError extends Error {
  override readonly name = "InvalidTokenError";
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

function algorithmOf(key: KeyObject): { alg: "ES256" | "RS256"; hash: "sha256"; dsaEncoding?: "ieee-p1363" } {
  if (key.asymmetricKeyType === "ec") return { alg: "ES256", hash: "sha256", dsaEncoding: "ieee-p1363" };
  if (key.asymmetricKeyType === "rsa") return { alg: "RS256", hash: "sha256" };
  throw new Error(`service account keys must be EC (P-256) or RSA, not ${key.asymmetricKeyType}`);
}

/** Key ids by key: every bearer request checks one, and exporting and hashing a key each time cost more than the check. */
const keyIds = new WeakMap<KeyObject, string>();

/** The key id upstream derives: base64url(SHA-256(DER of the public key)). */
export function keyId(publicKey: KeyObject): string {
  let id = keyIds.get(publicKey);
  if (id === undefined) keyIds.set(publicKey, (id = b64url(createHash("sha256").update(publicKey.export({ format: "der", type: "spki" })).digest())));
  return id;
}

/** Signs claims with the private key. */
export function signToken(claims: TokenClaims, privateKey: KeyObject): string {
  const algo = algorithmOf(privateKey);
  const header = b64url(JSON.stringify({ alg: algo.alg, kid: keyId(createPublicKey(privateKey)) }));
  const payload = b64url(JSON.stringify(claims));
  const input = `${header}.${payload}`;
  const signature = sign(algo.hash, Buffer.from(input), algo.dsaEncoding ? { key: privateKey, dsaEncoding: algo.dsaEncoding } : privateKey);
  return `${input}.${b64url(signature)}`;
}

/**
 * Checks the signature against any of publicKeys and the time window at nowSeconds; returns the
 * claims. Issuer, audience and the objects named are the caller's to check.
 */
/** The claims of a token signed by one of the keys, before any check of its times or issuer. */
export function verifySignature(token: string, publicKeys: readonly KeyObject[]): TokenClaims {
  const parts = token.split(".");
  if (parts.length !== 3) throw new InvalidTokenError("not a compact JWS");
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  let header: { alg?: unknown; kid?: unknown };
  let claims: TokenClaims;
  try {
    header = JSON.parse(Buffer.from(headerPart, "base64url").toString("utf8")) as typeof header;
    claims = JSON.parse(Buffer.from(payloadPart, "base64url").toString("utf8")) as TokenClaims;
  } catch {
    throw new InvalidTokenError("undecodable header or payload");
  }
  const input = Buffer.from(`${headerPart}.${payloadPart}`);
  const signature = Buffer.from(signaturePart, "base64url");
  const verified = publicKeys.some((key) => {
    const algo = algorithmOf(key);
    if (header.alg !== algo.alg || (header.kid !== undefined && header.kid !== keyId(key))) return false;
    return verify(algo.hash, input, algo.dsaEncoding ? { key, dsaEncoding: algo.dsaEncoding } : key, signature);
  });
  if (!verified) throw new InvalidTokenError("signature does not verify with any service account key");
  return claims;
}

/** verifySignature, then the bound token's times (checkTokenTimes). */
export function verifyToken(token: string, publicKeys: readonly KeyObject[], nowSeconds: number): TokenClaims {
  return checkTokenTimes(verifySignature(token, publicKeys), nowSeconds);
}

/** A bound token's times: it must expire, and not be used before nbf. Returns the claims. */
export function checkTokenTimes(claims: TokenClaims, nowSeconds: number): TokenClaims {
  if (typeof claims.exp !== "number" || nowSeconds >= claims.exp) throw new InvalidTokenError("token has expired");
  if (typeof claims.nbf === "number" && nowSeconds < claims.nbf - 60) throw new InvalidTokenError("token is not valid yet");
  return claims;
}
