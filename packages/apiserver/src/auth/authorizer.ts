/**
 * The authorization chain as kube-apiserver builds it for `--authorization-mode=Node,RBAC`:
 * members of system:masters are allowed everything first (the privileged-group authorizer),
 * then each authorizer in turn may allow or deny; no opinion from all of them is a denial. The
 * 403 a denial becomes is worded as upstream's responsewriters.Forbidden words it.
 */
import { newStatus, StatusError } from "@kubemu/common";
import type { RequestAttributes, UserInfo } from "./attributes.js";
import type { PolicyRule } from "./rules.js";

export const SYSTEM_MASTERS = "system:masters";
export const AUTHENTICATED = "system:authenticated";
export const UNAUTHENTICATED = "system:unauthenticated";
export const ANONYMOUS_USER = "system:anonymous";

export interface AuthorizerResult {
  decision: "allow" | "deny" | "noOpinion";
  /** Why (shown in access reviews and appended to a 403's message). */
  reason: string;
}

export interface Authorizer {
  authorize(user: UserInfo, attrs: RequestAttributes): AuthorizerResult;
}

/** The rules a user holds in a namespace (SelfSubjectRulesReview, escalation checks). */
export interface SubjectRules {
  rules: PolicyRule[];
  /** True when an authorizer could not list everything it would allow. */
  incomplete: boolean;
  /** Errors resolving the policy (bindings to missing roles...). */
  errors: string[];
}

export interface RuleResolver {
  rulesFor(user: UserInfo, namespace: string | undefined): SubjectRules;
}

/** Upstream's privileged-group authorizer: system:masters may do anything, with no reason given. */
export const privilegedGroups: Authorizer = {
  authorize: (user) => (user.groups.includes(SYSTEM_MASTERS) ? { decision: "allow", reason: "" } : { decision: "noOpinion", reason: "" }),
};

/** The first allow or deny wins; otherwise no opinion, with every reason given (upstream's union authorizer). */
export function unionAuthorizer(members: readonly Authorizer[]): Authorizer {
  return {
    authorize(user, attrs) {
      const reasons: string[] = [];
      for (const m of members) {
        const r = m.authorize(user, attrs);
        if (r.decision !== "noOpinion") return r;
        if (r.reason) reasons.push(r.reason);
      }
      return { decision: "noOpinion", reason: reasons.join("\n") };
    },
  };
}

/** The rules of every resolver together (upstream's union rule resolver). */
export function unionRuleResolver(members: readonly RuleResolver[]): RuleResolver {
  return {
    rulesFor(user, namespace) {
      const out: SubjectRules = { rules: [], incomplete: false, errors: [] };
      for (const m of members) {
        const r = m.rulesFor(user, namespace);
        out.rules.push(...r.rules);
        out.incomplete ||= r.incomplete;
        out.errors.push(...r.errors);
      }
      return out;
    },
  };
}

/** `User "jane" cannot list resource "pods" in API group "" in the namespace "default"` (upstream's forbiddenMessage). */
export function forbiddenMessage(user: UserInfo, attrs: RequestAttributes): string {
  if (attrs.kind === "nonResource") return `User ${JSON.stringify(user.name)} cannot ${attrs.verb} path ${JSON.stringify(attrs.path)}`;
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  const scope = attrs.namespace ? `in the namespace ${JSON.stringify(attrs.namespace)}` : "at the cluster scope";
  return `User ${JSON.stringify(user.name)} cannot ${attrs.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(attrs.group)} ${scope}`;
}

/** The 403 for a denied request: `deployments.apps "web" is forbidden: User ...[: reason]`, details {name, group, kind}. */
export function forbiddenError(user: UserInfo, attrs: RequestAttributes, reason: string): StatusError {
  const err = reason ? `${forbiddenMessage(user, attrs)}: ${reason}` : forbiddenMessage(user, attrs);
  if (attrs.kind === "nonResource") return new StatusError(newStatus("Forbidden", `forbidden: ${err}`, {}));
  const qualified = attrs.group ? `${attrs.resource}.${attrs.group}` : attrs.resource;
  const what = attrs.name ? `${qualified} ${JSON.stringify(attrs.name)}` : qualified;
  return new StatusError(
    newStatus("Forbidden", `${what} is forbidden: ${err}`, {
      ...(attrs.name ? { name: attrs.name } : {}),
      group: attrs.group,
      kind: attrs.resource,
    }),
  );
}

/** Throws the 403 unless authorizer allows. */
export function authorizeOrThrow(authorizer: Authorizer, user: UserInfo, attrs: RequestAttributes): void {
  const r = authorizer.authorize(user, attrs);
  if (r.decision !== "allow") throw forbiddenError(user, attrs, r.reason);
}
