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

  it("runs one provisioner replica as kind's manifest says: its service account, the config volume, no API address or token volume of its own", () => {
    const spec = byKind("Deployment")[0]!.object.spec as { replicas: number; template: { spec: { serviceAccountName: string; containers: { env: { name: string }[]; volumeMounts: { mountPath: string }[] }[]; volumes: { name: string }[] } } };
    expect(spec.replicas).toBe(1);
    expect(spec.template.spec.serviceAccountName).toBe("local-path-provisioner-service-account");
    // In-cluster config comes from the ServiceAccount admission's kube-api-access-* volume and the kubelet's service variables.
    expect(spec.template.spec.containers[0]!.volumeMounts).toEqual([{ name: "config-volume", mountPath: "/etc/config/" }]);
    expect(spec.template.spec.volumes.map((v) => v.name)).toEqual(["config-volume"]);
    expect(spec.template.spec.containers[0]!.env.map((e) => e.name)).toEqual(["POD_NAMESPACE", "CONFIG_MOUNT_PATH"]);
  });
});
