import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CONTROL_TOKEN_FILE_ENV } from "@kubemu/common";
import { nodeCertPaths, nodeIp, nodeServingCertPaths, pkiDirOf } from "./node-certs.js";
import type { PkiPaths } from "./pki.js";
import type { ProcessSpec } from "./spec.js";

/**
 * The cluster's processes, names and addresses (DESIGN.md "Processes, names, addresses") as one
 * data table. Later issues that add a component only fill in its row here.
 */

/** The repository root (this file lives in packages/cli/{src,dist}/). */
export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** Each component's entry script, relative to the repo root. Missing files are reported "not built yet" by `up`. */
export const componentBins = {
  etcd: "packages/etcd-raft/dist/server/main.js",
  apiserver: "packages/apiserver/dist/main.js",
  "apiserver-lb": "packages/cli/dist/apiserver-lb/main.js",
  scheduler: "packages/scheduler/dist/main.js",
  "controller-manager": "packages/controller-manager/dist/main.js",
  kubelet: "packages/kubelet/dist/main.js",
  "kube-proxy": "packages/kube-proxy/dist/main.js",
} as const;

/** Well-known ports, as on a real control plane. */
export const ports = {
  etcdClient: 2379,
  etcdPeer: 2380,
  /** etcd's metrics port in real etcd; here also the control endpoint. */
  etcdControl: 2381,
  apiserver: 6443,
  scheduler: 10259,
  controllerManager: 10257,
  kubelet: 10250,
  /** With TLS on :10250: the kubelet's plain /healthz and /kubemu/* (upstream's healthz port). */
  kubeletHealthz: 10248,
  kubeProxyHealthz: 10256,
  kubeProxyMetrics: 10249,
} as const;

/** The fixed members; addresses exactly as DESIGN.md gives them. */
/** The CommonName of the store members' shared peer certificate, the only one their peer ports take. */
export const ETCD_PEER_COMMON_NAME = "kube-etcd-peer";
export const etcdMembers = [
  { name: "etcd-0", ip: "127.0.10.1" },
  { name: "etcd-1", ip: "127.0.10.2" },
  { name: "etcd-2", ip: "127.0.10.3" },
] as const;
export const apiservers = [
  { name: "apiserver-0", ip: "127.0.20.1" },
  { name: "apiserver-1", ip: "127.0.20.2" },
] as const;
export const apiserverLb = { name: "apiserver-lb", ip: "127.0.0.1" } as const;
export const schedulers = [
  { name: "scheduler-0", ip: "127.0.30.1" },
  { name: "scheduler-1", ip: "127.0.30.2" },
] as const;
export const controllerManagers = [
  { name: "controller-manager-0", ip: "127.0.40.1" },
  { name: "controller-manager-1", ip: "127.0.40.2" },
] as const;

/** Default number of nodes (minikube-style: `<cluster>`, `<cluster>-m02`, `<cluster>-m03`). */
export const defaultNodeCount = 3;
/** Upper bound so node IPs 127.0.100.N and pod CIDRs 127.244.N.0/24 stay valid. */
export const maxNodeCount = 250;

/** minikube's node naming: the first node is the cluster name, then `<cluster>-m02`, `-m03`... */
export function nodeName(cluster: string, index: number): string {
  return index === 0 ? cluster : `${cluster}-m${String(index + 1).padStart(2, "0")}`;
}

/** A control-plane member of the table: its name and its local-mode address. */
export interface Member {
  readonly name: string;
  readonly ip: string;
}

/**
 * Where the processes find each other. Local mode (`up`): every member on its own 127.0.x.y, nodes
 * on 127.0.100.N. Compose mode (compose/network.ts): members are containers named by service.
 */
export interface ClusterNetwork {
  /** The host others dial to reach a member. */
  host(member: Member): string;
  /** The address a member listens on (a store member listens on its host: its peer URL is its identity). */
  bind(member: Member): string;
  /** The host of a member's own control endpoint (/kubemu/status, faults). */
  controlHost(member: Member): string;
  /** Node i's InternalIP: its kubelet serves there and the API servers dial it. */
  nodeIp(i: number): string;
  /** kube-proxy's --node-ip for node i (NodePorts listen there; it takes 127.0.0.0/8 only). */
  proxyNodeIp(i: number): string;
  /** Flags every kube-proxy gets besides the table's. */
  proxyArgs: readonly string[];
}

/** Local mode: DESIGN.md's loopback addresses; one shared network namespace. */
export const localNetwork: ClusterNetwork = {
  host: (m) => m.ip,
  bind: (m) => m.ip,
  controlHost: (m) => m.ip,
  nodeIp,
  proxyNodeIp: nodeIp,
  proxyArgs: [],
};

/** Inputs that the table depends on, decided at `up`. */
export interface ClusterLayout {
  /** Cluster name; also the first node's name. */
  cluster: string;
  nodeCount: number;
  /** Port of apiserver-lb on 127.0.0.1, picked free at `up` and recorded. */
  apiserverLbPort: number;
  /** apiserver-lb's control endpoint port on 127.0.0.1, picked the same way. */
  apiserverLbControlPort: number;
  /** The cluster's certificates: HTTPS with client certificates. null: plain HTTP (`up --insecure-http`: test-only, no authentication, full access for anyone). */
  pki: PkiPaths | null;
  /** Where the processes find each other; default localNetwork. */
  network?: ClusterNetwork;
  /** The repo root the entry scripts are under; default this checkout's. */
  root?: string;
  /** `<state>/logs`: each API server appends its audit log there (`<name>.audit.log`); unset: no audit log. */
  logsDir?: string;
}

const hostPort = (ip: string, port: number) => `${ip}:${port}`;

/**
 * The full process list for a cluster, in start order: etcd, apiservers, load balancer,
 * scheduler, controller-manager, then each node's kubelet and kube-proxy.
 * Process names for node agents are `kubelet-<node>` and `kube-proxy-<node>`.
 */
export function clusterTable(layout: ClusterLayout): ProcessSpec[] {
  const root = layout.root ?? repoRoot;
  const bin = (c: keyof typeof componentBins) => join(root, componentBins[c]);
  const net = layout.network ?? localNetwork;
  const pki = layout.pki;
  // With the PKI the store's client and peer ports are TLS with client certificates from its own CA (kubeadm's etcd flags).
  const ws = pki ? "wss" : "ws";
  const etcdServers = etcdMembers.map((m) => `${ws}://${hostPort(net.host(m), ports.etcdClient)}`).join(",");
  const initialCluster = etcdMembers.map((m) => `${m.name}=${ws}://${hostPort(net.host(m), ports.etcdPeer)}`).join(",");
  // One port per API server: HTTPS with client certificates (plain HTTP only with --insecure-http).
  // The launcher (control URL, with the admin certificate), apiserver-lb and every component use it.
  const scheme = pki ? "https" : "http";
  const namedApiservers = apiservers.map((a) => `${a.name}=${scheme}://${hostPort(net.host(a), ports.apiserver)}`).join(",");
  const specs: ProcessSpec[] = [];

  for (const m of etcdMembers) {
    specs.push({
      name: m.name,
      component: "etcd",
      bin: bin("etcd"),
      nodeArgs: [],
      args: [
        "--listen-client-urls", `${ws}://${hostPort(net.bind(m), ports.etcdClient)}`,
        "--listen-peer-urls", `${ws}://${hostPort(net.bind(m), ports.etcdPeer)}`,
        "--initial-cluster", initialCluster,
        ...(pki
          ? [
              "--cert-file", pki.etcdServerCert, "--key-file", pki.etcdServerKey, "--trusted-ca-file", pki.etcdCaCert, "--client-cert-auth",
              "--peer-cert-file", pki.etcdPeerCert, "--peer-key-file", pki.etcdPeerKey, "--peer-trusted-ca-file", pki.etcdCaCert, "--peer-client-cert-auth",
              // Only the members' shared peer certificate; the store CA also signs its clients' certificates.
              "--peer-cert-allowed-cn", ETCD_PEER_COMMON_NAME,
            ]
          : []),
      ],
      addresses: {
        client: hostPort(net.bind(m), ports.etcdClient),
        peer: hostPort(net.bind(m), ports.etcdPeer),
        control: hostPort(net.controlHost(m), ports.etcdControl),
      },
      controlUrl: `http://${hostPort(net.controlHost(m), ports.etcdControl)}`,
      env: {},
    });
  }
  for (const a of apiservers) {
    specs.push({
      name: a.name,
      component: "apiserver",
      bin: bin("apiserver"),
      nodeArgs: [],
      args: [
        "--bind-address", net.bind(a), "--port", String(ports.apiserver), "--etcd-servers", etcdServers,
        // Who did what, at the Metadata level; rotated at 100 MB, two old files kept.
        ...(layout.logsDir !== undefined ? ["--audit-log-path", join(layout.logsDir, `${a.name}.audit.log`), "--audit-log-maxsize", "100", "--audit-log-maxbackup", "2"] : []),
        ...(pki
          ? [
              "--tls-cert-file", pki.apiserverCert, "--tls-private-key-file", pki.apiserverKey, "--client-ca-file", pki.caCert,
              "--etcd-cafile", pki.etcdCaCert, "--etcd-certfile", pki.apiserverEtcdClientCert, "--etcd-keyfile", pki.apiserverEtcdClientKey,
              "--service-account-signing-key-file", pki.saKey, "--service-account-key-file", pki.saPub,
              // Kubelets' :10250 is HTTPS for this identity only; their serving certificates are checked against the CA.
              "--kubelet-client-certificate", pki.apiserverKubeletClientCert, "--kubelet-client-key", pki.apiserverKubeletClientKey, "--kubelet-certificate-authority", pki.caCert,
            ]
          : []),
      ],
      // The apiserver serves /kubemu/* on its API port (over TLS: to system:masters, the launcher's admin certificate).
      addresses: { api: hostPort(net.bind(a), ports.apiserver) },
      controlUrl: `${scheme}://${hostPort(net.controlHost(a), ports.apiserver)}`,
      env: {},
    });
  }
  specs.push({
    name: apiserverLb.name,
    component: "apiserver-lb",
    bin: bin("apiserver-lb"),
    nodeArgs: [],
    args: ["--bind-address", net.bind(apiserverLb), "--port", String(layout.apiserverLbPort), "--backends", namedApiservers, ...(pki ? ["--backend-ca-file", pki.caCert] : [])],
    addresses: {
      api: hostPort(net.bind(apiserverLb), layout.apiserverLbPort),
      control: hostPort(net.controlHost(apiserverLb), layout.apiserverLbControlPort),
    },
    controlUrl: `http://${hostPort(net.controlHost(apiserverLb), layout.apiserverLbControlPort)}`,
    env: {},
  });
  // Components reach the API servers' HTTPS port directly (not through apiserver-lb), each with its
  // own client certificate; the ApiClient fails over between them.
  const componentApiservers = apiservers.map((a) => `${scheme}://${hostPort(net.host(a), ports.apiserver)}`).join(",");
  const credentials = (cert: string | undefined, key: string | undefined) =>
    pki && cert && key ? ["--ca-file", pki.caCert, "--client-cert-file", cert, "--client-key-file", key] : [];
  const leaderElected = [
    { component: "scheduler" as const, members: schedulers, port: ports.scheduler, creds: credentials(pki?.schedulerCert, pki?.schedulerKey) },
    {
      component: "controller-manager" as const,
      members: controllerManagers,
      port: ports.controllerManager,
      // The CA it publishes (kube-root-ca.crt, token Secrets) and the key it signs legacy service account tokens with, as kubeadm passes them.
      creds: [...credentials(pki?.controllerManagerCert, pki?.controllerManagerKey), ...(pki ? ["--root-ca-file", pki.caCert, "--service-account-private-key-file", pki.saKey] : [])],
    },
  ];
  for (const { component, members, port, creds } of leaderElected) {
    for (const m of members) {
      specs.push({
        name: m.name,
        component,
        bin: bin(component),
        nodeArgs: [],
        // Serves healthz, metrics and /kubemu/* on one port, like the real secure port.
        args: ["--bind-address", net.bind(m), "--port", String(port), "--apiserver-urls", componentApiservers, ...creds],
        addresses: { healthz: hostPort(net.bind(m), port) },
        controlUrl: `http://${hostPort(net.controlHost(m), port)}`,
        env: {},
      });
    }
  }
  for (let i = 0; i < layout.nodeCount; i++) {
    const node = nodeName(layout.cluster, i);
    const ip = net.nodeIp(i);
    const proxyIp = net.proxyNodeIp(i);
    const serving = pki ? nodeServingCertPaths(pkiDirOf(pki.caCert), node) : undefined;
    specs.push({
      name: `kubelet-${node}`,
      component: "kubelet",
      node,
      bin: bin("kubelet"),
      nodeArgs: [],
      args: [
        // The kubelet reaches the HTTPS port with its node's certificate (system:node:<node>).
        "--node-name", node, "--node-ip", ip, "--apiserver-urls", componentApiservers,
        ...(pki ? credentials(nodeCertPaths(pkiDirOf(pki.caCert), node).cert, nodeCertPaths(pkiDirOf(pki.caCert), node).key) : []),
        "--port", String(ports.kubelet),
        // :10250 over HTTPS (its serving certificate) for the API servers' client certificate only.
        ...(pki && serving ? ["--tls-cert-file", serving.cert, "--tls-private-key-file", serving.key, "--client-ca-file", pki.caCert, "--healthz-port", String(ports.kubeletHealthz)] : []),
        "--pod-cidr", `127.244.${i + 1}.0/24`,
        // No --node-labels: the control-plane role is not the kubelet's to set (NodeRestriction);
        // `up` labels the first node as kubeadm does (addons/node-labels.ts).
      ],
      addresses: { kubelet: hostPort(ip, ports.kubelet), ...(pki ? { healthz: hostPort(ip, ports.kubeletHealthz) } : {}) },
      controlUrl: `http://${hostPort(ip, pki ? ports.kubeletHealthz : ports.kubelet)}`,
      env: {},
    });
    specs.push({
      name: `kube-proxy-${node}`,
      component: "kube-proxy",
      node,
      bin: bin("kube-proxy"),
      nodeArgs: [],
      args: [
        // kube-proxy reaches the HTTPS port with its own certificate (system:kube-proxy).
        "--node-name", node, "--node-ip", proxyIp, "--apiserver-urls", componentApiservers,
        ...credentials(pki?.kubeProxyCert, pki?.kubeProxyKey),
        "--healthz-bind-address", hostPort(proxyIp, ports.kubeProxyHealthz), "--metrics-bind-address", hostPort(proxyIp, ports.kubeProxyMetrics),
        ...net.proxyArgs,
      ],
      addresses: { healthz: hostPort(proxyIp, ports.kubeProxyHealthz), metrics: hostPort(proxyIp, ports.kubeProxyMetrics) },
      controlUrl: `http://${hostPort(proxyIp, ports.kubeProxyHealthz)}`,
      env: {},
    });
  }
  // Every plain-HTTP control URL (all but the API servers') wants the launcher's control token.
  if (pki) for (const s of specs) if (s.controlUrl.startsWith("http://")) s.env = { ...s.env, [CONTROL_TOKEN_FILE_ENV]: pki.controlToken };
  return specs;
}
