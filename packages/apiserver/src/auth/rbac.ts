/**
 * The RBAC authorizer (upstream's plugin/pkg/auth/authorizer/rbac over the registry's rule
 * resolver): the rules that apply to a user in a namespace are those of every ClusterRoleBinding
 * naming the user, one of its groups or its service account, plus those of every RoleBinding in
 * that namespace doing so; a request is allowed when one rule allows it. Rules are purely
 * additive: a binding to a role that does not exist, or a rule with an unknown verb, grants
 * nothing (and the missing role is named in the denial's reason, as upstream).
 *
 * Decisions are memory lookups: bindings are indexed by the subjects they name.
 */
import { Indexer, type IndexFunc, type KubeObject, type Lister } from "@kubemu/common";
import type { RequestAttributes, UserInfo } from "./attributes.js";
import type { Authorizer, AuthorizerResult, RuleResolver, SubjectRules } from "./authorizer.js";
import { ruleAllows, rulesOf, type PolicyRule } from "./rules.js";

export const RBAC_GROUP = "rbac.authorization.k8s.io";
export const SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:";

/** rbac.authorization.k8s.io/v1 Subject. */
export interface Subject {
  kind: string;
  apiGroup?: string;
  name: string;
  namespace?: string;
}

/** The user name a service account authenticates as. */
export const serviceAccountUser = (namespace: string, name: string): string => `${SERVICE_ACCOUNT_PREFIX}${namespace}:${name}`;

/** The namespace and name of a service account user name, or undefined for other users (upstream's SplitUsername). */
export function splitServiceAccountUser(user: string): { namespace: string; name: string } | undefined {
  if (!user.startsWith(SERVICE_ACCOUNT_PREFIX)) return undefined;
  const parts = user.slice(SERVICE_ACCOUNT_PREFIX.length).split(":");
  if (parts.length !== 2 || !parts[0] || !parts[1]) return undefined;
  return { namespace: parts[0], name: parts[1] };
}

/**
 * The key a subject is indexed by: `user:<name>` (a ServiceAccount is the user it authenticates
 * as; without a namespace it is the binding's namespace's, and none at the cluster scope) or
 * `group:<name>`. Other kinds match nobody.
 */
export function subjectKey(s: Subject, bindingNamespace: string | undefined): string | undefined {
  switch (s.kind) {
    case "User":
      return `user:${s.name}`;
    case "Group":
      return `group:${s.name}`;
    case "ServiceAccount": {
      const ns = s.namespace || bindingNamespace;
      return ns ? `user:${serviceAccountUser(ns, s.name)}` : undefined;
    }
    default:
      return undefined;
  }
}

/** The keys of the subjects a user is. */
export function userKeys(user: UserInfo): Set<string> {
  return new Set([`user:${user.name}`, ...user.groups.map((g) => `group:${g}`)]);
}

/** The subjects of a stored binding; malformed entries are dropped. */
export function subjectsOf(binding: unknown): Subject[] {
  const subjects = (binding as { subjects?: unknown } | undefined)?.subjects;
  if (!Array.isArray(subjects)) return [];
  return subjects.filter((s): s is Subject => typeof s === "object" && s !== null && typeof s.kind === "string" && typeof s.name === "string");
}

export interface RoleRef {
  apiGroup: string;
  kind: string;
  name: string;
}

export function roleRefOf(binding: unknown): RoleRef {
  const r = ((binding as { roleRef?: unknown } | undefined)?.roleRef ?? {}) as Record<string, unknown>;
  const s = (v: unknown) => (typeof v === "string" ? v : "");
  return { apiGroup: s(r.apiGroup), kind: s(r.kind), name: s(r.name) };
}

/** Index name of bindings by subject key. */
export const SUBJECT_INDEX = "rbac-subject";
export const subjectIndex: IndexFunc = (b) => [...new Set(subjectsOf(b).map((s) => subjectKey(s, b.metadata.namespace)).filter((k): k is string => k !== undefined))];

/** Read access to the four RBAC kinds (informer caches; bindings carry the subject index). */
export interface RbacListers {
  roles: Lister<KubeObject>;
  roleBindings: Lister<KubeObject>;
  clusterRoles: Lister<KubeObject>;
  clusterRoleBindings: Lister<KubeObject>;
}

/** Listers over fixed objects (tests, and reasoning about a policy before it is stored). */
export function staticListers(objects: { roles?: KubeObject[]; roleBindings?: KubeObject[]; clusterRoles?: KubeObject[]; clusterRoleBindings?: KubeObject[] }): RbacListers {
  const fill = (items: KubeObject[] | undefined, indexers: Record<string, IndexFunc> = {}) => {
    const ix = new Indexer<KubeObject>(indexers);
    for (const o of items ?? []) ix.set(o);
    return ix;
  };
  return {
    roles: fill(objects.roles),
    roleBindings: fill(objects.roleBindings, { [SUBJECT_INDEX]: subjectIndex }),
    clusterRoles: fill(objects.clusterRoles),
    clusterRoleBindings: fill(objects.clusterRoleBindings, { [SUBJECT_INDEX]: subjectIndex }),
  };
}

/**
 * A rule and where it came from (upstream's visitor source, worded only for the rule that
 * allows: most visited rules do not), or an error resolving a binding.
 */
type Visit = { rule: PolicyRule; source: () => string } | { error: string };

const byName = (a: KubeObject, b: KubeObject) => (a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0);

function describeSubject(s: Subject, bindingNamespace: string): string {
  if (s.kind === "ServiceAccount") return `${s.kind} ${JSON.stringify(`${s.name}/${s.namespace || bindingNamespace}`)}`;
  return `${s.kind} ${JSON.stringify(s.name)}`;
}

export class RbacAuthorizer implements Authorizer, RuleResolver {
  /** Parsed rules by cached role object (informer objects are replaced on change, never edited). */
  private readonly parsed = new WeakMap<KubeObject, PolicyRule[]>();

  constructor(private readonly listers: RbacListers) {}

  private rules(role: KubeObject): PolicyRule[] {
    let rules = this.parsed.get(role);
    if (!rules) this.parsed.set(role, (rules = rulesOf(role)));
    return rules;
  }

  authorize(user: UserInfo, attrs: RequestAttributes): AuthorizerResult {
    const errors: string[] = [];
    const namespace = attrs.kind === "resource" ? attrs.namespace : undefined;
    for (const v of this.visit(user, namespace)) {
      if ("error" in v) errors.push(v.error);
      else if (ruleAllows(attrs, v.rule)) return { decision: "allow", reason: `RBAC: allowed by ${v.source()}` };
    }
    return { decision: "noOpinion", reason: errors.length ? `RBAC: ${aggregate(errors)}` : "" };
  }

  rulesFor(user: UserInfo, namespace: string | undefined): SubjectRules {
    const rules: PolicyRule[] = [];
    const errors: string[] = [];
    for (const v of this.visit(user, namespace)) {
      if ("error" in v) errors.push(v.error);
      else rules.push(v.rule);
    }
    return { rules, incomplete: false, errors };
  }

  /** The rules of the role a binding refers to (upstream's GetRoleReferenceRules), or why there are none. */
  roleRefRules(ref: RoleRef, bindingNamespace: string | undefined): PolicyRule[] | string {
    switch (ref.kind) {
      case "Role": {
        const role = bindingNamespace ? this.listers.roles.get(bindingNamespace, ref.name) : undefined;
        return role ? this.rules(role) : `role.${RBAC_GROUP} ${JSON.stringify(ref.name)} not found`;
      }
      case "ClusterRole": {
        const role = this.listers.clusterRoles.get(undefined, ref.name);
        return role ? this.rules(role) : `clusterrole.${RBAC_GROUP} ${JSON.stringify(ref.name)} not found`;
      }
      default:
        return `unsupported role reference kind: ${JSON.stringify(ref.kind)}`;
    }
  }

  /** Every rule that applies to user in namespace (cluster bindings first), in a stable order. */
  private *visit(user: UserInfo, namespace: string | undefined): Generator<Visit> {
    const keys = userKeys(user);
    yield* this.visitBindings(this.bindingsFor(this.listers.clusterRoleBindings, keys, undefined), keys, undefined, "ClusterRoleBinding");
    if (namespace) yield* this.visitBindings(this.bindingsFor(this.listers.roleBindings, keys, namespace), keys, namespace, "RoleBinding");
  }

  private bindingsFor(lister: Lister<KubeObject>, keys: Set<string>, namespace: string | undefined): KubeObject[] {
    const found = new Map<string, KubeObject>();
    for (const key of keys)
      for (const b of lister.byIndex(SUBJECT_INDEX, key)) if ((b.metadata.namespace ?? undefined) === namespace) found.set(b.metadata.name!, b);
    return [...found.values()].sort(byName);
  }

  private *visitBindings(bindings: KubeObject[], keys: Set<string>, namespace: string | undefined, kind: "ClusterRoleBinding" | "RoleBinding"): Generator<Visit> {
    for (const b of bindings) {
      const subject = subjectsOf(b).find((s) => {
        const k = subjectKey(s, namespace);
        return k !== undefined && keys.has(k);
      });
      if (!subject) continue;
      const ref = roleRefOf(b);
      const rules = this.roleRefRules(ref, namespace);
      if (typeof rules === "string") {
        yield { error: rules };
        continue;
      }
      const name = kind === "RoleBinding" ? `${b.metadata.name}/${namespace}` : b.metadata.name!;
      const source = () => `${kind} ${JSON.stringify(name)} of ${ref.kind} ${JSON.stringify(ref.name)} to ${describeSubject(subject, namespace ?? "")}`;
      for (const rule of rules) yield { rule, source };
    }
  }
}

/** utilerrors.NewAggregate's wording: one error as is, several as `[a, b]`. */
function aggregate(errors: string[]): string {
  return errors.length === 1 ? errors[0]! : `[${errors.join(", ")}]`;
}
