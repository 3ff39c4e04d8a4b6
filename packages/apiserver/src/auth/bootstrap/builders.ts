/**
 * Small builders for the bootstrap policy, as upstream's rbacv1helpers builders: every list in a
 * rule is sorted, every object carries the `kubernetes.io/bootstrapping: rbac-defaults` label and
 * the `rbac.authorization.kubernetes.io/autoupdate: "true"` annotation the reconcile looks for.
 */
import type { KubeObject } from "@kubemu/common";
import type { PolicyRule } from "../rules.js";
import type { Subject } from "../rbac.js";

export const BOOTSTRAP_LABEL = { "kubernetes.io/bootstrapping": "rbac-defaults" } as const;
export const AUTOUPDATE_ANNOTATION = "rbac.authorization.kubernetes.io/autoupdate";
const RBAC_API_VERSION = "rbac.authorization.k8s.io/v1";

export const READ = ["get", "list", "watch"] as const;
export const READ_WRITE = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"] as const;

const sorted = (xs: readonly string[]) => [...new Set(xs)].sort();

export class RuleBuilder {
  private apiGroups: string[] = [];
  private resourceList: string[] = [];
  private resourceNames: string[] = [];
  private urlList: string[] = [];
  constructor(private readonly verbList: readonly string[]) {}
  groups(...g: string[]): this {
    this.apiGroups.push(...g);
    return this;
  }
  resources(...r: string[]): this {
    this.resourceList.push(...r);
    return this;
  }
  names(...n: string[]): this {
    this.resourceNames.push(...n);
    return this;
  }
  urls(...u: string[]): this {
    this.urlList.push(...u);
    return this;
  }
  build(): PolicyRule {
    const r: PolicyRule = { verbs: sorted(this.verbList) };
    if (this.urlList.length) r.nonResourceURLs = sorted(this.urlList);
    else {
      r.apiGroups = sorted(this.apiGroups);
      r.resources = sorted(this.resourceList);
      if (this.resourceNames.length) r.resourceNames = sorted(this.resourceNames);
    }
    return r;
  }
}

/** rule("get", "list").groups("").resources("pods").build() */
export const rule = (...verbs: readonly string[]) => new RuleBuilder(verbs);

/** The events rule every controller role has (core and events.k8s.io). */
export const eventsRule = (): PolicyRule => rule("create", "update", "patch").groups("", "events.k8s.io").resources("events").build();

function meta(name: string, namespace: string | undefined, labels: Record<string, string> = {}): KubeObject["metadata"] {
  return { name, ...(namespace ? { namespace } : {}), labels: { ...BOOTSTRAP_LABEL, ...labels }, annotations: { [AUTOUPDATE_ANNOTATION]: "true" } };
}

export function clusterRole(name: string, rules: PolicyRule[], labels?: Record<string, string>): KubeObject {
  return { apiVersion: RBAC_API_VERSION, kind: "ClusterRole", metadata: meta(name, undefined, labels), rules };
}

/** A ClusterRole whose rules the aggregation fills from ClusterRoles labelled `rbac.authorization.k8s.io/aggregate-to-<to>: "true"`. */
export function aggregatedClusterRole(name: string, to: string, labels?: Record<string, string>): KubeObject {
  return {
    apiVersion: RBAC_API_VERSION,
    kind: "ClusterRole",
    metadata: meta(name, undefined, labels),
    aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [aggregateLabel(to)]: "true" } }] },
    rules: [],
  };
}

export const aggregateLabel = (to: string) => `rbac.authorization.k8s.io/aggregate-to-${to}`;

export function role(namespace: string, name: string, rules: PolicyRule[]): KubeObject {
  return { apiVersion: RBAC_API_VERSION, kind: "Role", metadata: meta(name, namespace), rules };
}

export const user = (name: string): Subject => ({ apiGroup: "rbac.authorization.k8s.io", kind: "User", name });
export const group = (name: string): Subject => ({ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name });
export const serviceAccount = (namespace: string, name: string): Subject => ({ kind: "ServiceAccount", name, namespace });

export function clusterRoleBinding(name: string, roleName: string, subjects: Subject[]): KubeObject {
  return { apiVersion: RBAC_API_VERSION, kind: "ClusterRoleBinding", metadata: meta(name, undefined), roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: roleName }, subjects };
}

export function roleBinding(namespace: string, name: string, roleName: string, subjects: Subject[]): KubeObject {
  return { apiVersion: RBAC_API_VERSION, kind: "RoleBinding", metadata: meta(name, namespace), roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: roleName }, subjects };
}
