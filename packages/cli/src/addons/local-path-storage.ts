/**
 * The storage kind ships: the local-path-provisioner system pod (namespace local-path-storage, its
 * service account and RBAC, the local-path-config ConfigMap, a one-replica Deployment) and the
 * default StorageClass `standard`. The objects follow kind's manifest: the pod reaches the API as
 * any pod does, with in-cluster config (the kube-api-access-* volume the ServiceAccount admission
 * adds, KUBERNETES_SERVICE_HOST/PORT = the `kubernetes` Service, 127.96.0.1:443, which kube-proxy
 * serves from the EndpointSlice the API servers write).
 */

const NS = "local-path-storage";
const SA = "local-path-provisioner-service-account";
const ROLE = "local-path-provisioner-role";
const LABELS = { app: "local-path-provisioner" };

const CONFIG_JSON = JSON.stringify({ nodePathMap: [{ node: "DEFAULT_PATH_FOR_NON_LISTED_NODES", paths: ["/var/local-path-provisioner"] }] }, null, 2);
const HELPER_POD_YAML = `apiVersion: v1
kind: Pod
metadata:
  name: helper-pod
spec:
  containers:
  - name: helper-pod
    image: docker.io/kindest/local-path-helper:v20230510-486859a6
    imagePullPolicy: IfNotPresent
`;

/** One object and the collection it is created in. */
export interface Addon {
  path: string;
  object: Record<string, unknown> & { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } };
}

/** The objects, in creation order. */
export function localPathStorage(): Addon[] {
  return [
    { path: "/api/v1/namespaces", object: { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } } },
    { path: `/api/v1/namespaces/${NS}/serviceaccounts`, object: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: SA, namespace: NS } } },
    {
      path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles`,
      object: { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: ROLE, namespace: NS }, rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch", "create", "patch", "update", "delete"] }] },
    },
    {
      path: "/apis/rbac.authorization.k8s.io/v1/clusterroles",
      object: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name: ROLE },
        rules: [
          { apiGroups: [""], resources: ["nodes", "persistentvolumeclaims", "configmaps", "pods", "pods/log"], verbs: ["get", "list", "watch"] },
          { apiGroups: [""], resources: ["persistentvolumes"], verbs: ["get", "list", "watch", "create", "patch", "update", "delete"] },
          { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
          { apiGroups: ["storage.k8s.io"], resources: ["storageclasses"], verbs: ["get", "list", "watch"] },
        ],
      },
    },
    {
      path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings`,
      object: { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "local-path-provisioner-bind", namespace: NS }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: ROLE }, subjects: [{ kind: "ServiceAccount", name: SA, namespace: NS }] },
    },
    {
      path: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
      object: { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: "local-path-provisioner-bind" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: ROLE }, subjects: [{ kind: "ServiceAccount", name: SA, namespace: NS }] },
    },
    {
      path: `/api/v1/namespaces/${NS}/configmaps`,
      object: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "local-path-config", namespace: NS },
        data: { "config.json": CONFIG_JSON, setup: '#!/bin/sh\nset -eu\nmkdir -m 0777 -p "$VOL_DIR"\n', teardown: '#!/bin/sh\nset -eu\nrm -rf "$VOL_DIR"\n', "helperPod.yaml": HELPER_POD_YAML },
      },
    },
    {
      path: `/apis/apps/v1/namespaces/${NS}/deployments`,
      object: {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "local-path-provisioner", namespace: NS },
        spec: {
          replicas: 1,
          selector: { matchLabels: LABELS },
          template: {
            metadata: { labels: LABELS },
            spec: {
              serviceAccountName: SA,
              nodeSelector: { "kubernetes.io/os": "linux" },
              tolerations: [
                { key: "node-role.kubernetes.io/control-plane", operator: "Equal", effect: "NoSchedule" },
                { key: "node-role.kubernetes.io/master", operator: "Equal", effect: "NoSchedule" },
              ],
              containers: [
                {
                  name: "local-path-provisioner",
                  image: "docker.io/kindest/local-path-provisioner:v20240813-c6f155d6",
                  imagePullPolicy: "IfNotPresent",
                  command: ["local-path-provisioner", "--debug", "start", "--helper-image", "docker.io/kindest/local-path-helper:v20230510-486859a6", "--config", "/etc/config/config.json"],
                  env: [
                    { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                    { name: "CONFIG_MOUNT_PATH", value: "/etc/config/" },
                  ],
                  volumeMounts: [{ name: "config-volume", mountPath: "/etc/config/" }],
                },
              ],
              volumes: [{ name: "config-volume", configMap: { name: "local-path-config" } }],
            },
          },
        },
      },
    },
    {
      path: "/apis/storage.k8s.io/v1/storageclasses",
      object: {
        apiVersion: "storage.k8s.io/v1",
        kind: "StorageClass",
        metadata: { name: "standard", annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
        provisioner: "rancher.io/local-path",
        reclaimPolicy: "Delete",
        volumeBindingMode: "WaitForFirstConsumer",
      },
    },
  ];
}
