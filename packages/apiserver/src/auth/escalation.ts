/**
 * RBAC escalation prevention (upstream's policy-based storage for the four RBAC kinds): you may
 * only write a Role or ClusterRole whose rules you already hold (or with the `escalate` verb on
 * it), and only bind a role whose rules you already hold (or with the `bind` verb on it);
 * setting an aggregationRule takes cluster-admin's authority. system:masters and the API
 * server's own writes are exempt. Runs as the RBAC kinds' admission hook, reading the request's
 * user from its scope.
 */
import { newStatus, StatusError, type KubeObject } from "@kubemu/common";
import type { Admission } from "../registry/types.js";
import { resourceAttributes, type UserInfo } from "./attributes.js";
import { SYSTEM_MASTERS } from "./authorizer.js";
import { currentScope, type RequestScope } from "./request-scope.js";
import { RBAC_GROUP, roleRefOf } from "./rbac.js";
import { compactRuleString, covers, rulesOf, type PolicyRule } from "./rules.js";
import { sameJson } from "./bootstrap/reconcile.js";

const FULL_AUTHORITY: PolicyRule[] = [
  { verbs: ["*"], apiGroups: ["*"], resources: ["*"] },
  { verbs: ["*"], nonResourceURLs: ["*"] },
];

function forbidden(resource: string, name: string, message: string): StatusError {
  return new StatusError(newStatus("Forbidden", `${resource}.${RBAC_GROUP} ${JSON.stringify(name)} is forbidden: ${message}`, { name, group: RBAC_GROUP, kind: resource }));
}

/** Go's %q of a string slice: ["a" "b"]. */
const goStrings = (xs: readonly string[]) => `[${xs.map((x) => JSON.stringify(x)).join(" ")}]`;

/** Merges broken-down rules on the same single group/resource(/name) into one (upstream's CompactRules). */
export function compactRules(rules: readonly PolicyRule[]): PolicyRule[] {
  const simple = new Map<string, PolicyRule>();
  const out: PolicyRule[] = [];
  for (const r of rules) {
    const names = r.resourceNames ?? [];
    const isSimple = names.length <= 1 && (r.nonResourceURLs ?? []).length === 0 && (r.apiGroups ?? []).length === 1 && (r.resources ?? []).length === 1;
    if (!isSimple) {
      out.push(r);
      continue;
    }
    const key = JSON.stringify([r.apiGroups![0], r.resources![0], names.length === 1, names[0] ?? ""]);
    const existing = simple.get(key);
    if (!existing) {
      simple.set(key, structuredClone(r));
      continue;
    }
    for (const v of r.verbs) if (!existing.verbs.includes(v)) existing.verbs.push(v);
  }
  return [...out, ...simple.values()];
}

/** Throws upstream's Forbidden unless the user's rules in namespace cover rules. */
function confirmNoEscalation(s: RequestScope, namespace: string | undefined, rules: PolicyRule[], resource: string, name: string): void {
  const held = s.rules.rulesFor(s.user, namespace);
  const { covered, missing } = covers(held.rules, rules);
  if (covered) return;
  const lines = [...new Set(compactRules(missing).map(compactRuleString))].sort();
  let msg = `user ${JSON.stringify(s.user.name)} (groups=${goStrings(s.user.groups)}) is attempting to grant RBAC permissions not currently held:\n${lines.join("\n")}`;
  if (held.errors.length) msg += `; resolution errors: [${held.errors.join(" ")}]`;
  throw forbidden(resource, name, msg);
}

const exempt = (user: UserInfo) => user.groups.includes(SYSTEM_MASTERS);

/** Whether only what the garbage collector writes (owner references, finalizers) changed (upstream's IsOnlyMutatingGCFields). */
function onlyGcFields(obj: KubeObject, old: KubeObject | undefined): boolean {
  if (!old) return false;
  const strip = (o: KubeObject) => {
    const { ownerReferences: _o, finalizers: _f, resourceVersion: _rv, managedFields: _mf, generation: _g, ...metadata } = o.metadata;
    return { ...o, metadata };
  };
  return sameJson(strip(obj), strip(old));
}

/** The admission hook of Role (plural "roles") or ClusterRole ("clusterroles"). */
export function roleEscalationAdmission(plural: "roles" | "clusterroles"): (a: Admission) => void {
  return (a) => {
    const s = currentScope();
    if (!s || a.operation === "DELETE" || !a.object || exempt(s.user) || onlyGcFields(a.object, a.old)) return;
    const namespace = a.object.metadata.namespace;
    const name = a.object.metadata.name ?? a.name;
    // With the escalate verb on the role (by name only when it exists: a create names no object), anything goes.
    const escalate = resourceAttributes({ verb: "escalate", group: RBAC_GROUP, resource: plural, namespace, name: a.operation === "UPDATE" ? name : undefined });
    if (s.authorizer.authorize(s.user, escalate).decision === "allow") return;
    confirmNoEscalation(s, namespace, rulesOf(a.object), plural, name);
    if (plural === "clusterroles" && a.object.aggregationRule) {
      const { covered } = covers(s.rules.rulesFor(s.user, undefined).rules, FULL_AUTHORITY);
      if (!covered) throw forbidden(plural, name, "must have cluster-admin privileges to use the aggregationRule");
    }
  };
}

/** The admission hook of RoleBinding ("rolebindings") or ClusterRoleBinding ("clusterrolebindings"). */
export function bindingEscalationAdmission(plural: "rolebindings" | "clusterrolebindings"): (a: Admission) => void {
  return (a) => {
    const s = currentScope();
    if (!s || a.operation === "DELETE" || !a.object || exempt(s.user) || onlyGcFields(a.object, a.old)) return;
    const namespace = a.object.metadata.namespace;
    const name = a.object.metadata.name ?? a.name;
    const ref = roleRefOf(a.object);
    const refResource = ref.kind === "ClusterRole" ? "clusterroles" : ref.kind === "Role" ? "roles" : undefined;
    // The bind verb on the role, checked in the binding's namespace (none for a ClusterRoleBinding).
    if (refResource) {
      const bind = resourceAttributes({ verb: "bind", group: ref.apiGroup, resource: refResource, namespace, name: ref.name });
      if (s.authorizer.authorize(s.user, bind).decision === "allow") return;
    }
    const rules = s.roleRefRules(ref, namespace);
    if (typeof rules === "string") throw forbidden(plural, name, rules);
    confirmNoEscalation(s, namespace, rules, plural, name);
  };
}
