/**
 * `<state>/pki/`: the cluster CA, the API servers' serving certificate, the admin client
 * certificate kubectl uses, each kubelet's serving certificate and the API servers' kubelet
 * client certificate, the service account token signing key, and the store's own CA with its
 * members' serving and peer certificates and its two clients' certificates (the API servers', the
 * launcher's), made at the first `up` and kept across down/up (as minikube keeps
 * its certs), so kubeconfigs merged earlier stay valid. A file that is missing, expiring, not
 * from the CA or not naming every address is made again.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { certificateProblem, createCertificateAuthority, issueCertificate, type CertificateRequest, type KeyPair, type Logger } from "@kubemu/common";
import { apiserverLb, apiservers, ETCD_PEER_COMMON_NAME, etcdMembers } from "./components.js";
import { nodeCertPaths, nodeIp, nodeServingCertPaths } from "./node-certs.js";

/** The ClusterIP of the `kubernetes` Service (first address of the service range). */
const KUBERNETES_SERVICE_IP = "127.96.0.1";

/** Paths of the PEM files in a pki dir (kubeadm's names). */
export function pkiPaths(dir: string) {
  return {
    caCert: join(dir, "ca.crt"),
    caKey: join(dir, "ca.key"),
    apiserverCert: join(dir, "apiserver.crt"),
    apiserverKey: join(dir, "apiserver.key"),
    adminCert: join(dir, "admin.crt"),
    adminKey: join(dir, "admin.key"),
    /** Control-plane components' client certificates (the identities kubeadm puts in scheduler.conf etc.). */
    schedulerCert: join(dir, "scheduler.crt"),
    schedulerKey: join(dir, "scheduler.key"),
    controllerManagerCert: join(dir, "controller-manager.crt"),
    controllerManagerKey: join(dir, "controller-manager.key"),
    /** kube-proxy's client certificate (system:kube-proxy, bound to system:node-proxier), shared by every node's kube-proxy. */
    kubeProxyCert: join(dir, "kube-proxy.crt"),
    kubeProxyKey: join(dir, "kube-proxy.key"),
    /** What the API servers present to kubelets' :10250 (kubeadm's apiserver-kubelet-client). */
    apiserverKubeletClientCert: join(dir, "apiserver-kubelet-client.crt"),
    apiserverKubeletClientKey: join(dir, "apiserver-kubelet-client.key"),
    /** The service account token signing key pair (kubeadm's sa.key / sa.pub). */
    saKey: join(dir, "sa.key"),
    saPub: join(dir, "sa.pub"),
    /**
     * The store's own CA and certificates (kubeadm's etcd/ dir). A separate CA because a member
     * gives full access to any certificate its trusted CA signed: no kubelet's or user's may qualify.
     */
    etcdCaCert: join(dir, "etcd", "ca.crt"),
    etcdCaKey: join(dir, "etcd", "ca.key"),
    etcdServerCert: join(dir, "etcd", "server.crt"),
    etcdServerKey: join(dir, "etcd", "server.key"),
    etcdPeerCert: join(dir, "etcd", "peer.crt"),
    etcdPeerKey: join(dir, "etcd", "peer.key"),
    /** The launcher's (and `kubemu etcd`'s) client certificate for the store. */
    etcdHealthcheckClientCert: join(dir, "etcd", "healthcheck-client.crt"),
    etcdHealthcheckClientKey: join(dir, "etcd", "healthcheck-client.key"),
    /** What the API servers present to the store. */
    apiserverEtcdClientCert: join(dir, "apiserver-etcd-client.crt"),
    apiserverEtcdClientKey: join(dir, "apiserver-etcd-client.key"),
    /** The bearer token every process but the API servers wants on /kubemu/* (random, 0600; only the launcher sends it). */
    controlToken: join(dir, "control-token"),
  };
}
export type PkiPaths = ReturnType<typeof pkiPaths>;

/** What the certificates must say. */
const caValidDays = 3650;
const leafValidDays = 365;
/** `extraDnsNames`: the hosts compose mode reaches the API servers by (their service names). */
export const apiserverCertRequestFor = (extraDnsNames: readonly string[]): CertificateRequest => ({
  commonName: "kube-apiserver",
  use: {
    kind: "server",
    dnsNames: ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", ...extraDnsNames],
    ips: [...new Set([apiserverLb.ip, ...apiservers.map((a) => a.ip), KUBERNETES_SERVICE_IP])],
  },
  validDays: leafValidDays,
});
export const apiserverCertRequest: CertificateRequest = apiserverCertRequestFor([]);
/** kubeadm's admin identity: a member of system:masters. */
export const adminCertRequest: CertificateRequest = { commonName: "kubernetes-admin", organizations: ["system:masters"], use: { kind: "client" }, validDays: leafValidDays };

/** The scheduler's and controller-manager's identities, as upstream's RBAC bootstrap roles name them. */
export const schedulerCertRequest: CertificateRequest = { commonName: "system:kube-scheduler", use: { kind: "client" }, validDays: leafValidDays };
export const controllerManagerCertRequest: CertificateRequest = { commonName: "system:kube-controller-manager", use: { kind: "client" }, validDays: leafValidDays };
export const kubeProxyCertRequest: CertificateRequest = { commonName: "system:kube-proxy", use: { kind: "client" }, validDays: leafValidDays };
/** A kubelet's identity for the Node authorizer: system:node:<name> in system:nodes. */
export const nodeCertRequest = (node: string): CertificateRequest => ({ commonName: `system:node:${node}`, organizations: ["system:nodes"], use: { kind: "client" }, validDays: leafValidDays });

/** The API servers' identity at kubelets, as kubeadm makes it: in system:masters. */
export const apiserverKubeletClientCertRequest: CertificateRequest = { commonName: "kube-apiserver-kubelet-client", organizations: ["system:masters"], use: { kind: "client" }, validDays: leafValidDays };
/** A kubelet's serving certificate: its node's name and IP. */
export const nodeServingCertRequest = (node: string, ip: string): CertificateRequest => ({ commonName: node, use: { kind: "server", dnsNames: [node], ips: [ip] }, validDays: leafValidDays });

/** The store members' serving and peer certificates: every member's IP (all members share one pki dir). */
export const etcdServerCertRequest = (ips: readonly string[], dnsNames: readonly string[] = []): CertificateRequest => ({ commonName: "kube-etcd", use: { kind: "server", dnsNames: ["localhost", ...dnsNames], ips: [...ips] }, validDays: leafValidDays });
export const etcdPeerCertRequest = (ips: readonly string[], dnsNames: readonly string[] = []): CertificateRequest => ({ commonName: ETCD_PEER_COMMON_NAME, use: { kind: "server", dnsNames: ["localhost", ...dnsNames], ips: [...ips], clientAuth: true }, validDays: leafValidDays });
export const etcdHealthcheckClientCertRequest: CertificateRequest = { commonName: "kube-etcd-healthcheck-client", use: { kind: "client" }, validDays: leafValidDays };
export const apiserverEtcdClientCertRequest: CertificateRequest = { commonName: "kube-apiserver-etcd-client", use: { kind: "client" }, validDays: leafValidDays };

/** A node of the cluster: a name (its IP then by its place, 127.0.100.<i+1>), or a name and IP. */
export type PkiNode = string | { name: string; ip: string };

/** Host names the serving certificates must name besides the addresses (compose mode's service names). */
export interface PkiDnsNames {
  apiserver?: readonly string[];
  etcd?: readonly string[];
}

/**
 * Makes sure every file exists and is usable; returns their paths. `etcdIps`: the store members'
 * addresses their certificates must name (the defaults unless a test moves the cluster).
 */
export async function ensureClusterPki(
  dir: string,
  now: Date,
  log: Logger,
  nodes: readonly PkiNode[] = [],
  etcdIps: readonly string[] = etcdMembers.map((m) => m.ip),
  dnsNames: PkiDnsNames = {},
): Promise<PkiPaths> {
  const p = pkiPaths(dir);
  mkdirSync(join(dir, "etcd"), { recursive: true, mode: 0o700 });
  const ca = await ensureCa(p.caCert, p.caKey, "kubemu-ca", now, log);
  const etcdCa = await ensureCa(p.etcdCaCert, p.etcdCaKey, "etcd-ca", now, log);
  await ensureIssued(etcdCa, now, log, [
    [etcdServerCertRequest(etcdIps, dnsNames.etcd), p.etcdServerCert, p.etcdServerKey],
    [etcdPeerCertRequest(etcdIps, dnsNames.etcd), p.etcdPeerCert, p.etcdPeerKey],
    [etcdHealthcheckClientCertRequest, p.etcdHealthcheckClientCert, p.etcdHealthcheckClientKey],
    [apiserverEtcdClientCertRequest, p.apiserverEtcdClientCert, p.apiserverEtcdClientKey],
  ]);
  await ensureIssued(ca, now, log, [
    [apiserverCertRequestFor(dnsNames.apiserver ?? []), p.apiserverCert, p.apiserverKey],
    [adminCertRequest, p.adminCert, p.adminKey],
    [schedulerCertRequest, p.schedulerCert, p.schedulerKey],
    [controllerManagerCertRequest, p.controllerManagerCert, p.controllerManagerKey],
    [kubeProxyCertRequest, p.kubeProxyCert, p.kubeProxyKey],
    [apiserverKubeletClientCertRequest, p.apiserverKubeletClientCert, p.apiserverKubeletClientKey],
    ...nodes.flatMap((entry, i) => {
      const n = typeof entry === "string" ? { name: entry, ip: nodeIp(i) } : entry;
      return [
        [nodeCertRequest(n.name), nodeCertPaths(dir, n.name).cert, nodeCertPaths(dir, n.name).key] as const,
        [nodeServingCertRequest(n.name, n.ip), nodeServingCertPaths(dir, n.name).cert, nodeServingCertPaths(dir, n.name).key] as const,
      ];
    }),
  ]);
  ensureServiceAccountKey(p, log);
  ensureControlToken(p.controlToken, log);
  return p;
}

/** 32 random bytes, hex, made once (kept across down/up like the certificates). */
function ensureControlToken(path: string, log: Logger): void {
  if (existsSync(path) && /^[0-9a-f]{64}$/.test(readFileSync(path, "utf8").trim())) return;
  log.info({ file: path }, "creating the control token");
  writeAtomic(path, `${randomBytes(32).toString("hex")}\n`, 0o600);
}

/** A CA kept while usable, made (again) when missing, expiring or unreadable. */
async function ensureCa(certPath: string, keyPath: string, commonName: string, now: Date, log: Logger): Promise<KeyPair> {
  const ca = readPair(certPath, keyPath);
  const problem = ca === undefined ? "missing" : certificateProblem(ca, ca, { commonName, use: { kind: "client" }, validDays: caValidDays }, now);
  if (ca !== undefined && problem === undefined) return ca;
  log.info({ cert: certPath, reason: problem }, `creating the ${commonName === "kubemu-ca" ? "cluster" : commonName} CA`);
  const made = await createCertificateAuthority(commonName, now, caValidDays);
  writePair(certPath, keyPath, made);
  return made;
}

/** Issues each certificate that is missing or unusable (not from ca, expiring, missing a name). */
async function ensureIssued(ca: KeyPair, now: Date, log: Logger, wanted: readonly (readonly [CertificateRequest, string, string])[]): Promise<void> {
  for (const [req, certPath, keyPath] of wanted) {
    const pair = readPair(certPath, keyPath);
    const problem = pair === undefined ? "missing" : certificateProblem(pair, ca, req, now);
    if (problem === undefined) continue;
    log.info({ cert: certPath, reason: problem }, "issuing certificate");
    writePair(certPath, keyPath, await issueCertificate(ca, req, now));
  }
}

/** sa.key (made if missing or unreadable) and sa.pub, always its public half. */
function ensureServiceAccountKey(p: PkiPaths, log: Logger): void {
  let key: KeyObject | undefined;
  try {
    key = existsSync(p.saKey) ? createPrivateKey(readFileSync(p.saKey)) : undefined;
  } catch {
    key = undefined;
  }
  if (!key) {
    log.info({ file: p.saKey }, "creating the service account signing key");
    key = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    writeAtomic(p.saKey, key.export({ format: "pem", type: "pkcs8" }).toString(), 0o600);
  }
  const pub = createPublicKey(key).export({ format: "pem", type: "spki" }).toString();
  if (!existsSync(p.saPub) || readFileSync(p.saPub, "utf8") !== pub) writeAtomic(p.saPub, pub, 0o644);
}

function readPair(certPath: string, keyPath: string): KeyPair | undefined {
  if (!existsSync(certPath) || !existsSync(keyPath)) return undefined;
  return { cert: readFileSync(certPath, "utf8"), key: readFileSync(keyPath, "utf8") };
}

/** Key first (0600), each atomically, so a crash never pairs a new cert with an old key unnoticed. */
function writePair(certPath: string, keyPath: string, pair: KeyPair): void {
  writeAtomic(keyPath, pair.key, 0o600);
  writeAtomic(certPath, pair.cert, 0o644);
}

function writeAtomic(path: string, text: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}
