/**
 * The `system:controller:<name>` ClusterRoles of kube-controller-manager's controllers and their
 * bindings to the service accounts `kube-system/<name>` it runs them as with
 * --use-service-account-credentials (upstream's bootstrappolicy/controller_policy.go, default
 * feature gates of 1.32: no dynamic resource allocation, no ServiceCIDR or SELinux controllers).
 */
import type { KubeObject } from "@kubemu/common";
import type { PolicyRule } from "../rules.js";
import { clusterRole, clusterRoleBinding, eventsRule, READ, rule, serviceAccount } from "./builders.js";

const core = "";
const apps = "apps";
const extensions = "extensions";
const batch = "batch";

export const CONTROLLER_ROLE_PREFIX = "system:controller:";

/** name → rules (events are added to every controller that records them, as upstream). */
function controllerRules(): [string, PolicyRule[]][] {
  return [
    [
      "attachdetach-controller",
      [
        rule("list", "watch").groups(core).resources("persistentvolumes", "persistentvolumeclaims").build(),
        rule(...READ).groups(core).resources("nodes").build(),
        rule("patch", "update").groups(core).resources("nodes/status").build(),
        rule("list", "watch").groups(core).resources("pods").build(),
        eventsRule(),
        rule("get", "create", "delete", "list", "watch").groups("storage.k8s.io").resources("volumeattachments").build(),
        rule(...READ).groups("storage.k8s.io").resources("csidrivers").build(),
        rule(...READ).groups("storage.k8s.io").resources("csinodes").build(),
      ],
    ],
    [
      "certificate-controller",
      [
        rule("get", "list", "watch", "delete").groups("certificates.k8s.io").resources("certificatesigningrequests").build(),
        rule("update").groups("certificates.k8s.io").resources("certificatesigningrequests/status", "certificatesigningrequests/approval").build(),
        rule("approve").groups("certificates.k8s.io").resources("signers").names("kubernetes.io/kube-apiserver-client-kubelet").build(),
        rule("sign")
          .groups("certificates.k8s.io")
          .resources("signers")
          .names("kubernetes.io/kube-apiserver-client", "kubernetes.io/kube-apiserver-client-kubelet", "kubernetes.io/kubelet-serving", "kubernetes.io/legacy-unknown")
          .build(),
        rule("create").groups("authorization.k8s.io").resources("subjectaccessreviews").build(),
        eventsRule(),
      ],
    ],
    // Needs escalate: it writes rules it does not hold itself.
    ["clusterrole-aggregation-controller", [rule("escalate", "get", "list", "watch", "update", "patch").groups("rbac.authorization.k8s.io").resources("clusterroles").build()]],
    [
      "cronjob-controller",
      [
        rule("get", "list", "watch", "update").groups(batch).resources("cronjobs").build(),
        rule("get", "list", "watch", "create", "update", "delete", "patch").groups(batch).resources("jobs").build(),
        rule("update").groups(batch).resources("cronjobs/status").build(),
        rule("update").groups(batch).resources("cronjobs/finalizers").build(),
        rule("list", "watch", "delete").groups(core).resources("pods").build(),
        eventsRule(),
      ],
    ],
    [
      "daemon-set-controller",
      [
        rule(...READ).groups(apps, extensions).resources("daemonsets").build(),
        rule("update").groups(apps, extensions).resources("daemonsets/status").build(),
        rule("update").groups(apps, extensions).resources("daemonsets/finalizers").build(),
        rule("list", "watch").groups(core).resources("nodes").build(),
        rule("list", "watch", "create", "delete", "patch").groups(core).resources("pods").build(),
        rule("create").groups(core).resources("pods/binding").build(),
        rule("get", "list", "watch", "create", "delete", "update", "patch").groups(apps).resources("controllerrevisions").build(),
        eventsRule(),
      ],
    ],
    [
      "deployment-controller",
      [
        rule("get", "list", "watch", "update").groups(apps, extensions).resources("deployments").build(),
        rule("update").groups(apps, extensions).resources("deployments/status").build(),
        rule("update").groups(apps, extensions).resources("deployments/finalizers").build(),
        rule("get", "list", "watch", "create", "update", "patch", "delete").groups(apps, extensions).resources("replicasets").build(),
        // Only to relabel old pods; upstream plans to remove it.
        rule("get", "list", "watch", "update").groups(core).resources("pods").build(),
        eventsRule(),
      ],
    ],
    [
      "disruption-controller",
      [
        rule(...READ).groups(apps, extensions).resources("deployments").build(),
        rule(...READ).groups(apps, extensions).resources("replicasets").build(),
        rule(...READ).groups(core).resources("replicationcontrollers").build(),
        rule(...READ).groups("policy").resources("poddisruptionbudgets").build(),
        rule(...READ).groups(apps).resources("statefulsets").build(),
        rule("update").groups("policy").resources("poddisruptionbudgets/status").build(),
        rule("patch", "update").groups(core).resources("pods/status").build(),
        rule("get").groups("*").resources("*/scale").build(),
        eventsRule(),
      ],
    ],
    [
      "endpoint-controller",
      [
        rule(...READ).groups(core).resources("services", "pods").build(),
        rule("get", "list", "create", "update", "delete", "watch").groups(core).resources("endpoints").build(),
        rule("create").groups(core).resources("endpoints/restricted").build(),
        eventsRule(),
      ],
    ],
    [
      "endpointslice-controller",
      [
        rule(...READ).groups(core).resources("services", "pods", "nodes").build(),
        // Owner references on slices need the services' finalizers subresource.
        rule("update").groups(core).resources("services/finalizers").build(),
        rule("get", "list", "create", "update", "delete", "watch").groups("discovery.k8s.io").resources("endpointslices").build(),
        eventsRule(),
      ],
    ],
    [
      "endpointslicemirroring-controller",
      [
        rule(...READ).groups(core).resources("services", "endpoints").build(),
        rule("update").groups(core).resources("services/finalizers").build(),
        rule("update").groups(core).resources("endpoints/finalizers").build(),
        rule("get", "list", "create", "update", "delete", "watch").groups("discovery.k8s.io").resources("endpointslices").build(),
        eventsRule(),
      ],
    ],
    [
      "expand-controller",
      [
        rule("get", "list", "watch", "update", "patch").groups(core).resources("persistentvolumes").build(),
        rule("update", "patch").groups(core).resources("persistentvolumeclaims/status").build(),
        rule(...READ).groups(core).resources("persistentvolumeclaims").build(),
        eventsRule(),
      ],
    ],
    [
      "ephemeral-volume-controller",
      [
        rule(...READ).groups(core).resources("pods").build(),
        rule("update").groups(core).resources("pods/finalizers").build(),
        rule("get", "list", "watch", "create").groups(core).resources("persistentvolumeclaims").build(),
        eventsRule(),
      ],
    ],
    ["generic-garbage-collector", [rule("get", "list", "watch", "patch", "update", "delete").groups("*").resources("*").build(), eventsRule()]],
    [
      "horizontal-pod-autoscaler",
      [
        rule(...READ).groups("autoscaling").resources("horizontalpodautoscalers").build(),
        rule("update").groups("autoscaling").resources("horizontalpodautoscalers/status").build(),
        rule("get", "update").groups("*").resources("*/scale").build(),
        rule("list", "watch").groups(core).resources("pods").build(),
        rule("list", "watch").groups("metrics.k8s.io").resources("pods").build(),
        rule(...READ).groups("custom.metrics.k8s.io").resources("*").build(),
        rule(...READ).groups("external.metrics.k8s.io").resources("*").build(),
        eventsRule(),
      ],
    ],
    [
      "job-controller",
      [
        rule("get", "list", "watch", "update", "patch").groups(batch).resources("jobs").build(),
        rule("update").groups(batch).resources("jobs/status").build(),
        rule("update").groups(batch).resources("jobs/finalizers").build(),
        rule("list", "watch", "create", "delete", "patch").groups(core).resources("pods").build(),
        eventsRule(),
      ],
    ],
    [
      "legacy-service-account-token-cleaner",
      [rule("get").groups(core).resources("configmaps").names("kube-apiserver-legacy-service-account-token-tracking").build(), rule("delete", "patch").groups(core).resources("secrets").build()],
    ],
    [
      "namespace-controller",
      [
        rule("get", "list", "watch", "delete").groups(core).resources("namespaces").build(),
        rule("update").groups(core).resources("namespaces/finalize", "namespaces/status").build(),
        rule("get", "list", "watch", "delete", "deletecollection").groups("*").resources("*").build(),
      ],
    ],
    [
      "node-controller",
      [
        rule("get", "list", "watch", "update", "patch", "delete").groups(core).resources("nodes").build(),
        rule("patch", "update").groups(core).resources("nodes/status").build(),
        // Marking pods not ready when their node is.
        rule("patch", "update").groups(core).resources("pods/status").build(),
        rule("get", "list", "watch", "delete").groups(core).resources("pods").build(),
        eventsRule(),
      ],
    ],
    [
      "persistent-volume-binder",
      [
        rule("get", "list", "watch", "update", "create", "delete").groups(core).resources("persistentvolumes").build(),
        rule("update").groups(core).resources("persistentvolumes/status").build(),
        rule("get", "list", "watch", "update").groups(core).resources("persistentvolumeclaims").build(),
        rule("update").groups(core).resources("persistentvolumeclaims/status").build(),
        rule("list", "watch", "get", "create", "delete").groups(core).resources("pods").build(),
        rule(...READ).groups("storage.k8s.io").resources("storageclasses").build(),
        rule("list", "watch").groups(core).resources("nodes").build(),
        eventsRule(),
        rule("watch").groups(core).resources("events").build(),
      ],
    ],
    [
      "pod-garbage-collector",
      [rule("list", "watch", "delete").groups(core).resources("pods").build(), rule(...READ).groups(core).resources("nodes").build(), rule("patch").groups(core).resources("pods/status").build()],
    ],
    [
      "replicaset-controller",
      [
        rule("get", "list", "watch", "update").groups(apps, extensions).resources("replicasets").build(),
        rule("update").groups(apps, extensions).resources("replicasets/status").build(),
        rule("update").groups(apps, extensions).resources("replicasets/finalizers").build(),
        rule("list", "watch", "patch", "create", "delete").groups(core).resources("pods").build(),
        eventsRule(),
      ],
    ],
    [
      "replication-controller",
      [
        rule("get", "list", "watch", "update").groups(core).resources("replicationcontrollers").build(),
        rule("update").groups(core).resources("replicationcontrollers/status").build(),
        rule("update").groups(core).resources("replicationcontrollers/finalizers").build(),
        rule("list", "watch", "patch", "create", "delete").groups(core).resources("pods").build(),
        eventsRule(),
      ],
    ],
    ["resourcequota-controller", [rule("list", "watch").groups("*").resources("*").build(), rule("update").groups(core).resources("resourcequotas/status").build(), eventsRule()]],
    ["route-controller", [rule("list", "watch").groups(core).resources("nodes").build(), rule("patch").groups(core).resources("nodes/status").build(), eventsRule()]],
    ["service-account-controller", [rule("create").groups(core).resources("serviceaccounts").build(), eventsRule()]],
    [
      "service-controller",
      [rule(...READ).groups(core).resources("services").build(), rule("patch", "update").groups(core).resources("services/status").build(), rule("list", "watch").groups(core).resources("nodes").build(), eventsRule()],
    ],
    [
      "statefulset-controller",
      [
        rule("list", "watch").groups(core).resources("pods").build(),
        rule(...READ).groups(apps).resources("statefulsets").build(),
        rule("update").groups(apps).resources("statefulsets/status").build(),
        rule("update").groups(apps).resources("statefulsets/finalizers").build(),
        rule("get", "create", "delete", "update", "patch").groups(core).resources("pods").build(),
        rule("get", "create", "delete", "update", "patch", "list", "watch").groups(apps).resources("controllerrevisions").build(),
        rule("get", "create", "list", "watch").groups(core).resources("persistentvolumeclaims").build(),
        // StatefulSetAutoDeletePVC (on by default): the claims' retention policy.
        rule("update", "delete").groups(core).resources("persistentvolumeclaims").build(),
        rule("update").groups(core).resources("pods/finalizers").build(),
        eventsRule(),
      ],
    ],
    ["ttl-controller", [rule("update", "patch", "list", "watch").groups(core).resources("nodes").build(), eventsRule()]],
    ["pvc-protection-controller", [rule("get", "list", "watch", "update").groups(core).resources("persistentvolumeclaims").build(), rule("update").groups(core).resources("persistentvolumeclaims/status").build(), rule(...READ).groups(core).resources("pods").build(), eventsRule()]],
    ["pv-protection-controller", [rule("get", "list", "watch", "update").groups(core).resources("persistentvolumes").build(), eventsRule()]],
    ["ttl-after-finished-controller", [rule("get", "list", "watch", "delete").groups(batch).resources("jobs").build(), eventsRule()]],
    ["root-ca-cert-publisher", [rule("create", "update").groups(core).resources("configmaps").build(), eventsRule()]],
    [
      "validatingadmissionpolicy-status-controller",
      [
        rule(...READ).groups("admissionregistration.k8s.io").resources("validatingadmissionpolicies").build(),
        rule("get", "patch", "update").groups("admissionregistration.k8s.io").resources("validatingadmissionpolicies/status").build(),
        eventsRule(),
      ],
    ],
  ];
}

/** The controllers' ClusterRoles, sorted by name as upstream lists them. */
export function controllerRoles(): KubeObject[] {
  return controllerRules()
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, rules]) => clusterRole(`${CONTROLLER_ROLE_PREFIX}${name}`, rules));
}

/** Each controller's ClusterRoleBinding to its service account in kube-system. */
export function controllerRoleBindings(): KubeObject[] {
  return controllerRoles().map((r) => {
    const name = r.metadata.name!;
    return clusterRoleBinding(name, name, [serviceAccount("kube-system", name.slice(CONTROLLER_ROLE_PREFIX.length))]);
  });
}
