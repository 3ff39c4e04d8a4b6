/**
 * Upstream's `rbac/bootstrap-roles` post-start hook: at every API server start, the default
 * roles and bindings are reconciled into the store (see reconcile.ts). Both API servers run it
 * at once; every write is a create (AlreadyExists: read again) or an update at the read
 * resourceVersion (Conflict: read again), so they converge.
 */
import { isAlreadyExists, isConflict, isNotFound, type KubeObject } from "@kubemu/common";
import type { Logger } from "pino";
import type { ResourceStore } from "../../rest/store.js";
import type { Registry } from "../../registry/registry.js";
import type { ResourceDef } from "../../registry/types.js";
import { RBAC_GROUP } from "../rbac.js";
import { bootstrapPolicy, RETIRED } from "./policy.js";
import { reconcileBinding, reconcileRole, type Reconciled } from "./reconcile.js";

const FIELD_MANAGER = "kube-apiserver";
const ATTEMPTS = 5;

/** Reconciles the whole bootstrap policy; throws on the first object that cannot be (the caller retries). */
export async function reconcileBootstrapPolicy(store: ResourceStore, registry: Registry, log: Logger): Promise<void> {
  const policy = bootstrapPolicy();
  const def = (plural: string): ResourceDef => {
    const d = registry.lookup(RBAC_GROUP, "v1", plural);
    if (!d) throw new Error(`${plural}.${RBAC_GROUP} is not served`);
    return d;
  };
  const kinds: [string, KubeObject[], Reconcile][] = [
    ["clusterroles", policy.clusterRoles, reconcileRole],
    ["clusterrolebindings", policy.clusterRoleBindings, reconcileBinding],
    ["roles", policy.roles, reconcileRole],
    ["rolebindings", policy.roleBindings, reconcileBinding],
  ];
  for (const [plural, objects, reconcile] of kinds) {
    // One list per kind: on a restart nearly everything is in place, so nothing more is read.
    const d = def(plural);
    const stored = new Map((await store.list(d, undefined, {})).items.map((o) => [key(o), o]));
    for (const o of objects) await reconcileOne(store, d, o, stored.get(key(o)), reconcile, log);
    for (const name of (RETIRED as Record<string, string[]>)[plural === "clusterroles" ? "clusterRoles" : plural === "clusterrolebindings" ? "clusterRoleBindings" : ""] ?? []) {
      if (!stored.has(`/${name}`)) continue;
      try {
        await store.delete(d, undefined, name, {});
        log.info({ object: `${d.singular}.${RBAC_GROUP}/${name}` }, "deleted a retired kubemu RBAC object");
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }
}

type Reconcile = (existing: KubeObject | undefined, expected: KubeObject) => Reconciled;
const key = (o: KubeObject) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;

async function reconcileOne(store: ResourceStore, def: ResourceDef, expected: KubeObject, listed: KubeObject | undefined, reconcile: Reconcile, log: Logger): Promise<void> {
  const ns = expected.metadata.namespace;
  const name = expected.metadata.name!;
  const what = `${def.singular}.${RBAC_GROUP}/${name}${ns ? ` in ${ns}` : ""}`;
  for (let attempt = 1; ; attempt++) {
    let existing: KubeObject | undefined = listed;
    if (attempt > 1) {
      existing = undefined;
      try {
        existing = await store.get(def, ns, name);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    const r = reconcile(existing, expected);
    try {
      switch (r.op) {
        case "none":
          return;
        case "create":
          await store.create(def, ns, r.object, { fieldManager: FIELD_MANAGER });
          log.info({ object: what }, "created default RBAC object");
          return;
        case "update":
          await store.update(def, ns, name, r.object, { fieldManager: FIELD_MANAGER });
          log.info({ object: what, added: r.added }, "updated default RBAC object with what it was missing");
          return;
        case "recreate":
          await store.delete(def, ns, name, { preconditions: { uid: existing!.metadata.uid!, resourceVersion: existing!.metadata.resourceVersion! } });
          await store.create(def, ns, r.object, { fieldManager: FIELD_MANAGER });
          log.info({ object: what }, "recreated default RBAC binding with the expected roleRef");
          return;
      }
    } catch (e) {
      // Another API server reconciled it meanwhile: look again.
      if (attempt < ATTEMPTS && (isAlreadyExists(e) || isConflict(e) || isNotFound(e))) continue;
      throw e;
    }
  }
}
