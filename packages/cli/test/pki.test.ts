import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "@kubemu/common";
import { afterEach, describe, expect, it } from "vitest";
import { ensureClusterPki } from "../src/pki.js";
import { nodeServingCertPaths } from "../src/node-certs.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const newDir = () => {
  const d = mkdtempSync(join(tmpdir(), "kubemu-pki-"));
  dirs.push(d);
  return join(d, "pki");
};

describe("the cluster PKI", () => {
  it("issues a serving certificate for every API address and an admin client certificate, both from the CA", async () => {
    const p = await ensureClusterPki(newDir(), new Date(), silentLogger);
    const ca = new X509Certificate(readFileSync(p.caCert));
    const serving = new X509Certificate(readFileSync(p.apiserverCert));
    const admin = new X509Certificate(readFileSync(p.adminCert));
    expect(ca.ca).toBe(true);
    expect(serving.checkIssued(ca) && admin.checkIssued(ca)).toBe(true);
    for (const name of ["IP Address:127.0.0.1", "IP Address:127.0.20.1", "IP Address:127.0.20.2", "IP Address:127.96.0.1", "DNS:kubernetes.default.svc"]) expect(serving.subjectAltName).toContain(name);
    expect(admin.subject).toBe("CN=kubernetes-admin\nO=system:masters");
    expect(serving.checkIP("127.0.20.1")).toBe("127.0.20.1");
  });

  it("issues each kubelet a serving certificate for its name and IP, and the API servers their kubelet client certificate", async () => {
    const p = await ensureClusterPki(newDir(), new Date(), silentLogger, ["kubemu", "kubemu-m02", { name: "far", ip: "127.1.207.1" }]);
    const ca = new X509Certificate(readFileSync(p.caCert));
    const client = new X509Certificate(readFileSync(p.apiserverKubeletClientCert));
    expect(client.checkIssued(ca)).toBe(true);
    expect(client.subject).toBe("CN=kube-apiserver-kubelet-client\nO=system:masters");
    expect(client.keyUsage).toContain("1.3.6.1.5.5.7.3.2");
    const pkiDir = join(p.caCert, "..");
    const m02 = new X509Certificate(readFileSync(nodeServingCertPaths(pkiDir, "kubemu-m02").cert));
    expect(m02.checkIssued(ca)).toBe(true);
    expect(m02.checkIP("127.0.100.2")).toBe("127.0.100.2");
    expect(m02.checkHost("kubemu-m02")).toBe("kubemu-m02");
    expect(m02.keyUsage).toContain("1.3.6.1.5.5.7.3.1");
    expect(new X509Certificate(readFileSync(nodeServingCertPaths(pkiDir, "far").cert)).checkIP("127.1.207.1")).toBe("127.1.207.1");
  });

  it("gives the store its own CA: members' serving and peer certificates for their IPs, the API servers' and the launcher's client certificates", async () => {
    const p = await ensureClusterPki(newDir(), new Date(), silentLogger, [], ["127.1.241.1", "127.1.241.2"]);
    const clusterCa = new X509Certificate(readFileSync(p.caCert));
    const etcdCa = new X509Certificate(readFileSync(p.etcdCaCert));
    expect(etcdCa.ca).toBe(true);
    expect(etcdCa.subject).toBe("CN=etcd-ca");
    const server = new X509Certificate(readFileSync(p.etcdServerCert));
    const peer = new X509Certificate(readFileSync(p.etcdPeerCert));
    const apiserverClient = new X509Certificate(readFileSync(p.apiserverEtcdClientCert));
    const launcher = new X509Certificate(readFileSync(p.etcdHealthcheckClientCert));
    for (const c of [server, peer, apiserverClient, launcher]) {
      expect(c.checkIssued(etcdCa), c.subject).toBe(true);
      expect(c.checkIssued(clusterCa), c.subject).toBe(false);
    }
    for (const ip of ["127.1.241.1", "127.1.241.2"]) expect(server.checkIP(ip) && peer.checkIP(ip)).toBe(ip);
    expect(peer.keyUsage).toEqual(expect.arrayContaining(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]));
    expect(apiserverClient.subject).toBe("CN=kube-apiserver-etcd-client");
    expect(launcher.subject).toBe("CN=kube-etcd-healthcheck-client");
    // Nothing signed by the cluster CA (a kubelet's, a user's) chains to the store's.
    expect(new X509Certificate(readFileSync(p.adminCert)).checkIssued(etcdCa)).toBe(false);
  });

  it("keeps valid files, and remakes what is missing or no longer from the CA", async () => {
    const dir = newDir();
    const p = await ensureClusterPki(dir, new Date(), silentLogger);
    const before = Object.fromEntries(Object.entries(p).map(([k, f]) => [k, readFileSync(f, "utf8")]));
    await ensureClusterPki(dir, new Date(), silentLogger);
    for (const [k, f] of Object.entries(p)) expect(readFileSync(f, "utf8"), k).toBe(before[k]);

    rmSync(p.adminKey);
    await ensureClusterPki(dir, new Date(), silentLogger);
    expect(readFileSync(p.adminCert, "utf8")).not.toBe(before.adminCert);
    expect(readFileSync(p.apiserverCert, "utf8")).toBe(before.apiserverCert);

    writeFileSync(p.caCert, "garbage");
    await ensureClusterPki(dir, new Date(), silentLogger);
    const ca = new X509Certificate(readFileSync(p.caCert));
    expect(new X509Certificate(readFileSync(p.apiserverCert)).checkIssued(ca)).toBe(true);
    expect(new X509Certificate(readFileSync(p.adminCert)).checkIssued(ca)).toBe(true);
  });

  it("makes a service account signing key whose public half is sa.pub, and keeps it", async () => {
    const dir = newDir();
    const p = await ensureClusterPki(dir, new Date(), silentLogger);
    const key = readFileSync(p.saKey, "utf8");
    expect(createPublicKey(createPrivateKey(key)).export({ format: "pem", type: "spki" })).toBe(readFileSync(p.saPub, "utf8"));
    writeFileSync(p.saPub, "stale");
    await ensureClusterPki(dir, new Date(), silentLogger);
    expect(readFileSync(p.saKey, "utf8")).toBe(key);
    expect(readFileSync(p.saPub, "utf8")).toContain("BEGIN PUBLIC KEY");
  });

  it("renews certificates that expire within a day", async () => {
    const dir = newDir();
    const p = await ensureClusterPki(dir, new Date(), silentLogger);
    const serving = readFileSync(p.apiserverCert, "utf8");
    await ensureClusterPki(dir, new Date(Date.now() + 364.5 * 86_400_000), silentLogger);
    expect(readFileSync(p.apiserverCert, "utf8")).not.toBe(serving);
  });
});
