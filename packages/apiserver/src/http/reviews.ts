/**
 * The review endpoints: SelfSubjectReview (`kubectl auth whoami`), SelfSubjectAccessReview
 * (`kubectl auth can-i`), SelfSubjectRulesReview (`can-i --list`), SubjectAccessReview and
 * LocalSubjectAccessReview (asking about someone else). Nothing is stored; the answer comes from
 * the request's user (after impersonation, so `--as` works) and the authorizer, as upstream's
 * registries for these kinds compute it.
 */
import { newBadRequest, newInvalid, type StatusCause } from "@kubemu/common";
import { methodNotAllowed } from "../rest/errors.js";
import type { RequestAttributes, UserInfo } from "../auth/attributes.js";
import type { Authorizer, RuleResolver } from "../auth/authorizer.js";
import type { ResourceRequest } from "./request-info.js";

type Kind = "SelfSubjectReview" | "SelfSubjectAccessReview" | "SelfSubjectRulesReview" | "SubjectAccessReview" | "LocalSubjectAccessReview";

/** The review kinds served, by "<group>/<resource>", with the versions kubectl tries and whether they are namespaced. */
const REVIEWS: Record<string, { kind: Kind; versions: readonly string[]; namespaced: boolean }> = {
  "authentication.k8s.io/selfsubjectreviews": { kind: "SelfSubjectReview", versions: ["v1", "v1beta1"], namespaced: false },
  "authorization.k8s.io/selfsubjectaccessreviews": { kind: "SelfSubjectAccessReview", versions: ["v1"], namespaced: false },
  "authorization.k8s.io/selfsubjectrulesreviews": { kind: "SelfSubjectRulesReview", versions: ["v1"], namespaced: false },
  "authorization.k8s.io/subjectaccessreviews": { kind: "SubjectAccessReview", versions: ["v1"], namespaced: false },
  "authorization.k8s.io/localsubjectaccessreviews": { kind: "LocalSubjectAccessReview", versions: ["v1"], namespaced: true },
};

export interface ReviewAuthorization {
  authorizer: Authorizer;
  rules: RuleResolver;
}

/** True when info addresses one of the review endpoints. */
export function isReview(info: ResourceRequest): boolean {
  const review = REVIEWS[`${info.group}/${info.resource}`];
  return review !== undefined && review.versions.includes(info.version) && (info.namespace !== undefined) === review.namespaced && info.name === undefined && info.subresource === undefined;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === "string" ? v : "");
const strings = (v: unknown) => (Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : []);

/** Answers a review (POST only) for user; body is the decoded request object. */
export function answerReview(info: ResourceRequest, method: string, body: unknown, user: UserInfo, now: Date, authz: ReviewAuthorization): Record<string, unknown> {
  const review = REVIEWS[`${info.group}/${info.resource}`]!;
  if (method !== "POST") throw methodNotAllowed();
  const apiVersion = `${info.group}/${info.version}`;
  const creationTimestamp = now.toISOString().replace(/\.\d{3}Z$/, "Z");
  const head = { kind: review.kind, apiVersion, metadata: { creationTimestamp, ...(info.namespace ? { namespace: info.namespace } : {}) } };
  const spec = isObj(body) && isObj(body.spec) ? body.spec : {};
  switch (review.kind) {
    case "SelfSubjectReview":
      return { ...head, status: { userInfo: { username: user.name, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups, ...(user.extra ? { extra: user.extra } : {}) } } };
    case "SelfSubjectAccessReview":
      return { ...head, spec, status: decide(authz, user, accessAttributes(review.kind, spec)) };
    case "SelfSubjectRulesReview":
      return { ...head, spec, status: rulesStatus(authz, user, spec) };
    case "SubjectAccessReview":
    case "LocalSubjectAccessReview": {
      const subject = subjectOf(review.kind, spec);
      const attrs = accessAttributes(review.kind, spec);
      if (review.kind === "LocalSubjectAccessReview" && (attrs.kind !== "resource" || (attrs.namespace ?? "") !== info.namespace))
        throw newBadRequest(`spec.resourceAttributes.namespace must match namespace: ${info.namespace}`);
      return { ...head, spec, status: decide(authz, subject, attrs) };
    }
  }
}

function decide(authz: ReviewAuthorization, user: UserInfo, attrs: RequestAttributes): Record<string, unknown> {
  const r = authz.authorizer.authorize(user, attrs);
  return { allowed: r.decision === "allow", ...(r.decision === "deny" ? { denied: true } : {}), ...(r.reason ? { reason: r.reason } : {}) };
}

function invalid(kind: Kind, field: string, message: string): never {
  const cause: StatusCause = { reason: "FieldValueInvalid", field, message };
  throw newInvalid(`${kind}.authorization.k8s.io`, "", [cause], "authorization.k8s.io");
}

/** The attributes an access review spec asks about (exactly one of resource or non-resource attributes). */
function accessAttributes(kind: Kind, spec: Obj): RequestAttributes {
  const res = isObj(spec.resourceAttributes) ? spec.resourceAttributes : undefined;
  const nonRes = isObj(spec.nonResourceAttributes) ? spec.nonResourceAttributes : undefined;
  if (res && nonRes) invalid(kind, "spec.nonResourceAttributes", `Invalid value: "object": cannot be specified in combination with resourceAttributes`);
  if (!res && !nonRes) invalid(kind, "spec.resourceAttributes", "Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified");
  if (nonRes) {
    if (kind === "LocalSubjectAccessReview") invalid(kind, "spec.nonResourceAttributes", 'Invalid value: "object": disallowed on this kind of request');
    return { kind: "nonResource", verb: str(nonRes.verb), path: str(nonRes.path) };
  }
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

/** The user a SubjectAccessReview asks about. */
function subjectOf(kind: Kind, spec: Obj): UserInfo {
  const name = str(spec.user);
  const groups = strings(spec.groups);
  if (!name && groups.length === 0) invalid(kind, "spec.user", 'Invalid value: "": at least one of user or group must be specified');
  const extra: Record<string, string[]> = {};
  if (isObj(spec.extra)) for (const [k, v] of Object.entries(spec.extra)) extra[k] = strings(v);
  return { name, groups, ...(str(spec.uid) ? { uid: str(spec.uid) } : {}), ...(Object.keys(extra).length ? { extra } : {}) };
}

/** SubjectRulesReviewStatus for the rules user holds in spec.namespace. */
function rulesStatus(authz: ReviewAuthorization, user: UserInfo, spec: Obj): Record<string, unknown> {
  const namespace = str(spec.namespace);
  if (!namespace) throw newBadRequest("no namespace on request");
  const r = authz.rules.rulesFor(user, namespace);
  const resourceRules = r.rules
    .filter((x) => (x.resources ?? []).length > 0)
    .map((x) => ({ verbs: x.verbs, apiGroups: x.apiGroups ?? [], resources: x.resources, ...((x.resourceNames ?? []).length ? { resourceNames: x.resourceNames } : {}) }));
  const nonResourceRules = r.rules.filter((x) => (x.nonResourceURLs ?? []).length > 0).map((x) => ({ verbs: x.verbs, nonResourceURLs: x.nonResourceURLs }));
  return {
    resourceRules,
    nonResourceRules,
    incomplete: r.incomplete,
    ...(r.errors.length ? { evaluationError: r.errors.length === 1 ? r.errors[0] : `[${r.errors.join(", ")}]` } : {}),
  };
}
