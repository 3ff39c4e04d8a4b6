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
 * - `kubemu:nodes`: binds system:node to the group system:nodes. Upstream binds system:node to
 *   nobody because the Node authorizer grants kubelets their access; kubemu has no Node authorizer
 *   yet, so kubelets on the authenticated port get the role through this binding.
 */
import type { KubeObject } from "@kubemu/common";
import { rulesOf, sameRule, type PolicyRule } from "../rules.js";
import { clusterRole, clusterRoleBinding, group, user } from "./builders.js";
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
  return {
    clusterRoles: [...clusterRoles(), ...controllers, clusterRole(CONTROLLER_MANAGER_UNION_ROLE, unionOf(controllers))],
    clusterRoleBindings: [
      ...clusterRoleBindings(),
      ...controllerRoleBindings(),
      clusterRoleBinding(CONTROLLER_MANAGER_UNION_ROLE, CONTROLLER_MANAGER_UNION_ROLE, [user("system:kube-controller-manager")]),
      clusterRoleBinding(NODES_BINDING, "system:node", [group("system:nodes")]),
    ],
    roles: namespaceRoles(),
    roleBindings: namespaceRoleBindings(),
  };
}
