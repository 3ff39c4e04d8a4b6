/**
 * Legacy service account tokens as kube-controller-manager signs them (upstream's
 * serviceaccount.LegacyClaims with the JWT token generator): a compact JWS signed with the
 * --service-account-private-key-file key — ES256 for EC keys, RS256 for RSA — whose `kid` is
 * base64url(SHA-256(DER of the public key)), the same header the API server's TokenRequest
 * tokens carry. Claims: iss `kubernetes/serviceaccount`, sub, and the four
 * `kubernetes.io/serviceaccount/…` names; no expiry (legacy tokens live as long as their Secret).
 */
import { createHash, createPublicKey, sign, type KeyObject } from "node:crypto";

export const LEGACY_ISSUER = "kubernetes/serviceaccount";

export interface LegacyClaims {
  iss: string;
  "kubernetes.io/serviceaccount/namespace": string;
  "kubernetes.io/serviceaccount/secret.name": string;
  "kubernetes.io/serviceaccount/service-account.name": string;
  "kubernetes.io/serviceaccount/service-account.uid": string;
  sub: string;
}

/** The claims of a token for service account namespace/name (uid) kept in Secret secretName. */
export function legacyClaims(namespace: string, saName: string, saUid: string, secretName: string): LegacyClaims {
  // Key order as go-jose writes them (a map, so sorted).
  return {
    iss: LEGACY_ISSUER,
    "kubernetes.io/serviceaccount/namespace": namespace,
    "kubernetes.io/serviceaccount/secret.name": secretName,
    "kubernetes.io/serviceaccount/service-account.name": saName,
    "kubernetes.io/serviceaccount/service-account.uid": saUid,
    sub: `system:serviceaccount:${namespace}:${saName}`,
  };
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

/** base64url(SHA-256(SPKI DER)): the key id upstream (and kubemu's API server) put in the header. */
export function keyId(publicKey: KeyObject): string {
  return b64url(createHash("sha256").update(publicKey.export({ format: "der", type: "spki" })).digest());
}

/** Signs the claims; throws for keys that are neither EC nor RSA. */
export function signLegacyToken(claims: LegacyClaims, privateKey: KeyObject): string {
  const type = privateKey.asymmetricKeyType;
  if (type !== "ec" && type !== "rsa") throw new Error(`service account keys must be EC (P-256) or RSA, not ${type}`);
  // P-384/P-521 keys would sign ES384/ES512, which the API server does not verify.
  if (type === "ec" && privateKey.asymmetricKeyDetails?.namedCurve !== "prime256v1") throw new Error(`EC service account keys must be P-256, not ${privateKey.asymmetricKeyDetails?.namedCurve}`);
  const alg = type === "ec" ? "ES256" : "RS256";
  const input = `${b64url(JSON.stringify({ alg, kid: keyId(createPublicKey(privateKey)) }))}.${b64url(JSON.stringify(claims))}`;
  const signature = sign("sha256", Buffer.from(input), type === "ec" ? { key: privateKey, dsaEncoding: "ieee-p1363" } : privateKey);
  return `${input}.${b64url(signature)}`;
}
