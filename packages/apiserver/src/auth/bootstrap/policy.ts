/**
 * The whole bootstrap policy: upstream's default roles and bindings plus kubemu's two additions,
 * both named `kubemu:*` so they are never mistaken for upstream's:
 *
 * - `kubemu:kube-controller-manager:controllers`: kubemu's controller-manager runs every
 *   controller with its own identity (`system:kube-controller-manager`), as kube-controller-manager
 *   does without --use-service-account-credentials; upstream's system:kube-controller-manager role
 *   only covers the shared informers and token work, so this role holds the union of the
 *   `system:controller:*` roles and is bound to that user. (The per-controller roles and their
 *   service-account bindings exist too, exactly as upstream.)
 * - `kubemu:nodes` (ClusterRole and ClusterRoleBinding to the group system:nodes): system:node's
 *   rules, plus list/watch of PersistentVolumes and PersistentVolumeClaims. Upstream binds
 *   system:node to nobody because the Node authorizer grants kubelets their access; kubemu has no
 *   Node authorizer yet, so kubelets (system:node:<node> in system:nodes) get the role's rules
 *   through this binding. The volume reads are there because kubemu's kubelet watches PVs and
 *   PVCs, where upstream's gets each one its pods use by name.
 */
import type { KubeObject } from "@kubemu/common";
import { rulesOf, sameRule, type PolicyRule } from "../rules.js";
import { clusterRole, clusterRoleBinding, group, rule, user } from "./builders.js";
import { clusterRoleBindings, clusterRoles } from "./cluster-roles.js";
import { controllerRoleBindings, controllerRoles } from "./controller-roles.js";
import { namespaceRoleBindings, namespaceRoles } from "./namespace-roles.js";

export const CONTROLLER_MANAGER_UNION_ROLE = "kubemu:kube-controller-manager:controllers";
export const NODES_BINDING = "kubemu:nodes";

export interface BootstrapPolicy {
  clusterRoles: KubeObject[];
  clusterRoleBindings: KubeObject[];
  /** Namespaced (kube-system, kube-public). */
  roles: KubeObject[];
  roleBindings: KubeObject[];
}

function unionOf(roles: KubeObject[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const r of roles.flatMap((x) => rulesOf(x))) if (!out.some((o) => sameRule(o, r))) out.push(r);
  return out;
}

export function bootstrapPolicy(): BootstrapPolicy {
  const controllers = controllerRoles();
  const roles = clusterRoles();
  const nodeRole = roles.find((r) => r.metadata.name === "system:node")!;
  const kubemuNodes = clusterRole(NODES_BINDING, [...rulesOf(nodeRole), rule("list", "watch").groups("").resources("persistentvolumes", "persistentvolumeclaims").build()]);
  return {
    clusterRoles: [...roles, ...controllers, clusterRole(CONTROLLER_MANAGER_UNION_ROLE, unionOf(controllers)), kubemuNodes],
    clusterRoleBindings: [
      ...clusterRoleBindings(),
      ...controllerRoleBindings(),
      clusterRoleBinding(CONTROLLER_MANAGER_UNION_ROLE, CONTROLLER_MANAGER_UNION_ROLE, [user("system:kube-controller-manager")]),
      clusterRoleBinding(NODES_BINDING, NODES_BINDING, [group("system:nodes")]),
    ],
    roles: namespaceRoles(),
    roleBindings: namespaceRoleBindings(),
  };
}
