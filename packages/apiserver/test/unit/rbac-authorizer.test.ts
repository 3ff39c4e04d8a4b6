/** The RBAC authorizer over the default policy: bindings by user, group and service account, missing roles, 403 wording, impersonation, reviews. */
import { NodeAuthorizer } from "../../src/auth/node/node-authorizer.js";
import { NodeGraph } from "../../src/auth/node/graph.js";
import { rulesOf } from "../../src/auth/rules.js";
import { describe, expect, it } from "vitest";
import { toStatus, type KubeObject } from "@kubemu/common";
import { requestAttributes, resourceAttributes, type RequestAttributes, type UserInfo } from "../../src/auth/attributes.js";
import { authorizeOrThrow, privilegedGroups, unionAuthorizer, unionRuleResolver } from "../../src/auth/authorizer.js";
import { RbacAuthorizer, staticListers } from "../../src/auth/rbac.js";
import { aggregatedRules } from "../../src/auth/aggregation.js";
import { bootstrapPolicy } from "../../src/auth/bootstrap/policy.js";
import { distinctHeaders, impersonate } from "../../src/auth/impersonation.js";
import { ANONYMOUS, INSECURE_USER } from "../../src/http/authn.js";
import { parseRequestPath, type ResourceRequest } from "../../src/http/request-info.js";
import { answerReview, isReview } from "../../src/http/reviews.js";

const RBAC = "rbac.authorization.k8s.io/v1";
const admin: UserInfo = { name: "kubernetes-admin", groups: ["system:masters", "system:authenticated"] };
const jane: UserInfo = { name: "jane", groups: ["developers", "system:authenticated"] };
const robot: UserInfo = { name: "system:serviceaccount:default:robot", groups: ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"] };

/** The default policy as a fresh cluster stores it, aggregation applied (repeatedly: view feeds edit feeds admin). */
function defaultCluster(extra: { roles?: KubeObject[]; roleBindings?: KubeObject[]; clusterRoles?: KubeObject[]; clusterRoleBindings?: KubeObject[] } = {}) {
  const p = bootstrapPolicy();
  const clusterRoles = [...p.clusterRoles, ...(extra.clusterRoles ?? [])].map((r) => structuredClone(r));
  for (let pass = 0; pass < 3; pass++) {
    const listers = staticListers({ clusterRoles });
    for (const r of clusterRoles) {
      const rules = aggregatedRules(r, listers.clusterRoles);
      if (rules) r.rules = rules;
    }
  }
  const rbac = new RbacAuthorizer(
    staticListers({
      clusterRoles,
      clusterRoleBindings: [...p.clusterRoleBindings, ...(extra.clusterRoleBindings ?? [])],
      roles: [...p.roles, ...(extra.roles ?? [])],
      roleBindings: [...p.roleBindings, ...(extra.roleBindings ?? [])],
    }),
  );
  // --authorization-mode=Node,RBAC, with an empty Node authorizer graph (no pods).
  const node = new NodeAuthorizer(new NodeGraph(), () => rulesOf(clusterRoles.find((r) => r.metadata.name === "system:node")));
  return { rbac, authorizer: unionAuthorizer([privilegedGroups, node, rbac]), rules: unionRuleResolver([rbac]) };
}

const http = (method: string, u: string): RequestAttributes => {
  const x = new URL(u, "https://x");
  return requestAttributes(method, x.pathname, parseRequestPath(x.pathname), x.searchParams);
};

function outcome(authz: ReturnType<typeof defaultCluster>, user: UserInfo, attrs: RequestAttributes): string {
  try {
    authorizeOrThrow(authz.authorizer, user, attrs);
    return "allowed";
  } catch (e) {
    const s = toStatus(e);
    expect(s).toMatchObject({ code: 403, reason: "Forbidden" });
    return s.message;
  }
}

const binding = (kind: "RoleBinding" | "ClusterRoleBinding", name: string, roleKind: string, role: string, subjects: unknown[], namespace?: string): KubeObject => ({
  apiVersion: RBAC,
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}) },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: roleKind, name: role },
  subjects,
});

describe("request attributes", () => {
  it("derive verbs as upstream's RequestInfo: list/watch/deletecollection, a name from metadata.name=, namespaces in themselves", () => {
    expect(http("GET", "/api/v1/namespaces/a/pods")).toEqual({ kind: "resource", verb: "list", group: "", resource: "pods", namespace: "a" });
    expect(http("GET", "/api/v1/pods?watch=true")).toMatchObject({ verb: "watch" });
    expect(http("GET", "/api/v1/nodes?watch=1&fieldSelector=metadata.name%3Dkubemu")).toMatchObject({ verb: "watch", name: "kubemu" });
    expect(http("DELETE", "/api/v1/namespaces/a/configmaps")).toMatchObject({ verb: "deletecollection" });
    expect(http("GET", "/api/v1/namespaces/a")).toMatchObject({ verb: "get", resource: "namespaces", name: "a", namespace: "a" });
    expect(http("PUT", "/apis/apps/v1/namespaces/a/deployments/web/scale")).toMatchObject({ verb: "update", group: "apps", resource: "deployments", subresource: "scale", name: "web" });
    expect(http("HEAD", "/healthz")).toEqual({ kind: "nonResource", verb: "head", path: "/healthz" });
  });
});

describe("the default policy", () => {
  const authz = defaultCluster();

  it("lets system:masters and the plain-HTTP port do everything", () => {
    expect(outcome(authz, admin, http("DELETE", "/api/v1/namespaces/default/pods"))).toBe("allowed");
    expect(outcome(authz, INSECURE_USER, http("POST", "/kubemu/faults"))).toBe("allowed");
  });

  it("lets anonymous read /healthz, /livez, /readyz and /version only (system:public-info-viewer)", () => {
    for (const p of ["/healthz", "/livez", "/readyz", "/version", "/version/"]) expect(outcome(authz, ANONYMOUS, http("GET", p))).toBe("allowed");
    expect(outcome(authz, ANONYMOUS, http("GET", "/readyz/etcd"))).toBe('forbidden: User "system:anonymous" cannot get path "/readyz/etcd"');
    expect(outcome(authz, ANONYMOUS, http("POST", "/readyz"))).toBe('forbidden: User "system:anonymous" cannot post path "/readyz"');
    expect(outcome(authz, ANONYMOUS, http("GET", "/apis"))).toBe('forbidden: User "system:anonymous" cannot get path "/apis"');
    expect(outcome(authz, ANONYMOUS, http("GET", "/api/v1/namespaces/kube-system/pods"))).toBe(
      'pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "kube-system"',
    );
  });

  it("lets every authenticated user discover the API and review itself, nothing more", () => {
    for (const p of ["/api", "/api/v1", "/apis", "/apis/apps/v1", "/openapi/v2", "/openapi/v3/apis/apps/v1", "/version"]) expect(outcome(authz, jane, http("GET", p))).toBe("allowed");
    expect(outcome(authz, jane, http("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"))).toBe("allowed");
    expect(outcome(authz, jane, http("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews"))).toBe("allowed");
    expect(outcome(authz, jane, http("GET", "/metrics"))).toBe('forbidden: User "jane" cannot get path "/metrics"');
    expect(outcome(authz, jane, http("GET", "/api/v1/namespaces/default/pods"))).toBe('pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "default"');
    expect(outcome(authz, jane, http("GET", "/apis/apps/v1/deployments?watch=1"))).toBe(
      'deployments.apps is forbidden: User "jane" cannot watch resource "deployments" in API group "apps" at the cluster scope',
    );
    expect(outcome(authz, jane, http("PUT", "/apis/apps/v1/namespaces/a/deployments/web/scale"))).toBe(
      'deployments.apps "web" is forbidden: User "jane" cannot update resource "deployments/scale" in API group "apps" in the namespace "a"',
    );
    expect(outcome(authz, robot, http("GET", "/api/v1/namespaces/default/pods"))).toBe(
      'pods is forbidden: User "system:serviceaccount:default:robot" cannot list resource "pods" in API group "" in the namespace "default"',
    );
  });

  it("gives a 403 the details kubectl reads (name, group, kind)", () => {
    try {
      authorizeOrThrow(authz.authorizer, jane, http("GET", "/apis/apps/v1/namespaces/a/deployments/web"));
      expect.unreachable();
    } catch (e) {
      expect(toStatus(e)).toMatchObject({ kind: "Status", status: "Failure", reason: "Forbidden", code: 403, details: { name: "web", group: "apps", kind: "deployments" } });
    }
  });

  it("gives the scheduler and controller-manager what they use", () => {
    const scheduler: UserInfo = { name: "system:kube-scheduler", groups: ["system:authenticated"] };
    const kcm: UserInfo = { name: "system:kube-controller-manager", groups: ["system:authenticated"] };
    const r = (user: UserInfo, verb: string, group: string, resource: string, extra: { subresource?: string; namespace?: string; name?: string } = {}) =>
      authz.authorizer.authorize(user, resourceAttributes({ verb, group, resource, ...extra })).decision;
    expect(r(scheduler, "create", "", "pods", { subresource: "binding", namespace: "a", name: "p" })).toBe("allow");
    expect(r(scheduler, "update", "coordination.k8s.io", "leases", { namespace: "kube-system", name: "kube-scheduler" })).toBe("allow");
    expect(r(scheduler, "update", "coordination.k8s.io", "leases", { namespace: "kube-system", name: "kube-controller-manager" })).toBe("allow"); // the leader-locking Role allows every lease in kube-system
    expect(r(scheduler, "watch", "storage.k8s.io", "storageclasses")).toBe("allow");
    expect(r(scheduler, "delete", "", "pods", { namespace: "a", name: "victim" })).toBe("allow");
    expect(r(scheduler, "create", "", "pods", { namespace: "a" })).toBe("noOpinion");
    expect(r(kcm, "create", "", "pods", { namespace: "a" })).toBe("allow");
    expect(r(kcm, "deletecollection", "apps", "replicasets", { namespace: "a" })).toBe("allow");
    expect(r(kcm, "update", "", "namespaces", { subresource: "finalize", name: "a" })).toBe("allow");
    expect(r(kcm, "update", "batch", "cronjobs", { subresource: "status", namespace: "a", name: "c" })).toBe("allow");
    expect(r(kcm, "create", "", "secrets", { namespace: "a" })).toBe("allow");
    expect(r(kcm, "patch", "", "nodes", { name: "n" })).toBe("allow");
    expect(r(kcm, "create", "rbac.authorization.k8s.io", "clusterrolebindings")).toBe("noOpinion");
  });

  it("gives kubelets (system:nodes, through the Node authorizer) and kube-proxy what they use", () => {
    const kubelet: UserInfo = { name: "system:node:kubemu", groups: ["system:nodes", "system:authenticated"] };
    const proxy: UserInfo = { name: "system:kube-proxy", groups: ["system:authenticated"] };
    const r = (user: UserInfo, verb: string, group: string, resource: string, extra: { subresource?: string; namespace?: string; name?: string; fieldSelector?: string } = {}) =>
      authz.authorizer.authorize(user, resourceAttributes({ verb, group, resource, ...extra })).decision;
    expect(r(kubelet, "watch", "", "pods", { fieldSelector: "spec.nodeName=kubemu" })).toBe("allow");
    expect(r(kubelet, "watch", "", "services")).toBe("allow");
    // No pod of the node uses them: the Node authorizer has no opinion and RBAC binds system:node to nobody.
    for (const resource of ["pods", "secrets", "configmaps", "persistentvolumeclaims", "persistentvolumes"]) expect(r(kubelet, "watch", "", resource), resource).toBe("noOpinion");
    expect(r(kubelet, "patch", "", "pods", { subresource: "status", namespace: "a", name: "p" })).toBe("allow");
    expect(r(kubelet, "patch", "", "nodes", { subresource: "status", name: "kubemu" })).toBe("allow");
    expect(r(kubelet, "update", "coordination.k8s.io", "leases", { namespace: "kube-node-lease", name: "kubemu" })).toBe("allow");
    expect(r(kubelet, "create", "", "serviceaccounts", { subresource: "token", namespace: "a", name: "default" })).toBe("noOpinion");
    expect(r(kubelet, "create", "", "pods", { subresource: "binding", namespace: "a", name: "p" })).toBe("noOpinion");
    expect(r(kubelet, "delete", "", "nodes", { name: "other" })).toBe("noOpinion");
    expect(r(proxy, "watch", "discovery.k8s.io", "endpointslices")).toBe("allow");
    expect(r(proxy, "watch", "", "services")).toBe("allow");
    expect(r(proxy, "create", "", "events", { namespace: "default" })).toBe("allow");
    expect(r(proxy, "list", "", "pods")).toBe("noOpinion");
  });

  it("fills admin, edit and view by aggregation (view ⊂ edit ⊂ admin)", () => {
    const can = (role: string, verb: string, group: string, resource: string, subresource?: string) => {
      const a = defaultCluster({ roleBindings: [binding("RoleBinding", "b", "ClusterRole", role, [{ kind: "User", name: "jane" }], "ns")] });
      return a.authorizer.authorize(jane, resourceAttributes({ verb, group, resource, subresource, namespace: "ns" })).decision === "allow";
    };
    expect(can("view", "list", "", "pods")).toBe(true);
    expect(can("view", "get", "", "secrets")).toBe(false);
    expect(can("edit", "get", "", "secrets")).toBe(true);
    expect(can("edit", "list", "", "pods")).toBe(true);
    expect(can("edit", "create", "rbac.authorization.k8s.io", "rolebindings")).toBe(false);
    expect(can("admin", "create", "rbac.authorization.k8s.io", "rolebindings")).toBe(true);
    expect(can("admin", "get", "", "pods", "log")).toBe(true);
    expect(can("admin", "update", "", "resourcequotas")).toBe(false);
  });
});

describe("bindings", () => {
  it("a RoleBinding grants its role in its namespace only; a ClusterRoleBinding everywhere", () => {
    const podReader: KubeObject = { apiVersion: RBAC, kind: "Role", metadata: { name: "pod-reader", namespace: "default" }, rules: [{ verbs: ["get", "list"], apiGroups: [""], resources: ["pods"] }] };
    const authz = defaultCluster({ roles: [podReader], roleBindings: [binding("RoleBinding", "read-pods", "Role", "pod-reader", [{ kind: "User", name: "jane", apiGroup: "rbac.authorization.k8s.io" }], "default")] });
    const list = (ns: string) => authz.authorizer.authorize(jane, resourceAttributes({ verb: "list", group: "", resource: "pods", namespace: ns }));
    expect(list("default")).toEqual({ decision: "allow", reason: 'RBAC: allowed by RoleBinding "read-pods/default" of Role "pod-reader" to User "jane"' });
    expect(list("other").decision).toBe("noOpinion");
    expect(authz.authorizer.authorize(jane, resourceAttributes({ verb: "list", group: "", resource: "pods" })).decision).toBe("noOpinion");

    const cluster = defaultCluster({ clusterRoleBindings: [binding("ClusterRoleBinding", "devs-view", "ClusterRole", "view", [{ kind: "Group", name: "developers" }])] });
    expect(cluster.authorizer.authorize(jane, resourceAttributes({ verb: "list", group: "", resource: "pods" }))).toEqual({
      decision: "allow",
      reason: 'RBAC: allowed by ClusterRoleBinding "devs-view" of ClusterRole "view" to Group "developers"',
    });
  });

  it("matches ServiceAccount subjects by namespace (the binding's when unset) and the seed's permissive binding", () => {
    const local = defaultCluster({ roleBindings: [binding("RoleBinding", "sa", "ClusterRole", "view", [{ kind: "ServiceAccount", name: "robot" }], "default")] });
    expect(local.authorizer.authorize(robot, resourceAttributes({ verb: "list", group: "", resource: "pods", namespace: "default" })).decision).toBe("allow");
    const other = defaultCluster({ roleBindings: [binding("RoleBinding", "sa", "ClusterRole", "view", [{ kind: "ServiceAccount", name: "robot", namespace: "elsewhere" }], "default")] });
    expect(other.authorizer.authorize(robot, resourceAttributes({ verb: "list", group: "", resource: "pods", namespace: "default" })).decision).toBe("noOpinion");
    // A ServiceAccount subject without a namespace in a ClusterRoleBinding matches nobody.
    const noNs = defaultCluster({ clusterRoleBindings: [binding("ClusterRoleBinding", "sa", "ClusterRole", "view", [{ kind: "ServiceAccount", name: "robot" }])] });
    expect(noNs.authorizer.authorize(robot, resourceAttributes({ verb: "list", group: "", resource: "pods", namespace: "default" })).decision).toBe("noOpinion");
    const permissive = defaultCluster({ clusterRoleBindings: [binding("ClusterRoleBinding", "permissive-binding", "ClusterRole", "cluster-admin", [{ kind: "Group", name: "system:serviceaccounts" }])] });
    expect(permissive.authorizer.authorize(robot, resourceAttributes({ verb: "list", group: "", resource: "pods", namespace: "default" })).decision).toBe("allow");
  });

  it("a binding to a missing role, or of an unknown kind, grants nothing and says why", () => {
    const authz = defaultCluster({
      clusterRoleBindings: [
        binding("ClusterRoleBinding", "ghost", "ClusterRole", "no-such-role", [{ kind: "User", name: "jane" }]),
        binding("ClusterRoleBinding", "weird", "Roll", "x", [{ kind: "User", name: "jane" }]),
        binding("ClusterRoleBinding", "odd-subject", "ClusterRole", "cluster-admin", [{ kind: "Robot", name: "jane" }]),
      ],
      roleBindings: [binding("RoleBinding", "ghost", "Role", "missing", [{ kind: "User", name: "jane" }], "default")],
    });
    const r = authz.authorizer.authorize(jane, resourceAttributes({ verb: "list", group: "", resource: "pods", namespace: "default" }));
    expect(r.decision).toBe("noOpinion");
    expect(r.reason).toBe('RBAC: [clusterrole.rbac.authorization.k8s.io "no-such-role" not found, unsupported role reference kind: "Roll", role.rbac.authorization.k8s.io "missing" not found]');
    expect(outcome(authz, jane, resourceAttributes({ verb: "list", group: "", resource: "pods", namespace: "default" }))).toBe(
      'pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "default": RBAC: [clusterrole.rbac.authorization.k8s.io "no-such-role" not found, unsupported role reference kind: "Roll", role.rbac.authorization.k8s.io "missing" not found]',
    );
  });
});

describe("impersonation", () => {
  const impersonator: KubeObject = {
    apiVersion: RBAC,
    kind: "ClusterRole",
    metadata: { name: "impersonator" },
    rules: [
      { verbs: ["impersonate"], apiGroups: [""], resources: ["users"], resourceNames: ["jane"] },
      { verbs: ["impersonate"], apiGroups: [""], resources: ["groups"] },
      { verbs: ["impersonate"], apiGroups: ["authentication.k8s.io"], resources: ["userextras/scopes", "uids"] },
    ],
  };
  const bob: UserInfo = { name: "bob", groups: ["system:authenticated"] };
  const authz = defaultCluster({ clusterRoles: [impersonator], clusterRoleBindings: [binding("ClusterRoleBinding", "bob", "ClusterRole", "impersonator", [{ kind: "User", name: "bob" }])] });
  const as = (h: Record<string, string[]>, who = bob) => impersonate(distinctHeaders(h), who, authz.authorizer);
  const refusal = (h: Record<string, string[]>, who = bob) => {
    try {
      as(h, who);
      return "allowed";
    } catch (e) {
      return toStatus(e).message;
    }
  };

  it("serves the request as the impersonated user, groups and extras when each is allowed", () => {
    expect(as({})).toBe(bob);
    expect(as({ "Impersonate-User": ["jane"] })).toEqual({ name: "jane", groups: ["system:authenticated"] });
    expect(as({ "Impersonate-User": ["jane"], "Impersonate-Group": ["dev", "ops"], "Impersonate-Uid": ["u-1"], "Impersonate-Extra-Scopes": ["view", "edit"] })).toEqual({
      name: "jane",
      uid: "u-1",
      groups: ["dev", "ops", "system:authenticated"],
      extra: { scopes: ["view", "edit"] },
    });
    // system:masters may impersonate anyone; a service account brings its groups.
    expect(as({ "Impersonate-User": ["system:serviceaccount:kube-system:default"] }, admin)).toEqual({
      name: "system:serviceaccount:kube-system:default",
      groups: ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"],
    });
    expect(as({ "Impersonate-User": ["system:anonymous"] }, admin)).toEqual({ name: "system:anonymous", groups: ["system:unauthenticated"] });
  });

  it("refuses what the requester may not impersonate, in upstream's words", () => {
    expect(refusal({ "Impersonate-User": ["joe"] })).toBe('users "joe" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the cluster scope');
    expect(refusal({ "Impersonate-User": ["system:serviceaccount:default:robot"] })).toBe(
      'serviceaccounts "robot" is forbidden: User "bob" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "default"',
    );
    expect(refusal({ "Impersonate-User": ["jane"], "Impersonate-Extra-Other": ["x"] })).toBe(
      'userextras.authentication.k8s.io "x" is forbidden: User "bob" cannot impersonate resource "userextras/other" in API group "authentication.k8s.io" at the cluster scope',
    );
    expect(refusal({ "Impersonate-User": ["jane"] }, jane)).toContain('User "jane" cannot impersonate resource "users"');
    expect(refusal({ "Impersonate-Group": ["system:masters"] }, admin)).toBe("Internal error occurred: requested [{Group  system:masters    }] without impersonating a user");
  });
});

describe("reviews", () => {
  const now = new Date("2026-01-02T03:04:05.678Z");
  const req = (u: string) => parseRequestPath(u) as ResourceRequest;
  const podReader: KubeObject = { apiVersion: RBAC, kind: "Role", metadata: { name: "pod-reader", namespace: "default" }, rules: [{ verbs: ["get", "list"], apiGroups: [""], resources: ["pods"] }] };
  const authz = defaultCluster({ roles: [podReader], roleBindings: [binding("RoleBinding", "read-pods", "Role", "pod-reader", [{ kind: "User", name: "jane" }], "default")] });

  it("SelfSubjectReview names the caller", () => {
    const info = req("/apis/authentication.k8s.io/v1/selfsubjectreviews");
    expect(isReview(info)).toBe(true);
    expect(answerReview(info, "POST", {}, admin, now, authz)).toEqual({
      kind: "SelfSubjectReview",
      apiVersion: "authentication.k8s.io/v1",
      metadata: { creationTimestamp: "2026-01-02T03:04:05Z" },
      status: { userInfo: { username: "kubernetes-admin", groups: ["system:masters", "system:authenticated"] } },
    });
  });

  it("SelfSubjectAccessReview answers from RBAC, and validates its spec", () => {
    const info = req("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews");
    const spec = { resourceAttributes: { verb: "list", resource: "pods", namespace: "default" } };
    expect(answerReview(info, "POST", { spec }, jane, now, authz)).toMatchObject({ spec, status: { allowed: true, reason: 'RBAC: allowed by RoleBinding "read-pods/default" of Role "pod-reader" to User "jane"' } });
    expect(answerReview(info, "POST", { spec: { resourceAttributes: { ...spec.resourceAttributes, verb: "delete" } } }, jane, now, authz)).toMatchObject({ status: { allowed: false } });
    expect(answerReview(info, "POST", { spec: { nonResourceAttributes: { verb: "get", path: "/healthz" } } }, ANONYMOUS, now, authz)).toMatchObject({ status: { allowed: true } });
    expect(() => answerReview(info, "POST", { spec: {} }, admin, now, authz)).toThrow(/exactly one of nonResourceAttributes or resourceAttributes/);
    expect(() => answerReview(info, "GET", undefined, admin, now, authz)).toThrow(/does not allow this method/);
    expect(isReview(req("/apis/authorization.k8s.io/v1/namespaces/x/selfsubjectaccessreviews"))).toBe(false);
  });

  it("SelfSubjectRulesReview lists the rules held in a namespace", () => {
    const info = req("/apis/authorization.k8s.io/v1/selfsubjectrulesreviews");
    const out = answerReview(info, "POST", { spec: { namespace: "default" } }, jane, now, authz) as { status: { resourceRules: unknown[]; nonResourceRules: unknown[]; incomplete: boolean } };
    expect(out.status.incomplete).toBe(false);
    expect(out.status.resourceRules).toContainEqual({ verbs: ["get", "list"], apiGroups: [""], resources: ["pods"] });
    expect(out.status.resourceRules).toContainEqual({ verbs: ["create"], apiGroups: ["authorization.k8s.io"], resources: ["selfsubjectaccessreviews", "selfsubjectrulesreviews"] });
    expect(out.status.nonResourceRules).toContainEqual({ verbs: ["get"], nonResourceURLs: ["/healthz", "/livez", "/readyz", "/version", "/version/"] });
    const elsewhere = answerReview(info, "POST", { spec: { namespace: "other" } }, jane, now, authz) as { status: { resourceRules: { resources: string[] }[] } };
    expect(elsewhere.status.resourceRules.some((r) => r.resources.includes("pods"))).toBe(false);
    expect(() => answerReview(info, "POST", { spec: {} }, jane, now, authz)).toThrow(/no namespace on request/);
  });

  it("SubjectAccessReview and LocalSubjectAccessReview ask about another user", () => {
    const sar = req("/apis/authorization.k8s.io/v1/subjectaccessreviews");
    const spec = { user: "jane", groups: ["system:authenticated"], resourceAttributes: { verb: "get", resource: "pods", namespace: "default", name: "web" } };
    expect(answerReview(sar, "POST", { spec }, admin, now, authz)).toMatchObject({ kind: "SubjectAccessReview", status: { allowed: true } });
    expect(answerReview(sar, "POST", { spec: { ...spec, user: "joe" } }, admin, now, authz)).toMatchObject({ status: { allowed: false } });
    expect(() => answerReview(sar, "POST", { spec: { resourceAttributes: spec.resourceAttributes } }, admin, now, authz)).toThrow(/at least one of user or group must be specified/);
    const local = req("/apis/authorization.k8s.io/v1/namespaces/default/localsubjectaccessreviews");
    expect(isReview(local)).toBe(true);
    expect(answerReview(local, "POST", { spec }, admin, now, authz)).toMatchObject({ kind: "LocalSubjectAccessReview", metadata: { namespace: "default" }, status: { allowed: true } });
    expect(() => answerReview(req("/apis/authorization.k8s.io/v1/namespaces/other/localsubjectaccessreviews"), "POST", { spec }, admin, now, authz)).toThrow(
      "spec.resourceAttributes.namespace must match namespace: other",
    );
  });
});
