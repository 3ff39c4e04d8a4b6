/**
 * Names of the resources components use, as the wire API addresses them (group, version, plural
 * resource) plus the kind and scope, so callers never spell a resource twice.
 */

/** One served resource. */
export interface ResourceRef {
  /** "" for the core group. */
  readonly group: string;
  readonly version: string;
  /** The plural resource name as in URLs (`pods`). */
  readonly resource: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

const ref = (group: string, version: string, resource: string, kind: string, namespaced = true): ResourceRef =>
  Object.freeze({ group, version, resource, kind, namespaced });

/** The built-in resources components read and write (every served one but componentstatuses and events.k8s.io's view of Events). */
export const Resources = {
  pods: ref("", "v1", "pods", "Pod"),
  nodes: ref("", "v1", "nodes", "Node", false),
  namespaces: ref("", "v1", "namespaces", "Namespace", false),
  services: ref("", "v1", "services", "Service"),
  endpoints: ref("", "v1", "endpoints", "Endpoints"),
  events: ref("", "v1", "events", "Event"),
  configMaps: ref("", "v1", "configmaps", "ConfigMap"),
  secrets: ref("", "v1", "secrets", "Secret"),
  serviceAccounts: ref("", "v1", "serviceaccounts", "ServiceAccount"),
  persistentVolumes: ref("", "v1", "persistentvolumes", "PersistentVolume", false),
  persistentVolumeClaims: ref("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim"),
  replicationControllers: ref("", "v1", "replicationcontrollers", "ReplicationController"),
  leases: ref("coordination.k8s.io", "v1", "leases", "Lease"),
  deployments: ref("apps", "v1", "deployments", "Deployment"),
  replicaSets: ref("apps", "v1", "replicasets", "ReplicaSet"),
  statefulSets: ref("apps", "v1", "statefulsets", "StatefulSet"),
  daemonSets: ref("apps", "v1", "daemonsets", "DaemonSet"),
  controllerRevisions: ref("apps", "v1", "controllerrevisions", "ControllerRevision"),
  jobs: ref("batch", "v1", "jobs", "Job"),
  cronJobs: ref("batch", "v1", "cronjobs", "CronJob"),
  storageClasses: ref("storage.k8s.io", "v1", "storageclasses", "StorageClass", false),
  priorityClasses: ref("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", false),
  podDisruptionBudgets: ref("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget"),
  endpointSlices: ref("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"),
  customResourceDefinitions: ref("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false),
  resourceQuotas: ref("", "v1", "resourcequotas", "ResourceQuota"),
  limitRanges: ref("", "v1", "limitranges", "LimitRange"),
  podTemplates: ref("", "v1", "podtemplates", "PodTemplate"),
  ingresses: ref("networking.k8s.io", "v1", "ingresses", "Ingress"),
  ingressClasses: ref("networking.k8s.io", "v1", "ingressclasses", "IngressClass", false),
  networkPolicies: ref("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy"),
  roles: ref("rbac.authorization.k8s.io", "v1", "roles", "Role"),
  roleBindings: ref("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
  clusterRoles: ref("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false),
  clusterRoleBindings: ref("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false),
} as const;

/** `apps/v1` or `v1`. */
export function apiVersionOf(r: Pick<ResourceRef, "group" | "version">): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** `pods` or `deployments.apps`, as upstream names a resource in messages. */
export function qualifiedName(r: Pick<ResourceRef, "group" | "resource">): string {
  return r.group ? `${r.resource}.${r.group}` : r.resource;
}
