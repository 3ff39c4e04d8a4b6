/**
 * minikube's `ingress` addon (deploy/addons/ingress/ingress-deploy.yaml.tmpl, Ingress API v1):
 * namespace ingress-nginx, the controller's ServiceAccount, Role/ClusterRole and bindings, the
 * ConfigMaps ingress-nginx-controller (hsts "false"), tcp-services and udp-services, the NodePort
 * Service ingress-nginx-controller (80/443), the default IngressClass `nginx` and the controller
 * Deployment (hostPorts 80/443 on the primary node, minikube's args).
 *
 * Left out: the admission webhook (its Jobs, Service, ValidatingWebhookConfiguration and RBAC;
 * kubemu's API server calls no webhooks) and with it the --validating-webhook flags and the
 * webhook-cert volume; the /wait-shutdown preStop hook (the image's helper is not provided; the
 * kubelet's SIGTERM stops the controller); LD_PRELOAD of the image's libmimalloc.so (the program
 * runs on the host's node, where the loader would only complain that the file is missing). The pod reaches the API as any pod does: the
 * kube-api-access-* volume the API server's ServiceAccount admission adds and
 * KUBERNETES_SERVICE_HOST/PORT, the `kubernetes` Service (127.96.0.1:443 through kube-proxy).
 */
import type { Addon } from "./local-path-storage.js";

export const INGRESS_NGINX_CONTROLLER_IMAGE = "registry.k8s.io/ingress-nginx/controller:v1.15.1";

const NS = "ingress-nginx";
const LABELS = { "app.kubernetes.io/instance": "ingress-nginx", "app.kubernetes.io/name": "ingress-nginx" };
const CONTROLLER = { "app.kubernetes.io/component": "controller", ...LABELS };
const RBAC = "rbac.authorization.k8s.io/v1";

const rbac = (path: string, kind: string, name: string, rest: Record<string, unknown>, namespaced = true): Addon => ({
  path: `/apis/rbac.authorization.k8s.io/v1/${namespaced ? `namespaces/${NS}/` : ""}${path}`,
  object: { apiVersion: RBAC, kind, metadata: { name, ...(namespaced ? { namespace: NS } : {}), labels: kind.startsWith("Cluster") ? LABELS : CONTROLLER }, ...rest },
});

const NAMESPACED_RULES = [
  { apiGroups: [""], resources: ["namespaces"], verbs: ["get"] },
  { apiGroups: [""], resources: ["configmaps", "pods", "secrets", "endpoints"], verbs: ["get", "list", "watch"] },
  { apiGroups: [""], resources: ["services"], verbs: ["get", "list", "watch"] },
  { apiGroups: ["networking.k8s.io"], resources: ["ingresses"], verbs: ["get", "list", "watch"] },
  { apiGroups: ["networking.k8s.io"], resources: ["ingresses/status"], verbs: ["update"] },
  { apiGroups: ["networking.k8s.io"], resources: ["ingressclasses"], verbs: ["get", "list", "watch"] },
  { apiGroups: [""], resourceNames: ["ingress-nginx-leader"], resources: ["configmaps"], verbs: ["get", "update"] },
  { apiGroups: [""], resources: ["configmaps"], verbs: ["create"] },
  { apiGroups: ["coordination.k8s.io"], resourceNames: ["ingress-nginx-leader"], resources: ["leases"], verbs: ["get", "update"] },
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
  { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
  { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch", "get"] },
];

const CLUSTER_RULES = [
  { apiGroups: [""], resources: ["configmaps", "endpoints", "nodes", "pods", "secrets", "namespaces"], verbs: ["list", "watch"] },
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["list", "watch"] },
  { apiGroups: [""], resources: ["nodes"], verbs: ["get"] },
  { apiGroups: [""], resources: ["services"], verbs: ["get", "list", "watch"] },
  { apiGroups: ["networking.k8s.io"], resources: ["ingresses"], verbs: ["get", "list", "watch"] },
  { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
  { apiGroups: ["networking.k8s.io"], resources: ["ingresses/status"], verbs: ["update"] },
  { apiGroups: ["networking.k8s.io"], resources: ["ingressclasses"], verbs: ["get", "list", "watch"] },
  { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch", "get"] },
];

const configMap = (name: string, data?: Record<string, string>): Addon => ({
  path: `/api/v1/namespaces/${NS}/configmaps`,
  object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: NS, labels: CONTROLLER }, ...(data ? { data } : {}) },
});

export function ingressNginx(): Addon[] {
  const subject = [{ kind: "ServiceAccount", name: "ingress-nginx", namespace: NS }];
  return [
    { path: "/api/v1/namespaces", object: { apiVersion: "v1", kind: "Namespace", metadata: { name: NS, labels: LABELS } } },
    { path: `/api/v1/namespaces/${NS}/serviceaccounts`, object: { apiVersion: "v1", kind: "ServiceAccount", automountServiceAccountToken: true, metadata: { name: "ingress-nginx", namespace: NS, labels: CONTROLLER } } },
    rbac("roles", "Role", "ingress-nginx", { rules: NAMESPACED_RULES }),
    rbac("clusterroles", "ClusterRole", "ingress-nginx", { rules: CLUSTER_RULES }, false),
    rbac("rolebindings", "RoleBinding", "ingress-nginx", { roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "ingress-nginx" }, subjects: subject }),
    rbac("clusterrolebindings", "ClusterRoleBinding", "ingress-nginx", { roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "ingress-nginx" }, subjects: subject }, false),
    configMap("ingress-nginx-controller", { hsts: "false" }),
    configMap("tcp-services"),
    configMap("udp-services"),
    {
      path: `/api/v1/namespaces/${NS}/services`,
      object: {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "ingress-nginx-controller", namespace: NS, labels: CONTROLLER },
        spec: {
          ipFamilies: ["IPv4"],
          ipFamilyPolicy: "SingleStack",
          ports: [
            { name: "http", port: 80, protocol: "TCP", targetPort: "http", appProtocol: "http" },
            { name: "https", port: 443, protocol: "TCP", targetPort: "https", appProtocol: "https" },
          ],
          selector: CONTROLLER,
          type: "NodePort",
        },
      },
    },
    {
      path: `/apis/apps/v1/namespaces/${NS}/deployments`,
      object: {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "ingress-nginx-controller", namespace: NS, labels: CONTROLLER },
        spec: {
          minReadySeconds: 0,
          revisionHistoryLimit: 10,
          selector: { matchLabels: CONTROLLER },
          strategy: { rollingUpdate: { maxUnavailable: 1 }, type: "RollingUpdate" },
          template: {
            metadata: { labels: { ...CONTROLLER, "gcp-auth-skip-secret": "true" } },
            spec: {
              containers: [
                {
                  name: "controller",
                  image: INGRESS_NGINX_CONTROLLER_IMAGE,
                  imagePullPolicy: "IfNotPresent",
                  args: [
                    "/nginx-ingress-controller",
                    "--election-id=ingress-nginx-leader",
                    "--controller-class=k8s.io/ingress-nginx",
                    "--watch-ingress-without-class=true",
                    "--configmap=$(POD_NAMESPACE)/ingress-nginx-controller",
                    "--tcp-services-configmap=$(POD_NAMESPACE)/tcp-services",
                    "--udp-services-configmap=$(POD_NAMESPACE)/udp-services",
                  ],
                  env: [
                    { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                    { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                  ],
                  livenessProbe: { failureThreshold: 5, httpGet: { path: "/healthz", port: 10254, scheme: "HTTP" }, initialDelaySeconds: 10, periodSeconds: 10, successThreshold: 1, timeoutSeconds: 1 },
                  readinessProbe: { failureThreshold: 3, httpGet: { path: "/healthz", port: 10254, scheme: "HTTP" }, initialDelaySeconds: 10, periodSeconds: 10, successThreshold: 1, timeoutSeconds: 1 },
                  ports: [
                    { containerPort: 80, hostPort: 80, name: "http", protocol: "TCP" },
                    { containerPort: 443, hostPort: 443, name: "https", protocol: "TCP" },
                  ],
                  resources: { requests: { cpu: "100m", memory: "90Mi" } },
                  securityContext: { allowPrivilegeEscalation: true, capabilities: { add: ["NET_BIND_SERVICE"], drop: ["ALL"] }, runAsUser: 101 },
                },
              ],
              dnsPolicy: "ClusterFirst",
              nodeSelector: { "minikube.k8s.io/primary": "true", "kubernetes.io/os": "linux" },
              serviceAccountName: "ingress-nginx",
              terminationGracePeriodSeconds: 0,
              tolerations: [{ effect: "NoSchedule", key: "node-role.kubernetes.io/master", operator: "Equal" }],
            },
          },
        },
      },
    },
    {
      path: "/apis/networking.k8s.io/v1/ingressclasses",
      object: { apiVersion: "networking.k8s.io/v1", kind: "IngressClass", metadata: { name: "nginx", labels: CONTROLLER, annotations: { "ingressclass.kubernetes.io/is-default-class": "true" } }, spec: { controller: "k8s.io/ingress-nginx" } },
    },
  ];
}
