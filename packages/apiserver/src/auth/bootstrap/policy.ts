/**
 * The whole bootstrap policy: upstream's default roles and bindings plus kubemu's addition,
 * named `kubemu:*` so it is never mistaken for upstream's:
 *
 * - `kubemu:kube-controller-manager:controllers`: kubemu's controller-manager runs every
 *   controller with its own identity (`system:kube-controller-manager`), as kube-controller-manager
 *   does without --use-service-account-credentials; upstream's system:kube-controller-manager role
 *   only covers the shared informers and token work, so this role holds the union of the
 *   `system:controller:*` roles and is bound to that user. (The per-controller roles and their
 *   service-account bindings exist too, exactly as upstream.)
 * - `kubemu:kube-proxy-node-proxy`: in compose mode (every node its own network namespace) a
 *   kube-proxy reaches a pod on another node through that node's kubelet port-forward endpoint
 *   (kube-proxy's --cross-node-via-kubelet), which the kubelet authorizes as nodes/proxy with a
 *   SubjectAccessReview. Upstream's system:node-proxier has no nodes/proxy, so this role grants
 *   system:kube-proxy `get` (the WebSocket upgrade is a GET) and `create` (a SPDY POST) on it.
 *   It is part of the policy in every mode (a local-mode kube-proxy never uses it), so a cluster
 *   reads the same whichever way it was started.
 *
 * Kubelets get their access from the Node authorizer (auth/node/), as upstream: system:node is
 * bound to nobody. An earlier kubemu bound a `kubemu:nodes` role to system:nodes; RETIRED names it
 * so the reconcile deletes it from clusters made before.
 */
import type { KubeObject } from "@kubemu/common";
import { rulesOf, sameRule, type PolicyRule } from "../rules.js";
import { clusterRole, clusterRoleBinding, rule, user } from "./builders.js";
import { clusterRoleBindings, clusterRoles } from "./cluster-roles.js";
import { controllerRoleBindings, controllerRoles } from "./controller-roles.js";
import { namespaceRoleBindings, namespaceRoles } from "./namespace-roles.js";

export const CONTROLLER_MANAGER_UNION_ROLE = "kubemu:kube-controller-manager:controllers";
export const KUBE_PROXY_NODE_PROXY_ROLE = "kubemu:kube-proxy-node-proxy";

/** Cluster roles and bindings earlier kubemu versions made, deleted at reconcile. */
export const RETIRED = { clusterRoles: ["kubemu:nodes"], clusterRoleBindings: ["kubemu:nodes"] };

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
  return {
    clusterRoles: [
      ...roles,
      ...controllers,
      clusterRole(CONTROLLER_MANAGER_UNION_ROLE, unionOf(controllers)),
      clusterRole(KUBE_PROXY_NODE_PROXY_ROLE, [rule("get", "create").groups("").resources("nodes/proxy").build()]),
    ],
    clusterRoleBindings: [
      ...clusterRoleBindings(),
      ...controllerRoleBindings(),
      clusterRoleBinding(CONTROLLER_MANAGER_UNION_ROLE, CONTROLLER_MANAGER_UNION_ROLE, [user("system:kube-controller-manager")]),
      clusterRoleBinding(KUBE_PROXY_NODE_PROXY_ROLE, KUBE_PROXY_NODE_PROXY_ROLE, [user("system:kube-proxy")]),
    ],
    roles: namespaceRoles(),
    roleBindings: namespaceRoleBindings(),
  };
}
