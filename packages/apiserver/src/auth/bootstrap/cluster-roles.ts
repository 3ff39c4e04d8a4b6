/**
 * The default ClusterRoles and ClusterRoleBindings kube-apiserver 1.32 reconciles at start
 * (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go, with the default feature gates),
 * written fresh from upstream's testdata. admin, edit and view are aggregated roles: their rules
 * come from the ClusterRoles labelled `rbac.authorization.k8s.io/aggregate-to-<name>`.
 */
import type { KubeObject } from "@kubemu/common";
import { aggregatedClusterRole, aggregateLabel, clusterRole, clusterRoleBinding, eventsRule, group, READ, READ_WRITE, rule, serviceAccount, user } from "./builders.js";

const core = "";
const apps = "apps";
const authentication = "authentication.k8s.io";
const authorization = "authorization.k8s.io";
const autoscaling = "autoscaling";
const batch = "batch";
const certificates = "certificates.k8s.io";
const coordination = "coordination.k8s.io";
const discovery = "discovery.k8s.io";
const extensions = "extensions";
const networking = "networking.k8s.io";
const node = "node.k8s.io";
const policy = "policy";
const rbac = "rbac.authorization.k8s.io";
const storage = "storage.k8s.io";

/** Verbs that change objects, without the reads (the edit role's writes). */
const WRITE = ["create", "update", "patch", "delete", "deletecollection"];

export const ANONYMOUS_ALLOWED_PATHS = ["/healthz", "/livez", "/readyz", "/version", "/version/"] as const;

function aggregateToAdmin(): KubeObject {
  return clusterRole(
    "system:aggregate-to-admin",
    [rule("create").groups(authorization).resources("localsubjectaccessreviews").build(), rule(...READ_WRITE).groups(rbac).resources("roles", "rolebindings").build()],
    { [aggregateLabel("admin")]: "true" },
  );
}

function aggregateToEdit(): KubeObject {
  return clusterRole(
    "system:aggregate-to-edit",
    [
      // Reads of secrets and of the pod/service subresources that are really writes, kept out of view.
      rule(...READ).groups(core).resources("pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets", "services/proxy").build(),
      rule("impersonate").groups(core).resources("serviceaccounts").build(),
      rule(...WRITE).groups(core).resources("pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward").build(),
      rule("create").groups(core).resources("pods/eviction").build(),
      rule(...WRITE)
        .groups(core)
        .resources("replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services", "services/proxy", "persistentvolumeclaims", "configmaps", "secrets", "events")
        .build(),
      rule("create").groups(core).resources("serviceaccounts/token").build(),
      rule(...WRITE).groups(apps).resources("statefulsets", "statefulsets/scale", "daemonsets", "deployments", "deployments/scale", "deployments/rollback", "replicasets", "replicasets/scale").build(),
      rule(...WRITE).groups(autoscaling).resources("horizontalpodautoscalers").build(),
      rule(...WRITE).groups(batch).resources("jobs", "cronjobs").build(),
      rule(...WRITE)
        .groups(extensions)
        .resources("daemonsets", "deployments", "deployments/scale", "deployments/rollback", "ingresses", "replicasets", "replicasets/scale", "replicationcontrollers/scale", "networkpolicies")
        .build(),
      rule(...WRITE).groups(policy).resources("poddisruptionbudgets").build(),
      rule(...WRITE).groups(networking).resources("ingresses", "networkpolicies").build(),
      rule(...READ_WRITE).groups(coordination).resources("leases").build(),
    ],
    { [aggregateLabel("edit")]: "true" },
  );
}

function aggregateToView(): KubeObject {
  return clusterRole(
    "system:aggregate-to-view",
    [
      rule(...READ)
        .groups(core)
        .resources("pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services", "services/status", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "configmaps")
        .build(),
      rule(...READ)
        .groups(core)
        .resources("limitranges", "resourcequotas", "bindings", "events", "pods/status", "resourcequotas/status", "namespaces/status", "replicationcontrollers/status", "pods/log")
        .build(),
      // Reading namespaces in a namespace (a RoleBinding) means reading that namespace: a hint of where one has access.
      rule(...READ).groups(core).resources("namespaces").build(),
      rule(...READ).groups(discovery).resources("endpointslices").build(),
      rule(...READ)
        .groups(apps)
        .resources("controllerrevisions", "statefulsets", "statefulsets/status", "statefulsets/scale", "daemonsets", "daemonsets/status", "deployments", "deployments/status", "deployments/scale", "replicasets", "replicasets/status", "replicasets/scale")
        .build(),
      rule(...READ).groups(autoscaling).resources("horizontalpodautoscalers", "horizontalpodautoscalers/status").build(),
      rule(...READ).groups(batch).resources("jobs", "cronjobs", "cronjobs/status", "jobs/status").build(),
      rule(...READ)
        .groups(extensions)
        .resources("daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status", "ingresses", "ingresses/status", "replicasets", "replicasets/scale", "replicasets/status", "replicationcontrollers/scale", "networkpolicies")
        .build(),
      rule(...READ).groups(policy).resources("poddisruptionbudgets", "poddisruptionbudgets/status").build(),
      rule(...READ).groups(networking).resources("ingresses", "ingresses/status", "networkpolicies").build(),
    ],
    { [aggregateLabel("view")]: "true" },
  );
}

const leaderLease = (name: string) => [rule("create").groups(coordination).resources("leases").build(), rule("get", "update").groups(coordination).resources("leases").names(name).build()];
const reviews = () => [rule("create").groups(authentication).resources("tokenreviews").build(), rule("create").groups(authorization).resources("subjectaccessreviews").build()];

function kubeScheduler(): KubeObject {
  return clusterRole("system:kube-scheduler", [
    eventsRule(),
    ...leaderLease("kube-scheduler"),
    rule(...READ).groups(core).resources("nodes").build(),
    rule("get", "list", "watch", "delete").groups(core).resources("pods").build(),
    rule("create").groups(core).resources("pods/binding", "bindings").build(),
    rule("patch", "update").groups(core).resources("pods/status").build(),
    // Spreading and affinity read what owns the pods.
    rule(...READ).groups(core).resources("replicationcontrollers", "services").build(),
    rule(...READ).groups(apps, extensions).resources("replicasets").build(),
    rule(...READ).groups(apps).resources("statefulsets").build(),
    rule(...READ).groups(policy).resources("poddisruptionbudgets").build(),
    rule(...READ).groups(core).resources("persistentvolumeclaims", "persistentvolumes").build(),
    ...reviews(),
    rule(...READ).groups(storage).resources("csinodes").build(),
    rule(...READ).groups(core).resources("namespaces").build(),
    rule(...READ).groups(storage).resources("csidrivers").build(),
    rule(...READ).groups(storage).resources("csistoragecapacities").build(),
  ]);
}

function kubeControllerManager(): KubeObject {
  return clusterRole("system:kube-controller-manager", [
    eventsRule(),
    ...leaderLease("kube-controller-manager"),
    // What it needs to make the per-controller service accounts and their tokens.
    rule("create").groups(core).resources("secrets", "serviceaccounts").build(),
    rule("delete").groups(core).resources("secrets").build(),
    rule("get").groups(core).resources("namespaces", "secrets", "serviceaccounts", "configmaps").build(),
    rule("update").groups(core).resources("secrets", "serviceaccounts").build(),
    ...reviews(),
    // The shared informers of every controller.
    rule("list", "watch").groups("*").resources("*").build(),
    rule("create").groups(core).resources("serviceaccounts/token").build(),
  ]);
}

function nodeRole(): KubeObject {
  return clusterRole("system:node", [
    // Checks of API access; these creates change nothing.
    rule("create").groups(authentication).resources("tokenreviews").build(),
    rule("create").groups(authorization).resources("subjectaccessreviews", "localsubjectaccessreviews").build(),
    // Service environment variables of pods.
    rule(...READ).groups(core).resources("services").build(),
    // Registering and updating its Node (the Node authorizer and NodeRestriction narrow these to its own).
    rule("create", "get", "list", "watch").groups(core).resources("nodes").build(),
    rule("update", "patch").groups(core).resources("nodes/status").build(),
    rule("update", "patch").groups(core).resources("nodes").build(),
    rule("create", "update", "patch").groups(core).resources("events").build(),
    rule(...READ).groups(core).resources("pods").build(),
    // Mirror pods.
    rule("create", "delete").groups(core).resources("pods").build(),
    rule("update", "patch").groups(core).resources("pods/status").build(),
    rule("create").groups(core).resources("pods/eviction").build(),
    // Secret and configMap volumes and env sources, image pull secrets.
    rule(...READ).groups(core).resources("secrets", "configmaps").build(),
    rule("get").groups(core).resources("persistentvolumeclaims", "persistentvolumes").build(),
    rule("get").groups(core).resources("endpoints").build(),
    rule("create", "get", "list", "watch").groups(certificates).resources("certificatesigningrequests").build(),
    rule("get", "create", "update", "patch", "delete").groups(coordination).resources("leases").build(),
    rule("get").groups(storage).resources("volumeattachments").build(),
    rule("create").groups(core).resources("serviceaccounts/token").build(),
    rule("get", "update", "patch").groups(core).resources("persistentvolumeclaims/status").build(),
    rule(...READ).groups(storage).resources("csidrivers").build(),
    rule("get", "create", "update", "patch", "delete").groups(storage).resources("csinodes").build(),
    rule(...READ).groups(node).resources("runtimeclasses").build(),
  ]);
}

const approver = (signer: string) => clusterRole(`system:certificates.k8s.io:${signer.replace(/^kubernetes\.io\//, "")}-approver`, [rule("approve").groups(certificates).resources("signers").names(signer).build()]);

export function clusterRoles(): KubeObject[] {
  return [
    // The root role: anything at all.
    clusterRole("cluster-admin", [rule("*").groups("*").resources("*").build(), rule("*").urls("*").build()]),
    // Enough to discover API versions and negotiate with the server.
    clusterRole("system:discovery", [rule("get").urls("/healthz", "/version", "/version/", "/openapi", "/openapi/*", "/api", "/api/*", "/apis", "/apis/*", "/livez", "/readyz").build()]),
    clusterRole("system:monitoring", [rule("get").urls("/metrics", "/metrics/slis", "/livez", "/readyz", "/healthz", "/livez/*", "/readyz/*", "/healthz/*").build()]),
    // What anyone, signed in or not, may read about the server.
    clusterRole("system:public-info-viewer", [rule("get").urls(...ANONYMOUS_ALLOWED_PATHS).build()]),
    // Learning about oneself.
    clusterRole("system:basic-user", [
      rule("create").groups(authorization).resources("selfsubjectaccessreviews", "selfsubjectrulesreviews").build(),
      rule("create").groups(authentication).resources("selfsubjectreviews").build(),
    ]),
    aggregatedClusterRole("admin", "admin"),
    aggregatedClusterRole("edit", "edit", { [aggregateLabel("admin")]: "true" }),
    aggregatedClusterRole("view", "view", { [aggregateLabel("edit")]: "true" }),
    aggregateToAdmin(),
    aggregateToEdit(),
    aggregateToView(),
    // Not bootstrap policy upstream but metrics-server's own manifest: kubemu serves metrics.k8s.io itself, so whoever may view may use kubectl top.
    clusterRole("system:aggregated-metrics-reader", [rule(...READ).groups("metrics.k8s.io").resources("pods", "nodes").build()], {
      [aggregateLabel("admin")]: "true",
      [aggregateLabel("edit")]: "true",
      [aggregateLabel("view")]: "true",
    }),
    clusterRole("system:heapster", [rule(...READ).groups(core).resources("events", "pods", "nodes", "namespaces").build(), rule(...READ).groups(extensions).resources("deployments").build()]),
    nodeRole(),
    clusterRole("system:node-problem-detector", [rule("get").groups(core).resources("nodes").build(), rule("patch").groups(core).resources("nodes/status").build(), eventsRule()]),
    clusterRole("system:kubelet-api-admin", [
      rule(...READ).groups(core).resources("nodes").build(),
      rule("proxy").groups(core).resources("nodes").build(),
      rule("*").groups(core).resources("nodes/proxy", "nodes/metrics", "nodes/stats", "nodes/log").build(),
    ]),
    clusterRole("system:node-bootstrapper", [rule("create", "get", "list", "watch").groups(certificates).resources("certificatesigningrequests").build()]),
    clusterRole("system:auth-delegator", reviews()),
    clusterRole("system:kube-aggregator", [rule(...READ).groups(core).resources("services", "endpoints").build()]),
    kubeControllerManager(),
    kubeScheduler(),
    clusterRole("system:kube-dns", [rule("list", "watch").groups(core).resources("endpoints", "services").build()]),
    clusterRole("system:persistent-volume-provisioner", [
      rule("get", "list", "watch", "create", "delete").groups(core).resources("persistentvolumes").build(),
      rule("get", "list", "watch", "update").groups(core).resources("persistentvolumeclaims").build(),
      rule(...READ).groups(storage).resources("storageclasses").build(),
      rule("watch").groups(core).resources("events").build(),
      eventsRule(),
    ]),
    clusterRole("system:certificates.k8s.io:certificatesigningrequests:nodeclient", [rule("create").groups(certificates).resources("certificatesigningrequests/nodeclient").build()]),
    clusterRole("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", [rule("create").groups(certificates).resources("certificatesigningrequests/selfnodeclient").build()]),
    approver("kubernetes.io/kube-apiserver-client"),
    approver("kubernetes.io/kube-apiserver-client-kubelet"),
    approver("kubernetes.io/kubelet-serving"),
    approver("kubernetes.io/legacy-unknown"),
    clusterRole("system:volume-scheduler", [
      rule("get", "list", "watch", "update", "patch").groups(core).resources("persistentvolumes").build(),
      rule(...READ).groups(storage).resources("storageclasses").build(),
      rule("get", "list", "watch", "update", "patch").groups(core).resources("persistentvolumeclaims").build(),
    ]),
    clusterRole("system:node-proxier", [
      rule("list", "watch").groups(core).resources("services", "endpoints").build(),
      rule(...READ).groups(core).resources("nodes").build(),
      eventsRule(),
      rule("list", "watch").groups(discovery).resources("endpointslices").build(),
    ]),
    clusterRole("system:service-account-issuer-discovery", [rule("get").urls("/.well-known/openid-configuration", "/openid/v1/jwks").build()]),
  ];
}

export function clusterRoleBindings(): KubeObject[] {
  return [
    clusterRoleBinding("cluster-admin", "cluster-admin", [group("system:masters")]),
    clusterRoleBinding("system:monitoring", "system:monitoring", [group("system:monitoring")]),
    clusterRoleBinding("system:discovery", "system:discovery", [group("system:authenticated")]),
    clusterRoleBinding("system:basic-user", "system:basic-user", [group("system:authenticated")]),
    clusterRoleBinding("system:public-info-viewer", "system:public-info-viewer", [group("system:authenticated"), group("system:unauthenticated")]),
    // Bound to nobody since the Node authorizer took over nodes' access (kept so an old policy's
    // subjects are not lost).
    clusterRoleBinding("system:node", "system:node", []),
    clusterRoleBinding("system:node-proxier", "system:node-proxier", [user("system:kube-proxy")]),
    clusterRoleBinding("system:kube-controller-manager", "system:kube-controller-manager", [user("system:kube-controller-manager")]),
    clusterRoleBinding("system:kube-dns", "system:kube-dns", [serviceAccount("kube-system", "kube-dns")]),
    clusterRoleBinding("system:kube-scheduler", "system:kube-scheduler", [user("system:kube-scheduler")]),
    clusterRoleBinding("system:volume-scheduler", "system:volume-scheduler", [user("system:kube-scheduler")]),
    clusterRoleBinding("system:service-account-issuer-discovery", "system:service-account-issuer-discovery", [group("system:serviceaccounts")]),
  ];
}
