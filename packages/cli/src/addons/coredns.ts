/**
 * Cluster DNS as kubeadm (and so minikube) installs it in kube-system: ServiceAccount `coredns`,
 * ClusterRole/Binding `system:coredns`, ConfigMap `coredns` with minikube's Corefile, Deployment
 * `coredns` (2 replicas of registry.k8s.io/coredns/coredns:v1.11.3, dnsPolicy Default so it
 * forwards to the node's resolvers) and Service `kube-dns` on 127.96.0.10 (the kubelets'
 * --cluster-dns). The pod reaches the API as any pod does: the kube-api-access-* volume the
 * ServiceAccount admission adds and KUBERNETES_SERVICE_HOST/PORT, the `kubernetes` Service.
 */
import type { Addon } from "./local-path-storage.js";

const NS = "kube-system";
const LABELS = { "k8s-app": "kube-dns" };
export const KUBE_DNS_IP = "127.96.0.10";

/** minikube's Corefile: kubeadm's plus `log` and the hosts block for host.minikube.internal (the host is 127.0.0.1 here: pods share its loopback). */
export const COREFILE = `.:53 {
    log
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    hosts {
       127.0.0.1 host.minikube.internal
       fallthrough
    }
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
`;

export function coreDns(): Addon[] {
  return [
    { path: `/api/v1/namespaces/${NS}/serviceaccounts`, object: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "coredns", namespace: NS } } },
    {
      path: "/apis/rbac.authorization.k8s.io/v1/clusterroles",
      object: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name: "system:coredns", labels: { "kubernetes.io/bootstrapping": "rbac-defaults" } },
        rules: [
          { apiGroups: [""], resources: ["endpoints", "services", "pods", "namespaces"], verbs: ["list", "watch"] },
          { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
        ],
      },
    },
    {
      path: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
      object: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: "system:coredns", annotations: { "rbac.authorization.kubernetes.io/autoupdate": "true" }, labels: { "kubernetes.io/bootstrapping": "rbac-defaults" } },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:coredns" },
        subjects: [{ kind: "ServiceAccount", name: "coredns", namespace: NS }],
      },
    },
    { path: `/api/v1/namespaces/${NS}/configmaps`, object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "coredns", namespace: NS }, data: { Corefile: COREFILE } } },
    {
      path: `/apis/apps/v1/namespaces/${NS}/deployments`,
      object: {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "coredns", namespace: NS, labels: LABELS },
        spec: {
          replicas: 2,
          strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
          selector: { matchLabels: LABELS },
          template: {
            metadata: { labels: LABELS },
            spec: {
              priorityClassName: "system-cluster-critical",
              serviceAccountName: "coredns",
              tolerations: [{ key: "CriticalAddonsOnly", operator: "Exists" }, { key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }],
              nodeSelector: { "kubernetes.io/os": "linux" },
              affinity: {
                podAntiAffinity: {
                  preferredDuringSchedulingIgnoredDuringExecution: [
                    { weight: 100, podAffinityTerm: { labelSelector: { matchExpressions: [{ key: "k8s-app", operator: "In", values: ["kube-dns"] }] }, topologyKey: "kubernetes.io/hostname" } },
                  ],
                },
              },
              containers: [
                {
                  name: "coredns",
                  image: "registry.k8s.io/coredns/coredns:v1.11.3",
                  imagePullPolicy: "IfNotPresent",
                  resources: { limits: { memory: "170Mi" }, requests: { cpu: "100m", memory: "70Mi" } },
                  args: ["-conf", "/etc/coredns/Corefile"],
                  volumeMounts: [{ name: "config-volume", mountPath: "/etc/coredns", readOnly: true }],
                  ports: [
                    { containerPort: 53, name: "dns", protocol: "UDP" },
                    { containerPort: 53, name: "dns-tcp", protocol: "TCP" },
                    { containerPort: 9153, name: "metrics", protocol: "TCP" },
                  ],
                  securityContext: { allowPrivilegeEscalation: false, capabilities: { add: ["NET_BIND_SERVICE"], drop: ["ALL"] }, readOnlyRootFilesystem: true },
                  livenessProbe: { httpGet: { path: "/health", port: 8080, scheme: "HTTP" }, initialDelaySeconds: 60, timeoutSeconds: 5, successThreshold: 1, failureThreshold: 5 },
                  readinessProbe: { httpGet: { path: "/ready", port: 8181, scheme: "HTTP" } },
                },
              ],
              dnsPolicy: "Default",
              volumes: [{ name: "config-volume", configMap: { name: "coredns", items: [{ key: "Corefile", path: "Corefile" }] } }],
            },
          },
        },
      },
    },
    {
      path: `/api/v1/namespaces/${NS}/services`,
      object: {
        apiVersion: "v1",
        kind: "Service",
        metadata: {
          name: "kube-dns",
          namespace: NS,
          labels: { ...LABELS, "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS" },
          annotations: { "prometheus.io/port": "9153", "prometheus.io/scrape": "true" },
        },
        spec: {
          selector: LABELS,
          clusterIP: KUBE_DNS_IP,
          ports: [
            { name: "dns", port: 53, protocol: "UDP", targetPort: 53 },
            { name: "dns-tcp", port: 53, protocol: "TCP", targetPort: 53 },
            { name: "metrics", port: 9153, protocol: "TCP", targetPort: 9153 },
          ],
        },
      },
    },
  ];
}
