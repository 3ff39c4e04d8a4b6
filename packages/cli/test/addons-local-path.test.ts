import { describe, expect, it } from "vitest";
import { localPathStorage } from "../src/addons/local-path-storage.js";

describe("local-path-storage addon", () => {
  const addons = localPathStorage();
  const byKind = (kind: string) => addons.filter((a) => a.object.kind === kind);

  it("creates the namespace first and the objects kind ships, each in its collection", () => {
    expect(addons[0]!.object).toEqual({ apiVersion: "v1", kind: "Namespace", metadata: { name: "local-path-storage" } });
    expect(addons.map((a) => `${a.object.kind}/${a.object.metadata.name}`)).toEqual([
      "Namespace/local-path-storage",
      "ServiceAccount/local-path-provisioner-service-account",
      "Role/local-path-provisioner-role",
      "ClusterRole/local-path-provisioner-role",
      "RoleBinding/local-path-provisioner-bind",
      "ClusterRoleBinding/local-path-provisioner-bind",
      "ConfigMap/local-path-config",
      "Deployment/local-path-provisioner",
      "StorageClass/standard",
    ]);
    for (const a of addons) {
      if (a.object.metadata.namespace) expect(a.path).toContain(`/namespaces/${a.object.metadata.namespace}/`);
    }
  });

  it("makes standard the default class: rancher.io/local-path, WaitForFirstConsumer, Delete", () => {
    expect(byKind("StorageClass")[0]!.object).toMatchObject({
      metadata: { name: "standard", annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
      provisioner: "rancher.io/local-path",
      reclaimPolicy: "Delete",
      volumeBindingMode: "WaitForFirstConsumer",
    });
  });

  it("runs one provisioner replica with its service account files mounted", () => {
    const spec = byKind("Deployment")[0]!.object.spec as { replicas: number; template: { spec: { serviceAccountName: string; containers: { volumeMounts: { mountPath: string }[] }[]; volumes: { name: string; projected?: { sources: object[] } }[] } } };
    expect(spec.replicas).toBe(1);
    expect(spec.template.spec.serviceAccountName).toBe("local-path-provisioner-service-account");
    expect(spec.template.spec.containers[0]!.volumeMounts.map((m) => m.mountPath)).toContain("/var/run/secrets/kubernetes.io/serviceaccount");
    expect(spec.template.spec.volumes.find((v) => v.name === "kube-api-access")?.projected?.sources).toHaveLength(3);
  });
});

describe("local-path-storage addon's API address", () => {
  it("gives the provisioner the apiserver-lb address when asked", () => {
    const dep = localPathStorage({ host: "127.0.0.1", port: "44177" }).find((a) => a.object.kind === "Deployment")!.object.spec as { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
    const env = dep.template.spec.containers[0]!.env;
    expect(env).toContainEqual({ name: "KUBERNETES_SERVICE_HOST", value: "127.0.0.1" });
    expect(env).toContainEqual({ name: "KUBERNETES_SERVICE_PORT", value: "44177" });
  });
});
