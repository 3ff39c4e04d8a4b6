import { describe, expect, it } from "vitest";
import {
  basePathFor,
  buildHelperPod,
  buildVolume,
  type Claim,
  folderName,
  KIND_CONFIG,
  nodeOfVolume,
  parseConfig,
  quantityBytes,
  shouldDelete,
  shouldProvision,
  type StorageClass,
  validateClaim,
  type Volume,
  volumeName,
} from "../src/local-path/provisioning.js";
import { ImageCatalog, matchExecutable } from "../src/index.js";

const sc: StorageClass = { metadata: { name: "standard" }, provisioner: "rancher.io/local-path", reclaimPolicy: "Delete", volumeBindingMode: "WaitForFirstConsumer" };

function claim(annotations: Record<string, string>, spec: Claim["spec"] = {}): Claim {
  return {
    metadata: { name: "data", namespace: "default", uid: "0b6c-11", resourceVersion: "42", annotations },
    spec: { storageClassName: "standard", accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, ...spec },
  };
}

const ours = { "volume.kubernetes.io/storage-provisioner": "rancher.io/local-path" };

describe("local-path naming", () => {
  it("names the PV pvc-<uid> and the directory <pv>_<ns>_<claim>", () => {
    const c = claim(ours);
    expect(volumeName(c)).toBe("pvc-0b6c-11");
    expect(folderName(volumeName(c), c)).toBe("pvc-0b6c-11_default_data");
  });

  it("takes the node's own path, else DEFAULT_PATH_FOR_NON_LISTED_NODES", () => {
    const cfg = parseConfig(JSON.stringify({ nodePathMap: [{ node: "DEFAULT_PATH_FOR_NON_LISTED_NODES", paths: ["/var/local-path-provisioner"] }, { node: "n2", paths: ["/data"] }] }));
    expect(basePathFor(cfg, "n1")).toBe("/var/local-path-provisioner");
    expect(basePathFor(cfg, "n2")).toBe("/data");
    expect(basePathFor(KIND_CONFIG, "kind-control-plane")).toBe("/var/local-path-provisioner");
    expect(() => basePathFor(parseConfig('{"nodePathMap":[{"node":"a","paths":["/x"]}]}'), "b")).toThrow("config doesn't contain node b");
    expect(() => parseConfig('{"nodePathMap":[{"node":"a","paths":["rel"]}]}')).toThrow();
  });

  it("converts quantities to bytes", () => {
    expect(quantityBytes("1Gi")).toBe(1073741824);
    expect(quantityBytes("500M")).toBe(500_000_000);
    expect(quantityBytes("128974848")).toBe(128974848);
    expect(quantityBytes(undefined)).toBe(0);
  });
});

describe("local-path decisions", () => {
  it("provisions only its own claims, once a node is selected", () => {
    expect(shouldProvision(claim({}), sc)).toEqual({ provision: false, why: "not our provisioner" });
    expect(shouldProvision(claim({ "volume.kubernetes.io/storage-provisioner": "other" }), sc).provision).toBe(false);
    expect(shouldProvision(claim(ours), sc)).toEqual({ provision: false, why: "waiting for a selected node" });
    expect(shouldProvision(claim({ ...ours, "volume.kubernetes.io/selected-node": "n1" }), sc)).toEqual({ provision: true, node: "n1" });
    expect(shouldProvision(claim({ "volume.beta.kubernetes.io/storage-provisioner": "rancher.io/local-path", "volume.kubernetes.io/selected-node": "n1" }), sc).provision).toBe(true);
    expect(shouldProvision(claim({ ...ours, "volume.kubernetes.io/selected-node": "n1" }, { volumeName: "pv1" }), sc).provision).toBe(false);
    expect(shouldProvision(claim({ ...ours, "volume.kubernetes.io/selected-node": "n1" }), undefined).provision).toBe(false);
  });

  it("rejects access modes local volumes cannot give, in upstream's words", () => {
    expect(validateClaim(claim(ours))).toBeUndefined();
    expect(validateClaim(claim(ours, { accessModes: ["ReadWriteMany"] }))).toBe("NodePath only supports ReadWriteOnce and ReadWriteOncePod (1.22+) access modes");
  });

  it("deletes only Released volumes it provisioned with reclaim Delete", () => {
    const pv = (phase: string, policy: string, by = "rancher.io/local-path"): Volume => ({ metadata: { name: "pvc-1", annotations: { "pv.kubernetes.io/provisioned-by": by } }, spec: { persistentVolumeReclaimPolicy: policy }, status: { phase } });
    expect(shouldDelete(pv("Released", "Delete"))).toBe(true);
    expect(shouldDelete(pv("Bound", "Delete"))).toBe(false);
    expect(shouldDelete(pv("Released", "Retain"))).toBe(false);
    expect(shouldDelete(pv("Released", "Delete", "someone-else"))).toBe(false);
  });
});

describe("local-path objects", () => {
  it("builds the PV kind's provisioner creates", () => {
    const c = claim({ ...ours, "volume.kubernetes.io/selected-node": "n1" });
    const pv = buildVolume(c, { ...sc, reclaimPolicy: "Retain" }, "n1", "/var/local-path-provisioner/pvc-0b6c-11_default_data");
    expect(pv).toEqual({
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: "pvc-0b6c-11", annotations: { "local.path.provisioner/selected-node": "n1", "pv.kubernetes.io/provisioned-by": "rancher.io/local-path" } },
      spec: {
        accessModes: ["ReadWriteOnce"],
        capacity: { storage: "1Gi" },
        claimRef: { apiVersion: "v1", kind: "PersistentVolumeClaim", name: "data", namespace: "default", uid: "0b6c-11", resourceVersion: "42" },
        hostPath: { path: "/var/local-path-provisioner/pvc-0b6c-11_default_data", type: "DirectoryOrCreate" },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["n1"] }] }] } },
        persistentVolumeReclaimPolicy: "Retain",
        storageClassName: "standard",
        volumeMode: "Filesystem",
      },
    });
    expect(nodeOfVolume(pv as unknown as Volume)).toBe("n1");
    expect(nodeOfVolume({ metadata: { name: "x" }, spec: (pv as unknown as Volume).spec })).toBe("n1");
  });

  it("builds a helper pod pinned to the node with the parent directory mounted", () => {
    const pod = buildHelperPod({ action: "create", pvName: "pvc-1", node: "n2", namespace: "local-path-storage", image: "busybox", path: "/var/local-path-provisioner/pvc-1_default_data", sizeBytes: 1024, script: "mkdir" }) as {
      metadata: { name: string; namespace: string };
      spec: { nodeName: string; restartPolicy: string; containers: { env: { name: string; value: string }[]; volumeMounts: { mountPath: string }[] }[]; volumes: { hostPath: { path: string } }[] };
    };
    expect(pod.metadata).toEqual({ name: "helper-pod-create-pvc-1", namespace: "local-path-storage" });
    expect(pod.spec.nodeName).toBe("n2");
    expect(pod.spec.restartPolicy).toBe("Never");
    expect(pod.spec.volumes[0]!.hostPath.path).toBe("/var/local-path-provisioner");
    expect(pod.spec.containers[0]!.volumeMounts[0]!.mountPath).toBe("/var/local-path-provisioner");
    expect(pod.spec.containers[0]!.env).toContainEqual({ name: "VOL_DIR", value: "/var/local-path-provisioner/pvc-1_default_data" });
    expect(pod.spec.containers[0]!.env).toContainEqual({ name: "VOL_SIZE_BYTES", value: "1024" });
  });

  it("the catalog runs the provisioner images as this package's program", () => {
    for (const ref of ["docker.io/rancher/local-path-provisioner:v0.0.30", "docker.io/kindest/local-path-provisioner:v20240813-c6f155d6"]) {
      const img = ImageCatalog.withUserFile(undefined).resolve(ref);
      expect(img, ref).toBeDefined();
      expect(matchExecutable(img!.entry, ["local-path-provisioner", "--debug", "start"])).toEqual({ executable: { program: "local-path-provisioner" }, rest: ["--debug", "start"] });
    }
  });
});
