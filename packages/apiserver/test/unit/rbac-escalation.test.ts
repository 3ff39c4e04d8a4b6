/** RBAC writes: validation as upstream, and escalation prevention (escalate / bind verbs, cluster-admin for aggregationRule), on the in-memory store. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeObject } from "@kubemu/common";
import { failure, newStore } from "./helpers.js";
import { Authorization } from "../../src/auth/authorization.js";
import type { UserInfo } from "../../src/auth/attributes.js";
import type { ResourceStore } from "../../src/rest/store.js";
import type { ResourceDef } from "../../src/registry/types.js";

const RBAC = "rbac.authorization.k8s.io";
const jane: UserInfo = { name: "jane", groups: ["system:authenticated"] };
let store: ResourceStore;
let def: (g: string, r: string) => ResourceDef;
let authz: Authorization;

async function eventually(fn: () => Promise<void> | void, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

const role = (name: string, rules: unknown[], extra: Record<string, unknown> = {}): KubeObject => ({ metadata: { name }, rules, ...extra });
const binding = (name: string, kind: string, roleName: string, subjects: unknown[] = [{ kind: "User", name: "someone" }]): KubeObject => ({
  metadata: { name },
  roleRef: { apiGroup: RBAC, kind, name: roleName },
  subjects,
});
const asJane = <T>(fn: () => Promise<T>) => authz.runAs(jane, fn);

beforeAll(async () => {
  const s = await newStore();
  store = s.store;
  def = s.def;
  authz = new Authorization(s.ctx, store);
  await authz.reconcileBootstrapPolicy();
  await authz.start();
  for (const name of ["team", "other"]) await store.create(def("", "namespaces"), undefined, { metadata: { name } });
  // jane may manage RBAC objects in "team" (the admin role there) but holds nothing else.
  await store.create(def(RBAC, "rolebindings"), "team", binding("jane-admin", "ClusterRole", "admin", [{ kind: "User", name: "jane" }]));
  await eventually(async () => expect((await store.get(def(RBAC, "clusterroles"), undefined, "admin")).rules).toContainEqual(expect.objectContaining({ resources: ["rolebindings", "roles"] })));
  await eventually(() => expect(authz.authorize(jane, { kind: "resource", verb: "create", group: RBAC, resource: "roles", namespace: "team" }).decision).toBe("allow"));
});

afterAll(async () => {
  await authz.stop();
});

describe("validation", () => {
  it("refuses rules without verbs, resources without groups, URLs in a namespaced Role, and a changed roleRef", async () => {
    const r = await failure(store.create(def(RBAC, "roles"), "team", role("bad", [{ apiGroups: [""], resources: ["pods"] }, { verbs: ["get"], nonResourceURLs: ["/x"] }, { verbs: ["get"], resources: ["pods"] }])));
    expect(r.status.message).toBe(
      'Role.rbac.authorization.k8s.io "bad" is invalid: [rules[0].verbs: Required value: verbs must contain at least one value, rules[1].nonResourceURLs: Invalid value: ["/x"]: namespaced rules cannot apply to non-resource URLs, rules[2].apiGroups: Required value: resource rules must supply at least one api group]',
    );
    const b = await failure(store.create(def(RBAC, "clusterrolebindings"), undefined, binding("bad", "Role", "x", [{ kind: "ServiceAccount", name: "sa" }, { kind: "Robot", name: "r" }])));
    expect(b.status.message).toContain('roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"');
    expect(b.status.message).toContain("subjects[0].namespace: Required value");
    expect(b.status.message).toContain('subjects[1].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"');
    // Unknown verbs and missing roles are accepted: they grant nothing.
    await store.create(def(RBAC, "clusterroles"), undefined, role("odd", [{ verbs: ["fly"], apiGroups: [""], resources: ["pods"] }]));
    const created = await store.create(def(RBAC, "clusterrolebindings"), undefined, binding("to-nothing", "ClusterRole", "missing", [{ kind: "User", name: "x" }]));
    expect(created.subjects).toEqual([{ kind: "User", name: "x", apiGroup: RBAC }]);
    const moved = await failure(store.update(def(RBAC, "clusterrolebindings"), undefined, "to-nothing", { ...created, roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: "view" } }));
    expect(moved.status.message).toContain('roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"view"}: cannot change roleRef');
  });
});

describe("escalation prevention", () => {
  it("lets a user write roles with rules she holds, and refuses more, in upstream's words", async () => {
    await asJane(() => store.create(def(RBAC, "roles"), "team", role("pod-reader", [{ verbs: ["get", "list"], apiGroups: [""], resources: ["pods"] }])));
    const e = await failure(asJane(() => store.create(def(RBAC, "roles"), "team", role("quota-editor", [{ verbs: ["update", "delete"], apiGroups: [""], resources: ["resourcequotas", "pods"] }]))));
    expect(e.status).toMatchObject({ code: 403, reason: "Forbidden" });
    expect(e.status.message).toBe(
      'roles.rbac.authorization.k8s.io "quota-editor" is forbidden: user "jane" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["resourcequotas"], Verbs:["update" "delete"]}',
    );
    // Outside her namespace she holds nothing.
    expect((await failure(asJane(() => store.create(def(RBAC, "roles"), "other", role("pod-reader", [{ verbs: ["get"], apiGroups: [""], resources: ["pods"] }]))))).status.code).toBe(403);
    // The API server's own writes (no request scope) and system:masters are exempt.
    await store.create(def(RBAC, "roles"), "other", role("anything", [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }]));
  });

  it("lets a user bind only roles she holds, or those she may bind", async () => {
    await asJane(() => store.create(def(RBAC, "rolebindings"), "team", binding("give-view", "ClusterRole", "view")));
    const e = await failure(asJane(() => store.create(def(RBAC, "rolebindings"), "team", binding("give-root", "ClusterRole", "cluster-admin"))));
    expect(e.status.message).toMatch(/^rolebindings\.rbac\.authorization\.k8s\.io "give-root" is forbidden: user "jane" \(groups=\["system:authenticated"\]\) is attempting to grant RBAC permissions not currently held:\n/);
    const missing = await failure(asJane(() => store.create(def(RBAC, "rolebindings"), "team", binding("give-ghost", "ClusterRole", "ghost"))));
    expect(missing.status.message).toBe('rolebindings.rbac.authorization.k8s.io "give-ghost" is forbidden: clusterrole.rbac.authorization.k8s.io "ghost" not found');
    // With the bind verb on cluster-admin (in team), she may.
    await store.create(def(RBAC, "clusterroles"), undefined, role("binder", [{ verbs: ["bind"], apiGroups: [RBAC], resources: ["clusterroles"], resourceNames: ["cluster-admin"] }]));
    await store.create(def(RBAC, "rolebindings"), "team", binding("jane-binder", "ClusterRole", "binder", [{ kind: "User", name: "jane" }]));
    await eventually(() => asJane(() => store.create(def(RBAC, "rolebindings"), "team", binding("give-root", "ClusterRole", "cluster-admin"))).then(() => undefined));
  });

  it("takes the escalate verb to write rules one lacks, and cluster-admin's authority for an aggregationRule", async () => {
    await store.create(def(RBAC, "clusterroles"), undefined, role("escalator", [{ verbs: ["escalate", "create", "update", "get"], apiGroups: [RBAC], resources: ["clusterroles"] }]));
    await store.create(def(RBAC, "clusterrolebindings"), undefined, binding("jane-escalator", "ClusterRole", "escalator", [{ kind: "User", name: "jane" }]));
    await eventually(() => asJane(() => store.create(def(RBAC, "clusterroles"), undefined, role("powerful", [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }]))).then(() => undefined));
    const agg = await failure(
      authz.runAs({ name: "bob", groups: ["system:authenticated"] }, () =>
        store.create(def(RBAC, "clusterroles"), undefined, role("agg", [], { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { a: "b" } }] } })),
      ),
    );
    expect(agg.status.message).toContain('clusterroles.rbac.authorization.k8s.io "agg" is forbidden');
  });
});
