/**
 * RBAC with the real kubectl over HTTPS: a store of 3 etcd members (127.1.110.x) and two
 * API servers (127.1.111.x) with a generated CA; users are client certificates (jane in group
 * developers, the admin in system:masters) or service account tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createCertificateAuthority, issueCertificate, type KeyPair } from "@kubemu/common";
import { E2eCluster } from "./cluster.js";
import { Kubectl } from "./kubectl-run.js";

const APISERVER_MAIN = fileURLToPath(new URL("../../dist/main.js", import.meta.url));
const ETCD = "127.1.110";
const API = "127.1.111";
const cluster = new E2eCluster(ETCD, API, 0);
let ca: KeyPair;
let admin: Kubectl;
let jane: Kubectl;
let janeOn1: Kubectl;

function kubeconfig(server: string, user: string): string {
  return `apiVersion: v1\nkind: Config\nclusters:\n- cluster: {server: "${server}", certificate-authority-data: ${Buffer.from(ca.cert).toString("base64")}}\n  name: rbac\ncontexts:\n- context: {cluster: rbac, user: u}\n  name: rbac\ncurrent-context: rbac\nusers:\n- name: u\n  user: ${user}\n`;
}

async function kubectlFor(name: string, server: string, user: string): Promise<Kubectl> {
  const path = join(cluster.root, `kubeconfig-${name}`);
  await writeFile(path, kubeconfig(server, user));
  return new Kubectl(path, join(cluster.root, `cache-${name}`));
}

const certUser = (pair: KeyPair) => `{client-certificate-data: ${Buffer.from(pair.cert).toString("base64")}, client-key-data: ${Buffer.from(pair.key).toString("base64")}}`;

/** Retries fn until it stops throwing (RBAC caches follow the store within moments). */
async function eventually<T>(fn: () => Promise<T>, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

beforeAll(async () => {
  await cluster.start(); // the store only; the API servers need TLS flags
  const now = new Date();
  ca = await createCertificateAuthority("kubemu-ca", now, 1);
  const serving = await issueCertificate(ca, { commonName: "kube-apiserver", use: { kind: "server", dnsNames: ["localhost"], ips: [`${API}.1`, `${API}.2`] }, validDays: 1 }, now);
  for (const [f, text] of [
    ["tls.crt", serving.cert],
    ["tls.key", serving.key],
    ["ca.crt", ca.cert],
  ] as const)
    await writeFile(join(cluster.root, f), text);
  const etcd = [1, 2, 3].map((i) => `ws://${ETCD}.${i}:2379`).join(",");
  for (const i of [1, 2]) {
    cluster.spawn(`apiserver-${i - 1}`, [
      APISERVER_MAIN,
      "--name", `apiserver-${i - 1}`,
      "--bind-address", `${API}.${i}`,
      "--port", "6443",
      "--insecure-port", "8080",
      "--etcd-servers", etcd,
      "--log-level", "warn",
      "--tls-cert-file", join(cluster.root, "tls.crt"),
      "--tls-private-key-file", join(cluster.root, "tls.key"),
      "--client-ca-file", join(cluster.root, "ca.crt"),
      "--component-status", "",
    ]);
  }
  await Promise.all([1, 2].map((i) => cluster.waitReady(`http://${API}.${i}:8080`, 40_000)));
  const adminCert = await issueCertificate(ca, { commonName: "kubernetes-admin", organizations: ["system:masters"], use: { kind: "client" }, validDays: 1 }, now);
  const janeCert = await issueCertificate(ca, { commonName: "jane", organizations: ["developers"], use: { kind: "client" }, validDays: 1 }, now);
  admin = await kubectlFor("admin", `https://${API}.1:6443`, certUser(adminCert));
  jane = await kubectlFor("jane", `https://${API}.1:6443`, certUser(janeCert));
  janeOn1 = await kubectlFor("jane-1", `https://${API}.2:6443`, certUser(janeCert));
}, 90_000);

afterAll(async () => {
  await cluster.stop();
}, 30_000);

describe("RBAC with kubectl", { timeout: 90_000 }, () => {
  it("a user with no binding is refused in upstream's words; a Role and RoleBinding made by kubectl let her read pods, on both API servers", async () => {
    const denied = await jane.run(["get", "pods"], { input: "" });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('Error from server (Forbidden): pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "default"');
    expect((await jane.run(["get", "deployments", "-A"], { input: "" })).stderr).toContain(
      'deployments.apps is forbidden: User "jane" cannot list resource "deployments" in API group "apps" at the cluster scope',
    );

    expect(await admin.ok(["create", "role", "pod-reader", "--verb=get,list,watch", "--resource=pods,pods/log"])).toBe("role.rbac.authorization.k8s.io/pod-reader created\n");
    expect(await admin.ok(["create", "rolebinding", "jane-reads-pods", "--role=pod-reader", "--user=jane"])).toBe("rolebinding.rbac.authorization.k8s.io/jane-reads-pods created\n");
    expect(await admin.ok(["get", "rolebinding", "jane-reads-pods", "-o", "wide", "--no-headers"])).toMatch(/^jane-reads-pods\s+Role\/pod-reader\s+\S+\s+jane\s/);
    for (const k of [jane, janeOn1]) await eventually(async () => expect((await k.run(["get", "pods"], { input: "" })).stderr).toContain("No resources found in default namespace."));
    // Only in default, and only reading.
    expect((await jane.run(["get", "pods", "-n", "kube-system"], { input: "" })).stderr).toContain('cannot list resource "pods" in API group "" in the namespace "kube-system"');
    expect((await jane.run(["delete", "pod", "web"], { input: "" })).stderr).toContain('Error from server (Forbidden): pods "web" is forbidden: User "jane" cannot delete resource "pods" in API group "" in the namespace "default"');
  });

  it("kubectl auth can-i answers for oneself, --as another user or group, and --list", async () => {
    expect((await admin.run(["auth", "can-i", "list", "pods", "--as", "jane"])).stdout).toBe("yes\n");
    const no = await admin.run(["auth", "can-i", "delete", "pods", "--as", "jane"]);
    expect([no.code, no.stdout]).toEqual([1, "no\n"]);
    expect((await admin.run(["auth", "can-i", "list", "pods", "--as", "jane", "-n", "kube-system"])).stdout).toBe("no\n");
    expect((await jane.run(["auth", "can-i", "get", "pods/log"])).stdout).toBe("yes\n");
    expect((await jane.run(["auth", "can-i", "create", "deployments"])).stdout).toBe("no\n");

    // A ClusterRole and a ClusterRoleBinding to her group, made with kubectl's generators.
    expect(await admin.ok(["create", "clusterrole", "deploy-reader", "--verb=get,list,watch", "--resource=deployments.apps"])).toBe("clusterrole.rbac.authorization.k8s.io/deploy-reader created\n");
    await admin.ok(["create", "clusterrolebinding", "developers-read-deployments", "--clusterrole=deploy-reader", "--group=developers"]);
    await eventually(async () => expect((await admin.run(["auth", "can-i", "list", "deployments", "-A", "--as", "jane", "--as-group", "developers"])).stdout).toBe("yes\n"));
    // --as-group replaces the groups: without "developers", no.
    expect((await admin.run(["auth", "can-i", "list", "deployments", "--as", "jane", "--as-group", "other"])).stdout).toBe("no\n");
    expect((await jane.run(["get", "deployments", "-A"], { input: "" })).stderr).toContain("No resources found");

    const list = await jane.ok(["auth", "can-i", "--list"]);
    expect(list).toMatch(/^Resources\s+Non-Resource URLs\s+Resource Names\s+Verbs$/m);
    expect(list).toMatch(/^pods\/log\s+\[\]\s+\[\]\s+\[get list watch\]$/m);
    expect(list).toMatch(/^deployments\.apps\s+\[\]\s+\[\]\s+\[get list watch\]$/m);
    expect(list).toMatch(/^selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]$/m);
    expect(list).toMatch(/^\s+\[\/healthz\]\s+\[\]\s+\[get\]$/m);
    expect(await admin.ok(["auth", "can-i", "--list", "--as", "jane", "-n", "kube-system"])).not.toMatch(/^pods\s/m);

    // Non-resource URLs with a trailing *.
    await admin.ok(["create", "clusterrole", "health-reader", "--verb=get", "--non-resource-url=/healthz/*"]);
    await admin.ok(["create", "clusterrolebinding", "jane-health", "--clusterrole=health-reader", "--user=jane"]);
    await eventually(async () => expect((await jane.run(["auth", "can-i", "get", "/healthz/etcd"])).stdout).toBe("yes\n"));
    expect((await jane.run(["auth", "can-i", "get", "/metrics"])).stdout).toBe("no\n");

    // Impersonating takes the impersonate verb.
    expect((await jane.run(["get", "pods", "--as", "bob"], { input: "" })).stderr).toContain(
      'users "bob" is forbidden: User "jane" cannot impersonate resource "users" in API group "" at the cluster scope',
    );
    expect((await admin.run(["auth", "whoami", "--as", "jane", "--as-group", "developers", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}"])).stdout).toBe(
      'jane ["developers","system:authenticated"]',
    );
  });

  it("a service account token is refused until the seed's permissive-binding binds system:serviceaccounts to cluster-admin", async () => {
    await admin.ok(["create", "serviceaccount", "robot"]);
    const token = (await admin.ok(["create", "token", "robot"])).trim();
    const robot = await kubectlFor("robot", `https://${API}.1:6443`, `{token: ${token}}`);
    const denied = await robot.run(["get", "pods"], { input: "" });
    expect(denied.stderr).toContain('Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:default:robot" cannot list resource "pods" in API group "" in the namespace "default"');
    expect((await admin.run(["auth", "can-i", "list", "pods", "--as", "system:serviceaccount:default:robot"])).stdout).toBe("no\n");

    expect(await admin.ok(["create", "clusterrolebinding", "permissive-binding", "--clusterrole=cluster-admin", "--group=system:serviceaccounts"])).toBe(
      "clusterrolebinding.rbac.authorization.k8s.io/permissive-binding created\n",
    );
    await eventually(async () => expect((await robot.run(["get", "pods", "-A"], { input: "" })).code).toBe(0));
    expect((await admin.run(["auth", "can-i", "delete", "nodes", "--as", "system:serviceaccount:default:robot"])).stdout).toBe("yes\n");
    await admin.ok(["delete", "clusterrolebinding", "permissive-binding"]);
    await eventually(async () => expect((await robot.run(["get", "pods"], { input: "" })).stderr).toContain("Forbidden"));
  });

  it("a namespace admin may grant what she holds there, and not more (escalation prevention)", async () => {
    await admin.ok(["create", "namespace", "team"]);
    await admin.ok(["create", "rolebinding", "jane-admin", "--clusterrole=admin", "--user=jane", "-n", "team"]);
    await eventually(async () => expect(await jane.ok(["create", "rolebinding", "viewers", "--clusterrole=view", "--group=qa", "-n", "team"])).toBe("rolebinding.rbac.authorization.k8s.io/viewers created\n"));
    const root = await jane.run(["create", "rolebinding", "root", "--clusterrole=cluster-admin", "--user=jane", "-n", "team"], { input: "" });
    expect(root.stderr).toContain(
      'error: failed to create rolebinding: rolebindings.rbac.authorization.k8s.io "root" is forbidden: user "jane" (groups=["developers" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:["*"], Resources:["*"], Verbs:["*"]}\n{NonResourceURLs:["*"], Verbs:["*"]}',
    );
    const role = await jane.run(["create", "role", "nodes-too", "--verb=get", "--resource=pods,nodes", "-n", "team"], { input: "" });
    expect(role.stderr).toContain('roles.rbac.authorization.k8s.io "nodes-too" is forbidden: user "jane"');
    expect(role.stderr).toContain('{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}');
  });

  it("kubectl auth reconcile -f creates roles and bindings, then adds missing rules and subjects (and removes extras when asked)", async () => {
    const manifest = (verbs: string, users: string[]) => `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: cm-reader, namespace: default}
rules:
- {apiGroups: [""], resources: [configmaps], verbs: [${verbs}]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: cm-readers, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: cm-reader}
subjects:
${users.map((u) => `- {apiGroup: rbac.authorization.k8s.io, kind: User, name: ${u}}`).join("\n")}
`;
    const file = join(cluster.root, "reconcile.yaml");
    await writeFile(file, manifest("get", ["carol"]));
    expect(await admin.ok(["auth", "reconcile", "-f", file])).toBe("role.rbac.authorization.k8s.io/cm-reader reconciled\nrolebinding.rbac.authorization.k8s.io/cm-readers reconciled\n");
    await writeFile(file, manifest("get, list", ["dave"]));
    expect(await admin.ok(["auth", "reconcile", "-f", file])).toBe("role.rbac.authorization.k8s.io/cm-reader reconciled\nrolebinding.rbac.authorization.k8s.io/cm-readers reconciled\n");
    // The missing rule is added as its broken-down form, the rule already there kept.
    expect(await admin.ok(["get", "role", "cm-reader", "-o", "jsonpath={.rules[*].verbs}"])).toBe('["get"] ["list"]');
    expect(await admin.ok(["get", "rolebinding", "cm-readers", "-o", "jsonpath={.subjects[*].name}"])).toBe("carol dave");
    await eventually(async () => expect((await admin.run(["auth", "can-i", "list", "configmaps", "--as", "carol"])).stdout).toBe("yes\n"));
    await admin.ok(["auth", "reconcile", "-f", file, "--remove-extra-subjects"]);
    expect(await admin.ok(["get", "rolebinding", "cm-readers", "-o", "jsonpath={.subjects[*].name}"])).toBe("dave");
  });

  it("serves the default roles, admin/edit/view filled by aggregation", async () => {
    const roles = await admin.ok(["get", "clusterroles", "-o", "name"]);
    for (const r of ["cluster-admin", "admin", "edit", "view", "system:discovery", "system:basic-user", "system:public-info-viewer", "system:kube-scheduler", "system:controller:deployment-controller"])
      expect(roles).toContain(`clusterrole.rbac.authorization.k8s.io/${r}\n`);
    expect(await admin.ok(["get", "clusterrolebinding", "cluster-admin", "-o", "jsonpath={.subjects[0].name} {.metadata.annotations.rbac\\.authorization\\.kubernetes\\.io/autoupdate}"])).toBe("system:masters true");
    expect(await admin.ok(["get", "clusterrole", "view", "-o", "jsonpath={.aggregationRule.clusterRoleSelectors[0].matchLabels}"])).toBe('{"rbac.authorization.k8s.io/aggregate-to-view":"true"}');
    const view = await admin.ok(["describe", "clusterrole", "view"]);
    expect(view).toMatch(/^\s+pods\s+\[\]\s+\[\]\s+\[get list watch\]$/m);
    await admin.ok(["create", "rolebinding", "jane-edit", "--clusterrole=edit", "--user=jane", "-n", "kube-public"]);
    await eventually(async () => expect((await jane.run(["create", "configmap", "by-jane", "-n", "kube-public"], { input: "" })).stdout).toBe("configmap/by-jane created\n"));
  });
});
