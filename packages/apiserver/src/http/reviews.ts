/**
 * The self-review endpoints kubectl uses to ask about its own identity: SelfSubjectReview
 * (`kubectl auth whoami`) and SelfSubjectAccessReview (`kubectl auth can-i`). Nothing is stored;
 * the answer is computed from the request's authenticated user and the authorization policy in
 * authn.ts, as upstream's registries for these kinds do.
 */
import { newInvalid } from "@kubemu/common";
import { methodNotAllowed } from "../rest/errors.js";
import { isAllowed, type RequestAttributes, type UserInfo } from "./authn.js";
import type { ResourceRequest } from "./request-info.js";

/** The review kinds served, by "<group>/<resource>", with the versions kubectl tries. */
const REVIEWS: Record<string, { kind: string; versions: readonly string[] }> = {
  "authentication.k8s.io/selfsubjectreviews": { kind: "SelfSubjectReview", versions: ["v1", "v1beta1"] },
  "authorization.k8s.io/selfsubjectaccessreviews": { kind: "SelfSubjectAccessReview", versions: ["v1"] },
};

/** True when info addresses one of the review endpoints. */
export function isReview(info: ResourceRequest): boolean {
  const review = REVIEWS[`${info.group}/${info.resource}`];
  return review !== undefined && review.versions.includes(info.version) && info.namespace === undefined && info.name === undefined;
}

/** Answers a review (POST only) for user; body is the decoded request object. */
export function answerReview(info: ResourceRequest, method: string, body: unknown, user: UserInfo, now: Date): Record<string, unknown> {
  const review = REVIEWS[`${info.group}/${info.resource}`]!;
  if (method !== "POST") throw methodNotAllowed();
  const apiVersion = `${info.group}/${info.version}`;
  const creationTimestamp = now.toISOString().replace(/\.\d{3}Z$/, "Z");
  if (review.kind === "SelfSubjectReview") {
    return { kind: review.kind, apiVersion, metadata: { creationTimestamp }, status: { userInfo: { username: user.name, groups: user.groups } } };
  }
  const spec = (body as { spec?: Record<string, unknown> } | undefined)?.spec;
  const allowed = isAllowed(user, accessAttributes(spec));
  return {
    kind: review.kind,
    apiVersion,
    metadata: { creationTimestamp },
    spec,
    status: allowed ? { allowed: true, reason: "kubemu: authenticated users may do everything until RBAC is enforced" } : { allowed: false },
  };
}

/** The attributes a SelfSubjectAccessReview spec asks about. */
function accessAttributes(spec: Record<string, unknown> | undefined): RequestAttributes {
  const str = (v: unknown) => (typeof v === "string" ? v : "");
  const res = spec?.resourceAttributes as Record<string, unknown> | undefined;
  const nonRes = spec?.nonResourceAttributes as Record<string, unknown> | undefined;
  if ((res === undefined) === (nonRes === undefined))
    throw newInvalid("SelfSubjectAccessReview.authorization.k8s.io", "", [{ reason: "FieldValueInvalid", field: "spec.resourceAttributes", message: "exactly one of nonResourceAttributes or resourceAttributes must be specified" }], "authorization.k8s.io");
  if (nonRes) return { kind: "nonResource", verb: str(nonRes.verb), path: str(nonRes.path) };
  return {
    kind: "resource",
    verb: str(res!.verb),
    group: str(res!.group),
    resource: str(res!.resource),
    ...(str(res!.subresource) ? { subresource: str(res!.subresource) } : {}),
    ...(str(res!.namespace) ? { namespace: str(res!.namespace) } : {}),
    ...(str(res!.name) ? { name: str(res!.name) } : {}),
  };
}
