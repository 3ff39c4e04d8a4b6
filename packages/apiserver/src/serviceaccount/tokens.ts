/**
 * The TokenRequest API (`POST .../serviceaccounts/<name>/token`, what `kubectl create token`
 * and the kubelet use) and the authenticator for the tokens it issues, as upstream's
 * serviceaccount token registry and JWT authenticator behave: a token names its service account
 * (and the pod or secret it is bound to) by uid, and stops working when that object is gone.
 */
import { randomUUID, type KeyObject } from "node:crypto";
import { isNotFound, newConflict, newInvalid, type Clock, type StatusCause } from "@kubemu/common";
import type { UserInfo } from "../http/authn.js";
import type { KubeObject } from "../storage/index.js";
import { timingSafeEqual } from "node:crypto";
import { checkTokenTimes, InvalidTokenError, signToken, verifySignature, type TokenClaims } from "./jwt.js";

/** Reads an object: core/v1 serviceaccounts, pods, secrets or nodes. fromCache: a possibly stale read is fine. */
export type ObjectLookup = (resource: "serviceaccounts" | "pods" | "secrets" | "nodes", namespace: string | undefined, name: string, fromCache: boolean) => Promise<KubeObject>;

export interface ServiceAccountTokenOptions {
  signingKey: KeyObject;
  /** Keys tokens may be signed with (the signing key's public half among them). */
  publicKeys: KeyObject[];
  /** --service-account-issuer: the `iss` of issued tokens and the only one accepted. */
  issuer: string;
  /** --api-audiences: the default `aud`, and a token must name one of them. */
  audiences: string[];
  clock: Clock;
  lookup: ObjectLookup;
  /** Validating admission of the create of serviceaccounts/<name>/token (NodeRestriction holds a node to its own pods' tokens). */
  admit?: (namespace: string, name: string, request: KubeObject) => Promise<void>;
}

const MIN_EXPIRATION_SECONDS = 600;
/** The `iss` of the legacy Secret-held tokens the controller-manager signs. */
const LEGACY_ISSUER = "kubernetes/serviceaccount";
const MAX_EXPIRATION_SECONDS = 2 ** 32;
const DEFAULT_EXPIRATION_SECONDS = 3600;
/** The lifetime the ServiceAccount admission's kube-api-access volume asks for (upstream WarnOnlyBoundTokenExpirationSeconds). */
const WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS = 3607;
/** What such a token is signed for instead (upstream ExpirationExtensionSeconds: a year). */
const EXPIRATION_EXTENSION_SECONDS = 365 * 24 * 3600;
/** How long past its deletionTimestamp an object still backs a token (go-jose's jwt.DefaultLeeway). */
const DELETION_LEEWAY_MS = 60_000;
const BINDABLE_KINDS = ["Pod", "Secret", "Node"] as const;

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

export class ServiceAccountTokens {
  constructor(private readonly o: ServiceAccountTokenOptions) {}

  /** Answers a TokenRequest for service account namespace/name (body as decoded from the request). */
  async request(namespace: string, name: string, body: unknown): Promise<KubeObject> {
    const spec = ((body as { spec?: Record<string, unknown> } | undefined)?.spec ?? {}) as Record<string, unknown>;
    const causes: StatusCause[] = [];
    const expirationSeconds = spec.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
    if (typeof expirationSeconds !== "number" || !Number.isInteger(expirationSeconds))
      causes.push({ reason: "FieldValueInvalid", field: "spec.expirationSeconds", message: `Invalid value: ${JSON.stringify(expirationSeconds)}: must be an integer` });
    else if (expirationSeconds < MIN_EXPIRATION_SECONDS)
      causes.push({ reason: "FieldValueInvalid", field: "spec.expirationSeconds", message: `Invalid value: ${expirationSeconds}: may not specify a duration less than 10 minutes` });
    else if (expirationSeconds > MAX_EXPIRATION_SECONDS)
      causes.push({ reason: "FieldValueInvalid", field: "spec.expirationSeconds", message: `Invalid value: ${expirationSeconds}: may not specify a duration larger than 2^32 seconds` });
    const audiences = spec.audiences === undefined || (Array.isArray(spec.audiences) && spec.audiences.length === 0) ? this.o.audiences : spec.audiences;
    if (!Array.isArray(audiences) || !audiences.every((a) => typeof a === "string" && a !== ""))
      causes.push({ reason: "FieldValueInvalid", field: "spec.audiences", message: "Invalid value: must be a list of non-empty strings" });
    const ref = spec.boundObjectRef as { kind?: unknown; apiVersion?: unknown; name?: unknown; uid?: unknown } | undefined | null;
    if (ref) {
      if (!BINDABLE_KINDS.includes(ref.kind as (typeof BINDABLE_KINDS)[number]))
        causes.push({ reason: "FieldValueNotSupported", field: "spec.boundObjectRef.kind", message: `Unsupported value: ${JSON.stringify(ref.kind)}: supported values: "Pod", "Secret", "Node"` });
      if (ref.apiVersion !== undefined && ref.apiVersion !== "v1")
        causes.push({ reason: "FieldValueNotSupported", field: "spec.boundObjectRef.apiVersion", message: `Unsupported value: ${JSON.stringify(ref.apiVersion)}: supported values: "v1"` });
      if (typeof ref.name !== "string" || ref.name === "") causes.push({ reason: "FieldValueRequired", field: "spec.boundObjectRef.name", message: "Required value" });
    }
    if (causes.length > 0) throw newInvalid("TokenRequest.authentication.k8s.io", name, causes, "authentication.k8s.io");

    const sa = await this.o.lookup("serviceaccounts", namespace, name, false);
    await this.o.admit?.(namespace, name, { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", metadata: { name, namespace }, spec });
    const claims: TokenClaims["kubernetes.io"] = { namespace, serviceaccount: { name, uid: sa.metadata.uid ?? "" } };
    if (ref) {
      const kind = ref.kind as (typeof BINDABLE_KINDS)[number];
      const resource = kind === "Pod" ? "pods" : kind === "Secret" ? "secrets" : "nodes";
      const bound = await this.o.lookup(resource, kind === "Node" ? undefined : namespace, ref.name as string, false);
      if (typeof ref.uid === "string" && ref.uid !== "" && ref.uid !== bound.metadata.uid)
        throw newConflict({ resource }, ref.name as string, `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
      claims[kind === "Pod" ? "pod" : kind === "Secret" ? "secret" : "node"] = { name: ref.name as string, uid: bound.metadata.uid ?? "" };
    }
    const nowMs = this.o.clock.now();
    const now = Math.floor(nowMs / 1000);
    const requestedExp = now + (expirationSeconds as number);
    // Upstream's --service-account-extend-token-expiration (default on): a pod-bound token for the
    // API's own audiences asked for the admission plugin's 3607 s is signed for a year, warning
    // after 3607 s, so a kubelet that stops refreshing does not break its pods within the hour.
    const extended = ref?.kind === "Pod" && expirationSeconds === WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS && (audiences as string[]).every((a) => this.o.audiences.includes(a));
    if (extended) claims.warnafter = requestedExp;
    const exp = extended ? now + EXPIRATION_EXTENSION_SECONDS : requestedExp;
    const token = signToken(
      { aud: audiences as string[], exp, iat: now, iss: this.o.issuer, jti: randomUUID(), "kubernetes.io": claims, nbf: now, sub: `system:serviceaccount:${namespace}:${name}` },
      this.o.signingKey,
    );
    return {
      kind: "TokenRequest",
      apiVersion: "authentication.k8s.io/v1",
      metadata: { name, namespace, creationTimestamp: iso(nowMs) },
      spec: { audiences, expirationSeconds, boundObjectRef: ref ?? null },
      status: { token, expirationTimestamp: iso(requestedExp * 1000) },
    };
  }

  /** The service account user a bearer token stands for; InvalidTokenError when it does not. */
  async authenticate(token: string): Promise<UserInfo> {
    // One signature check per request: the claims say which kind of token it is.
    const signed = verifySignature(token, this.o.publicKeys);
    if (signed.iss === LEGACY_ISSUER) return this.authenticateLegacy(token, signed as unknown as Record<string, unknown>);
    const claims = checkTokenTimes(signed, Math.floor(this.o.clock.now() / 1000));
    if (claims.iss !== this.o.issuer) throw new InvalidTokenError(`issuer ${claims.iss} is not ${this.o.issuer}`);
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!aud.some((a) => this.o.audiences.includes(a))) throw new InvalidTokenError("token audiences do not include the API's");
    const k = claims["kubernetes.io"];
    if (!k?.serviceaccount) throw new InvalidTokenError("not a service account token");
    const ns = k.namespace;
    await this.expectLive("serviceaccounts", ns, k.serviceaccount);
    if (k.pod) await this.expectLive("pods", ns, k.pod);
    if (k.secret) await this.expectLive("secrets", ns, k.secret);
    if (k.node) await this.expectLive("nodes", undefined, k.node);
    return { name: `system:serviceaccount:${ns}:${k.serviceaccount.name}`, groups: ["system:serviceaccounts", `system:serviceaccounts:${ns}`, "system:authenticated"] };
  }

  /**
   * A legacy token from a `kubernetes.io/service-account-token` Secret (the controller-manager
   * signs them): no expiry and no audience, valid while the Secret still holds exactly this token
   * and the service account it names is the same object (upstream's legacy validator).
   */
  private async authenticateLegacy(token: string, c: Record<string, unknown>): Promise<UserInfo> {
    const ns = c["kubernetes.io/serviceaccount/namespace"];
    const secretName = c["kubernetes.io/serviceaccount/secret.name"];
    const saName = c["kubernetes.io/serviceaccount/service-account.name"];
    const saUid = c["kubernetes.io/serviceaccount/service-account.uid"];
    if (typeof ns !== "string" || typeof secretName !== "string" || typeof saName !== "string" || typeof saUid !== "string") throw new InvalidTokenError("legacy token without its service account claims");
    if (c.sub !== `system:serviceaccount:${ns}:${saName}`) throw new InvalidTokenError("legacy token subject does not match its claims");
    let secret: KubeObject;
    try {
      secret = await this.o.lookup("secrets", ns, secretName, true);
    } catch (e) {
      if (isNotFound(e)) throw new InvalidTokenError(`secret ${secretName} the token names no longer exists`);
      throw e;
    }
    if (this.deletedLongAgo(secret)) throw new InvalidTokenError(`secret ${secretName} is being deleted`);
    const stored = Buffer.from(String((secret as { data?: Record<string, string> }).data?.token ?? ""), "base64");
    const given = Buffer.from(token);
    if (stored.length !== given.length || !timingSafeEqual(stored, given)) throw new InvalidTokenError(`secret ${secretName} holds a different token`);
    await this.expectLive("serviceaccounts", ns, { name: saName, uid: saUid });
    return { name: `system:serviceaccount:${ns}:${saName}`, groups: ["system:serviceaccounts", `system:serviceaccounts:${ns}`, "system:authenticated"] };
  }

  private async expectLive(resource: "serviceaccounts" | "pods" | "secrets" | "nodes", ns: string | undefined, ref: { name: string; uid: string }): Promise<void> {
    let obj: KubeObject;
    try {
      obj = await this.o.lookup(resource, ns, ref.name, true);
    } catch (e) {
      if (isNotFound(e)) throw new InvalidTokenError(`${resource} ${ref.name} the token names no longer exists`);
      throw e;
    }
    if (obj.metadata.uid !== ref.uid) throw new InvalidTokenError(`${resource} ${ref.name} was recreated (uid ${obj.metadata.uid}, token has ${ref.uid})`);
    if (this.deletedLongAgo(obj)) throw new InvalidTokenError(`${resource} ${ref.name} is being deleted`);
  }

  /**
   * Upstream's validators count an object as gone once its deletionTimestamp is more than the
   * JWT leeway (1 min) in the past: a terminating pod (deletionTimestamp = now + its grace period)
   * keeps its token through its preStop hook and shutdown.
   */
  private deletedLongAgo(obj: KubeObject): boolean {
    const at = obj.metadata.deletionTimestamp;
    return at !== undefined && Date.parse(at) < this.o.clock.now() - DELETION_LEEWAY_MS;
  }
}
