/**
 * The serviceaccount, root CA publisher and service account token controllers in a real
 * kubemu-controller-manager process (given --root-ca-file and --service-account-private-key-file
 * as the launcher gives them), against real etcd and API servers, driven by the real kubectl.
 */
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCertificateAuthority, Resources } from "@kubemu/common";
import { eventually, ManagerHarness } from "./harness.js";
import { useCluster } from "./hooks.js";

const dir = mkdtempSync(join(tmpdir(), "kubemu-sa-e2e-"));
const caFile = join(dir, "ca.crt");
const keyFile = join(dir, "sa.key");
let caPem = "";

const h = new ManagerHarness(
  { etcd: "127.1.50", api: "127.1.51", scheduler: "127.1.52", manager: "127.1.53" },
  { controllers: "serviceaccount-controller,root-ca-certificate-publisher-controller,serviceaccount-token-controller", args: ["--root-ca-file", caFile, "--service-account-private-key-file", keyFile] },
);
const kubectl = (args: string[], input?: string) => h.kubectl.ok(args, input === undefined ? {} : { input });

// The CA and signing key the manager is started with (before the cluster starts), removed after it stops.
beforeAll(async () => {
  caPem = (await createCertificateAuthority("kubemu-ca", new Date(), 365)).cert;
  writeFileSync(caFile, caPem);
  writeFileSync(keyFile, generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
useCluster(h);

describe("service accounts and the root CA (kubectl)", () => {
  it("kubectl create ns x: the default ServiceAccount and kube-root-ca.crt appear", async () => {
    await kubectl(["create", "ns", "x"]);
    const sa = await eventually(() => kubectl(["get", "sa", "-n", "x"]), (o) => /\ndefault\s+0\s+\d+s\n/.test(o), "default ServiceAccount in x", 40_000);
    expect(sa).toMatch(/^NAME\s+SECRETS\s+AGE\n/);
    const cm = await eventually(() => kubectl(["get", "cm", "kube-root-ca.crt", "-n", "x"]), (o) => /\nkube-root-ca\.crt\s+1\s+\d+s\n/.test(o), "kube-root-ca.crt in x", 40_000);
    expect(cm).toMatch(/^NAME\s+DATA\s+AGE\n/);
    expect(await kubectl(["get", "cm", "kube-root-ca.crt", "-n", "x", "-o", "jsonpath={.data.ca\\.crt}"])).toBe(caPem);
    expect(await kubectl(["get", "cm", "kube-root-ca.crt", "-n", "x", "-o", "jsonpath={.metadata.annotations.kubernetes\\.io/description}"])).toMatch(/^Contains a CA bundle that can be used to verify the kube-apiserver/);
    // The namespaces the API server made at start have them too.
    for (const ns of ["default", "kube-system"]) {
      await eventually(() => h.kubectl.run(["get", "sa", "default", "-n", ns]), (r) => r.code === 0, `default ServiceAccount in ${ns}`, 40_000);
      await eventually(() => h.kubectl.run(["get", "cm", "kube-root-ca.crt", "-n", ns]), (r) => r.code === 0, `kube-root-ca.crt in ${ns}`, 40_000);
    }
  }, 120_000);

  it("a deleted default ServiceAccount and a deleted or edited kube-root-ca.crt come back", async () => {
    const before = await h.client.get(Resources.serviceAccounts, "x", "default");
    await kubectl(["delete", "sa", "default", "-n", "x"]);
    await eventually(() => h.client.get(Resources.serviceAccounts, "x", "default").catch(() => undefined), (s) => !!s && s.metadata.uid !== before.metadata.uid, "default recreated", 40_000);
    await kubectl(["delete", "cm", "kube-root-ca.crt", "-n", "x"]);
    await eventually(() => h.kubectl.run(["get", "cm", "kube-root-ca.crt", "-n", "x", "-o", "jsonpath={.data.ca\\.crt}"]), (r) => r.code === 0 && r.stdout === caPem, "kube-root-ca.crt recreated", 40_000);
    await kubectl(["patch", "cm", "kube-root-ca.crt", "-n", "x", "--type", "merge", "-p", JSON.stringify({ data: { "ca.crt": "tampered" } })]);
    await eventually(() => kubectl(["get", "cm", "kube-root-ca.crt", "-n", "x", "-o", "jsonpath={.data.ca\\.crt}"]), (o) => o === caPem, "kube-root-ca.crt restored", 40_000);
  }, 120_000);

  it("a service-account-token Secret is filled with token, ca.crt and namespace", async () => {
    await kubectl(["create", "sa", "build-robot", "-n", "x"]);
    const secret = `apiVersion: v1
kind: Secret
metadata:
  name: build-robot-secret
  annotations:
    kubernetes.io/service-account.name: build-robot
type: kubernetes.io/service-account-token
`;
    await kubectl(["apply", "-n", "x", "-f", "-"], secret);
    const out = await eventually(() => kubectl(["describe", "secret", "build-robot-secret", "-n", "x"]), (o) => /\ntoken:\s+eyJ/.test(o), "the token filled in", 40_000);
    expect(out).toMatch(/Annotations:\s+kubernetes\.io\/service-account\.name: build-robot\n\s+kubernetes\.io\/service-account\.uid: [0-9a-f-]{36}\n/);
    expect(out).toMatch(/Type:\s+kubernetes\.io\/service-account-token\n/);
    expect(out).toMatch(new RegExp(`ca\\.crt:\\s+${Buffer.byteLength(caPem)} bytes\\n`));
    expect(out).toMatch(/namespace:\s+1 bytes\n/);
    expect(await kubectl(["get", "secret", "build-robot-secret", "-n", "x"])).toMatch(/build-robot-secret\s+kubernetes\.io\/service-account-token\s+3\s+/);
    await kubectl(["delete", "sa", "build-robot", "-n", "x"]);
    await eventually(() => h.kubectl.run(["get", "secret", "build-robot-secret", "-n", "x"]), (r) => r.code !== 0 && r.stderr.includes("not found"), "the token deleted with its ServiceAccount", 40_000);
  }, 120_000);
});
