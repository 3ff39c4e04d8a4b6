/**
 * minikube's metallb addon (deploy/addons/metallb/metallb.yaml.tmpl and metallb-config.yaml.tmpl):
 * namespace metallb-system, the controller and speaker service accounts, their ClusterRoles and
 * bindings, the config-watcher Role, the speaker DaemonSet (hostNetwork), the controller
 * Deployment (MetalLB v0.9.6) and the `config` ConfigMap in MetalLB 0.9's format with one layer2
 * pool `<start>-<end>`. The pods reach the API as any pod does: the kube-api-access-* volume the
 * API server's ServiceAccount admission adds and KUBERNETES_SERVICE_HOST/PORT, the `kubernetes`
 * Service (127.96.0.1:443 through kube-proxy; the speaker, on the host network, the same way).
 */
import type { Addon } from "./local-path-storage.js";

export const METALLB_NAMESPACE = "metallb-system";
export const METALLB_CONTROLLER_IMAGE = "metallb/controller:v0.9.6";
export const METALLB_SPEAKER_IMAGE = "metallb/speaker:v0.9.6";
/** The pool `enable` offers: loopback addresses nothing else in kubemu uses. */
export const METALLB_DEFAULT_START_IP = "127.240.0.100";
export const METALLB_DEFAULT_END_IP = "127.240.0.200";

const NS = METALLB_NAMESPACE;
const RBAC = "rbac.authorization.k8s.io/v1";
const labels = { app: "metallb" };

/** The `config` key of the ConfigMap, as minikube's template renders it. */
export function metallbConfig(startIP: string, endIP: string): string {
  return `address-pools:\n- name: default\n  protocol: layer2\n  addresses:\n  - ${startIP}-${endIP}\n`;
}

function clusterRole(name: string, rules: object[]): Addon {
  return { path: `/apis/${RBAC}/clusterroles`, object: { apiVersion: RBAC, kind: "ClusterRole", metadata: { name, labels }, rules } };
}

function clusterRoleBinding(name: string, sa: string): Addon {
  return {
    path: `/apis/${RBAC}/clusterrolebindings`,
    object: { apiVersion: RBAC, kind: "ClusterRoleBinding", metadata: { name, labels }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name }, subjects: [{ kind: "ServiceAccount", name: sa, namespace: NS }] },
  };
}

function container(name: string, image: string, env: object[], extra: object): object {
  return {
    name,
    image,
    imagePullPolicy: "IfNotPresent",
    args: ["--port=7472", "--config=config"],
    ...(env.length > 0 ? { env } : {}),
    ports: [{ containerPort: 7472, name: "monitoring" }],
    resources: { limits: { cpu: "100m", memory: "100Mi" } },
    ...extra,
  };
}

/** The addon's objects in creation order (namespace first). */
export function metallb(opts: { startIP: string; endIP: string }): Addon[] {
  const podAnnotations = { "prometheus.io/port": "7472", "prometheus.io/scrape": "true" };
  return [
    { path: "/api/v1/namespaces", object: { apiVersion: "v1", kind: "Namespace", metadata: { name: NS, labels } } },
    { path: `/api/v1/namespaces/${NS}/serviceaccounts`, object: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "controller", namespace: NS, labels } } },
    { path: `/api/v1/namespaces/${NS}/serviceaccounts`, object: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "speaker", namespace: NS, labels } } },
    clusterRole("metallb-system:controller", [
      { apiGroups: [""], resources: ["services"], verbs: ["get", "list", "watch", "update"] },
      { apiGroups: [""], resources: ["services/status"], verbs: ["update"] },
      { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
    ]),
    clusterRole("metallb-system:speaker", [
      { apiGroups: [""], resources: ["services", "endpoints", "nodes"], verbs: ["get", "list", "watch"] },
      { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
    ]),
    {
      path: `/apis/${RBAC}/namespaces/${NS}/roles`,
      object: { apiVersion: RBAC, kind: "Role", metadata: { name: "config-watcher", namespace: NS, labels }, rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }] },
    },
    clusterRoleBinding("metallb-system:controller", "controller"),
    clusterRoleBinding("metallb-system:speaker", "speaker"),
    {
      path: `/apis/${RBAC}/namespaces/${NS}/rolebindings`,
      object: {
        apiVersion: RBAC,
        kind: "RoleBinding",
        metadata: { name: "config-watcher", namespace: NS, labels },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "config-watcher" },
        subjects: [
          { kind: "ServiceAccount", name: "controller", namespace: NS },
          { kind: "ServiceAccount", name: "speaker", namespace: NS },
        ],
      },
    },
    {
      path: `/apis/apps/v1/namespaces/${NS}/daemonsets`,
      object: {
        apiVersion: "apps/v1",
        kind: "DaemonSet",
        metadata: { name: "speaker", namespace: NS, labels: { ...labels, component: "speaker" } },
        spec: {
          selector: { matchLabels: { ...labels, component: "speaker" } },
          template: {
            metadata: { annotations: podAnnotations, labels: { ...labels, component: "speaker" } },
            spec: {
              containers: [
                container(
                  "speaker",
                  METALLB_SPEAKER_IMAGE,
                  [
                    { name: "METALLB_NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
                    { name: "METALLB_HOST", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } },
                  ],
                  { securityContext: { allowPrivilegeEscalation: false, capabilities: { add: ["NET_ADMIN", "NET_RAW", "SYS_ADMIN"], drop: ["ALL"] }, readOnlyRootFilesystem: true } },
                ),
              ],
              hostNetwork: true,
              nodeSelector: { "kubernetes.io/os": "linux" },
              serviceAccountName: "speaker",
              terminationGracePeriodSeconds: 0,
              tolerations: [{ effect: "NoSchedule", key: "node-role.kubernetes.io/master" }],
            },
          },
        },
      },
    },
    {
      path: `/apis/apps/v1/namespaces/${NS}/deployments`,
      object: {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "controller", namespace: NS, labels: { ...labels, component: "controller" } },
        spec: {
          revisionHistoryLimit: 3,
          selector: { matchLabels: { ...labels, component: "controller" } },
          template: {
            metadata: { annotations: podAnnotations, labels: { ...labels, component: "controller" } },
            spec: {
              containers: [
                container("controller", METALLB_CONTROLLER_IMAGE, [], {
                  securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["all"] }, readOnlyRootFilesystem: true },
                }),
              ],
              nodeSelector: { "kubernetes.io/os": "linux" },
              securityContext: { runAsNonRoot: true, runAsUser: 65534 },
              serviceAccountName: "controller",
              terminationGracePeriodSeconds: 0,
            },
          },
        },
      },
    },
    {
      path: `/api/v1/namespaces/${NS}/configmaps`,
      object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "config", namespace: NS }, data: { config: metallbConfig(opts.startIP, opts.endIP) } },
    },
  ];
}
