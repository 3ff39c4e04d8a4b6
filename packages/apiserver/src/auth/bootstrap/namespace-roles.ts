/**
 * The default Roles and RoleBindings in kube-system and kube-public (upstream's
 * bootstrappolicy/namespace_policy.go): leader-election locks for the scheduler and
 * controller-manager, the authentication ConfigMap reader, the bootstrap-token controllers.
 */
import type { KubeObject } from "@kubemu/common";
import { eventsRule, READ, role, roleBinding, rule, serviceAccount, user } from "./builders.js";

const leaseLock = () => [
  rule("watch", "create", "update", "get", "list").groups("coordination.k8s.io").resources("leases").build(),
  rule("watch", "create", "update", "get", "list").groups("coordination.k8s.io").resources("leasecandidates").build(),
];

export function namespaceRoles(): KubeObject[] {
  return [
    role("kube-system", "extension-apiserver-authentication-reader", [rule(...READ).groups("").resources("configmaps").names("extension-apiserver-authentication").build()]),
    role("kube-system", "system::leader-locking-kube-controller-manager", leaseLock()),
    role("kube-system", "system::leader-locking-kube-scheduler", leaseLock()),
    role("kube-system", "system:controller:bootstrap-signer", [rule(...READ).groups("").resources("secrets").build()]),
    role("kube-system", "system:controller:cloud-provider", [rule("create", "get", "list", "watch").groups("").resources("configmaps").build()]),
    role("kube-system", "system:controller:token-cleaner", [rule("delete", "get", "list", "watch").groups("").resources("secrets").build(), eventsRule()]),
    role("kube-public", "system:controller:bootstrap-signer", [
      rule(...READ).groups("").resources("configmaps").build(),
      rule("update").groups("").resources("configmaps").names("cluster-info").build(),
      eventsRule(),
    ]),
  ];
}

export function namespaceRoleBindings(): KubeObject[] {
  return [
    roleBinding("kube-system", "system::extension-apiserver-authentication-reader", "extension-apiserver-authentication-reader", [user("system:kube-controller-manager"), user("system:kube-scheduler")]),
    roleBinding("kube-system", "system::leader-locking-kube-controller-manager", "system::leader-locking-kube-controller-manager", [
      user("system:kube-controller-manager"),
      serviceAccount("kube-system", "kube-controller-manager"),
      serviceAccount("kube-system", "leader-election-controller"),
    ]),
    roleBinding("kube-system", "system::leader-locking-kube-scheduler", "system::leader-locking-kube-scheduler", [user("system:kube-scheduler"), serviceAccount("kube-system", "kube-scheduler")]),
    roleBinding("kube-system", "system:controller:bootstrap-signer", "system:controller:bootstrap-signer", [serviceAccount("kube-system", "bootstrap-signer")]),
    roleBinding("kube-system", "system:controller:cloud-provider", "system:controller:cloud-provider", [serviceAccount("kube-system", "cloud-provider")]),
    roleBinding("kube-system", "system:controller:token-cleaner", "system:controller:token-cleaner", [serviceAccount("kube-system", "token-cleaner")]),
    roleBinding("kube-public", "system:controller:bootstrap-signer", "system:controller:bootstrap-signer", [serviceAccount("kube-system", "bootstrap-signer")]),
  ];
}
