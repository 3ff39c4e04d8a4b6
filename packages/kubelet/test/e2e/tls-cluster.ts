/**
 * A small TLS cluster for node-identity tests: one kubemu-etcd, one kubemu-apiserver serving
 * HTTPS only (client certificates from a test CA, --authorization-mode=Node,RBAC and
 * NodeRestriction as always), a controller-manager as the admin (service accounts and
 * kube-root-ca.crt, so pods get their kube-api-access volume; the PV binder) and kubelets that reach the API with
 * their own node certificates (CN system:node:<node>, O system:nodes) — the identities `up` gives
 * them. Processes are E2eCluster's (killed by pid in stop()). Pods are placed with spec.nodeName,
 * so no scheduler runs. Run `npx tsc -b` first.
 */
import { existsSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createCertificateAuthority, issueCertificate, type KeyPair } from "@kubemu/common";
import { E2eCluster } from "../../../apiserver/test/e2e/cluster.js";
import { Kubectl } from "../../../apiserver/test/e2e/kubectl-run.js";

const ETCD_MAIN = fileURLToPath(new URL("../../../etcd-raft/dist/server/main.js", import.meta.url));
const APISERVER_MAIN = fileURLToPath(new URL("../../../apiserver/dist/main.js", import.meta.url));
const MANAGER_MAIN = fileURLToPath(new URL("../../../controller-manager/dist/main.js", import.meta.url));
const KUBELET_MAIN = fileURLToPath(new URL("../../dist/main.js", import.meta.url));

export interface TlsClusterNets {
  etcd: string;
  api: string;
  manager: string;
  /** First three octets of node IPs (node N is <nodes>.N). */
  nodes: string;
  /** First two octets of pod CIDRs (node N gets <pods>.N.0/24). */
  pods: string;
}

export class TlsCluster {
  readonly procs = new E2eCluster("unused", "unused", 0);
  private ca!: KeyPair;
  private caFile = "";
  admin!: Kubectl;

  constructor(
    private readonly nets: TlsClusterNets,
    readonly nodes: string[],
  ) {
    for (const f of [ETCD_MAIN, APISERVER_MAIN, MANAGER_MAIN, KUBELET_MAIN]) if (!existsSync(f)) throw new Error(`${f} is missing: run "npx tsc -b" before these tests`);
  }

  get apiUrl(): string {
    return `https://${this.nets.api}.1:6443`;
  }

  async start(): Promise<void> {
    const root = await mkdtemp(join(tmpdir(), "kubemu-tls-e2e-"));
    this.procs.root = root;
    const now = new Date();
    this.ca = await createCertificateAuthority("kubemu-e2e-ca", now, 1);
    this.caFile = join(root, "ca.crt");
    await writeFile(this.caFile, this.ca.cert);
    const serving = await issueCertificate(this.ca, { commonName: "kube-apiserver", use: { kind: "server", dnsNames: ["localhost"], ips: [`${this.nets.api}.1`] }, validDays: 1 }, now);
    const servingFiles = await this.write("apiserver", serving);
    const etcdIp = `${this.nets.etcd}.1`;
    this.procs.spawn("etcd-0", [ETCD_MAIN, "--name", "etcd-0", "--data-dir", join(root, "etcd-0"), "--listen-client-urls", `ws://${etcdIp}:2379`, "--listen-peer-urls", `ws://${etcdIp}:2380`, "--control-url", `http://${etcdIp}:2381`, "--initial-cluster", `etcd-0=ws://${etcdIp}:2380`, "--log-level", "warn"]);
    this.procs.spawn("apiserver-0", [
      APISERVER_MAIN, "--name", "apiserver-0", "--bind-address", `${this.nets.api}.1`, "--port", "6443", "--etcd-servers", `ws://${etcdIp}:2379`, "--log-level", "warn",
      "--component-status", "", "--tls-cert-file", servingFiles.cert, "--tls-private-key-file", servingFiles.key, "--client-ca-file", this.caFile,
    ]);
    const admin = await this.write("admin", await issueCertificate(this.ca, { commonName: "kubernetes-admin", organizations: ["system:masters"], use: { kind: "client" }, validDays: 1 }, now));
    this.admin = new Kubectl(await this.kubeconfig("admin", admin), join(root, "kubectl-cache"));
    await this.waitApi();
    const managerIp = `${this.nets.manager}.1`;
    this.procs.spawn("controller-manager-0", [
      MANAGER_MAIN, "--name", "controller-manager-0", "--bind-address", managerIp, "--port", "10257", "--apiserver-urls", this.apiUrl, "--profile", "fast", "--log-level", "warn",
      "--ca-file", this.caFile, "--client-cert-file", admin.cert, "--client-key-file", admin.key,
      "--controllers", "serviceaccount-controller,root-ca-certificate-publisher-controller,persistentvolume-binder-controller", "--root-ca-file", this.caFile,
    ]);
    for (const [i, node] of this.nodes.entries()) {
      const creds = await this.write(`kubelet-${node}`, await this.nodeCert(node));
      const ip = `${this.nets.nodes}.${i + 1}`;
      this.procs.spawn(`kubelet-${node}`, [
        KUBELET_MAIN, "--name", `kubelet-${node}`, "--node-name", node, "--node-ip", ip, "--pod-cidr", `${this.nets.pods}.${i + 1}.0/24`,
        "--apiserver-urls", this.apiUrl, "--ca-file", this.caFile, "--client-cert-file", creds.cert, "--client-key-file", creds.key,
        "--state-dir", root, "--profile", "fast", "--log-level", "info", "--capacity-cpu", "2", "--capacity-memory", "4Gi",
      ]);
    }
    await Promise.all([this.procs.waitReady(`http://${managerIp}:10257`), ...this.nodes.map((_, i) => this.procs.waitReady(`http://${this.nets.nodes}.${i + 1}:10250`, 40_000))]);
  }

  /** A kubectl presenting node's certificate (system:node:<node> in system:nodes). */
  async kubectlAsNode(node: string): Promise<Kubectl> {
    const files = await this.write(`kubectl-${node}`, await this.nodeCert(node));
    return new Kubectl(await this.kubeconfig(`node-${node}`, files), join(this.procs.root, `kubectl-cache-${node}`));
  }

  output(name: string): string {
    return this.procs.procs.filter((p) => p.name === name).map((p) => p.output.join("")).join("\n---\n");
  }

  async stop(): Promise<void> {
    await this.procs.stop();
  }

  private nodeCert(node: string): Promise<KeyPair> {
    return issueCertificate(this.ca, { commonName: `system:node:${node}`, organizations: ["system:nodes"], use: { kind: "client" }, validDays: 1 }, new Date());
  }

  private async write(name: string, pair: KeyPair): Promise<{ cert: string; key: string }> {
    const cert = join(this.procs.root, `${name}.crt`);
    const key = join(this.procs.root, `${name}.key`);
    await writeFile(cert, pair.cert);
    await writeFile(key, pair.key, { mode: 0o600 });
    return { cert, key };
  }

  private async kubeconfig(name: string, files: { cert: string; key: string }): Promise<string> {
    const path = join(this.procs.root, `kubeconfig-${name}`);
    await writeFile(
      path,
      `apiVersion: v1\nkind: Config\nclusters:\n- cluster: {server: "${this.apiUrl}", certificate-authority: "${this.caFile}"}\n  name: tls\ncontexts:\n- context: {cluster: tls, user: ${name}}\n  name: tls\ncurrent-context: tls\nusers:\n- name: ${name}\n  user: {client-certificate: "${files.cert}", client-key: "${files.key}"}\n`,
    );
    return path;
  }

  private async waitApi(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.admin.run(["get", "--raw", "/readyz"], { timeoutMs: 5000 });
      if (r.code === 0) return;
      if (Date.now() > deadline) throw new Error(`API server not ready after ${timeoutMs} ms:\n${this.output("apiserver-0").slice(-3000)}\n${this.output("etcd-0").slice(-2000)}`);
      await new Promise((res) => setTimeout(res, 300));
    }
  }
}
