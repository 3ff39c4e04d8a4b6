/** The rbac/bootstrap-roles reconcile (idempotent, keeps user additions, respects autoupdate "false", recreates a changed roleRef) and ClusterRole aggregation, on the in-memory store. */
import { afterEach, describe, expect, it } from "vitest";
import type { KubeObject } from "@kubemu/common";
import { newStore } from "./helpers.js";
import { reconcileBootstrapPolicy } from "../../src/auth/bootstrap/bootstrap-roles.js";
import { bootstrapPolicy, CONTROLLER_MANAGER_UNION_ROLE, KUBE_PROXY_NODE_PROXY_ROLE } from "../../src/auth/bootstrap/policy.js";
import { reconcileBinding, reconcileRole } from "../../src/auth/bootstrap/reconcile.js";
import { Authorization } from "../../src/auth/authorization.js";
import { resourceAttributes } from "../../src/auth/attributes.js";
import { silentLogger } from "@kubemu/common";

const RBAC = "rbac.authorization.k8s.io";
const stopping: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stopping.splice(0)) await s();
});

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

describe("reconcile (pure)", () => {
  const expected = bootstrapPolicy().clusterRoles.find((r) => r.metadata.name === "system:basic-user")!;

  it("creates what is missing and leaves what matches alone", () => {
    expect(reconcileRole(undefined, expected)).toEqual({ op: "create", object: expected });
    expect(reconcileRole(structuredClone(expected), expected)).toEqual({ op: "none" });
  });

  it("adds missing rules, labels and annotations, never removing a user's additions", () => {
    const stored = structuredClone(expected);
    stored.rules = [{ verbs: ["get"], apiGroups: [""], resources: ["pods"] }];
    stored.metadata.labels = { mine: "yes" };
    stored.metadata.annotations = { "rbac.authorization.kubernetes.io/autoupdate": "true", note: "kept" };
    const r = reconcileRole(stored, expected);
    expect(r.op).toBe("update");
    const out = (r as { object: KubeObject }).object;
    expect(out.rules).toContainEqual({ verbs: ["get"], apiGroups: [""], resources: ["pods"] });
    expect(out.rules).toContainEqual({ verbs: ["create"], apiGroups: ["authentication.k8s.io"], resources: ["selfsubjectreviews"] });
    expect(out.metadata.labels).toEqual({ mine: "yes", "kubernetes.io/bootstrapping": "rbac-defaults" });
    expect(out.metadata.annotations).toMatchObject({ note: "kept" });
    expect(reconcileRole(out, expected)).toEqual({ op: "none" });
  });

  it("leaves roles and bindings annotated autoupdate=false alone", () => {
    const stored = structuredClone(expected);
    stored.rules = [];
    stored.metadata.annotations = { "rbac.authorization.kubernetes.io/autoupdate": "false" };
    expect(reconcileRole(stored, expected)).toEqual({ op: "none" });
  });

  it("adds missing subjects, and recreates a binding whose roleRef changed", () => {
    const want = bootstrapPolicy().clusterRoleBindings.find((b) => b.metadata.name === "system:public-info-viewer")!;
    const stored = structuredClone(want);
    stored.metadata.uid = "u1";
    stored.subjects = [{ kind: "Group", name: "extra" }, { apiGroup: RBAC, kind: "Group", name: "system:authenticated" }];
    const r = reconcileBinding(stored, want);
    expect(r.op).toBe("update");
    expect((r as { object: KubeObject }).object.subjects).toEqual([
      { kind: "Group", name: "extra" },
      { apiGroup: RBAC, kind: "Group", name: "system:authenticated" },
      { apiGroup: RBAC, kind: "Group", name: "system:unauthenticated" },
    ]);
    const moved = { ...structuredClone(want), roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: "view" } };
    moved.metadata.uid = "u2";
    const re = reconcileBinding(moved, want);
    expect(re.op).toBe("recreate");
    expect((re as { object: KubeObject }).object).toMatchObject({ roleRef: want.roleRef, metadata: { name: "system:public-info-viewer" } });
    expect((re as { object: KubeObject }).object.metadata.uid).toBeUndefined();
  });
});

describe("bootstrap-roles hook on a store", () => {
  it("creates the default policy once; running again (or twice at once) changes nothing", async () => {
    const { store, ctx, def } = await newStore();
    await Promise.all([reconcileBootstrapPolicy(store, ctx.registry, silentLogger), reconcileBootstrapPolicy(store, ctx.registry, silentLogger)]);
    const policy = bootstrapPolicy();
    const roles = await store.list(def(RBAC, "clusterroles"), undefined, {});
    expect(roles.items.map((r) => r.metadata.name).sort()).toEqual(policy.clusterRoles.map((r) => r.metadata.name).sort());
    expect((await store.list(def(RBAC, "clusterrolebindings"), undefined, {})).items).toHaveLength(policy.clusterRoleBindings.length);
    expect((await store.list(def(RBAC, "roles"), "kube-system", {})).items.length).toBeGreaterThan(0);
    expect((await store.list(def(RBAC, "rolebindings"), "kube-public", {})).items).toHaveLength(1);
    const admin = roles.items.find((r) => r.metadata.name === "cluster-admin")!;
    expect(admin.metadata).toMatchObject({ labels: { "kubernetes.io/bootstrapping": "rbac-defaults" }, annotations: { "rbac.authorization.kubernetes.io/autoupdate": "true" } });
    const rv = (await store.list(def(RBAC, "clusterroles"), undefined, {})).resourceVersion;
    await reconcileBootstrapPolicy(store, ctx.registry, silentLogger);
    expect((await store.list(def(RBAC, "clusterroles"), undefined, {})).resourceVersion).toBe(rv);
  });

  it("restores rules removed from a default role and keeps a user's added rule", async () => {
    const { store, ctx, def } = await newStore();
    await reconcileBootstrapPolicy(store, ctx.registry, silentLogger);
    const d = def(RBAC, "clusterroles");
    const view = await store.get(d, undefined, "system:discovery");
    await store.update(d, undefined, "system:discovery", { ...view, rules: [{ verbs: ["get"], nonResourceURLs: ["/mine"] }] });
    await reconcileBootstrapPolicy(store, ctx.registry, silentLogger);
    const after = await store.get(d, undefined, "system:discovery");
    expect(after.rules).toContainEqual({ verbs: ["get"], nonResourceURLs: ["/mine"] });
    expect(after.rules).toContainEqual({ verbs: ["get"], nonResourceURLs: ["/api"] });
  });

  it("deletes the retired kubemu:nodes role and binding (the Node authorizer grants kubelets their access now)", async () => {
    const { store, ctx, def } = await newStore();
    const meta = { name: "kubemu:nodes" };
    await store.create(def(RBAC, "clusterroles"), undefined, { apiVersion: `${RBAC}/v1`, kind: "ClusterRole", metadata: meta, rules: [{ verbs: ["list"], apiGroups: [""], resources: ["secrets"] }] });
    await store.create(def(RBAC, "clusterrolebindings"), undefined, { apiVersion: `${RBAC}/v1`, kind: "ClusterRoleBinding", metadata: meta, roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: "kubemu:nodes" }, subjects: [{ kind: "Group", apiGroup: RBAC, name: "system:nodes" }] });
    await reconcileBootstrapPolicy(store, ctx.registry, silentLogger);
    const names = async (plural: string) => (await store.list(def(RBAC, plural), undefined, {})).items.map((o) => o.metadata.name);
    expect(await names("clusterroles")).not.toContain("kubemu:nodes");
    expect(await names("clusterrolebindings")).not.toContain("kubemu:nodes");
    expect((await store.get(def(RBAC, "clusterrolebindings"), undefined, "system:node")).subjects ?? []).toEqual([]);
  });

  it("gives the controller-manager user the union of the controller roles", async () => {
    const union = bootstrapPolicy().clusterRoles.find((r) => r.metadata.name === CONTROLLER_MANAGER_UNION_ROLE)!;
    expect(union.rules).toContainEqual({ verbs: ["get", "list", "patch", "update", "watch", "delete"].sort(), apiGroups: ["*"], resources: ["*"] });
  });

  it("gives system:kube-proxy nodes/proxy (compose mode's path through the kubelets) in a role of kubemu's, not in upstream's system:node-proxier", () => {
    const p = bootstrapPolicy();
    expect(p.clusterRoles.find((r) => r.metadata.name === KUBE_PROXY_NODE_PROXY_ROLE)!.rules).toEqual([{ verbs: ["create", "get"], apiGroups: [""], resources: ["nodes/proxy"] }]);
    expect(p.clusterRoleBindings.find((b) => b.metadata.name === KUBE_PROXY_NODE_PROXY_ROLE)).toMatchObject({ roleRef: { name: KUBE_PROXY_NODE_PROXY_ROLE }, subjects: [{ kind: "User", name: "system:kube-proxy" }] });
    expect(JSON.stringify(p.clusterRoles.find((r) => r.metadata.name === "system:node-proxier")!.rules)).not.toContain("nodes/proxy");
  });
});

describe("Authorization on a store", () => {
  it("aggregates admin/edit/view, follows new labelled roles and bindings, and decides from its caches", async () => {
    const { store, ctx, def } = await newStore();
    const authz = new Authorization(ctx, store);
    await authz.reconcileBootstrapPolicy();
    await authz.start();
    stopping.push(() => authz.stop());
    const d = def(RBAC, "clusterroles");
    await eventually(async () => {
      const edit = await store.get(d, undefined, "edit");
      expect(edit.rules).toContainEqual(expect.objectContaining({ resources: expect.arrayContaining(["pods/log"]) })); // from view
      const admin = await store.get(d, undefined, "admin");
      expect(admin.rules).toContainEqual(expect.objectContaining({ resources: ["rolebindings", "roles"] }));
    });

    const jane = { name: "jane", groups: ["system:authenticated"] };
    const listWidgets = resourceAttributes({ verb: "list", group: "example.com", resource: "widgets", namespace: "default" });
    expect(authz.authorize(jane, listWidgets).decision).toBe("noOpinion");
    await store.create(def(RBAC, "rolebindings"), "default", { metadata: { name: "jane-view" }, roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: "view" }, subjects: [{ kind: "User", name: "jane" }] });
    // A new ClusterRole labelled aggregate-to-view extends view (and so edit and admin).
    await store.create(d, undefined, {
      metadata: { name: "widget-viewer", labels: { "rbac.authorization.k8s.io/aggregate-to-view": "true" } },
      rules: [{ verbs: ["get", "list", "watch"], apiGroups: ["example.com"], resources: ["widgets"] }],
    });
    await eventually(() => expect(authz.authorize(jane, listWidgets).decision).toBe("allow"));
    await eventually(async () => expect((await store.get(d, undefined, "admin")).rules).toContainEqual({ verbs: ["get", "list", "watch"], apiGroups: ["example.com"], resources: ["widgets"] }));
    await store.delete(d, undefined, "widget-viewer", {});
    await eventually(() => expect(authz.authorize(jane, listWidgets).decision).toBe("noOpinion"));
  });
});
