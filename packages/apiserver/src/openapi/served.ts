/**
 * The resources whose paths the OpenAPI documents describe. The registry may pass its own
 * declarations instead (any object with these fields fits); this default is the set issue 5 serves.
 */

/** What a document needs to know about one served resource. */
export interface OpenApiResource {
  /** "" for the core group. */
  group: string;
  version: string;
  kind: string;
  /** Lower-case plural (URL segment). */
  plural: string;
  namespaced: boolean;
  /** Served subresources; "status" and "scale" get paths, the others are left out of the documents. */
  subresources?: readonly string[];
  /** Verbs served; defaults to the eight CRUD verbs. */
  verbs?: readonly string[];
  /** Kinds without a built-in definition (custom resources): their definition names and schemas (`$ref`s as `#/definitions/…`). */
  openapi?: { definition: string; listDefinition: string; schemas: Record<string, Record<string, unknown>> };
  /** PATCH does not take strategic merge (custom resources); kubectl apply then sends merge patches. */
  noStrategicMerge?: boolean;
}

const r = (group: string, version: string, kind: string, plural: string, namespaced: boolean, subresources: string[] = [], verbs?: string[]): OpenApiResource =>
  verbs ? { group, version, kind, plural, namespaced, subresources, verbs } : { group, version, kind, plural, namespaced, subresources };

/** The default served set (issue 5). */
export const defaultResources: readonly OpenApiResource[] = [
  r("", "v1", "Namespace", "namespaces", false, ["status"]),
  r("", "v1", "Pod", "pods", true, ["status", "binding", "eviction"]),
  r("", "v1", "Node", "nodes", false, ["status"]),
  r("", "v1", "Service", "services", true, ["status"]),
  r("", "v1", "Endpoints", "endpoints", true),
  r("", "v1", "ConfigMap", "configmaps", true),
  r("", "v1", "Secret", "secrets", true),
  r("", "v1", "Event", "events", true),
  r("", "v1", "ServiceAccount", "serviceaccounts", true, ["token"]),
  r("", "v1", "PersistentVolume", "persistentvolumes", false, ["status"]),
  r("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true, ["status"]),
  r("", "v1", "ReplicationController", "replicationcontrollers", true, ["status", "scale"]),
  r("", "v1", "ResourceQuota", "resourcequotas", true, ["status"]),
  r("", "v1", "LimitRange", "limitranges", true),
  r("", "v1", "PodTemplate", "podtemplates", true),
  r("", "v1", "ComponentStatus", "componentstatuses", false, [], ["get", "list"]),
  r("apps", "v1", "Deployment", "deployments", true, ["status", "scale"]),
  r("apps", "v1", "ReplicaSet", "replicasets", true, ["status", "scale"]),
  r("apps", "v1", "StatefulSet", "statefulsets", true, ["status", "scale"]),
  r("apps", "v1", "DaemonSet", "daemonsets", true, ["status"]),
  r("apps", "v1", "ControllerRevision", "controllerrevisions", true),
  r("batch", "v1", "Job", "jobs", true, ["status"]),
  r("batch", "v1", "CronJob", "cronjobs", true, ["status"]),
  r("networking.k8s.io", "v1", "Ingress", "ingresses", true, ["status"]),
  r("networking.k8s.io", "v1", "IngressClass", "ingressclasses", false),
  r("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true),
  r("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", true, ["status"]),
  r("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", true),
  r("coordination.k8s.io", "v1", "Lease", "leases", true),
  r("storage.k8s.io", "v1", "StorageClass", "storageclasses", false),
  r("events.k8s.io", "v1", "Event", "events", true),
  r("rbac.authorization.k8s.io", "v1", "Role", "roles", true),
  r("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", true),
  r("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", false),
  r("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", false),
];

/** "v1" for core, "apps/v1" otherwise. */
export const groupVersionOf = (res: { group: string; version: string }): string => (res.group ? `${res.group}/${res.version}` : res.version);

/** The OpenAPI v3 path key of a group version: "api/v1", "apis/apps/v1". */
export const v3PathOf = (group: string, version: string): string => (group ? `apis/${group}/${version}` : `api/${version}`);
